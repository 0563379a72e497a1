"""hotfix watch on: saved edits are applied while the program runs; a
failed compile leaves it running the old code and shows the diagnostics."""
import os
import re
import shutil
import threading
import time

import pytest

from driver import DEBUGGERS, Break, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


def editor(cwd, edits, deadline=60, output=None):
    """The user saving files while the program runs: each (frame, src, dst)
    copies src over dst once the program has printed that frame (to output,
    by default the driver's file).  Keyed on the program's own output, not
    on time, so a slow debugger start does not matter."""
    output = output or os.path.join(cwd, "program-output.txt")

    def edit():
        end = time.monotonic() + deadline
        for frame, src, dst in edits:
            mark = "frame %d:" % frame
            while time.monotonic() < end:
                try:
                    with open(output) as f:
                        if mark in f.read():
                            break
                except FileNotFoundError:
                    pass
                time.sleep(0.005)
            shutil.copy(os.path.join(cwd, src), os.path.join(cwd, dst))

    thread = threading.Thread(target=edit, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_watch_applies_saved_edits_while_the_program_runs(tmp_path, debugger):
    prog = build("game", tmp_path, ["main.c", "game.c"])        # 20 ms per frame
    edits = editor(tmp_path, [(10, "game_broken.c", "game.c"), (30, "game_leaf.c", "game.c")])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(80), Delete(),
        Hotfix("watch on"),
    ], cwd=tmp_path)
    edits.join()
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
    # ratios[k] is frame k+1: saved after frame 30, frame 31 is the first that can be new.
    assert ratios == [2] * switch + [3] * (len(ratios) - switch) and 30 <= switch < 75, ratios
    assert exited_normally(result, debugger), result.transcript
