"""hotfix for GDB: `source REPO/gdb/hotfix_gdb.py` (after `make` at REPO).

The GDB side of hotfix's Debugger interface, and the `hotfix` command.
Everything else lives in the debugger-independent core (REPO/hotfix).
"""
import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback

import gdb

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_REPO, "hotfix")) and _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from hotfix import cli as core                # noqa: E402
from hotfix.apply import MMAP_PARAMS           # noqa: E402
from hotfix.arch import X86_64                 # noqa: E402
from hotfix.debugger import (ASYNC_SIGNALS, MASK64, MAX_FRAMES, Call, CallFailed, Debugger, Frame,  # noqa: E402
                             Location, Region, Thread)
from hotfix.errors import HotfixError          # noqa: E402

PROT_READ_WRITE, PROT_READ_EXEC, MAP_PRIVATE_ANONYMOUS = 3, 5, 0x22
# The call wrapper's pages (see call()), per (inferior number, process id).
_wrapper_pages = {}


class GdbDebugger(Debugger):
    name = "gdb"

    def _inferior(self):
        return gdb.selected_inferior()

    def process_state(self):
        inf = self._inferior()
        if not inf.pid:
            return "none"
        threads = inf.threads()
        if any(t.is_running() for t in threads):
            return "running"
        return "stopped" if threads else "none"

    def pid(self):
        return self._inferior().pid

    def executable(self):
        return self._host_file(self._inferior().progspace.filename or "") or ""

    def image_file(self, name, address):
        if not name:
            return self.executable() or None
        # The file GDB opened for the library at that address: with a
        # sysroot, the host's copy; with "target:" (gdbserver's default), a
        # file GDB reads through the remote protocol.
        found = gdb.solib_name(address)
        if found is None and not self.is_remote():
            found = name
        return self._host_file(found) if found else None

    # GDB names files it reads from the target "target:PATH".
    _TARGET_PREFIX = "target:"

    def _host_file(self, path):
        """A path on this machine for a file GDB names: a target: file of a
        remote target is fetched once (`remote get`) into a private folder."""
        if not path.startswith(self._TARGET_PREFIX):
            return path
        path = path[len(self._TARGET_PREFIX):]
        if not self.is_remote():
            return path
        key = (self._inferior().connection.num, self.pid(), path)
        if key not in _fetched:
            global _fetch_dir
            if _fetch_dir is None:
                _fetch_dir = tempfile.mkdtemp(prefix="hotfix-gdb-")
                atexit.register(shutil.rmtree, _fetch_dir, True)
            folder = os.path.join(_fetch_dir, str(len(_fetched)))
            os.mkdir(folder)
            local = os.path.join(folder, os.path.basename(path))
            try:
                gdb.execute("remote get %s %s" % (_quote(path), _quote(local)), to_string=True)
            except gdb.error:
                local = None
            _fetched[key] = local
        return _fetched[key]

    def is_remote(self):
        connection = self._inferior().connection
        return connection is not None and connection.type in ("remote", "extended-remote")

    def put_file(self, host_path, target_path):
        try:
            gdb.execute("remote put %s %s" % (_quote(host_path), _quote(target_path)), to_string=True)
        except gdb.error as e:
            raise OSError(str(e).splitlines()[0] if str(e) else "remote put failed")

    def _qemu_pid(self):
        """Under qemu-user (a remote target whose threads are the emulator's
        on this machine) the emulator's process id, else 0: qemu's gdbstub
        does not act on the remote protocol's ^C, but reports a SIGINT sent
        to qemu as a stop.  GDB's remote pid is not a pid here."""
        for t in self._inferior().threads():
            tgid = _qemu_process(t.ptid[1])
            if tgid:
                return tgid
        return 0

    def symbol_address(self, name):
        try:
            return int(gdb.parse_and_eval("(unsigned long)&%s" % name))
        except gdb.error:
            return None

    def auxv_entry(self, kind):
        # Lines like "9    AT_ENTRY    Entry point of program    0x5555555550c0".
        try:
            text = gdb.execute("info auxv", to_string=True)
        except gdb.error:
            return None
        for line in text.splitlines():
            words = line.split()
            if len(words) > 2 and words[0] == str(kind) and words[-1].startswith("0x"):
                return int(words[-1], 16)
        return None

    def read_memory(self, address, size):
        return self._inferior().read_memory(address, size).tobytes()

    def write_memory(self, address, data):
        self._inferior().write_memory(address, data)

    def memory_regions(self):
        # "Start Addr  End Addr  Size  Offset  Perms  objfile" (GDB 12 and
        # later; a remote target's through gdbserver's /proc).
        try:
            text = gdb.execute("info proc mappings", to_string=True)
        except gdb.error as e:
            raise HotfixError("GDB cannot list the process's memory mappings (%s)" % str(e).rstrip("."))
        out = []
        for line in text.splitlines():
            words = line.split(None, 5)
            if len(words) < 5 or not words[0].startswith("0x") or len(words[4]) != 4:
                continue
            perms = words[4]
            out.append(Region(int(words[0], 16), int(words[1], 16), perms[0] == "r", perms[1] == "w",
                              perms[2] == "x", words[5].strip() if len(words) > 5 else ""))
        if not out:
            raise HotfixError("GDB cannot list the process's memory mappings")
        return out

    def _each_thread(self):
        """Every thread, switched to in turn (numbered order); the selected
        thread and frame are put back when it is closed (contextlib.closing)."""
        selected = gdb.selected_thread()
        frame = gdb.selected_frame() if selected else None
        try:
            for t in sorted(self._inferior().threads(), key=lambda t: t.num):
                t.switch()
                yield t
        finally:
            if selected is not None and selected.is_valid():
                selected.switch()
                if frame is not None and frame.is_valid():
                    frame.select()

    def registers(self):
        out = []
        with contextlib.closing(self._each_thread()) as threads:
            for t in threads:
                f = gdb.newest_frame()
                for reg in f.architecture().registers("general"):
                    try:
                        out.append((t.num, reg.name, int(f.read_register(reg)) & MASK64))
                    except (gdb.error, ValueError, TypeError):
                        continue
        return out

    def threads(self):
        # The stacks cannot change until something runs: GDB unwinds a
        # thread in about a millisecond, and hotfix asks several times at
        # one stop (the stack check, the calling thread's choice).
        key = (self._inferior().num, self.pid(), _moves[0])
        if _threads_seen.get("key") == key:
            return list(_threads_seen["threads"])
        out = self._unwind()
        _threads_seen.update(key=key, threads=out)
        return list(out)

    def _unwind(self):
        out = []
        with contextlib.closing(self._each_thread()) as threads:
            for t in threads:
                frames = []
                f = gdb.newest_frame()
                level = 0
                while f is not None and level < MAX_FRAMES:
                    sal = f.find_sal()
                    frames.append(Frame(level, f.pc(), f.name() or "",
                                        sal.symtab.filename if sal.symtab else "", sal.line or 0))
                    try:
                        f = f.older()
                    except gdb.error:
                        break
                    level += 1
                out.append(Thread(t.num, t.name or "", frames))
        return out

    # --- registers ---------------------------------------------------------
    def _on_thread(self, thread_id, action):
        """action() with the thread's innermost frame selected; the selected
        thread and frame come back."""
        selected = gdb.selected_thread()
        level = _selected_level()
        target = [t for t in self._inferior().threads() if t.num == thread_id]
        if not target:
            raise MemoryError("there is no thread %d." % thread_id)
        try:
            target[0].switch()
            gdb.newest_frame().select()
            return action()
        finally:
            if selected is not None and selected.is_valid():
                selected.switch()
                _select_level(level)

    def read_register(self, thread_id, name):
        return self._on_thread(thread_id, lambda: int(gdb.newest_frame().read_register(name)) & MASK64)

    def write_register(self, thread_id, name, value):
        if name != "pc":
            raise MemoryError("hotfix writes only the pc")
        try:
            self._on_thread(thread_id, lambda: gdb.execute("set var $pc = 0x%x" % value, to_string=True))
        except gdb.error as e:
            raise MemoryError(str(e))

    def return_address_slot(self, thread_id, level):
        def slot():
            frame = gdb.newest_frame()
            for _ in range(level):
                frame = frame.older()
                if frame is None:
                    raise MemoryError("thread %d has no frame #%d" % (thread_id, level))
            # A caller's sp as unwound is the CFA of the frame below it.
            return (int(frame.read_register("sp")) & MASK64) - 8
        return self._on_thread(thread_id, slot)

    def forget_frames(self, thread_ids):
        gdb.invalidate_cached_frames()

    # --- symbols of code hotfix places itself --------------------------------
    def add_symbol_file(self, path, sections):
        where = " ".join("-s %s 0x%x" % (name, address) for name, address in sorted(sections.items()))
        confirm = gdb.parameter("confirm")
        try:
            gdb.execute("set confirm off", to_string=True)
            with _quiet():
                gdb.execute("add-symbol-file %s %s" % (_quote(path), where), to_string=True)
        except gdb.error as e:
            raise OSError(str(e).splitlines()[0] if str(e) else "add-symbol-file failed")
        finally:
            gdb.execute("set confirm %s" % ("on" if confirm else "off"), to_string=True)

    def remove_symbol_file(self, path):
        try:
            with _quiet():
                gdb.execute("remove-symbol-file %s" % _quote(path), to_string=True)
        except gdb.error:
            pass

    @contextlib.contextmanager
    def _user_breakpoints_paused(self):
        paused = [b for b in gdb.breakpoints() if b.is_valid() and b.enabled]
        for b in paused:
            b.enabled = False
        try:
            yield
        finally:
            for b in paused:
                if b.is_valid():
                    b.enabled = True

    @contextlib.contextmanager
    def _async_signals_passed(self):
        """Signals that only notify the program must not stop an inferior
        call: stopping aborts it, and an aborted dlopen leaves the loader
        lock held for good.  They go to the program's handlers instead."""
        changed = []
        for sig in ASYNC_SIGNALS:
            try:
                line = gdb.execute("info signals %s" % sig, to_string=True).splitlines()[1].split()
            except (gdb.error, IndexError):
                continue
            if line[1] == "Yes" or line[2] == "Yes":
                changed.append((sig, line[1] == "Yes", line[2] == "Yes"))
                gdb.execute("handle %s nostop noprint" % sig, to_string=True)
        try:
            yield
        finally:
            for sig, stop, show in changed:
                gdb.execute("handle %s %s %s" % (sig, "print" if show else "noprint",
                                                 "stop" if stop else "nostop"), to_string=True)

    def call(self, call, thread_id, timeout, others_run=True):
        # Only the calling thread runs, and it comes back with its
        # registers: the stacks unwound before the call still hold after it
        # (a thread created meanwhile would show in the ids).
        inferior = self._inferior()
        unwound = _threads_seen.get("threads") if _threads_seen.get("key") == (
            inferior.num, self.pid(), _moves[0]) else None
        ids = [t.num for t in inferior.threads()]
        value = self._call(call, thread_id)
        if unwound is not None and [t.num for t in inferior.threads()] == ids:
            _threads_seen.update(key=(inferior.num, self.pid(), _moves[0]), threads=unwound)
        return value

    def _call(self, call, thread_id):
        # The other threads stay stopped (scheduler-locking on): a thread
        # the user stopped at a breakpoint must be there after hotfix.
        # The core lets a thread holding the loader or allocator lock leave
        # it first; GDB 13 cannot let the others run later in a call that
        # has not returned, nor time a call out.
        if self._inferior().architecture().name() != "i386:x86-64":
            return call.result(self._evaluate(call.expression(), thread_id))
        # GDB 13 cannot write the extended register state on a CPU with AMX
        # ("Couldn't write extended state status"), which its inferior calls
        # restore after the function ran.  Through the wrapper the vector
        # state comes back unchanged, and _fetch_all_registers lets GDB see
        # that it need not write it.
        wrapper = X86_64.call_wrapper
        code, block = self._wrapper_pages(wrapper, thread_id)
        address = call.function
        if isinstance(address, str):
            address = self.symbol_address(address)
            if not address:
                raise CallFailed("the program has no function %s" % call.function)
        if len(call.args) > wrapper.max_args:
            raise CallFailed("more than %d arguments" % wrapper.max_args)
        words = [address] + list(call.args) + [0] * (wrapper.max_args - len(call.args))
        inferior = self._inferior()
        inferior.write_memory(block, b"".join((w & MASK64).to_bytes(8, "little") for w in words))
        inferior.write_memory(block + wrapper.header, bytes(64))
        return call.result(self._evaluate("((unsigned long (*)(unsigned long))0x%x)(0x%x)" % (code, block),
                                          thread_id))

    def _wrapper_pages(self, wrapper, thread_id):
        """(code, block): the wrapper's code in a page of its own (mapped
        read-execute, written by GDB as it writes breakpoints) and its block.
        mmap changes no vector register: it is called directly."""
        inferior = self._inferior()
        key = (inferior.num, inferior.pid)
        if key not in _wrapper_pages:
            pages = []
            for size, prot in ((wrapper.size, PROT_READ_WRITE), (4096, PROT_READ_EXEC)):
                page = self._evaluate(Call("mmap", (0, size, prot, MAP_PRIVATE_ANONYMOUS, -1, 0), params=MMAP_PARAMS).expression(),
                                      thread_id)
                if page >= MASK64 - 4095 or not page:
                    raise CallFailed("mapping a page for hotfix's calls failed")
                pages.append(page)
            block, code = pages
            inferior.write_memory(code, wrapper.code)
            _wrapper_pages[key] = (code, block)
        return _wrapper_pages[key]

    def _evaluate(self, expression, thread_id):
        """GDB's own inferior call of a C expression on one thread, the
        others stopped; the selected thread and frame are kept."""
        selected = gdb.selected_thread()
        level = _selected_level()
        target = [t for t in self._inferior().threads() if t.num == thread_id]
        unwind = gdb.parameter("unwindonsignal")
        locking = gdb.parameter("scheduler-locking")
        x86 = self._inferior().architecture().name() == "i386:x86-64"
        if x86:
            gdb.events.inferior_call.connect(_fetch_all_registers)
        # Quiet throughout: switching threads and re-enabling breakpoints
        # make GDB 13 warn about a breakpoint stop whose location the
        # patch's load re-created ("location number not found").
        with _quiet():
            try:
                gdb.execute("set scheduler-locking on", to_string=True)
                with self._user_breakpoints_paused(), self._async_signals_passed():
                    if target:
                        target[0].switch()
                    gdb.execute("set unwindonsignal on", to_string=True)
                    return int(gdb.parse_and_eval(expression)) & MASK64
            except gdb.error as e:
                raise CallFailed(str(e).splitlines()[0])
            finally:
                if x86:
                    gdb.events.inferior_call.disconnect(_fetch_all_registers)
                gdb.execute("set unwindonsignal %s" % ("on" if unwind else "off"), to_string=True)
                gdb.execute("set scheduler-locking %s" % locking, to_string=True)
                if selected is not None and selected.is_valid():
                    selected.switch()
                    _select_level(level)

    def _interrupter(self, done):
        """A function that stops the running process from another thread,
        as Ctrl-C does: SIGINT, which GDB keeps from the program (SIGINT is
        "nopass" by default).  A local process gets it directly; a remote
        one by GDB's `interrupt` (the remote protocol's ^C), run on GDB's
        thread, and only while the continue it is meant for lasts (done is
        set on GDB's thread when it is over); qemu-user's emulator gets
        SIGINT (see _qemu_pid)."""
        pid = self.pid() if not self.is_remote() else self._qemu_pid()
        if pid:
            return lambda: os.kill(pid, signal.SIGINT)

        def interrupt():
            if not done.is_set():
                gdb.execute("interrupt", to_string=True)
        return lambda: gdb.post_event(interrupt)

    def finish_frame(self, thread_id, level, timeout):
        selected = gdb.selected_thread()
        selected_level = _selected_level()
        target = [t for t in self._inferior().threads() if t.num == thread_id]
        if not target:
            return
        locking = gdb.parameter("scheduler-locking")
        done = threading.Event()
        # Only this thread runs, so the interrupt can only stop it.
        timer = threading.Timer(timeout, self._interrupter(done))
        try:
            gdb.execute("set scheduler-locking on", to_string=True)
            with _quiet(), self._user_breakpoints_paused():
                target[0].switch()
                _select_level(level)
                # `finish` out of an inlined frame steps through it: leave
                # the function it is inlined into instead.
                frame = gdb.selected_frame()
                while frame.type() == gdb.INLINE_FRAME and frame.older() is not None:
                    frame = frame.older()
                frame.select()
                timer.start()
                try:
                    gdb.execute("finish", to_string=True)
                except gdb.error:
                    pass        # interrupted, or the outermost frame
                finally:
                    done.set()
                    timer.cancel()
        finally:
            gdb.execute("set scheduler-locking %s" % locking, to_string=True)
            if selected is not None and selected.is_valid():
                selected.switch()
                _select_level(selected_level)

    def resume_for(self, seconds):
        # A synchronous continue that a timer ends with an interrupt.
        done, fired = threading.Event(), threading.Event()
        interrupt = self._interrupter(done)
        selected = gdb.selected_thread()

        def expire():
            fired.set()
            interrupt()
        timer = threading.Timer(seconds, expire)
        with _quiet(), self._user_breakpoints_paused():
            timer.start()
            try:
                gdb.execute("continue", to_string=True)
            finally:
                done.set()
                timer.cancel()
        if fired.is_set():
            _select_again(selected)

    def resume_until(self, predicate, poll):
        done, ours = threading.Event(), threading.Event()
        interrupt = self._interrupter(done)
        selected = gdb.selected_thread()

        def watch():
            while not done.wait(poll):
                if predicate():
                    ours.set()
                    interrupt()
                    return

        watcher = threading.Thread(target=watch, name="hotfix-watch", daemon=True)
        log = tempfile.NamedTemporaryFile(prefix="hotfix-stop-", suffix=".txt", delete=False)
        log.close()
        try:
            with _quiet(log.name):
                watcher.start()
                try:
                    gdb.execute("continue", to_string=True)
                finally:
                    done.set()
                    watcher.join()
            if not ours.is_set():
                with open(log.name, errors="replace") as f:
                    gdb.write(f.read())        # the stop the user should see
            else:
                _select_again(selected)
            return ours.is_set() and self.process_state() == "stopped"
        finally:
            os.unlink(log.name)

    def breakpoint_locations(self):
        out = []
        for b in gdb.breakpoints():
            if not b.is_valid() or b.type != gdb.BP_BREAKPOINT:
                continue
            for i, loc in enumerate(b.locations, 1):
                if loc.address is not None:
                    out.append(Location("%d.%d" % (b.number, i), loc.address, b.enabled and loc.enabled))
        return out

    def set_location_enabled(self, key, enabled):
        number, index = (int(x) for x in key.split("."))
        for b in gdb.breakpoints():
            if b.number == number:
                b.locations[index - 1].enabled = enabled

    def write(self, text):
        gdb.write(text + "\n")


