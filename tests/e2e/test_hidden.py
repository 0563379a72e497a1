"""Hidden and internal visibility (fault 1 of issue 18): a patched unit that
calls hidden functions and uses hidden variables of another unit, as an
interpreter's core does, must reach the program's own ones (it crashed)."""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, run
from programs import COMPILERS, LEVELS, build


def expected(n, patched_from):
    out, counter, table, bumps = [], 0, [1, 2, 3, 4], 0
    for i in range(n):
        add = 10 if i >= patched_from else 1
        counter += add
        table[i % 4] += add
        bumps += 1
        r = i * 2 + (1000 if i >= patched_from else 0)
        out.append("frame %d: r=%d counter=%d table=%s bumps=%d" % (i, r, counter, ",".join(map(str, table)), bumps))
    return out + ["done"]


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
@pytest.mark.parametrize("flags", ["", "-fPIC"])   # Debian builds PIE by default
def test_a_patch_reaches_hidden_symbols_of_other_units(tmp_path, debugger, cc, opt, flags):
    prog = build("hidden", tmp_path, ["main.c", "lib.c"], cc=cc, opt=opt + (" " + flags if flags else ""))
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),       # before frame 3's step
        Copy("main_v2.c", "main.c"), Hotfix("main.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert re.search(r"hotfix: main.c: 1 function redirected \(step\)", result.transcript), result.transcript
    assert result.lines() == expected(6, 3), result.transcript + result.output
    assert exited_normally(result, debugger), result.transcript
