"""The small interface the core needs from a debugger.

gdb/hotfix_gdb.py and lldb/hotfix_lldb.py implement it; the core never
imports gdb or lldb.  Addresses are plain ints in the process's address
space.  Everything here is called with the process stopped, except
`call`, during which the adapter may let other threads run.
"""
import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

# Adapters unwind at most this many frames per thread (deep recursion).
MAX_FRAMES = 512
# Signals that only notify the program: an inferior call must not stop for
# them (stopping aborts the call, and an aborted dlopen keeps the loader lock).
ASYNC_SIGNALS = ("SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGCHLD", "SIGIO", "SIGPIPE",
                 "SIGWINCH", "SIGURG", "SIGPWR")


@dataclass
class Frame:
    level: int
    pc: int                 # for callers: the return address
    function: str = ""      # as the debugger names it ("" if unknown)
    file: str = ""
    line: int = 0

    def where(self):
        place = "%s:%d" % (self.file, self.line) if self.file else "0x%x" % self.pc
        return "%s (%s)" % (self.function or "??", place)


@dataclass
class Thread:
    id: int                 # the number users see ("thread 2")
    name: str = ""
    frames: List[Frame] = field(default_factory=list)


@dataclass
class Region:
    """One mapping of the process's address space."""
    start: int
    end: int
    readable: bool
    writable: bool
    executable: bool
    name: str = ""          # its file, "[heap]", "[stack]", or "" (anonymous)


@dataclass
class Location:
    """One breakpoint location the debugger inserts into the process."""
    key: str                # the adapter's handle, e.g. "1.2"
    address: int
    enabled: bool


class CallFailed(Exception):
    """An inferior call did not return normally (signal, timeout, error)."""


MASK64 = (1 << 64) - 1
# How long the calling thread runs alone before the others may run too: a
# call that has not returned by then waits for a lock another thread holds.
CALL_ALONE = 0.25


@dataclass(frozen=True)
class Call:
    """A call of a function of the process with integer arguments (pointers
    are passed as their addresses)."""
    function: Union[str, int]       # a symbol name, or the function's address
    args: Tuple[int, ...] = ()
    returns: str = "unsigned long"  # "unsigned long" or "int"
    params: Tuple[str, ...] = ()    # the C types of the first arguments (else unsigned long)

    @property
    def name(self):
        return self.function if isinstance(self.function, str) else "the function at 0x%x" % self.function

    def expression(self):
        """The call as a C expression, for a debugger's expression
        evaluator.  A named function's result is cast to its type (libc has
        no debug information); an address is called through a pointer of
        the right type (never a named function through a cast pointer: an
        IFUNC's symbol is its resolver)."""
        types = list(self.params) + ["unsigned long"] * (len(self.args) - len(self.params))
        args = ", ".join("(%s)0x%x" % (t, a & MASK64) for t, a in zip(types, self.args))
        if isinstance(self.function, str):
            # LLDB declares some libc functions itself (getenv): arguments
            # of the declared types.
            return "(%s)%s(%s)" % (self.returns, self.function, args)
        return "((%s (*)(%s))0x%x)(%s)" % (self.returns, ", ".join(types) or "void", self.function, args)

    def result(self, raw):
        """A register's 64 bits as the call's result: an int is the low 32
        bits, sign-extended (then masked to 64 bits, as GDB's int() does)."""
        if self.returns == "int":
            raw &= 0xFFFFFFFF
            raw = raw - (1 << 32) if raw & 0x80000000 else raw
        return raw & MASK64



