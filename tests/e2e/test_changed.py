"""--all-changed and header edits: which units are rebuilt, and that they
are applied as one operation, all or nothing."""
import os
import re
import time

import pytest

from driver import (DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally,
                    hotfix_lines, run)
from programs import build

UNITS = ["main.c", "a.c", "b.c", "c.c", "d.c"]


def values(result):
    return [tuple(int(x) for x in m.groups())
            for m in (re.match(r"frame (\d+): a=(-?\d+) b=(-?\d+) c=(-?\d+) d=(-?\d+)", l)
                      for l in result.lines()) if m]


def old(i):
    return (i, i, i + 100, -i, 7)


def build_multi(tmp_path):
    prog = build("multi", tmp_path, UNITS)
    past = time.time() - 100
    for name in os.listdir(tmp_path):       # sources older than the program and its objects
        if name.endswith((".c", ".h")):
            os.utime(tmp_path / name, (past, past))
    return prog


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("how", ["header", "all-changed"])
def test_a_header_edit_rebuilds_every_unit_that_includes_it(tmp_path, debugger, how):
    prog = build_multi(tmp_path)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("tune_v2.h", "tune.h"), Hotfix("tune.h" if how == "header" else "--all-changed"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert values(result) == [old(0), old(1), (2, 4, 202, -2, 7), (3, 6, 203, -3, 7)], result.output
    lines = hotfix_lines(result)
    header = [l for l in lines if "units to rebuild" in l]
    assert len(header) == 1, lines
    why = "includes tune.h" if how == "header" else "includes edited header tune.h"
    for unit in ("a.c", "b.c", "d.c"):
        assert "%s (%s)" % (unit, why) in header[0], header
    assert "c.c" not in header[0] and "main.c" not in header[0], header
    assert "hotfix: d.c: no function changed; nothing to do." in lines, lines
    assert any(l.startswith("hotfix: a.c: 1 function redirected (a_value)") for l in lines), lines
    assert any(l.startswith("hotfix: b.c: 1 function redirected (b_value)") for l in lines), lines
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_two_edited_units_are_one_operation_and_new_functions_load(tmp_path, debugger):
    prog = build_multi(tmp_path)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("a_new.c", "a.c"), Copy("c_v2.c", "c.c"), Hotfix("--all-changed"),
        Hotfix("--all-changed"),                        # nothing left to do
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert values(result) == [old(0), old(1), (2, 1004, 102, -20, 7), (3, 1006, 103, -30, 7)], result.output
    lines = hotfix_lines(result)
    assert "hotfix: 2 units to rebuild: a.c (edited), c.c (edited)" in lines, lines
    assert any(l.startswith("hotfix: a.c: 1 function redirected (a_value), 1 new (twice)") for l in lines), lines
    assert lines[-1] == "hotfix: no source file of the program changed since it was built or last patched.", lines
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_one_unit_failing_to_compile_applies_nothing(tmp_path, debugger):
    prog = build_multi(tmp_path)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("a_broken.c", "a.c"), Copy("c_v2.c", "c.c"), Hotfix("--all-changed"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert values(result) == [old(i) for i in range(4)], result.output
    assert "a.c:6:1: error: expected" in result.transcript, \
        result.transcript
    assert any(l.startswith("hotfix: compiling a.c failed") for l in hotfix_lines(result)), result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_touch_without_change_patches_nothing(tmp_path, debugger):
    prog = build_multi(tmp_path)
    os.utime(tmp_path / "tune.h")
    os.utime(tmp_path / "c.c")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(3), Hotfix("--all-changed"), Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert "hotfix: 4 units to rebuild: a.c (includes edited header tune.h), b.c (includes edited header " \
           "tune.h), c.c (edited), d.c (includes edited header tune.h)" in lines, lines
    for unit in ("a.c", "b.c", "c.c", "d.c"):
        assert "hotfix: %s: no function changed; nothing to do." % unit in lines, lines
    assert values(result) == [old(i) for i in range(3)], result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_file_that_is_not_part_of_the_program(tmp_path, debugger):
    prog = build_multi(tmp_path)
    (tmp_path / "notes.h").write_text("#define UNUSED 1\n")
    result = run(debugger, prog, [Break("checkpoint"), Run(2), Hotfix("notes.h"), Delete(), Continue()],
                 cwd=tmp_path)
    assert "hotfix: notes.h is not a source file of the program, and no unit of it includes it." \
        in hotfix_lines(result), result.transcript
    assert exited_normally(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_header_named_as_the_debug_information_names_it_from_elsewhere(tmp_path, debugger):
    # Fault 7 of issue 18: from another directory `hotfix tune.h` was "not
    # a source file of the program".  And `--wait FILE` is the default wait.
    prog = build_multi(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy(str(tmp_path / "tune_v2.h"), str(tmp_path / "tune.h")), Hotfix("--wait tune.h"),
        Delete(), Continue(),
    ], cwd=elsewhere)
    assert values(result) == [old(0), old(1), (2, 4, 202, -2, 7), (3, 6, 203, -3, 7)], result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_patched_unit_is_one_unit_and_its_original_source_brings_the_old_code_back(tmp_path, debugger):
    # Fault 5 of issue 18: the patch library's own units were counted as the
    # program's (a unit listed twice; "matches several units: X, X").
    prog = build_multi(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    a, kept = str(tmp_path / "a.c"), str(tmp_path / "a_orig.c")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(5), Continue(2),
        Copy(a, kept), Copy(str(tmp_path / "a_new.c"), a), Hotfix("a.c"),       # frame 2 on: new a
        Continue(),
        Copy(kept, a), Hotfix("--all-changed"),                                   # frame 3 on: old a again
        Delete(), Continue(),
    ], cwd=elsewhere)
    lines = hotfix_lines(result)
    assert "hotfix: 1 unit to rebuild: a.c (edited)" in [l.replace(str(tmp_path) + "/", "") for l in lines], lines
    assert [v[1] for v in values(result)] == [0, 1, 1004, 3, 4], result.output


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_unit_edited_after_its_patch_is_rebuilt_once(tmp_path, debugger):
    # A loaded patch's debug information names the unit it patches: it is
    # not one more copy of the unit to rebuild, also after --revert (the
    # patch stays loaded).
    prog = build_multi(tmp_path)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(5), Continue(2),
        Copy("c_v2.c", "c.c"), Hotfix("--all-changed"),
        Continue(),
        Copy("c_v2.c", "c.c"), Hotfix("--all-changed"),              # saved again, same code
        Hotfix("--revert --all"), Hotfix("--all-changed"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert [l for l in lines if "to rebuild" in l] == ["hotfix: 1 unit to rebuild: c.c (edited)"] * 3, lines
    assert "hotfix: c.c: no function changed; nothing to do." in lines, lines
    assert len([l for l in lines if l.startswith("hotfix: c.c: 1 function redirected (c_value)")]) == 2, lines
    assert values(result) == [old(0), old(1)] + [(i, i, i + 100, -10 * i, 7) for i in range(2, 5)], result.output
    assert exited_normally(result, debugger), result.transcript
