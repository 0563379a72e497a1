"""The example game, built by its Makefile and by CMake, patched live."""
import re
import shutil
import subprocess

import pytest

from driver import DEBUGGERS, REPO, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run

FAST = {"JUMP_FAST": "1"}


def build_with(kind, dest):
    shutil.copytree(REPO + "/examples/jump", dest, ignore=shutil.ignore_patterns("obj", "build", "jump",
                                                                                "compile_commands.json"))
    if kind == "make":
        subprocess.run(["make", "-s"], cwd=dest, check=True)
        return str(dest / "jump")
    subprocess.run(["cmake", "-S", ".", "-B", "build", "-DCMAKE_BUILD_TYPE=Debug"], cwd=dest, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", "build"], cwd=dest, check=True, stdout=subprocess.DEVNULL)
    return str(dest / "build" / "jump")


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("kind", ["make", "cmake"])
def test_example_game(tmp_path, debugger, kind):
    game = tmp_path / "jump"
    prog = build_with(kind, game)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(14), Continue(10),       # stopped after frame 10 was drawn
        Copy("patches/jump_v2.c", "src/jump.c"), Hotfix("src/jump.c"),
        Delete(), Continue(),
    ], cwd=game, env=FAST)
    lines = result.lines()
    assert not any("airborne" in l for l in lines[:11]) and len(lines) == 14, result.output
    assert lines[9] == "frame 9: y=0.00 vy=0.00 state=ground jumps=1", lines
    # The new jump (3.0) and label, with the jump counter carried on.
    assert lines[11] == "frame 11: y=3.00 vy=2.50 state=airborne! jumps=2", lines
    assert any(re.match(r"hotfix: src/jump.c: 2 functions redirected \(jump_label, step_player\), "
                        r"2 statics kept", l) for l in hotfix_lines(result)), result.transcript
    assert exited_normally(result, debugger), result.transcript
