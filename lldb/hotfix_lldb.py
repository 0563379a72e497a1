"""hotfix for LLDB: `command script import REPO/lldb/hotfix_lldb.py` (after `make` at REPO).

The LLDB side of hotfix's Debugger interface, and the commands `hotfix` and
`hotfix-config`.  Everything else lives in the debugger-independent core
(REPO/hotfix).  This folder has no __init__.py on purpose: a package named
`lldb` would shadow LLDB's own module.
"""
import atexit
import contextlib
import os
import shlex
import sys
import threading
import time
import traceback

import lldb

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_REPO, "hotfix")) and _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from hotfix.debugger import (ASYNC_SIGNALS, CALL_ALONE, MAX_FRAMES, CallFailed, Debugger, Frame,  # noqa: E402
                             Location, Region, Thread)
from hotfix.errors import HotfixError          # noqa: E402

# LLDB takes ~100 ms to act on an interrupt; a repeated one is harmless.
INTERRUPT_RETRY = 0.1
DEBUG_COMMAND = "hotfix-config debug on"

_STATES = {
    lldb.eStateStopped: "stopped",
    lldb.eStateSuspended: "stopped",
    lldb.eStateCrashed: "stopped",          # stopped at the crash, still there
    lldb.eStateRunning: "running",
    lldb.eStateStepping: "running",
    lldb.eStateLaunching: "running",
    lldb.eStateAttaching: "running",
}
_SYMBOL_TYPES = {lldb.eSymbolTypeCode: 0, lldb.eSymbolTypeData: 0, lldb.eSymbolTypeResolver: 1}

# What hotfix-config changed; until then the core's default applies.
settings = {}


def _core():
    """The core's command (hotfix.cli), imported on first use: importing it (and
    pyelftools) takes most of a second, which would otherwise be added to
    every LLDB start with hotfix in ~/.lldbinit."""
    from hotfix import cli
    if not _core_closing:
        # hotfix's files of a process gone go when LLDB exits; those of one
        # still running (detached) stay for a later session.  LLDB runs no
        # atexit handler of Python (an embedding program, lldb-dap, may):
        # its debugger's destroy callback does, where LLDB has one (19 does,
        # 16 does not: there the next session sweeps them).
        atexit.register(cli.close)
        _core_closing.append(True)
    return cli


def _debugger_destroyed(debugger_id, baton=None):
    cli = sys.modules.get("hotfix.cli")     # nothing to remove before the core is imported
    if cli is not None:
        cli.close()


_core_closing = []


def _debug():
    return settings["debug"] if "debug" in settings else _core().debug_default()


def _error_text(sberror):
    """SBError text without LLDB's "error: " and follow-up lines."""
    text = (sberror.GetCString() or "unknown error").strip()
    if text.startswith("error: "):
        text = text[len("error: "):]
    return text.splitlines()[0] if text else "unknown error"


