"""C++ exceptions thrown in patched code unwind through patched frames to
the program's own handlers (the patch's unwind tables are found through
the loader like any library's)."""
import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cxx", ["g++", "clang++"])
@pytest.mark.parametrize("opt", LEVELS)
def test_exceptions_from_patched_code_reach_the_programs_handlers(tmp_path, debugger, cxx, opt):
    prog = build("throw", tmp_path, ["main.cpp", "rules.cpp"], cc=cxx, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(8), Continue(3),
        Copy("rules_v2.cpp", "rules.cpp"), Hotfix("rules.cpp"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(l.startswith("hotfix: rules.cpp: ") and "risky(int)" in l for l in hotfix_lines(result)), \
        result.transcript
    frames = [l for l in result.lines() if l.startswith("frame ")]
    assert frames == ["frame 0: value 1", "frame 1: value 11", "frame 2: caught v1 refuses frame 2",
                      "frame 3: caught v2 refuses frame 3", "frame 4: value 401",
                      "frame 5: caught v2 refuses frame 5", "frame 6: value 601",
                      "frame 7: caught v2 refuses frame 7"], result.output
    assert exited_normally(result, debugger), result.transcript