def _select_again(thread):
    """After a stop hotfix's own interrupt made (GDB reports it in some
    thread): the thread the user had selected, if it is still there."""
    try:
        if thread is not None and thread.is_valid():
            with _quiet():
                thread.switch()
    except gdb.error:
        pass


def _fetch_all_registers(event):
    """After an inferior call ran, before GDB puts the registers back:
    read the extended state (one vector register brings all of it) and the
    segment bases, so that GDB writes back only registers whose value
    changed.  A register GDB has not read it writes unconditionally, and it
    cannot write the extended state on a CPU with AMX."""
    if not isinstance(event, gdb.InferiorCallPostEvent):
        return
    frame = gdb.newest_frame()
    for name in ("xmm0", "fs_base", "gs_base"):
        try:
            frame.read_register(name)
        except (gdb.error, ValueError):
            pass


def _selected_level():
    try:
        return gdb.selected_frame().level()
    except gdb.error:
        return 0


def _select_level(level):
    try:
        frame = gdb.newest_frame()
        for _ in range(level):
            older = frame.older()
            if older is None:
                break
            frame = older
        frame.select()
    except gdb.error:
        pass


# Anything that may move a thread (a resume, a stop, an inferior call, a
# register or memory the user set) counts here; threads() unwinds again.
_moves = [0]
_threads_seen = {}


