"""Every bad input gets one clear sentence and leaves the process as it was:
the program's own output goes on unchanged and it ends normally."""
import re
import subprocess

import pytest

from driver import (DEBUGGERS, Break, Command, Continue, Copy, Delete, Hotfix, Run, exited_normally,
                    hotfix_lines, run)
from programs import build


def untouched(result, debugger, n=3):
    """The program printed its original lines and exited normally."""
    assert result.lines() == ["frame %d: work=%d" % (i, i + 1) for i in range(n)], result.output
    assert exited_normally(result, debugger), result.transcript


def only_error(result, pattern):
    lines = hotfix_lines(result)
    assert any(re.search(pattern, l) for l in lines), "\n".join(lines) or result.transcript


def scenario(tmp_path, debugger, prog, edit=None, args="work.c"):
    steps = [Break("checkpoint"), Run(3), Continue(2)]
    if edit:
        steps.append(Copy(edit, "work.c"))
    steps += [Hotfix(args), Delete(), Continue()]
    return run(debugger, prog, steps, cwd=tmp_path)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_not_running(tmp_path, debugger):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    result = run(debugger, prog, [Hotfix("work.c")], cwd=tmp_path)
    assert hotfix_lines(result) == ["hotfix: the program is not running."], result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_unknown_file_names_the_closest_units(tmp_path, debugger):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    result = scenario(tmp_path, debugger, prog, args="wrok.c")
    only_error(result, r"^hotfix: wrok.c is not a source file of the program; did you mean work.c")
    untouched(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_dlopen_failure_says_why(tmp_path, debugger):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    result = scenario(tmp_path, debugger, prog, edit="work_v2.c")
    only_error(result, r"^hotfix: the program could not load the patch: cannot open shared object: "
                       r"refused by the test program$")
    untouched(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_link_error_names_the_symbol(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(3), Continue(2),
        Copy("state_link.c", "state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    only_error(result, r"^hotfix: state\.c: the patch refers to `undefined_helper_xyz', which the program does not "
                       r"define and no loaded library provides\.$")
    assert [l.split(":")[1].split()[0] for l in result.lines()] == ["v1"] * 3, result.output
    assert exited_normally(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_no_change_writes_nothing(tmp_path, debugger):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    subprocess.run(["touch", str(tmp_path / "work.c")], check=True)
    result = scenario(tmp_path, debugger, prog)
    only_error(result, r"^hotfix: work.c: no function changed; nothing to do\.$")
    untouched(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_stripped_program(tmp_path, debugger):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    subprocess.run(["strip", prog], check=True)
    # No symbols to break on in the program itself: stop in libc's write.
    result = run(debugger, prog, [Command("break write", "breakpoint set --name write"),
                                  Run(3), Copy("work_v2.c", "work.c"), Hotfix("work.c"),
                                  Delete(), Continue()], cwd=tmp_path)
    only_error(result, r"^hotfix: .*prog has no symbol table \(it is stripped\): hotfix needs the symbols "
                       r"and debug information of a -g build\.$")
    untouched(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_program_without_debug_information(tmp_path, debugger):
    build("refuse", tmp_path, ["main.c", "work.c"])
    subprocess.run(["gcc", "-O0", "-o", "prog_nodebug", "main.c", "work.c"], cwd=tmp_path, check=True)
    result = scenario(tmp_path, debugger, str(tmp_path / "prog_nodebug"), edit="work_v2.c")
    only_error(result, r"^hotfix: .*prog_nodebug has no debug information: build it with -g\.$")
    untouched(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_static_program(tmp_path, debugger):
    build("refuse", tmp_path, ["main.c", "work.c"])
    subprocess.run(["gcc", "-g", "-O0", "-static", "-o", "prog_static", "main.c", "work.c"], cwd=tmp_path,
                   check=True)
    result = scenario(tmp_path, debugger, str(tmp_path / "prog_static"), edit="work_v2.c")
    only_error(result, r"^hotfix: the program is statically linked")
    untouched(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_help(tmp_path, debugger):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    result = run(debugger, prog, [Command("help hotfix"), Hotfix("--help")], cwd=tmp_path)
    usage = [l for l in result.transcript.splitlines() if l.startswith("usage: hotfix [OPTIONS] FILE...")]
    assert len(usage) == 2, result.transcript
    assert result.transcript.count("--dry-run") == 2 and result.transcript.count("--wait [SECONDS]") == 2
