"""A minimal Debug Adapter Protocol client, enough to talk to lldb-dap the
way VS Code does (Content-Length framed JSON over the adapter's stdin and
stdout).  Debian packages no DAP client for Python, and the protocol is
small: requests with a seq, responses naming their request_seq, events.
"""
import json
import queue
import subprocess
import threading
import time


class DapError(Exception):
    pass


class DapClient:
    def __init__(self, argv, cwd=None, env=None):
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.seq = 0
        self.messages = queue.Queue()
        self.events = []            # every event seen, in order
        self.pending = []           # messages read but not yet claimed by a wait
        self.junk = []              # anything on stdout that is not a message
        threading.Thread(target=self._read, daemon=True).start()

    # -- wire ---------------------------------------------------------------
    def _read(self):
        stream = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode(errors="replace").partition(":")
                    if name.lower() == "content-length" and value.strip().isdigit():
                        length = int(value)
                    else:
                        self.junk.append(line)
                if length is None:
                    continue
                body = stream.read(length)
                try:
                    self.messages.put(json.loads(body))
                except ValueError:       # cut short at exit
                    self.junk.append(body)
                    return
        finally:
            self.messages.put(None)

    def send(self, command, arguments=None):
        self.seq += 1
        msg = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        data = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()
        return self.seq

    def _next(self, deadline):
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise DapError("timed out; events so far: %s" % self.output())
        try:
            msg = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise DapError("timed out; events so far: %s" % self.output())
        if msg is None:
            raise DapError("the adapter exited; stderr: %s" % self.proc.stderr.read().decode(errors="replace"))
        if msg.get("type") == "event":
            self.events.append(msg)
        return msg

    def _wait(self, match, timeout):
        for i, msg in enumerate(self.pending):
            if match(msg):
                del self.pending[i]
                return msg
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if match(msg):
                return msg
            self.pending.append(msg)

    # -- API ------------------------------------------------------------------
    def request(self, command, arguments=None, timeout=60):
        """Send a request and return its response (success or not)."""
        seq = self.send(command, arguments)
        return self._wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout)

    def wait_response(self, seq, timeout=60):
        return self._wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout)

    def wait_event(self, name, timeout=60):
        return self._wait(lambda m: m.get("type") == "event" and m.get("event") == name, timeout)

    def output(self, category=None):
        """The text of every `output` event read so far (optionally of one category)."""
        self._drain()
        return "".join(e["body"].get("output", "") for e in self.events
                       if e.get("event") == "output" and (category is None or e["body"].get("category") == category))

    def _drain(self):
        while True:
            try:
                msg = self.messages.get_nowait()
            except queue.Empty:
                return
            if msg is None:
                self.messages.put(None)
                return
            if msg.get("type") == "event":
                self.events.append(msg)
            self.pending.append(msg)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.request("disconnect", {"terminateDebuggee": True}, timeout=10)
            except (DapError, OSError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
