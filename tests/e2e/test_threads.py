"""Many threads calling the edited function in tight loops: with --wait the
patch lands, no thread crashes, no update is lost, every thread switches to
the new code and none goes back."""
import re

import pytest

from driver import DEBUGGERS, Break, Command, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_tight_loops_in_eight_threads(tmp_path, debugger, opt):
    prog = build("threads", tmp_path, ["main.c", "work.c"], opt=opt, link_flags=["-pthread"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy("work_v2.c", "work.c"), Hotfix("--wait=20 work.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(re.match(r"hotfix: work.c: 1 function redirected \(bump\)", l) for l in hotfix_lines(result)), \
        result.transcript
    assert result.lines()[-1] == "threads=8 updates_lost=0 switched=8 went_back=0", result.output
    assert exited_normally(result, debugger), result.transcript


# In the debugger's Python: hotfix's adapter unwinds every thread, makes an
# inferior call on the main thread, unwinds again.
_STACKS_AROUND_A_CALL = """
import sys
from hotfix.debugger import Call
if "gdb" in sys.modules:
    import __main__
    d = __main__.GdbDebugger()
else:
    import lldb
    d = sys.modules["hotfix_lldb"].LldbDebugger(lldb.debugger)
def worker_in(threads):
    names = [f.function for t in threads for f in t.frames]
    place = "moved" if "moved" in names else "parked" if "parked" in names else "?"
    # What the adapter gives (perhaps kept from before the call) against
    # the threads unwound now.
    fresh = d._unwind() if "gdb" in sys.modules else d._unwind(d._process())
    def stacks(ts):
        return [(t.id, [(f.function, f.pc) for f in t.frames]) for t in ts]
    return place + (" (as unwound now)" if stacks(threads) == stacks(fresh) else " (STALE)")
caller = [t.id for t in d.threads() if any(f.function == "checkpoint" for f in t.frames)][0]
print("BEFORE-CALL worker in " + worker_in(d.threads()))
d.call(Call("getpid", returns="int"), caller, 10.0)
print("AFTER-QUICK-CALL worker in " + worker_in(d.threads()))
try:
    d.call(Call("release_and_wait", returns="int"), caller, 10.0)
except Exception as e:
    print("CALL-FAILED %s" % e)
print("AFTER-LONG-CALL worker in " + worker_in(d.threads()))
"""


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_the_stacks_after_a_call_are_those_the_threads_have(tmp_path, debugger):
    """LLDB lets the other threads run during an inferior call that has run
    alone for CALL_ALONE (GDB never does): the stacks hotfix sees after such
    a call must be unwound again, while after a quick call (no other thread
    ran) the adapters keep the ones unwound before (LLDB takes up to a
    second to unwind some threads).  Each time they are those a fresh
    unwind gives."""
    prog = build("parked", tmp_path, ["main.c"], link_flags=["-pthread"])
    script = tmp_path / "around.py"
    script.write_text(_STACKS_AROUND_A_CALL)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(),
        Command("python exec(open(%r).read())" % str(script), "script exec(open(%r).read())" % str(script)),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = [l.strip() for l in result.transcript.splitlines() if "-CALL worker in " in l and "print" not in l]
    moved_on = "moved" if debugger == "lldb" else "parked"
    assert lines == ["BEFORE-CALL worker in parked (as unwound now)",
                     "AFTER-QUICK-CALL worker in parked (as unwound now)",
                     "AFTER-LONG-CALL worker in %s (as unwound now)" % moved_on], result.transcript
    assert "done" in result.lines(), result.output
