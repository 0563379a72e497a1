"""`hotfix --json`: the result line front ends read (hotfix/report.py)."""
import json
import os
from types import SimpleNamespace

import pytest

from hotfix import apply as applying
from hotfix import cli, plan, report
from hotfix.arch import X86_64
from hotfix.build import CompileError
from hotfix.compdb import CompileCommand
from hotfix.debugger import Frame, Thread
from hotfix.errors import HotfixError
from hotfix.session import ProcessState, Session

from fake import FakeDebugger


def result_line(dbg):
    lines = [l for l in dbg.out if l.startswith(report.PREFIX)]
    assert len(lines) == 1 and dbg.out[-1] == lines[0], dbg.out
    return json.loads(lines[0][len(report.PREFIX):])


def prepared(unit_path, comp_dir, argv=("gcc", "-g"), built=None, refusals=()):
    unit = SimpleNamespace(name=os.path.relpath(unit_path, comp_dir), comp_dir=comp_dir, path=unit_path)
    p = SimpleNamespace(target=SimpleNamespace(unit=unit), built=built, plan=None,
                        command=CompileCommand(comp_dir, list(argv), os.path.relpath(unit_path, comp_dir), "test"))
    if refusals:
        p.plan = SimpleNamespace(refusals=list(refusals))
    return p


# --- the line ---------------------------------------------------------------

def test_an_error_is_the_last_line_then_raised_as_always():
    dbg = FakeDebugger(state="none")
    with pytest.raises(HotfixError, match="the program is not running"):
        cli.run(dbg, ["--json", "a.c"])
    assert result_line(dbg) == {"ok": False, "message": "hotfix: the program is not running.", "patches": 0,
                                "active": 0, "diagnostics": [], "refusals": []}


def test_success_gives_what_hotfix_said_and_the_patch_count():
    dbg = FakeDebugger()
    session = Session()
    session.process = ProcessState(42, patches=3, units={"/w/a.c": [object(), object()], "/w/b.c": []})

    def job(recorder):
        recorder.write("hotfix: warning: the flags may be incomplete")
        recorder.write("hotfix: a.c: 1 function redirected (f) \u2014 compile 10 ms")

    report.run_json(dbg, job, session, cli.error_text)
    assert dbg.out[:2] == ["hotfix: warning: the flags may be incomplete",
                           "hotfix: a.c: 1 function redirected (f) \u2014 compile 10 ms"]
    got = result_line(dbg)
    assert got["ok"] and got["message"] == "hotfix: a.c: 1 function redirected (f) \u2014 compile 10 ms"
    assert (got["patches"], got["active"]) == (3, 2)


def test_an_internal_error_names_the_adapters_debug_command():
    class Lldb(FakeDebugger):
        name = "lldb"

    def job(recorder):
        raise KeyError("boom")

    dbg = Lldb()
    with pytest.raises(KeyError):
        report.run_json(dbg, job, Session(), cli.error_text)
    assert result_line(dbg)["message"] == ("hotfix: internal error: KeyError: 'boom' "
                                           "(`hotfix-config debug on` shows the traceback)")


def test_the_option_is_in_the_help():
    assert "--json" in cli.help_text() and "hotfix-json:" in cli.help_text()


# --- compile errors -----------------------------------------------------------

GCC_TEXT = """\
src/jump.c: In function \u2018jump_label\u2019:
src/jump.c:35:49: error: expected \u2018;\u2019 before \u2018}\u2019 token
   35 |     return p->vy > 0.0 ? "airborne!" : "falling"
      |                                                 ^
In file included from src/jump.c:2:
src/jump.h:4:1: warning: useless type name in empty declaration
src/jump.h:9: fatal error: nosuch.h: No such file or directory
"""


def test_text_diagnostics_are_read_at_their_file_line_and_column():
    got = report.text_diagnostics(GCC_TEXT, "/w/game")
    assert got == [
        {"file": "/w/game/src/jump.c", "line": 35, "column": 49, "severity": "error",
         "message": "expected \u2018;\u2019 before \u2018}\u2019 token"},
        {"file": "/w/game/src/jump.h", "line": 4, "column": 1, "severity": "warning",
         "message": "useless type name in empty declaration"},
        {"file": "/w/game/src/jump.h", "line": 9, "column": 0, "severity": "error",
         "message": "nosuch.h: No such file or directory"},
    ]


def test_gcc_json_diagnostics_with_their_notes_and_ranges():
    items = [{"kind": "error", "message": "conflicting types for \u2018f\u2019",
              "locations": [{"caret": {"file": "a.c", "line": 5, "column": 6},
                             "finish": {"file": "a.c", "line": 5, "column": 6}}],
              "children": [{"kind": "note", "message": "previous declaration",
                            "locations": [{"caret": {"file": "/usr/include/x.h", "line": 2, "column": 5}}]}]},
             {"kind": "warning", "message": "unused variable \u2018x\u2019", "locations": []}]
    assert report.from_gcc_json(items, "/w") == [
        {"file": "/w/a.c", "line": 5, "column": 6, "severity": "error",
         "message": "conflicting types for \u2018f\u2019", "end_column": 7},
        {"file": "/usr/include/x.h", "line": 2, "column": 5, "severity": "note", "message": "previous declaration"},
    ]


