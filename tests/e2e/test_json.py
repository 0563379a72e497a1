"""`hotfix --json`: the result line a front end (the VS Code extension)
reads, from real debuggers on real programs: a compile error at the
compiler's file, line and column (GCC's JSON diagnostics, clang's text),
cleared by the next patch; a running function refused at its frame; a
static whose type changed refused at its unit."""
import json

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, run
from programs import COMPILERS, build

PREFIX = "hotfix-json: "


def results(result):
    """Every result line, in order."""
    return [json.loads(l[len(PREFIX):]) for l in result.transcript.splitlines() if l.startswith(PREFIX)]


def error_follows(result, message):
    """The error is still reported as the debugger reports errors, after the line."""
    lines = result.transcript.splitlines()
    at = next(i for i, l in enumerate(lines) if l.startswith(PREFIX) and json.loads(l[len(PREFIX):])["message"]
              .startswith(message))
    return any(l.startswith(("hotfix: " + message[len("hotfix: "):], "error: " + message)) for l in lines[at + 1:])


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_compile_error_is_at_its_line_and_column_and_cleared_by_the_fix(tmp_path, debugger, cc):
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(5), Continue(2),
        Copy("state_broken.c", "state.c"), Hotfix("--json state.c"),
        Copy("state_v2.c", "state.c"), Hotfix("--json state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    failed, fixed = results(result)
    assert not failed["ok"] and failed["message"].startswith("hotfix: compiling state.c failed:"), failed
    assert error_follows(result, "hotfix: compiling state.c failed:"), result.transcript
    errors = [d for d in failed["diagnostics"] if d["severity"] == "error"]
    # `return "v1" }`: both compilers point at the '}' (GCC from its JSON,
    # clang from its text).
    assert [(d["file"], d["line"], d["column"]) for d in errors] == [(str(tmp_path / "state.c"), 21, 44)], failed
    assert "expected" in errors[0]["message"] and "';'" in errors[0]["message"].replace("\u2018", "'").replace(
        "\u2019", "'"), errors
    assert failed["patches"] == 0 and failed["refusals"] == [], failed
    assert fixed["ok"] and fixed["diagnostics"] == [] and fixed["patches"] == 1, fixed
    assert fixed["message"].startswith("hotfix: state.c: 3 functions redirected"), fixed
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_running_function_is_refused_at_its_frame(tmp_path, debugger):
    prog = build("game", tmp_path, ["main.c", "game.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy("game_loop.c", "game.c"), Hotfix("--json game.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    [refused] = results(result)
    assert not refused["ok"] and refused["message"].startswith("hotfix: cannot patch now: run_game is active"), refused
    assert error_follows(result, "hotfix: cannot patch now:"), result.transcript
    assert refused["refusals"] == [{
        "message": "run_game is active in thread 1, frame #1: run_game (game.c:15)",
        "file": str(tmp_path / "game.c"), "line": 15, "kind": "active", "name": "run_game", "scope": ""}], refused
    assert refused["diagnostics"] == [] and refused["patches"] == 0
    assert len(result.lines()) == 6 and exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_changed_static_is_refused_by_name_at_its_unit(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("state_type.c", "state.c"), Hotfix("--json state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    [refused] = results(result)
    assert not refused["ok"] and "nothing was changed" in refused["message"], refused
    # Refused when its value was to be carried: main holds a pointer into it.
    [refusal] = refused["refusals"]
    assert refusal["message"].startswith("the type of counter changed from `int' to `long int' and hotfix cannot "
                                         "migrate it: a pointer into its old storage is at thread 1's stack"), refused
    assert {k: v for k, v in refusal.items() if k != "message"} == {
        "file": str(tmp_path / "state.c"), "line": 0, "kind": "static", "name": "counter", "scope": ""}, refused
    assert exited_normally(result, debugger), result.transcript


def test_gcc_is_asked_for_its_json_diagnostics_and_clang_is_not(tmp_path):
    from hotfix.compdb import CompileCommand
    from hotfix.report import gcc_json_diagnostics
    (tmp_path / "a.c").write_text("int f(void)\n{\n    int x = 1\n    return 0;\n}\n")
    got = gcc_json_diagnostics(CompileCommand(str(tmp_path), ["gcc", "-Wall"], "a.c", "test"))
    # GCC's JSON has the range of the error (`return`, columns 5 to 10),
    # which its text does not give.
    assert {"file": str(tmp_path / "a.c"), "line": 4, "column": 5, "end_column": 11, "severity": "error"}.items() \
        <= got[0].items(), got
    assert any(d["severity"] == "warning" and "unused variable" in d["message"] for d in got), got
    assert gcc_json_diagnostics(CompileCommand(str(tmp_path), ["clang", "-Wall"], "a.c", "test")) is None
