"""Patches prepared on save: while the program waits at a breakpoint (and
the debugger sleeps in a user's script), a saved file is compiled, compared
and linked in the background; the next hotfix only loads and writes it --
if the file is still what was built, against the same history.  Nothing is
written into the program before that command, and a background compile
error is the command's to show."""
import re

import pytest

from driver import DEBUGGERS, Break, Command, Continue, Copy, Delete, Hotfix, Prepare, Run, SaveMaps, Sleep, \
    exited_normally, hotfix_lines, run
from programs import build
from test_state import expected, frames


def Shell(text):
    return Command("shell " + text, "platform shell -h -- " + text)


def summaries(result):
    return [l for l in hotfix_lines(result) if "redirected" in l]


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_file_saved_while_the_debugger_sleeps_is_prepared_and_nothing_is_written_before_hotfix(
        tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),       # stopped before frame 2
        Copy("state_v2.c", "state.c"), Sleep(3),
        SaveMaps(tmp_path / "maps-before.txt"),
        Continue(),                                      # frame 2: still the program's own code
        Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert frames(result) == expected(6, {3: ("v2", 10)}), result.transcript
    done = summaries(result)
    assert len(done) == 1 and re.search(r"hotfix: state.c: 3 functions redirected \(state_check, state_label, "
                                        r"state_step\), .* \u2014 prepared \d+ ms after the save \(compile \d+ ms, "
                                        r"link \d+ ms\), load \d+ ms, patch \d+ ms$", done[0]), result.transcript
    maps = (tmp_path / "maps-before.txt").read_text()
    assert ".so" in maps and "hotfix-" not in maps, maps       # no patch library loaded before the command
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_prepared_patch_is_used_only_while_the_file_is_what_was_built(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(8), Continue(2),       # before frame 2
        # Saved again with the same content (a new time): still prepared.
        Copy("state_v2.c", "state.c"), Sleep(3), Shell("touch state.c"), Sleep(0.5),
        Hotfix("state.c"),
        Continue(),                                      # before frame 3
        # Prepared, then changed again: built from what the file is now.
        Copy("state_v3.c", "state.c"), Sleep(3), Copy("state_v2.c", "state.c"), Copy("state_v3.c", "state.c"),
        Copy("state_broken.c", "state.c"), Copy("state_v2.c", "state.c"),
        Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    # v2 from frame 2; the second hotfix applies v2 again over v2: nothing changed.
    done = summaries(result)
    assert len(done) == 1 and "\u2014 prepared " in done[0], result.transcript
    assert "hotfix: state.c: no function changed; nothing to do." in hotfix_lines(result), result.transcript
    assert frames(result) == expected(8, {2: ("v2", 10)}), result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_patch_prepared_against_an_earlier_history_of_its_unit_is_not_used(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(8), Continue(2),
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Continue(),                                      # before frame 3
        # v3 is prepared against v2 (all three functions differ from it) ...
        Copy("state_v3.c", "state.c"), Sleep(3),
        # ... but the unit is the program's own again: only two differ.
        Hotfix("--revert state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    done = summaries(result)
    assert len(done) == 2, result.transcript
    assert re.search(r"hotfix: state.c: 2 functions redirected \(state_label, state_step\), .* \u2014 compile \d+ ms",
                     done[1]), done
    assert frames(result) == expected(8, {2: ("v2", 10), 3: ("v3", 100)}), result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_background_compile_error_is_shown_by_the_next_hotfix_and_changes_nothing(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy("state_broken.c", "state.c"), Sleep(3),
        Continue(),                                      # frame 2 runs; nothing said yet
        Hotfix("state.c"),
        Continue(),
        Copy("state_v2.c", "state.c"), Sleep(3), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    t = result.transcript
    diagnostic = [i for i, l in enumerate(t.splitlines()) if "state.c:21:44: error: expected" in l]
    assert len(diagnostic) == 1, t      # said once, by the command (a sleep says nothing)
    lines = hotfix_lines(result)
    assert [l for l in lines if l.startswith("hotfix: compiling state.c")] == \
        ["hotfix: compiling state.c failed:"], lines
    assert t.splitlines().index("hotfix: compiling state.c failed:" if debugger == "gdb" else
                                "error: hotfix: compiling state.c failed:") < diagnostic[0], t
    done = summaries(result)
    assert len(done) == 1 and "\u2014 prepared " in done[0], t
    assert frames(result) == expected(6, {4: ("v2", 10)}), t
    assert exited_normally(result, debugger), t


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_prepare_off_builds_in_the_command(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Prepare(False),
        Break("checkpoint"), Run(6), Continue(3),
        Copy("state_v2.c", "state.c"), Sleep(2), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    done = summaries(result)
    assert len(done) == 1 and re.search(r"\u2014 compile \d+ ms, link \d+ ms, load \d+ ms, patch \d+ ms$",
                                        done[0]), result.transcript
    assert frames(result) == expected(6, {3: ("v2", 10)}), result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_header_saved_prepares_every_unit_that_includes_it(tmp_path, debugger):
    from test_changed import build_multi, old, values
    prog = build_multi(tmp_path)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("tune_v2.h", "tune.h"), Sleep(4),          # a macro-only header: its units by -M
        Hotfix("--all-changed"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert values(result) == [old(0), old(1), (2, 4, 202, -2, 7), (3, 6, 203, -3, 7)], result.output
    lines = hotfix_lines(result)
    for unit, function in (("a.c", "a_value"), ("b.c", "b_value")):
        assert any(re.match(r"hotfix: %s: 1 function redirected \(%s\).* \u2014 prepared " % (unit, function), l)
                   for l in lines), lines
    assert "hotfix: d.c: no function changed; nothing to do." in lines, lines
    assert exited_normally(result, debugger), result.transcript
