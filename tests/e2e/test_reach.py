"""Only what a patch's new code reaches is rebound (native's live sites):
what it reaches through a migrated static and a new table of pointers is
bound to the program's storage and functions all the same."""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build


def frames(result):
    return [m.groups() for m in (re.match(r"frame (\d+): (v\d) peek=(\d+) step=(\d+) same=(\d)", l)
                                 for l in result.lines()) if m]


def expected(n, patched_at):
    out, a, kept = [], 1, 0
    for i in range(n):
        new = i >= patched_at
        a += 1
        step = 2 + (1 if new else 0)          # v2: pair.b (carried) + (calls[0] == reach_peek)
        kept += 1
        out.append((str(i), "v2" if new else "v1", str(a + kept), str(step), "1"))
    return out


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_a_function_a_migration_redirects_uses_the_programs_other_statics(tmp_path, debugger, opt):
    # reach_peek does not change, but it uses pair, whose type does: it runs
    # the patch's code from then on, which must count in the program's kept.
    prog = build("reach", tmp_path, ["main.c", "reach.c"], opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),
        Copy("reach_v2.c", "reach.c"), Hotfix("reach.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert any(re.match(r"hotfix: reach.c: \d functions? redirected \(.*reach_peek.*\).*1 static migrated \(pair\)",
                        l) for l in lines), result.transcript
    assert frames(result) == expected(6, 3), result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_a_new_table_only_new_code_reads_holds_the_programs_functions(tmp_path, debugger, opt):
    prog = build("reach", tmp_path, ["main.c", "reach.c"], opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),
        Copy("reach_v3.c", "reach.c"), Hotfix("reach.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    # -O2 folds the comparison (the table is constant): reach_same is the same.
    assert any(re.match(r"hotfix: reach.c: [23] functions redirected \(reach_label, (reach_same, )?reach_step\)", l)
               for l in lines), result.transcript
    assert frames(result) == expected(6, 3), result.output      # same=1: calls[0] is the program's reach_peek
    assert exited_normally(result, debugger), result.transcript
