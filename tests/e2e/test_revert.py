"""--status lists what was applied; --revert puts the program's own code
back, keeping the state the patched code left."""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build
from test_state import expected, frames


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_status_and_revert(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(7), Hotfix("--status"), Continue(2),
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Continue(2), Hotfix("--status"), Hotfix("--revert state.c"), Hotfix("--status"),
        Hotfix("--revert --all"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    t = result.transcript
    assert lines[0].startswith("hotfix: no patches applied in process "), lines
    assert re.search(r"hotfix: 1 patch applied in process \d+:\n  state.c patch 1 at \d\d:\d\d:\d\d: redirected "
                     r"state_check, state_label, state_step; statics kept: calls in state_step\(\), counter; "
                     r"bound: frames, total\n  state.c: all 3 entries jump straight to the newest code\n  state.c: no replaced function is active now", t), t
    assert "hotfix: state.c: reverted 3 functions (state_check, state_label, state_step) to the program's own code." in lines
    assert sum(1 for l in lines if l.startswith("hotfix: no patches applied")) == 2, lines
    assert "hotfix: nothing to revert: no patches applied." in lines, lines
    # v1 again from frame 4 on, its counter going on from where v2 left it.
    want = expected(7, {2: ("v2", 10), 4: ("v1", 1)})
    assert frames(result) == want, result.output
    assert exited_normally(result, debugger), t
