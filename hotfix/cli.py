"""The `hotfix` command, for any debugger: its arguments, its help, and
run(), which hands each command to its stage (watch.py, patches.py,
pipeline.py).

The adapters call run(debugger, argv) and turn HotfixError into their own
error (gdb.GdbError, SBCommandReturnObject.SetError).
"""
import argparse
import os

from . import arch as arches
from . import gcpause, patches, prepare, report
from .compdb import find_unit
from .errors import HotfixError
from .names import demangle_text
from .pipeline import Hotfix
from .program import Program
from .session import Session

DEFAULT_WAIT = 5.0
SUMMARY = "Patch the running program with the edited source FILE; state is kept."

HELP_EPILOG = """\
hotfix watch on continues the program and, whenever a source file of it is
saved, interrupts it, patches what changed (or shows the compiler's
diagnostics and keeps the old code) and continues; it comes back to the
prompt when the program stops by itself (a breakpoint, a signal, Ctrl-C).

While the debugger holds the program, a saved source file (or header) is
compiled, compared and linked in the background; hotfix then only loads
the patch, if the files are still what was built ("prepared" in its
summary).  Nothing is written into the program before the command; a
compile error is shown by it.  GDB: set hotfix prepare off; LLDB:
hotfix-config prepare off.

hotfix recompiles each FILE with the command that built it (from
compile_commands.json, or the flags in its debug information), compares
the new code with the code the program runs, and redirects only the
functions that changed (one whose code differs only in the line numbers
of __LINE__, after an edit above it, is left as it is).  Every global and
static keeps its one live instance and its value.  A static whose type
changed is migrated: the patch's copy gets its value member by member, as
the debug information describes both types, every function that uses it
runs the new code, and pointers to it that the debug information shows
are moved with it; a word of the process that points into it anywhere
else (the heap, a stack, a register) refuses the migration, naming where
it is, unless --force-migrate.  A changed function that is running in
x86-64 code built at -O0 (main's loop, a thread's body) has each of its
frames moved into the new code, at the point that does the same from
where the frame stands, when that is proven (the plan shows each move).
If anything is unsafe (a running frame that cannot move, a static that
cannot be migrated, a symbol cannot be bound) nothing is written and
hotfix says why.  Stop the program first (Ctrl-C or a breakpoint), then
continue it after the patch.

With gdbserver or an lldb-server platform the patch is built here, copied
into a private directory the program makes on the target, and loaded from
there (--status names the file).

x86-64 and AArch64 programs; an AArch64 program may run under qemu-user
with gdb-multiarch connected to qemu's gdbstub (set sysroot to the
program's libraries, e.g. /usr/aarch64-linux-gnu)."""