class LldbDebugger(Debugger):
    """One command's view of LLDB: its target, and its result to print to."""
    name = "lldb"

    def __init__(self, debugger, exe_ctx=None, result=None):
        self.debugger = debugger
        target = exe_ctx.GetTarget() if exe_ctx is not None else None
        self.target = target if target is not None and target.IsValid() else debugger.GetSelectedTarget()
        self.result = result
        self._threads_at = None

    def _process(self):
        return self.target.GetProcess()

    # --- the process -----------------------------------------------------
    def process_state(self):
        process = self._process()
        if not process.IsValid():
            return "none"
        return _STATES.get(process.GetState(), "none")

    def pid(self):
        return self._process().GetProcessID()

    def executable(self):
        return self.target.GetExecutable().fullpath or ""

    def image_file(self, name, address):
        # The module's file spec is LLDB's file on this machine (on a remote
        # platform: a local copy or its module cache); its platform file
        # spec is the target's path.
        module = self.target.ResolveLoadAddress(address).GetModule()
        path = module.GetFileSpec().fullpath if module.IsValid() else None
        if not path and not self.is_remote():
            path = name or self.executable()
        return path if path and os.path.isfile(path) else None

    def _platform(self):
        return self.target.GetPlatform()

    def is_remote(self):
        # A remote platform (`platform connect`).  A process reached with
        # `gdb-remote` under the host platform is taken as on this machine,
        # as LLDB itself does for files.
        platform = self._platform()
        return platform.IsValid() and platform.GetName() != "host" and platform.IsConnected()

    def put_file(self, host_path, target_path):
        error = self._platform().Put(lldb.SBFileSpec(host_path, False), lldb.SBFileSpec(target_path, False))
        if error.Fail():
            raise OSError(_error_text(error))

    def symbol_address(self, name):
        # Prefer global code or data; ld.so and libc both have a local mmap,
        # libc's weak one counts as not external too.
        found = []
        symbols = self.target.FindSymbols(name)
        for i in range(symbols.GetSize()):
            sym = symbols.GetContextAtIndex(i).GetSymbol()
            rank = _SYMBOL_TYPES.get(sym.GetType())
            if not sym.IsValid() or rank is None:
                continue
            address = sym.GetStartAddress().GetLoadAddress(self.target)
            if address != lldb.LLDB_INVALID_ADDRESS:
                found.append((rank, not sym.IsExternal(), i, address))
        return min(found)[3] if found else None

    # --- memory ----------------------------------------------------------
    def read_memory(self, address, size):
        if size == 0:
            return b""
        if size >= _BULK and not self.is_remote():
            data = _read_proc_mem(self.pid(), address, size)
            if data is not None:
                return data
        error = lldb.SBError()
        data = self._process().ReadMemory(address, size, error)
        if error.Fail() or data is None or len(data) != size:
            raise MemoryError("cannot read %d bytes at 0x%x: %s"
                              % (size, address, _error_text(error) if error.Fail() else "short read"))
        return bytes(data)

    def write_memory(self, address, data):
        if not data:
            return
        error = lldb.SBError()
        written = self._process().WriteMemory(address, bytes(data), error)
        if error.Fail() or written != len(data):
            raise MemoryError("cannot write %d bytes at 0x%x: %s"
                              % (len(data), address, _error_text(error) if error.Fail() else
                                 "only %d written" % written))

    def memory_regions(self):
        regions = self._process().GetMemoryRegions()
        out = []
        info = lldb.SBMemoryRegionInfo()
        for i in range(regions.GetSize()):
            if not regions.GetMemoryRegionAtIndex(i, info) or not info.IsMapped():
                continue
            out.append(Region(info.GetRegionBase(), info.GetRegionEnd(), info.IsReadable(), info.IsWritable(),
                              info.IsExecutable(), info.GetName() or ""))
        if not out:
            raise HotfixError("LLDB cannot list the process's memory regions")
        return out

    def registers(self):
        out = []
        process = self._process()
        for i in range(process.GetNumThreads()):
            t = process.GetThreadAtIndex(i)
            sets = t.GetFrameAtIndex(0).GetRegisters()
            general = sets.GetValueAtIndex(0) if sets.GetSize() else None     # "General Purpose Registers"
            for j in range(general.GetNumChildren() if general is not None else 0):
                reg = general.GetChildAtIndex(j)
                if reg.GetByteSize() != process.GetAddressByteSize():
                    continue        # eax, ax, al: parts of a register listed whole
                error = lldb.SBError()
                value = reg.GetValueAsUnsigned(error, 0)
                if error.Success():
                    out.append((t.GetIndexID(), reg.GetName(), value))
        return out

    # --- registers ---------------------------------------------------------
    def _frame0(self, thread_id):
        thread = self._process().GetThreadByIndexID(thread_id)
        frame = thread.GetFrameAtIndex(0) if thread.IsValid() else None
        if frame is None or not frame.IsValid():
            raise MemoryError("there is no thread %d." % thread_id)
        return frame

    def read_register(self, thread_id, name):
        frame = self._frame0(thread_id)
        if name == "pc":
            return frame.GetPC()
        value = frame.FindRegister(name)
        if not value.IsValid():
            raise MemoryError("no register %s" % name)
        return value.GetValueAsUnsigned()

    def write_register(self, thread_id, name, value):
        if name != "pc":
            raise MemoryError("hotfix writes only the pc")
        self._threads_at = None
        if not self._frame0(thread_id).SetPC(value):
            raise MemoryError("cannot set the pc of thread %d" % thread_id)

    def return_address_slot(self, thread_id, level):
        thread = self._process().GetThreadByIndexID(thread_id)
        below = thread.GetFrameAtIndex(level - 1) if thread.IsValid() and level > 0 else None
        if below is None or not below.IsValid():
            raise MemoryError("thread %d has no frame #%d" % (thread_id, level - 1))
        return below.GetCFA() - 8

    def forget_frames(self, thread_ids):
        # LLDB keeps a stopped thread's frames until it runs; writing a
        # register (its own pc, unchanged) makes it unwind again.
        self._threads_at = None
        process = self._process()
        for thread_id in thread_ids:
            frame = process.GetThreadByIndexID(thread_id).GetFrameAtIndex(0)
            if frame.IsValid():
                frame.SetPC(frame.GetPC())

    # --- symbols of code hotfix places itself --------------------------------
    def add_symbol_file(self, path, sections):
        module = self.target.AddModule(path, None, None)
        if not module.IsValid():
            raise OSError("LLDB cannot read %s" % path)
        for i in range(module.GetNumSections()):
            section = module.GetSectionAtIndex(i)
            address = sections.get(section.GetName())
            if address is not None:
                error = self.target.SetSectionLoadAddress(section, address)
                if error.Fail():
                    raise OSError(_error_text(error))
        self._threads_at = None

    def remove_symbol_file(self, path):
        for i in range(self.target.GetNumModules()):
            module = self.target.GetModuleAtIndex(i)
            if module.GetFileSpec().fullpath == os.path.realpath(path) or module.GetFileSpec().fullpath == path:
                self.target.RemoveModule(module)
                break
        self._threads_at = None

    # --- threads ---------------------------------------------------------
    def threads(self):
        # The stacks cannot change until the process runs again (a resume
        # or an inferior call moves the stop id on): unwinding 64 threads
        # costs LLDB ~30 ms, and hotfix asks twice at one stop.
        process = self._process()
        key = (process.GetProcessID(), process.GetStopID(True))
        if self._threads_at and self._threads_at[0] == key:
            return list(self._threads_at[1])
        out = self._unwind(process)
        self._threads_at = (key, out)
        return list(out)

    def _unwind(self, process):
        out = []
        cwd = os.getcwd()
        for i in range(process.GetNumThreads()):
            t = process.GetThreadAtIndex(i)
            frames = []
            for level in range(min(t.GetNumFrames(), MAX_FRAMES)):
                f = t.GetFrameAtIndex(level)
                # A caller frame's GetPC() is its return address, as in GDB.
                function = f.GetFunctionName() or f.GetSymbol().GetName() or ""
                file, line = "", 0
                entry = f.GetLineEntry()
                if entry.IsValid() and entry.GetFileSpec().IsValid():
                    file = entry.GetFileSpec().fullpath or ""
                    line = entry.GetLine()
                    if line == 0xFFFFFFFF:      # LLDB's "no line"
                        file, line = "", 0
                    # GDB names the file as the compiler did (src/jump.c);
                    # LLDB resolves it: show it relative to where we are.
                    if file.startswith(cwd + os.sep):
                        file = os.path.relpath(file, cwd)
                frames.append(Frame(level, f.GetPC(), function, file, line))
            out.append(Thread(t.GetIndexID(), t.GetName() or "", frames))
        return sorted(out, key=lambda t: t.id)

    def call(self, call, thread_id, timeout, others_run=True):
        process = self._process()
        thread = process.GetThreadByIndexID(thread_id)
        if not thread.IsValid():
            raise CallFailed("there is no thread %d." % thread_id)
        selected = process.GetSelectedThread()
        selected_frame = selected.GetSelectedFrame().GetFrameID() if selected.IsValid() else 0
        options = lldb.SBExpressionOptions()
        options.SetLanguage(lldb.eLanguageTypeC)
        options.SetUnwindOnError(True)          # a signal aborts the call and unwinds it
        options.SetIgnoreBreakpoints(True)
        options.SetTryAllThreads(others_run)
        if not others_run:
            options.SetStopOthers(True)
        options.SetTimeoutInMicroSeconds(int(timeout * 1e6))
        options.SetOneThreadTimeoutInMicroSeconds(int(min(CALL_ALONE, timeout) * 1e6))
        # C code: no C++/ObjC exception breakpoints (a patch's constructors may
        # throw and catch inside dlopen); GDB does not trap them either.
        options.SetTrapExceptions(False)
        options.SetSuppressPersistentResult(True)   # no $0, $1 ... left behind
        options.SetAutoApplyFixIts(False)
        # IgnoreBreakpoints alone would let the call run past every hit, but
        # each hit by another thread prints "warning: hit breakpoint while
        # running function": pause them.  Not those a thread is stopped at:
        # re-enabling gives a breakpoint new site ids, and `process continue
        # -i N` finds the breakpoint to ignore by the site id in the thread's
        # stop reason (it would silently ignore nothing).
        before = (process.GetProcessID(), process.GetStopID(True))
        unwound, threads = self._threads_at, [t.GetIndexID() for t in process]
        try:
            with self._user_breakpoints_paused(keep=self._breakpoints_stopped_at(process)), \
                    self._async_signals_passed(process):
                process.SetSelectedThread(thread)
                started = time.monotonic()
                value = thread.GetFrameAtIndex(0).EvaluateExpression(call.expression(), options)
                alone = not others_run or time.monotonic() - started < 0.9 * CALL_ALONE
        finally:
            if selected.IsValid():
                process.SetSelectedThread(selected)
                selected.SetSelectedFrame(selected_frame)
        error = value.GetError()
        if not value.IsValid() or error.Fail():
            raise CallFailed(_error_text(error))
        # LLDB lets the other threads run only once the call has run alone
        # for CALL_ALONE: a call that returned sooner moved none of them,
        # and the calling thread is back where it was, so the stacks
        # unwound before it still hold (LLDB may take a second to unwind a
        # thread whose frames it profiles by their instructions: a
        # jemalloc thread of redis, every stop).
        if alone and unwound and unwound[0] == before and [t.GetIndexID() for t in process] == threads:
            self._threads_at = ((process.GetProcessID(), process.GetStopID(True)), unwound[1])
        return call.result(value.GetValueAsUnsigned())

    @staticmethod
    def _breakpoints_stopped_at(process):
        ids = set()
        for i in range(process.GetNumThreads()):
            t = process.GetThreadAtIndex(i)
            if t.GetStopReason() == lldb.eStopReasonBreakpoint:
                # data: breakpoint id, location id, breakpoint id, location id ...
                ids.update(t.GetStopReasonDataAtIndex(j) for j in range(0, t.GetStopReasonDataCount(), 2))
        return ids

    @contextlib.contextmanager
    def _user_breakpoints_paused(self, keep=()):
        paused = [b for b in (self.target.GetBreakpointAtIndex(i)
                              for i in range(self.target.GetNumBreakpoints()))
                  if b.IsEnabled() and b.GetID() not in keep]
        for b in paused:
            b.SetEnabled(False)
        try:
            yield
        finally:
            for b in paused:
                if b.IsValid():
                    b.SetEnabled(True)

    @contextlib.contextmanager
    def _async_signals_passed(self, process):
        """Signals that only notify the program must not stop an inferior
        call: a stop aborts it (LLDB stops on SIGUSR1, SIGPIPE, SIGIO ... by
        default), and an aborted dlopen keeps the loader lock for good.  They
        go to the program's handlers instead."""
        unix = process.GetUnixSignals()
        changed = []
        for name in ASYNC_SIGNALS:
            number = unix.GetSignalNumberFromName(name)
            if number > 0 and (unix.GetShouldStop(number) or unix.GetShouldNotify(number)):
                changed.append((number, unix.GetShouldStop(number), unix.GetShouldNotify(number)))
                unix.SetShouldStop(number, False)
                unix.SetShouldNotify(number, False)
        try:
            yield
        finally:
            for number, stop, notify in changed:
                unix.SetShouldStop(number, stop)
                unix.SetShouldNotify(number, notify)

    def finish_frame(self, thread_id, level, timeout):
        process = self._process()
        thread = process.GetThreadByIndexID(thread_id)
        if not thread.IsValid():
            return
        # An inlined frame returns nowhere: the function it is inlined into
        # (the next frame that is not inlined) is the one to leave.
        while thread.GetFrameAtIndex(level).IsValid() and thread.GetFrameAtIndex(level).IsInlined():
            level += 1
        caller = thread.GetFrameAtIndex(level + 1)
        if not caller.IsValid():
            return
        selected = process.GetSelectedThread()
        selected_frame = selected.GetSelectedFrame().GetFrameID() if selected.IsValid() else 0
        others = [t for t in process if t.GetIndexID() != thread_id and not t.IsSuspended()]
        back = self.target.BreakpointCreateByAddress(caller.GetPC())
        back.SetThreadID(thread.GetThreadID())
        back.SetOneShot(True)
        try:
            with self._user_breakpoints_paused(keep={back.GetID()}):
                for t in others:
                    t.Suspend()
                try:
                    self._continue_while(lambda stopped: stopped.wait(timeout))
                finally:
                    for t in others:
                        t.Resume()      # resumable again; nothing runs until a continue
        finally:
            if back.IsValid():
                self.target.BreakpointDelete(back.GetID())
            if selected.IsValid():
                process.SetSelectedThread(selected)
                selected.SetSelectedFrame(selected_frame)

    def resume_for(self, seconds):
        # User breakpoints are paused as in GDB's adapter; the stop reason
        # moves to the interrupt, so their new site ids do not matter here.
        process = self._process()
        with self._user_breakpoints_paused():
            self._continue_while(lambda stopped: stopped.wait(seconds))
        if process.GetState() == lldb.eStateExited:
            self._show_stop()

    def resume_until(self, predicate, poll):
        process = self._process()
        asked = []

        # LLDB 16 has no InterruptRequested (17 added it).
        interrupted = getattr(self.debugger, "InterruptRequested", lambda: False)

        def watch(stopped):
            while not stopped.wait(poll):
                # A command interrupt, seen only from this thread.  (LLDB 19
                # gives Ctrl-C to the process's I/O handler instead when the
                # program has LLDB's terminal, and nobody reads it meanwhile.)
                if interrupted():
                    return
                if predicate():
                    asked.append(True)
                    return

        self._continue_while(watch)
        if asked and process.GetState() == lldb.eStateStopped and _stopped_by_interrupt(process):
            return True
        self._show_stop()
        return False

    def _continue_while(self, watch):
        """Continue synchronously (it prints nothing) on another thread while
        watch(stopped) runs on this one; when watch returns, interrupt the
        process until it has stopped.  stopped is set once the continue is
        over.  Meanwhile this thread calls no more of LLDB than
        SendAsyncInterrupt and InterruptRequested: the continue holds the
        target's API lock."""
        process = self._process()
        selected = process.GetSelectedThread().GetIndexID()
        stopped = threading.Event()

        def resume():
            try:
                process.Continue()
            finally:
                stopped.set()

        was_async = self.debugger.GetAsync()
        self.debugger.SetAsync(False)
        resumer = threading.Thread(target=resume, name="hotfix-continue", daemon=True)
        try:
            resumer.start()
            watch(stopped)
        finally:
            _interrupt_until(process, stopped)
            resumer.join()
            self.debugger.SetAsync(was_async)
        if process.GetState() == lldb.eStateStopped and _stopped_by_interrupt(process):
            # The interrupt stops the process in some thread: the user's again.
            process.SetSelectedThreadByIndexID(selected)

    def _show_stop(self):
        """What `continue` prints when the process stops or exits."""
        shown = lldb.SBCommandReturnObject()
        self.debugger.GetCommandInterpreter().HandleCommand("process status", shown)
        text = (shown.GetOutput() or "") + (shown.GetError() or "")
        if text.strip():
            self.write(text.rstrip("\n"))

    # --- breakpoints -----------------------------------------------------
    def breakpoint_locations(self):
        out = []
        for i in range(self.target.GetNumBreakpoints()):
            b = self.target.GetBreakpointAtIndex(i)
            for j in range(b.GetNumLocations()):
                loc = b.GetLocationAtIndex(j)
                address = loc.GetLoadAddress()
                if address != lldb.LLDB_INVALID_ADDRESS:
                    out.append(Location("%d.%d" % (b.GetID(), loc.GetID()), address,
                                        b.IsEnabled() and loc.IsEnabled()))
        return out

    def set_location_enabled(self, key, enabled):
        number, index = (int(x) for x in key.split("."))
        loc = self.target.FindBreakpointByID(number).FindLocationByID(index)
        if loc.IsValid():
            loc.SetEnabled(enabled)

    # --- output ----------------------------------------------------------
    def write(self, text):
        if self.result is not None:
            self.result.AppendMessage(text)
        else:
            out = self.debugger.GetOutputFile()
            out.Write((text + "\n").encode())
            out.Flush()


