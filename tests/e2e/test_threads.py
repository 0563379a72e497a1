"""Many threads calling the edited function in tight loops: with --wait the
patch lands, no thread crashes, no update is lost, every thread switches to
the new code and none goes back."""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
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