class ArgumentError(HotfixError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the debugger."""

    def error(self, message):
        raise ArgumentError("%s (see `hotfix --help`)." % message)

    def exit(self, status=0, message=None):
        raise ArgumentError(message or "")


def make_parser():
    p = _Parser(prog="hotfix", description=SUMMARY, epilog=HELP_EPILOG, add_help=False,
                usage="hotfix [OPTIONS] FILE...\n       hotfix [OPTIONS] --all-changed\n"
                      "       hotfix --revert FILE... | --revert --all | --status\n"
                      "       hotfix watch on|off",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="an edited source file of the program, or a header: every unit that includes "
                        "it is rebuilt")
    p.add_argument("-a", "--all-changed", action="store_true",
                   help="every unit whose source or included header changed since the program was "
                        "built or the unit last patched, as one patch")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="print the plan (functions, statics and how they migrate, jumps, running "
                        "frames to move) and write nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="list every write")
    p.add_argument("--force-migrate", action="store_true",
                   help="migrate a static whose type changed even if words of the process that hotfix "
                        "cannot tell are pointers point into its old storage (they keep pointing there)")
    p.add_argument("--wait", nargs="?", const=DEFAULT_WAIT, type=float, metavar="SECONDS",
                   help="if a changed function is running where its frame cannot move, or every "
                        "thread is in malloc or the loader, let the program run and retry for up to "
                        "SECONDS (default 5)")
    p.add_argument("--status", action="store_true",
                   help="list the patches applied in this process and whether replaced code is running")
    p.add_argument("--revert", action="store_true",
                   help="put back the program's own code of each FILE (or of every unit with --all), "
                        "and the values of statics migrated into their own storage")
    p.add_argument("--all", action="store_true", help="with --revert: every patched unit")
    p.add_argument("--json", action="store_true",
                   help="for front ends: end with one line 'hotfix-json: {...}', the result as JSON "
                        "(ok, message, patches, diagnostics, refusals)")
    p.add_argument("-h", "--help", action="store_true", help="show this help")
    return p


PARSER = make_parser()


def help_text():
    return PARSER.format_help().rstrip()


def options():
    return [a for action in PARSER._actions for a in action.option_strings]


def debug_default():
    """Whether tracebacks of internal errors are shown before the user
    changes the setting (GDB: `set hotfix debug`, LLDB: `hotfix-config debug`)."""
    return bool(os.environ.get("HOTFIX_DEBUG"))


def _wait_value_given(argv):
    """`--wait FILE` means the default wait, then FILE (argparse would take
    FILE for the seconds: "invalid float value")."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg == "--wait":
            try:
                float(out[i + 1])
            except ValueError:
                out[i] = "--wait=%g" % DEFAULT_WAIT
    return out


def error_text(error, debug_command):
    """The one line an adapter shows for an exception out of run():
    HotfixError's sentence, or for a bug of ours its type and text and the
    command that turns tracebacks on."""
    if isinstance(error, HotfixError):
        return "hotfix: %s" % demangle_text(str(error))
    return ("hotfix: internal error: %s: %s (`%s` shows the traceback)"
            % (type(error).__name__, error, debug_command))


_session = None
# Settings both adapters change (GDB: set hotfix prepare; LLDB: hotfix-config prepare).
SETTINGS = {"prepare": True}
_running = []           # a hotfix command is under way (its own stops are not the user's)
_stops_seen = {}        # "pid": the process whose first stop was seen


def set_prepare(on):
    """Preparing patches on save on or off; off gives up every background
    build at once."""
    SETTINGS["prepare"] = bool(on)
    if not on and _session is not None:
        _session.stop_preparing()


def refresh_preparer(dbg, s, program):
    """After a command, on the debugger's thread: the preparer learns the
    process as it now is (prepare.Snapshot).  A failure here costs only
    the preparing."""
    if not SETTINGS["prepare"] or program is None or s.process is None:
        return
    try:
        if s.preparer is None:
            s.preparer = prepare.Preparer()
        s.preparer.update(prepare.take_snapshot(dbg, s, program))
    except HotfixError:
        pass                # a program hotfix cannot patch: nothing to prepare
    except Exception:       # noqa: BLE001 - never the command's error: a bug of ours, shown on request
        _show_internal_error()


def _show_internal_error():
    if debug_default():
        import traceback
        traceback.print_exc()


def stopped(dbg):
    """The adapters call this on the debugger's thread whenever the process
    stops (GDB's stop event, LLDB's stop hook).  The first stop the session
    sees of a process starts preparing patches for it; later ones cost a
    comparison.  Not for remote processes (reading their images may fetch
    files): there the first command starts it."""
    if _running or not SETTINGS["prepare"]:
        return
    try:
        if dbg.process_state() != "stopped" or dbg.is_remote():
            return
        s = session()
        pid = dbg.pid()
        if s.preparer is not None and s.preparer.serves(pid) or _stops_seen.get("pid") == pid:
            return
        _stops_seen["pid"] = pid        # once per process (a static program is tried once)
        s.for_process(pid, True)
        refresh_preparer(dbg, s, Program(dbg, s.cache, s.process.shipped))
    except HotfixError:
        pass
    except Exception:       # noqa: BLE001 - a stop is not a command: nothing to fail
        _show_internal_error()


def process_gone():
    """The adapters call this when the debugger lets go of the process
    (it exited, was killed or detached)."""
    if _session is not None:
        _session.process_gone()


def close():
    """The adapters call this when the debugger exits."""
    if _session is not None:
        _session.close()


def guard_breakpoint(number, addresses):
    """The adapters call this when a breakpoint gets locations: [(address,
    message)] of those to disable (inside a jump hotfix wrote)."""
    if _session is None or _session.process is None or not _session.process.originals:
        return []
    return patches.guard_breakpoint(_session.process, number, addresses)


def session():
    global _session
    if _session is None:
        _session = Session()
    return _session


def run(dbg, argv):
    """Run one `hotfix` command.  Raises HotfixError with the sentence to show."""
    _running.append(True)
    try:
        return _dispatch(dbg, argv)
    finally:
        _running.pop()


def _dispatch(dbg, argv):
    if argv[:1] == ["watch"]:
        from .watch import watch        # watch.py uses this module's parser and session
        return watch(dbg, argv[1:])
    args = PARSER.parse_args(_wait_value_given(argv))
    with gcpause.paused():      # `hotfix watch` pauses it for each patch
        if args.json:
            return report.run_json(dbg, lambda recorder: _run(recorder, args), session(), error_text)
        return _run(dbg, args)


def _run(dbg, args):
    if args.help:
        dbg.write(help_text())
        return
    if args.all and not args.revert:
        raise ArgumentError("--all goes with --revert (see `hotfix --help`).")
    if args.all_changed and (args.files or args.revert or args.status):
        raise ArgumentError("--all-changed takes no FILE and goes alone (see `hotfix --help`).")
    if not args.files and not (args.status or args.all or args.all_changed):
        raise ArgumentError("name the edited source file: hotfix FILE (see `hotfix --help`).")
    state = dbg.process_state()
    if state == "none":
        raise HotfixError("the program is not running.")
    if state == "running":
        raise HotfixError("the program is running: interrupt it first (Ctrl-C), then hotfix.")
    s = session()
    s.for_process(dbg.pid(), not dbg.is_remote())
    program = Program(dbg, s.cache, s.process.shipped)
    patches.recover(dbg, s, program)
    if args.status or args.revert:
        arch = arches.of_program(program)
    if args.status:
        patches.status(dbg, s, arch)
    elif args.revert:
        if args.all:
            units = [path for path, versions in s.process.units.items() if versions]
        else:
            units = [find_unit(program, f).path for f in args.files]
        try:
            patches.revert(dbg, s, units, args.wait, arch, program, args.force_migrate)
        finally:
            refresh_preparer(dbg, s, program)
    else:
        try:
            Hotfix(dbg, s, args, program).run()
        finally:
            refresh_preparer(dbg, s, program)
