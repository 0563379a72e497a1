"""Bad moments: none may hang the debugger or harm the program."""
import re

import pytest

from driver import (DEBUGGERS, LLDB, Break, Command, Continue, Copy, Delete, Hotfix, Run, exited_normally,
                    hotfix_lines, run)
from programs import build


def switch(result):
    """The frame from which the program ran the new work() (None: never);
    asserts old values before it and new ones from it on."""
    values = [(int(m.group(1)), int(m.group(2)))
              for m in (re.match(r"frame (\d+): work=(\d+)", l) for l in result.lines()) if m]
    offsets = [v - i for i, v in values]
    first = offsets.index(100) if 100 in offsets else None
    assert offsets == [1] * (first if first is not None else len(offsets)) + \
        [100] * (len(offsets) - (first or len(offsets))), result.output
    return first


def redirected(result):
    return any(re.match(r"hotfix: work.c: 1 function redirected \(work\)", l) for l in hotfix_lines(result))


def moments(tmp_path, which, steps, debugger):
    prog = build("moments", tmp_path, ["main.c", "work.c"], link_flags=["-pthread"])
    return run(debugger, prog, [Command("handle SIGUSR1 nostop noprint pass",
                                        "process handle SIGUSR1 -s false -p false -n true"),
                                Break("checkpoint"), Run(4, which)] + steps, cwd=tmp_path)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_thread_stopped_inside_malloc(tmp_path, debugger):
    result = moments(tmp_path, "a", [
        Continue(), Break("malloc"), Continue(),                # a thread stopped in malloc
        # --wait: main may be inside printf's write (holding stdout's lock)
        # at that moment, and then no thread is safe to call dlopen from.
        Copy("work_v2.c", "work.c"), Hotfix("--wait=10 work.c"),
        Delete(), Continue()], debugger)
    assert redirected(result), result.transcript
    # main's own printf may reach malloc before the allocator thread does;
    # --wait may let a frame pass.
    assert switch(result) in (1, 2, 3), result.output
    assert result.lines()[-1] == "done" and exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_thread_holding_the_loader_lock(tmp_path, debugger):
    # _dl_debug_state is called with the loader's lock held.
    result = moments(tmp_path, "l", [
        Continue(), Break("_dl_debug_state"), Continue(),
        Copy("work_v2.c", "work.c"), Hotfix("--wait=10 work.c"),
        Delete(), Continue()], debugger)
    assert redirected(result), result.transcript
    # That thread alone ran out of the loader first, and the user hears of it.
    # (LLDB 16 cannot unwind a thread stopped in ld.so, so hotfix does not
    # see where it is: its call lets the other threads run after 0.25 s.)
    if not (debugger == "lldb" and "llvm-16" in LLDB):
        assert re.search(r"hotfix: thread \d+ ran to the end of \S+ first: it may have held a lock loading the "
                         r"patch needs\.", result.transcript), result.transcript
    assert result.lines()[-1] == "done" and exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_signals_arriving_during_the_inferior_calls(tmp_path, debugger):
    # SIGUSR1 every millisecond, and the debugger set to stop on it.
    result = moments(tmp_path, "s", [
        Continue(),
        Command("handle SIGUSR1 stop print pass", "process handle SIGUSR1 -s true -p true -n true"),
        Copy("work_v2.c", "work.c"), Hotfix("work.c"),
        Command("handle SIGUSR1 nostop noprint pass", "process handle SIGUSR1 -s false -p false -n true"),
        Delete(), Continue()], debugger)
    assert redirected(result), result.transcript
    assert switch(result) == 1, result.output
    assert result.lines()[-1] == "done" and exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_patch_whose_constructor_would_crash(tmp_path, debugger):
    result = moments(tmp_path, "", [
        Continue(), Copy("work_ctor.c", "work.c"), Hotfix("work.c"),
        Delete(), Continue()], debugger)
    assert "hotfix: warning: work.c has constructors or destructors: the patch does not run them" \
        in result.transcript, result.transcript
    assert redirected(result), result.transcript
    assert switch(result) == 1, result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_stopped_inside_the_function_being_replaced(tmp_path, debugger):
    result = moments(tmp_path, "", [
        Continue(), Break("work"), Continue(),
        Copy("work_v2.c", "work.c"), Hotfix("work.c"),
        Delete(), Continue()], debugger)
    assert any(re.search(r"cannot patch now: work is active in thread 1, frame #0: work \(.*work\.c:3\)", l)
               for l in hotfix_lines(result)), result.transcript
    assert switch(result) is None, result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_breakpoint_on_the_first_instruction(tmp_path, debugger):
    result = moments(tmp_path, "", [
        Continue(), Command("break *work", "breakpoint set --address work"),
        Copy("work_v2.c", "work.c"), Hotfix("work.c"),
        Delete(), Continue()], debugger)
    assert redirected(result), result.transcript
    assert switch(result) == 1, result.output
    assert "SIGTRAP" not in result.transcript and exited_normally(result, debugger), result.transcript
