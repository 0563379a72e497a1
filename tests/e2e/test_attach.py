"""Attach to a running program, hotfix it, detach: it goes on running the
new code after the debugger is gone (and is not left stopped)."""
import re
import subprocess
import time

import pytest

from driver import DEBUGGERS, Attach, Copy, Detach, Hotfix, hotfix_lines, run
from programs import build


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_attach_hotfix_detach(tmp_path, debugger):
    build("game", tmp_path, ["main.c", "game.c"])
    with open(tmp_path / "out.txt", "w") as out:
        # 150 frames of 20 ms: the program runs on its own, long enough.
        proc = subprocess.Popen([str(tmp_path / "prog"), "150"], cwd=tmp_path, stdout=out)
    try:
        time.sleep(0.5)
        result = run(debugger, None, [
            Attach(proc.pid), Copy("game_leaf.c", "game.c"), Hotfix("game.c"), Detach(),
        ], cwd=tmp_path)
        assert any(l.startswith("hotfix: game.c: 1 function redirected (leaf)") for l in hotfix_lines(result)), \
            result.transcript
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = (tmp_path / "out.txt").read_text().splitlines()
    values = [(int(m.group(1)), int(m.group(2))) for m in (re.match(r"frame (\d+): leaf=(\d+)", l) for l in lines) if m]
    assert len(values) == 150, lines[-3:]
    ratios = [v // i for i, v in values if i]
    switch = ratios.index(3)
    assert ratios == [2] * switch + [3] * (len(ratios) - switch) and switch > 5, ratios
