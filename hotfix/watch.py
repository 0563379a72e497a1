"""`hotfix watch on`: patch the program whenever a source file of it is saved."""
import os
import time

from . import gcpause, patches
from .cli import PARSER, ArgumentError, refresh_preparer, session
from .errors import HotfixError
from .pipeline import Hotfix
from .program import Program

WATCH_POLL = 0.2


def watch(dbg, argv):
    """hotfix watch on: continue the program; whenever a file of one of its
    units is saved, interrupt it, patch what changed (or show why not) and
    continue.  Back to the prompt when the program stops by itself."""
    if argv not in (["on"], ["off"], []):
        raise ArgumentError("usage: hotfix watch on|off.")
    if argv == ["off"]:
        dbg.write("hotfix: watch is off (it runs only while `hotfix watch on` continues the program).")
        return
    state = dbg.process_state()
    if state != "stopped":
        raise HotfixError("the program is not running." if state == "none" else
                          "the program is running: interrupt it first (Ctrl-C), then hotfix watch on.")
    s = session()
    s.for_process(dbg.pid(), not dbg.is_remote())
    program = Program(dbg, s.cache, s.process.shipped)
    patches.recover(dbg, s, program)
    refresh_preparer(dbg, s, program)       # builds while the program runs
    files = s.files.of(program, dbg.executable())
    # System headers do not change under a running program: not watched.
    paths = {n for _, _, _, names in files for n in names if not n.startswith("/usr/")}

    def mtimes():
        out = {}
        for path in paths:
            try:
                out[path] = os.stat(path).st_mtime_ns
            except OSError:
                out[path] = 0
        return out

    seen = mtimes()
    dbg.write("hotfix: watching %d files of %d units; continuing (back to the prompt when the program "
              "stops)." % (len(paths), len(files)))
    args = PARSER.parse_args(["--all-changed"])
    while True:
        if not dbg.resume_until(lambda: mtimes() != seen, WATCH_POLL):
            dbg.write("hotfix: watch ended: the program %s." % (
                "stopped" if dbg.process_state() == "stopped" else "is gone"))
            return
        time.sleep(WATCH_POLL / 2)      # let the editor finish writing
        seen = mtimes()
        command = Hotfix(dbg, s, args)
        try:
            with gcpause.paused():
                command.run()
        except HotfixError as e:
            dbg.write("hotfix: %s" % e)
            dbg.write("hotfix: the program goes on with its current code.")
        finally:
            refresh_preparer(dbg, s, getattr(command, "program", None))