def _moved(event=None):
    _moves[0] += 1


# Files of remote targets fetched for reading: (connection, pid, path) -> host path.
_fetched = {}
_fetch_dir = None


def _quote(path):
    """A path as one argument of `remote put/get` (GDB splits them like a shell)."""
    return "".join("\\" + c if c in " \t\\'\"" else c for c in path)


def _qemu_process(tid):
    """The process id of thread `tid` of this machine if it runs qemu-user."""
    try:
        if not os.path.basename(os.readlink("/proc/%d/exe" % tid)).startswith("qemu-"):
            return 0
        with open("/proc/%d/status" % tid) as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _flush_gdb():
    for stream in (gdb.STDOUT, gdb.STDERR, gdb.STDLOG):
        gdb.flush(stream)


@contextlib.contextmanager
def _quiet(path=os.devnull):
    """While hotfix runs the program itself (a call, --wait, watch), GDB
    prints every stop it makes ("Program received signal SIGINT", the
    frame) and warnings about the breakpoint it stopped at (GDB 13:
    "location number not found for breakpoint 1"), to its terminal
    whatever to_string or `set logging redirect` say.  Point GDB's stdout
    and stderr at a file (path) meanwhile; the program's own output is not
    GDB's.  No pagination meanwhile: a pager prompt nobody sees would
    wait for ever."""
    paginate = gdb.parameter("pagination")
    gdb.execute("set pagination off", to_string=True)
    _flush_gdb()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    sink = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        yield
    finally:
        try:
            _flush_gdb()        # GDB buffers its stderr too (warnings)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved + (sink,):
                os.close(fd)
            if paginate:
                gdb.execute("set pagination on", to_string=True)


