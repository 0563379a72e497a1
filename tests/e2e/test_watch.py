"""hotfix watch on: saved edits are applied while the program runs; a
failed compile leaves it running the old code and shows the diagnostics."""
import re

import pytest

from driver import DEBUGGERS, Break, Command, Continue, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


def background(script):
    """A shell command that edits files later, while the program runs."""
    text = "sh -c %s >/dev/null 2>&1 &" % repr("(%s)" % script)
    return Command("shell " + text, "platform shell " + text)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_watch_applies_saved_edits_while_the_program_runs(tmp_path, debugger):
    prog = build("game", tmp_path, ["main.c", "game.c"])        # 20 ms per frame
    result = run(debugger, prog, [
        Break("checkpoint"), Run(80), Delete(),
        background("sleep 0.4; cp game_broken.c game.c; sleep 0.6; cp game_leaf.c game.c"),
        Hotfix("watch on"),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert lines[0].startswith("hotfix: watching 3 files of 2 units; continuing"), lines
    assert any(l.startswith("hotfix: compiling game.c failed") for l in lines), lines
    assert "game.c:6:" in result.transcript and "error: expected" in result.transcript, result.transcript
    assert "hotfix: the program goes on with its current code." in lines, lines
    assert any(l.startswith("hotfix: game.c: 1 function redirected (leaf)") for l in lines), lines
    assert lines[-1] == "hotfix: watch ended: the program is gone.", lines
    values = [(int(m.group(1)), int(m.group(2)))
              for m in (re.match(r"frame (\d+): leaf=(\d+)", l) for l in result.lines()) if m]
    assert len(values) == 80, result.output
    ratios = [v // i for i, v in values if i]
    switch = ratios.index(3)
    assert ratios == [2] * switch + [3] * (len(ratios) - switch) and 20 < switch < 75, ratios
    assert exited_normally(result, debugger), result.transcript
