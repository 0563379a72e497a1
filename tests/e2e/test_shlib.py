"""A unit of a shared library the program loaded is patched in place; its
static keeps counting."""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_unit_in_a_shared_library(tmp_path, debugger):
    prog = build("shlib", tmp_path, ["main.c"], library="lib.c")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(5), Continue(3),
        Copy("lib_v2.c", "lib.c"), Hotfix("lib.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    values = [int(re.match(r"frame \d+: value=(-?\d+)", l).group(1)) for l in result.lines()]
    assert values == [1000, 2001, 3002, -4003, -5004], result.output
    assert any("lib.c: 1 function redirected (lib_value), 1 static kept" in l for l in hotfix_lines(result)), \
        result.transcript
    assert exited_normally(result, debugger), result.transcript
