"""A minimal GDB/MI client: what the Microsoft C/C++ extension (cppdbg)
does with GDB.  It starts `gdb --interpreter=mi2`, sends each launch.json
setupCommand and each `-exec CMD` typed in the Debug Console as
`-interpreter-exec console "CMD"`, and reads result records (^done,
^error,msg=...), async records (*stopped, *running) and console stream
records (~"...")."""
import queue
import re
import subprocess
import threading
import time


class MiError(Exception):
    pass


def c_string(text):
    """MI's quoting of a CLI command (a C string)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def parse_c_string(s):
    """The text of an MI C string (s starts and ends with a quote)."""
    body = s[1:-1]
    out, i = bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out += _ESCAPES[nxt].encode()
                i += 2
                continue
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            if m:
                out.append(int(m.group(0), 8))
                i += 1 + len(m.group(0))
                continue
        out += ch.encode()
        i += 1
    return out.decode(errors="replace")


class Record:
    def __init__(self, line):
        self.line = line
        m = re.match(r"^(\d*)([\^*=~@&+])(.*)$", line)
        self.token, self.kind, self.rest = (m.group(1), m.group(2), m.group(3)) if m else ("", "", line)
        self.text = parse_c_string(self.rest) if self.kind in "~@&" and self.rest.startswith('"') else ""

    @property
    def result_class(self):
        return self.rest.split(",", 1)[0]

    def field(self, name):
        m = re.search(r'(?:^|,)%s=("(?:[^"\\]|\\.)*")' % re.escape(name), self.rest)
        return parse_c_string(m.group(1)) if m else None


class GdbMi:
    def __init__(self, argv, cwd=None, env=None):
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.token = 100
        self.lines = queue.Queue()
        self.records = []          # everything read, in order
        self.pending = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda r: r.line.strip() == "(gdb)", 30)

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(Record(raw.decode(errors="replace").rstrip("\r\n")))
        self.lines.put(None)

    def _wait(self, match, timeout):
        for i, r in enumerate(self.pending):
            if match(r):
                del self.pending[i]
                return r
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                r = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise MiError("timed out; GDB said:\n" + self.transcript())
            if r is None:
                raise MiError("GDB exited; it said:\n" + self.transcript())
            self.records.append(r)
            if match(r):
                return r
            self.pending.append(r)
            if left <= 0:
                raise MiError("timed out; GDB said:\n" + self.transcript())

    wait = _wait

    def command(self, text, timeout=60):
        """Send an MI command; return (result record, console text printed
        between sending it and its result)."""
        self.token += 1
        token = str(self.token)
        start = len(self.records)
        self.proc.stdin.write(("%s%s\n" % (token, text)).encode())
        self.proc.stdin.flush()
        result = self._wait(lambda r: r.token == token and r.kind == "^", timeout)
        console = "".join(r.text for r in self.records[start:] if r.kind == "~")
        return result, console

    def console(self, cli, timeout=60):
        """What cppdbg sends for a setupCommand or `-exec CLI`."""
        return self.command("-interpreter-exec console " + c_string(cli), timeout)

    def wait_stopped(self, timeout=60):
        return self._wait(lambda r: r.kind == "*" and r.rest.startswith("stopped"), timeout)

    def transcript(self):
        return "\n".join(r.line for r in self.records)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"-gdb-exit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
