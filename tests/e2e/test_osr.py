"""A function that is running when it changes: its frames move into the new
body (on-stack replacement) when the code they stand in is built at -O0 and
the move is provably sound, and are refused, by frame and reason, when not.
Judged by the program's own output: counters go on exactly, the new
behaviour appears from the point the frame stood at, the process lives."""
import re

import pytest

from driver import DEBUGGERS, Break, Command, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build

COMPILERS = ["gcc", "clang"]
# workers.c: rounds of 5 ms; enough that no worker can finish while --wait
# lets the program run on a busy machine (a finished one has no frame to move).
ROUNDS = 300


def frames(result):
    """(marker, frame, total) of each line the loop printed."""
    return [(m.group(1), int(m.group(2)), int(m.group(3)))
            for m in (re.match(r"(frame|FRAME|Frame) (\d+): total=(-?\d+)$", line) for line in result.lines()) if m]


def summary(result):
    lines = [line for line in hotfix_lines(result) if re.match(r"hotfix: \S+: \d+ function", line)]
    return lines


def loop_run(tmp_path, debugger, cc, edits, frames_to_run=6, stops=2, extra=()):
    """main's loop stopped in checkpoint(stops), each edit applied at one
    stop after the other."""
    prog = build("osr", tmp_path, ["loop.c", "wait.c"], cc=cc)
    steps = [Break("checkpoint"), Run(frames_to_run), Continue(stops)]
    for k, edit in enumerate(edits):
        if k:
            steps.append(Continue())
        steps += [Copy(edit, "loop.c"), Hotfix("loop.c")]
    steps += list(extra) + [Delete(), Continue()]
    return run(debugger, prog, steps, cwd=tmp_path)


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_loop_body_of_main_edited(tmp_path, debugger, cc):
    result = loop_run(tmp_path, debugger, cc, ["loop_body.c"], extra=[Command("bt")])
    # The frame stood at the return from checkpoint(2): frame 2 is counted
    # the new way already, and the counters carry on.
    assert frames(result) == [("frame", 0, 0), ("frame", 1, 1), ("FRAME", 2, 21), ("FRAME", 3, 51),
                              ("FRAME", 4, 91), ("FRAME", 5, 141)], result.output
    assert result.lines()[-1] == "done: total=141", result.output
    [line] = summary(result)
    assert "1 function redirected (main)" in line and \
        "1 running frame moved to the new code (main in thread 1, frame #1)" in line, line
    # The moved frame unwinds and shows its function and line.
    after = result.transcript.split("running frame moved", 1)[1]
    assert re.search(r"main\s*\(argc=2, argv=0x[0-9a-f]+\) at .*loop\.c:13", after), after
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_new_call_added_after_the_point(tmp_path, debugger, cc):
    # note() is new: it lives in the patch library, out of reach of code
    # built like the program, and is called through a slot.
    result = loop_run(tmp_path, debugger, cc, ["loop_call.c"])
    assert result.lines() == ["frame 0: total=0", "frame 1: total=1", "note 2", "frame 2: total=3", "note 3",
                              "frame 3: total=6", "note 4", "frame 4: total=10", "note 5", "frame 5: total=15",
                              "done: total=15"], result.output
    [line] = summary(result)
    assert "1 new (note)" in line and "1 running frame moved" in line, line
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_frame_stopped_at_a_statement_moves_by_its_pc(tmp_path, debugger, cc):
    # main itself is frame 0, stopped at the first instruction of line 14
    # (total += frame), which the edit keeps: its pc moves.
    prog = build("osr", tmp_path, ["loop.c", "wait.c"], cc=cc)
    result = run(debugger, prog, [
        Break("loop.c:14"), Run(5), Continue(2),
        Copy("loop_call.c", "loop.c"), Hotfix("loop.c"), Command("bt"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert result.lines() == ["frame 0: total=0", "frame 1: total=1", "note 2", "frame 2: total=3", "note 3",
                              "frame 3: total=6", "note 4", "frame 4: total=10", "done: total=10"], result.output
    [line] = summary(result)
    assert "1 running frame moved to the new code (main in thread 1, frame #0)" in line, line
    after = result.transcript.split("running frame moved", 1)[1]
    assert re.search(r"#0 .*main\s*\(argc=2, argv=0x[0-9a-f]+\) at .*loop\.c:19|frame #0: .*main\(argc=2, "
                     r"argv=0x[0-9a-f]+\) at .*loop\.c:19", after), after
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_local_added_after_the_point(tmp_path, debugger, cc):
    # bonus is declared after the point and written before it is read: it
    # needs nothing from the old frame.
    result = loop_run(tmp_path, debugger, cc, ["loop_local.c"])
    assert frames(result) == [("frame", 0, 0), ("frame", 1, 1), ("frame", 2, 203), ("frame", 3, 506),
                              ("frame", 4, 910), ("frame", 5, 1415)], result.output
    assert "1 running frame moved" in summary(result)[0], result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_an_edit_right_at_the_point_is_refused(tmp_path, debugger, cc):
    prog = build("osr", tmp_path, ["loop.c", "wait.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(40), Continue(2),
        Copy("loop_point.c", "loop.c"), Hotfix("--dry-run loop.c"), Hotfix("loop.c"), Hotfix("--wait=0.3 loop.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert any(re.match(r"  cannot move thread 1, frame #1: main \(.*loop\.c:13\) \(the code at line 13, where it "
                        r"stands, changed\)", line) for line in result.transcript.splitlines()), result.transcript
    refusals = [line for line in lines if "cannot patch now" in line]
    assert len(refusals) == 2, result.transcript
    assert re.search(r"main is active in thread 1, frame #1: main \(.*loop\.c:13\) \(cannot move it: the code at "
                     r"line 13, where it stands, changed\)", refusals[0]), refusals
    assert "still so after waiting 0.3 s" in refusals[1], refusals
    # Nothing changed: the old loop goes on to its end.
    assert [f[0] for f in frames(result)] == ["frame"] * 40 and result.lines()[-1] == "done: total=780", result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_dry_run_shows_the_move_and_writes_nothing(tmp_path, debugger, cc):
    prog = build("osr", tmp_path, ["loop.c", "wait.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("loop_body.c", "loop.c"), Hotfix("--dry-run loop.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert re.search(r"  move thread 1, frame #1 \(main \(.*loop\.c:13\)\): return address 0x[0-9a-f]+ \(original "
                     r"body\) -> main compiled like the program, placed near it \+0x[0-9a-f]+ \(line 13\)",
                     result.transcript), result.transcript
    assert [f[0] for f in frames(result)] == ["frame"] * 4, result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_moved_frame_is_moved_again(tmp_path, debugger, cc):
    # The second patch finds main's frame in the body the first moved it
    # into, and moves it on into the newest.
    result = loop_run(tmp_path, debugger, cc, ["loop_body.c", "loop_body2.c"], frames_to_run=6)
    assert frames(result) == [("frame", 0, 0), ("frame", 1, 1), ("FRAME", 2, 21), ("Frame", 3, 321),
                              ("Frame", 4, 721), ("Frame", 5, 1221)], result.output
    moved = [line for line in summary(result) if "running frame moved" in line]
    assert len(moved) == 2, result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_every_frame_of_a_recursion_moves(tmp_path, debugger, cc):
    prog = build("osr", tmp_path, ["recurse.c", "wait.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(3),                      # descend(3) ... descend(0) on the stack
        Copy("recurse_v2.c", "recurse.c"), Hotfix("recurse.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    # Each level prints its sum on the way back: every frame runs the new
    # printf; the sums (returned, not printed) are the old ones.
    assert result.lines() == ["LEVEL 3: 400", "LEVEL 2: 700", "LEVEL 1: 900", "LEVEL 0: 1000", "round 0: 10",
                              "LEVEL 3: 400", "LEVEL 2: 700", "LEVEL 1: 900", "LEVEL 0: 1000", "round 1: 10"], \
        result.output
    [line] = summary(result)
    assert "4 running frames moved to the new code (descend in thread 1, frame #1, descend in thread 1, frame #2, " \
           "descend in thread 1, frame #3, descend in thread 1, frame #4)" in line, line
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_each_threads_frame_moves(tmp_path, debugger, cc):
    prog = build("osr", tmp_path, ["workers.c", "wait.c"], cc=cc, link_flags=["-pthread"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(), Continue(3),
        Copy("workers_v2.c", "workers.c"), Hotfix("--wait=5 workers.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    [line] = summary(result)
    m = re.search(r"(\d+) running frames moved to the new code \((.*)\)", line)
    assert m and int(m.group(1)) == 3 and m.group(2).count("work in thread") == 3, line
    seen = {}
    for text in result.lines():
        w = re.match(r"(worker|WORKER) (\d+): round (\d+) sum (\d+)$", text)
        if w:
            seen.setdefault(int(w.group(2)), []).append((w.group(1), int(w.group(3)), int(w.group(4))))
    assert sorted(seen) == [0, 1, 2], result.output
    for worker, rounds in seen.items():
        # Every round once, in order; the old way, then the new way for good;
        # the sum carries on from where the old code left it.
        assert [r for _, r, _ in rounds] == list(range(1, ROUNDS + 1)), (worker, rounds)
        markers = [k for k, _, _ in rounds]
        switch = markers.index("WORKER")
        assert markers == ["worker"] * switch + ["WORKER"] * (ROUNDS - switch), (worker, markers)
        total = 0
        for kind, r, s in rounds:
            total += r if kind == "worker" else r * 1000
            assert s == total, (worker, rounds)
    assert result.lines()[-1] == "all 3 workers done", result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_frames_of_optimised_code_are_refused(tmp_path, debugger):
    prog = build("osr", tmp_path, ["loop.c", "wait.c"], opt="-O2")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("loop_body.c", "loop.c"), Hotfix("loop.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(re.search(r"cannot patch now: main is active in thread 1, frame #1: main .*\(cannot move it: its unit "
                         r"was built with -O2 \(only frames of code built at -O0 are moved\)\)", line)
               for line in hotfix_lines(result)), result.transcript
    assert [f[0] for f in frames(result)] == ["frame"] * 4, result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_body_with_an_initializer_in_writable_data_moves(tmp_path, debugger, cc):
    # Found probing memcached: its main copies a 40-string array from a
    # block of .data that no symbol names, and its frame could not move.
    prog = build("osr", tmp_path, ["names.c", "wait.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy("names_v2.c", "names.c"), Hotfix("names.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = summary(result)
    assert len(lines) == 1 and "1 function redirected (main)" in lines[0] and \
        "1 running frame moved" in lines[0], result.transcript
    total, expected = 0, []
    for frame in range(6):
        total += frame * (10 if frame >= 2 else 1)
        expected.append("%s %d: total=%d name=n%02d" % ("FRAME" if frame >= 2 else "frame", frame, total,
                                                      frame * 7 % 40))
    assert result.lines() == expected + ["done: total=%d" % total], result.output
    assert exited_normally(result, debugger), result.transcript
