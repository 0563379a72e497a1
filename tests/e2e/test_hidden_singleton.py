"""A function-local singleton in a shared library built with
-fvisibility=hidden (leveldb's Env::Default()): after a neutral edit of the
function that holds it, the patch must use the library's guard variable,
so the object is not constructed a second time over the live one (leveldb
then started a second background thread)."""
import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_a_hidden_singleton_is_constructed_once(tmp_path, debugger, opt):
    prog = build("hidden_singleton", tmp_path, ["main.cpp"], cc="g++", opt=opt + " -fvisibility=hidden",
                 library="singleton.cpp")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(), Continue(2),
        Copy("singleton_v2.cpp", "singleton.cpp"), Hotfix("singleton.cpp"), Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(l.startswith("hotfix: singleton.cpp: ") and "constructions_seen()" in l
               for l in hotfix_lines(result)), result.transcript
    assert result.lines() == ["frame %d: constructions=1" % i for i in range(4)], result.output
    assert exited_normally(result, debugger), result.transcript