class DebugParameter(gdb.Parameter):
    """Show Python tracebacks of hotfix's internal errors."""
    set_doc = "Set whether hotfix shows tracebacks of internal errors."
    show_doc = "Show whether hotfix shows tracebacks of internal errors."

    def __init__(self):
        super().__init__("hotfix debug", gdb.COMMAND_MAINTENANCE, gdb.PARAM_BOOLEAN)
        self.value = core.debug_default()

    def get_show_string(self, value):
        return "hotfix debug is %s." % value


class PrepareParameter(gdb.Parameter):
    """Whether hotfix builds the patch of a saved source file in the
    background while the program runs or waits, so that the next hotfix
    only loads it (nothing is written into the program before that
    command).  On by default."""
    set_doc = "Set whether hotfix prepares patches when a source file is saved."
    show_doc = "Show whether hotfix prepares patches when a source file is saved."

    def __init__(self):
        super().__init__("hotfix prepare", gdb.COMMAND_RUNNING, gdb.PARAM_BOOLEAN)
        self.value = core.SETTINGS["prepare"]

    def get_set_string(self):
        core.set_prepare(self.value)
        return ""

    def get_show_string(self, value):
        return "hotfix prepare is %s." % value


class SetHotfix(gdb.Command):
    """Settings of the hotfix command."""

    def __init__(self):
        super().__init__("set hotfix", gdb.COMMAND_DATA, prefix=True)


