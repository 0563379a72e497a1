"""Statics a patch adds live on in the next patch of the unit: one live
instance, as for the program's own (found probing redis: a counter a patch
added started again at 0 when its function was patched once more)."""
import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_statics_a_patch_added_keep_their_values_in_the_next(tmp_path, debugger, opt):
    prog = build("added", tmp_path, ["main.c", "echo.c"], opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy("echo_v2.c", "echo.c"), Hotfix("echo.c"), Continue(2),
        Copy("echo_v3.c", "echo.c"), Hotfix("echo.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = [l for l in hotfix_lines(result) if l.startswith("hotfix: echo.c: ")]
    assert len(lines) == 2, result.transcript
    assert "2 new statics (start from their initial value: echoes, seen)" in lines[0], lines[0]
    assert "2 statics kept" in lines[1] and "new statics" not in lines[1], lines[1]
    assert result.lines() == ["frame 0: echo=0", "frame 1: echo=1", "frame 2: echo=1010", "frame 3: echo=2020",
                              "frame 4: echo=300030", "frame 5: echo=400040"], result.output
    assert exited_normally(result, debugger), result.transcript