# LLDB reads a local process's memory through lldb-server at ~100 MB/s;
# hotfix's search for pointers into a migrated static's old storage reads
# every writable mapping.  Reads this large (data, never code: the file
# shows breakpoints' int3 bytes) come from /proc/PID/mem when the process
# lets us (LLDB launched it: we are its ancestor), ~1 GB/s.
_BULK = 1 << 16


def _read_proc_mem(pid, address, size):
    try:
        with open("/proc/%d/mem" % pid, "rb", buffering=0) as f:
            f.seek(address)
            data = f.read(size)
    except (OSError, OverflowError, ValueError):
        return None
    return data if len(data) == size else None


def _interrupt_until(process, stopped):
    """Stop the process as Ctrl-C does: LLDB stops it with SIGSTOP, which it
    never passes to the program (`process handle SIGSTOP`: pass false).
    LLDB drops an interrupt that comes before it has announced "running"
    (with many threads that can take longer than a short wait), so repeat it
    until the stop; one coming after the stop is dropped too, so none is left
    pending (a kill(SIGSTOP) could be, and is local only)."""
    while not stopped.is_set():
        process.SendAsyncInterrupt()
        stopped.wait(INTERRUPT_RETRY)


def _stopped_by_interrupt(process):
    """No thread stopped for a reason of its own (a breakpoint, a signal)."""
    sigstop = process.GetUnixSignals().GetSignalNumberFromName("SIGSTOP")
    for i in range(process.GetNumThreads()):
        t = process.GetThreadAtIndex(i)
        reason = t.GetStopReason()
        if reason == lldb.eStopReasonSignal and t.GetStopReasonDataAtIndex(0) == sigstop:
            continue
        if reason not in (lldb.eStopReasonNone, lldb.eStopReasonInvalid):
            return False
    return True