class ShowHotfix(gdb.Command):
    """Settings of the hotfix command."""

    def __init__(self):
        super().__init__("show hotfix", gdb.COMMAND_DATA, prefix=True)


class HotfixCommand(gdb.Command):
    __doc__ = core.help_text()

    def __init__(self, debug):
        super().__init__("hotfix", gdb.COMMAND_RUNNING)
        self.debugger = GdbDebugger()
        self.debug = debug

    def invoke(self, argument, from_tty):
        self.dont_repeat()
        try:
            core.run(self.debugger, gdb.string_to_argv(argument))
        except HotfixError as e:
            raise gdb.GdbError(core.error_text(e, "set hotfix debug on"))
        except gdb.GdbError:
            raise
        except Exception as e:          # a bug of ours: one line, traceback on request
            if self.debug.value:
                traceback.print_exc()
            raise gdb.GdbError(core.error_text(e, "set hotfix debug on"))

    def complete(self, text, word):
        if word is None:
            return gdb.COMPLETE_NONE
        # GDB breaks words at '-': complete the whole token, return the part
        # from where GDB's word starts.
        token = "" if not text or text[-1].isspace() else text.split()[-1]
        if token.startswith("-"):
            cut = len(token) - len(word)
            return [o[cut:] for o in core.options() if o.startswith(token)]
        return gdb.COMPLETE_FILENAME