def test_a_clang_compile_error_is_read_from_its_text():
    p = prepared("/w/game/src/jump.c", "/w/game", argv=("clang", "-g"))
    error = CompileError("compiling src/jump.c failed:\n"
                         "src/jump.c:35:49: error: expected ';' after return statement")
    assert report.compile_diagnostics([p], error) == [
        {"file": "/w/game/src/jump.c", "line": 35, "column": 49, "severity": "error",
         "message": "expected ';' after return statement"}]
    # Units that compiled have nothing to say; other errors are not compile errors.
    assert report.compile_diagnostics([prepared("/w/a.c", "/w", built=object())], error) == []
    assert report.compile_diagnostics([p], HotfixError("the program could not load the patch: x")) == []


# --- refusals ---------------------------------------------------------------

def test_a_running_function_is_refused_at_its_frame():
    redirect = plan.Redirect("run_game", 0x5000, [plan.Entry("run_game", 0x1000, 0x40, 0x40, "original", 1)])
    threads = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint", "/w/main.c", 7),
                                  Frame(1, 0x1010, "run_game", "game.c", 15)]),
               Thread(2, "worker", [Frame(0, 0x1020, "run_game", "/abs/game.c", 16)])]
    with pytest.raises(applying.ActiveFunction) as e:
        applying.wait_until_safe(FakeDebugger(threads=threads), [redirect], [], None)
    units = [prepared("/w/game.c", "/w")]
    assert report.frame_refusals(str(e.value), units) == [
        {"message": "run_game is active in thread 1, frame #1: run_game (game.c:15)", "file": "/w/game.c",
         "line": 15, "kind": "active", "name": "run_game", "scope": ""},
        {"message": "run_game is active in thread 2, frame #0: run_game (/abs/game.c:16)", "file": "/abs/game.c",
         "line": 16, "kind": "active", "name": "run_game", "scope": ""}]
    waited = "cannot patch now: Game::run(int) is active in thread 1, frame #2: Game::run(int) (g.cpp:9) " \
             "(still so after waiting 0.3 s)."
    assert [(r["name"], r["line"]) for r in report.frame_refusals(waited, units)] == [("Game::run(int)", 9)]


def test_a_plan_refusal_names_the_type_static_or_function_at_the_units_source():
    refused = plan.Plan(None, None, changed=["tiny"], functions={"tiny": {"value": 0x100}})
    plan.check_layouts(refused, {"stats": "size 8: int a at 0"}, {"stats": "size 16: int a at 0; long b at 8"})
    plan.plan_redirects(refused, [{"name": "tiny", "value": 0x2000, "size": 2, "room": 2}], 0, [],
                        lambda address, size: bytes(size), X86_64)
    refused.refusals.append("the type of calls in state_step() changed from `int' to `long': hotfix cannot "
                            "carry its value across a layout change.")
    units = [prepared("/w/state.c", "/w", built=object(), refusals=refused.refusals)]
    got = [(r["kind"], r["name"], r["scope"], r["file"], r["line"]) for r in report.plan_refusals(units)]
    assert got == [("type", "stats", "", "/w/state.c", 0), ("function", "tiny", "", "/w/state.c", 0),
                   ("static", "calls", "state_step", "/w/state.c", 0)]


def test_a_static_refused_when_its_value_was_read_is_named_at_its_units_source():
    # Refused at apply time (the plan migrated them): the error's sentences.
    units = [prepared("/w/state.c", "/w", built=object(), refusals=["the layout of item changed (x): y."])]
    units[0].plan.migrations = [SimpleNamespace(label="counter"), SimpleNamespace(label="calls in state_step()")]
    first = ("the type of counter changed from `int' to `long' and hotfix cannot migrate it: a pointer into its old "
             "storage is at thread 1 register rbx, which hotfix cannot tell is a pointer (--force-migrate goes "
             "ahead and leaves it pointing at the old storage).")
    second = ("the type of calls in state_step() changed from `int' to `short' and hotfix cannot migrate it: the "
              "value holds 70000, which does not fit in signed 16 bits.")
    got = [(r["kind"], r["name"], r["scope"], r["file"], r["message"]) for r in
           report.migration_refusals("state.c: nothing was changed: %s %s" % (first, second), units)]
    assert got == [("static", "counter", "", "/w/state.c", first),
                   ("static", "calls", "state_step", "/w/state.c", second)]