class HotfixCommand:
    """`hotfix [OPTIONS] FILE...` (see hotfix.cli.help_text())."""

    def __init__(self, debugger, internal_dict):
        pass

    def get_short_help(self):
        return _core().SUMMARY

    def get_long_help(self):
        return _core().help_text()

    def get_repeat_command(self, command):
        return ""       # an empty line must not patch again (GDB: dont_repeat)

    def __call__(self, debugger, command, exe_ctx, result):
        # LLDB hands a script command one raw string.
        try:
            argv = shlex.split(command)
        except ValueError as e:         # an unbalanced quote
            result.SetError("hotfix: %s (see `hotfix --help`)." % str(e).lower())
            return
        try:
            _core().run(LldbDebugger(debugger, exe_ctx, result), argv)
        except Exception as e:
            if not isinstance(e, HotfixError) and _debug():
                result.AppendMessage(traceback.format_exc().rstrip())
            result.SetError(_core().error_text(e, DEBUG_COMMAND))


def _prepare():
    return settings.get("prepare", True)


class ConfigCommand:
    """`hotfix-config [SETTING [on|off]]`: LLDB's `set/show hotfix ...`."""

    VALUES = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False,
              "yes": True, "no": False}
    SETTINGS = {"debug": _debug, "prepare": _prepare}
    USAGE = "hotfix-config [debug|prepare [on|off]]"

    def __init__(self, debugger, internal_dict):
        pass

    def get_short_help(self):
        return "Show or change hotfix's settings."

    def get_long_help(self):
        return ("Usage: %s\n\n"
                "Without arguments, list the settings.\n"
                "  debug    show Python tracebacks of hotfix's internal errors "
                "(default: off, on if HOTFIX_DEBUG is set)\n"
                "  prepare  build the patch of a saved source file in the background, so that the next "
                "hotfix only loads it; nothing is written into the program before that command "
                "(default: on)" % self.USAGE)

    def __call__(self, debugger, command, exe_ctx, result):
        args = command.split()
        if args and args[0] not in self.SETTINGS or len(args) > 2 or \
                len(args) == 2 and args[1].lower() not in self.VALUES:
            result.SetError("hotfix-config: usage: %s" % self.USAGE)
            return
        if len(args) == 2:
            settings[args[0]] = self.VALUES[args[1].lower()]
            if args[0] == "prepare":
                _core().set_prepare(settings["prepare"])
        for name in args[:1] or sorted(self.SETTINGS):
            result.AppendMessage("hotfix %s is %s." % (name, "on" if self.SETTINGS[name]() else "off"))