def _on_stop(event):
    # The first stop of a process starts preparing patches (cli.stopped).
    core.stopped(GdbDebugger())


SetHotfix()
ShowHotfix()
HotfixCommand(DebugParameter())
PrepareParameter()
gdb.events.stop.connect(_on_stop)
for _event in (gdb.events.cont, gdb.events.stop, gdb.events.exited, gdb.events.new_thread,
               gdb.events.inferior_call, gdb.events.memory_changed, gdb.events.register_changed):
    _event.connect(_moved)


def _guard_breakpoint(bp):
    """A breakpoint whose location lands inside a jump hotfix wrote is
    disabled there (GDB's trap would break the jump)."""
    try:
        if not bp.is_valid() or bp.type != gdb.BP_BREAKPOINT or bp.number <= 0:
            return
        where = {loc.address: loc for loc in bp.locations if loc.address is not None and loc.enabled}
        for address, message in core.guard_breakpoint(bp.number, list(where)):
            where[address].enabled = False
            gdb.write(message + "\n")
    except gdb.error:
        pass


gdb.events.breakpoint_created.connect(_guard_breakpoint)
gdb.events.breakpoint_modified.connect(_guard_breakpoint)
# A process gone takes hotfix's files for it along; those of a process
# still running (detached) stay for a later session.
gdb.events.exited.connect(lambda event: core.process_gone())
atexit.register(core.close)