class Debugger:
    """What hotfix needs from GDB or LLDB."""

    name = "debugger"

    # --- the process -----------------------------------------------------
    def process_state(self) -> str:
        """"none" (no process), "running", or "stopped"."""
        raise NotImplementedError

    def pid(self) -> int:
        raise NotImplementedError

    def executable(self) -> str:
        """Path of the main executable on this machine (on a remote target:
        the host copy the debugger reads)."""
        raise NotImplementedError

    def image_file(self, name: str, address: int) -> Optional[str]:
        """The file on this machine that the debugger reads for a loaded
        image: `name` is its path in the process (from the dynamic loader's
        link map; "" for the main program), `address` an address inside it.
        On a remote target that is the debugger's host copy (GDB: the
        sysroot's file, or one fetched from the target; LLDB: the module's
        file), never the target's path.  None if there is none."""
        path = name or self.executable()
        return path if os.path.isfile(path) else None

    # --- the target system -------------------------------------------------
    def is_remote(self) -> bool:
        """Whether the process runs behind a remote stub (gdbserver, an
        lldb-server platform), whose files are not this machine's: a patch
        is then copied there with put_file before it is loaded."""
        return False

    def put_file(self, host_path: str, target_path: str) -> None:
        """Copy a file of this machine to the target system (remote only).
        Raises OSError with the debugger's reason."""
        raise NotImplementedError

    def symbol_address(self, name: str) -> Optional[int]:
        """Runtime address of a global symbol (function or data) anywhere
        in the process, or None."""
        raise NotImplementedError

    def auxv_entry(self, kind: int) -> Optional[int]:
        """A value of the process's auxiliary vector (AT_ENTRY is 9), or
        None if the debugger cannot tell (then symbols are looked up)."""
        return None

    # --- memory ----------------------------------------------------------
    def read_memory(self, address: int, size: int) -> bytes:
        raise NotImplementedError

    def write_memory(self, address: int, data: bytes) -> None:
        """Write even to read-only code pages."""
        raise NotImplementedError

    def memory_regions(self) -> List[Region]:
        """Every mapping of the process, in address order (GDB: `info proc
        mappings`; LLDB: its memory regions)."""
        raise NotImplementedError

    def registers(self) -> List[Tuple[int, str, int]]:
        """(thread id, register name, value) of every general register of
        every thread, as its innermost frame has them."""
        raise NotImplementedError

    # --- threads ---------------------------------------------------------
    def threads(self) -> List[Thread]:
        """Every thread with its unwound frames, innermost first."""
        raise NotImplementedError

    def call(self, call: Call, thread_id: int, timeout: float, others_run: bool = True) -> int:
        """Run a Call on the given thread and return its result
        (Call.result).  The calling thread runs alone first; only if the
        call has not returned after CALL_ALONE seconds (it waits for a lock
        a stopped thread holds) do the other threads run too, and never
        when others_run is False (a call that takes no lock, such as
        mprotect).  User breakpoints must not stop it; a signal aborts it
        and unwinds the call, raising CallFailed.  Afterwards every thread
        is stopped again, and the calling thread has every register it had
        (so a thread that did not have to run is exactly where it was),
        as have the selected thread and frame."""
        raise NotImplementedError

    def finish_frame(self, thread_id: int, level: int, timeout: float) -> None:
        """Let only this thread run (user breakpoints paused) until its
        frame at `level` returns, or for at most `timeout` seconds; it is
        stopped again afterwards, wherever it got to.  The selected thread
        and frame stay as they were."""
        raise NotImplementedError

    def resume_for(self, seconds: float) -> None:
        """Let the process run for a while, then stop it again (--wait)."""
        raise NotImplementedError

    def resume_until(self, predicate, poll: float) -> bool:
        """Continue the process, user breakpoints active, until it stops by
        itself (return False; the user sees why, as after `continue`) or
        predicate() is true, asked every `poll` seconds from another thread
        (then stop it, quietly, and return True).  predicate() must not
        call the debugger."""
        raise NotImplementedError

    # --- breakpoints -----------------------------------------------------
    def breakpoint_locations(self) -> List[Location]:
        raise NotImplementedError

    def set_location_enabled(self, key: str, enabled: bool) -> None:
        raise NotImplementedError

    # --- output ----------------------------------------------------------
    def write(self, text: str) -> None:
        """Print a line (or lines) to the debugger's console."""
        raise NotImplementedError
