"""A program built with -ffile-prefix-map (what dpkg-buildflags adds to
every Debian package build: reproducible=+fixfilepath) names its units
relative to "." in the debug information.  From a debugger started in
another directory, the edited file given by its full path must still be
found (compile_commands.json beside the program names it absolutely)."""
import os

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


# Found while building tests/realworld's programs the Debian way.
@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_prefix_mapped_unit_is_found_from_another_directory(tmp_path, debugger):
    src = tmp_path / "src"
    src.mkdir()
    prog = build("game", src, ["main.c", "game.c"], opt="-O0 -ffile-prefix-map=%s=." % src)
    unit = os.path.join(str(src), "game.c")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy(str(src / "game_leaf.c"), unit), Hotfix(unit), Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(l.startswith("hotfix: %s: 1 function redirected (leaf)" % unit) for l in hotfix_lines(result)), \
        result.transcript
    assert result.lines()[-1] == "frame 5: leaf=15", result.output
    assert exited_normally(result, debugger), result.transcript
