"""Threads stay where the user stopped them: hotfix loads the patch with
every other thread stopped (fault 2 of issue 18: in GDB the dlopen call let
a thread stopped at a breakpoint run on, and the busy main thread spin)."""
import re

import pytest

from driver import DEBUGGERS, Break, Command, Continue, Copy, Delete, Hotfix, Run, exited_normally, run
from programs import build

NUMBER = re.compile(r"^(?:\$\d+ = |\(long\) (?:\$\d+ = )?)(-?\d+)$")   # GDB; LLDB 19; LLDB 16


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_threads_are_where_they_were_after_a_hotfix(tmp_path, debugger, opt):
    prog = build("still", tmp_path, ["main.c", "work.c"], opt=opt, link_flags=["-pthread"])
    looks = [Command("print (long)spins"), Command("print (long)$pc"), Command("print (long)$sp")]
    result = run(debugger, prog, [
        Break("tick"), Run(6), Continue(3),         # the worker at tick(2); main spinning
        Command("up"),                              # the user looks at tick's caller
    ] + looks + [
        Copy("work_v2.c", "work.c"), Hotfix("work.c"),
    ] + looks + [
        Continue(2),                                # tick(3) passes, stops at tick(4)
        Delete(), Continue(),
    ], cwd=tmp_path)
    numbers = [int(m.group(1)) for m in (NUMBER.match(l) for l in result.transcript.splitlines()) if m]
    assert len(numbers) == 6, result.transcript
    before, after = numbers[:3], numbers[3:]
    # No thread ran: main's counter did not move, and the selected frame is
    # still frame 1 of the stopped worker (its pc and stack pointer).
    assert after == before, result.transcript
    assert "1 function redirected (work)" in result.transcript, result.transcript
    ticks = [int(m.group(1)) - int(m.group(2)) for m in
             (re.match(r"tick (\d+) work=(\d+)", l) for l in result.lines()) if m]
    # tick 0..2 ran the old work (n + 1), tick 3.. the new one (n + 100):
    # every tick once, in order (continue 2 passed exactly one).
    assert ticks == [-1, -1, -1, -100, -100, -100], result.output
    assert result.lines()[-1] == "done" and exited_normally(result, debugger), result.transcript


THREAD = re.compile(r"^(?:\[Current thread is |thread #)(\d+)[ :]")      # GDB `thread`; LLDB `thread info`


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_the_selected_thread_is_selected_again_after_a_wait(tmp_path, debugger):
    # --wait lets the program run until work returns; the stop that ends
    # the wait is hotfix's interrupt, which the debugger reports in some
    # thread: the user's selected thread (the worker) is selected again.
    prog = build("still", tmp_path, ["main.c", "work.c"], link_flags=["-pthread"])
    which = Command("thread" if debugger == "gdb" else "thread info")
    result = run(debugger, prog, [
        Break("work"), Run(8), Continue(2),          # the worker inside work(2): work is active
        which, Copy("work_v2.c", "work.c"), Hotfix("--wait 5 work.c"), which,
        Delete(), Continue(),
    ], cwd=tmp_path)
    threads = [int(m.group(1)) for m in (THREAD.match(l) for l in result.transcript.splitlines()) if m]
    assert "1 function redirected (work)" in result.transcript, result.transcript
    assert len(threads) == 2 and threads[0] == threads[1] == 2, result.transcript
    assert exited_normally(result, debugger), result.transcript
