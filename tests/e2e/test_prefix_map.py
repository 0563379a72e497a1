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


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_an_out_of_tree_build_with_a_prefix_map(tmp_path, debugger):
    # CMake's way under dpkg-buildflags: compiled in build/ by absolute
    # source names, with the source tree mapped to ".": DWARF says the unit
    # is ./src/game.c in ./build, which joined is no file.
    import json
    import shutil
    import subprocess
    from programs import HERE
    src, out = tmp_path / "src", tmp_path / "build"
    src.mkdir()
    out.mkdir()
    for name in os.listdir(os.path.join(HERE, "game")):
        shutil.copy(os.path.join(HERE, "game", name), src)
    entries, objects = [], []
    for unit in ("main.c", "game.c"):
        argv = ["gcc", "-g", "-O0", "-ffile-prefix-map=%s=." % tmp_path, "-c", str(src / unit),
                "-o", unit + ".o"]
        subprocess.run(argv, cwd=out, check=True)
        entries.append({"directory": str(out), "file": str(src / unit), "arguments": argv})
        objects.append(unit + ".o")
    subprocess.run(["gcc", "-o", "prog"] + objects, cwd=out, check=True)
    (out / "compile_commands.json").write_text(json.dumps(entries))
    unit = str(src / "game.c")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(debugger, str(out / "prog"), [
        Break("checkpoint"), Run(6), Continue(2),
        Copy(str(src / "game_leaf.c"), unit), Hotfix(unit), Delete(), Continue(),
    ], cwd=elsewhere)
    assert any("1 function redirected (leaf)" in l for l in hotfix_lines(result)), result.transcript
    assert result.lines()[-1] == "frame 5: leaf=15", result.output
    assert exited_normally(result, debugger), result.transcript