class StopHook:
    """A scripted stop hook (`target stop-hook add -P`): the first stop of a
    process starts preparing patches (cli.stopped).  The core is imported
    then, not when LLDB starts."""

    def __init__(self, target, extra_args, internal_dict):
        pass

    def handle_stop(self, exe_ctx, stream):
        if _prepare():
            try:
                target = exe_ctx.GetTarget()
                _core().stopped(LldbDebugger(target.GetDebugger(), exe_ctx))
            except Exception:       # noqa: BLE001 - a stop is not a command: nothing to fail
                if _debug():
                    stream.Print(traceback.format_exc())
        return True         # stop as LLDB would


_BREAKPOINT_GAINS = ("eBreakpointEventTypeAdded", "eBreakpointEventTypeLocationsAdded",
                     "eBreakpointEventTypeLocationsResolved", "eBreakpointEventTypeEnabled")


def _guard_breakpoints(debugger):
    """A breakpoint whose location lands inside a jump hotfix wrote is
    disabled there (LLDB's trap would break the jump).  LLDB tells a script
    of new breakpoints only through events: a thread listens for them.
    (A `continue` typed in the same instant may still run before it acts.)"""
    listener = lldb.SBListener("hotfix-breakpoints")
    gains = {getattr(lldb, name) for name in _BREAKPOINT_GAINS}
    event = lldb.SBEvent()
    heard = []          # targets whose breakpoint events come here
    while True:
        # Listening for the whole class of targets hears nothing: each
        # target's own broadcaster, as targets appear.
        for i in range(debugger.GetNumTargets()):
            target = debugger.GetTargetAtIndex(i)
            if target.IsValid() and not any(target == t for t in heard):
                target.GetBroadcaster().AddListener(listener, lldb.SBTarget.eBroadcastBitBreakpointChanged)
                heard.append(target)
        if not listener.WaitForEvent(1, event) or not lldb.SBBreakpoint.EventIsBreakpointEvent(event):
            continue
        cli = sys.modules.get("hotfix.cli")     # no patch before the core is imported
        if cli is None or lldb.SBBreakpoint.GetBreakpointEventTypeFromEvent(event) not in gains:
            continue
        bp = lldb.SBBreakpoint.GetBreakpointFromEvent(event)
        if not bp.IsValid() or bp.IsInternal():
            continue
        where = {}
        for i in range(bp.GetNumLocations()):
            loc = bp.GetLocationAtIndex(i)
            if loc.IsEnabled():
                where[loc.GetLoadAddress()] = loc
        for address, message in cli.guard_breakpoint(bp.GetID(), list(where)):
            where[address].SetEnabled(False)
            out = debugger.GetOutputFile()
            if out.IsValid():
                out.Write((message + "\n").encode())
                out.Flush()
            else:
                print(message, flush=True)


def __lldb_init_module(debugger, internal_dict):
    add = getattr(debugger, "AddDestroyCallback", None)     # not in LLDB 16
    if add is not None:
        add(_debugger_destroyed)
    threading.Thread(target=_guard_breakpoints, args=(debugger,), name="hotfix-breakpoints", daemon=True).start()
    for name, cls in (("hotfix", "HotfixCommand"), ("hotfix-config", "ConfigCommand")):
        debugger.HandleCommand("command script add -o -c %s.%s %s" % (__name__, cls, name))
    # On the selected target, or on LLDB's dummy target (which every target
    # created later copies) when there is none yet.
    shown = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand("target stop-hook add -P %s.StopHook" % __name__, shown)
