"""The process holds the truth about its patches (fault 4 of issue 18): a
debugger attached after another one detached finds them — --status lists
them, --revert puts the program's code back, and the original source
brings the original behaviour back (it used to be compared with the
program's own code and leave the patched code running, silently)."""
import os
import re
import subprocess
import time

import pytest

from driver import DEBUGGERS, LLDB, Attach, Break, Command, Continue, Copy, Delete, Detach, Hotfix, Run, hotfix_lines, run
from programs import build


def leaf_ratios(path):
    lines = path.read_text().splitlines()
    return [v // i for i, v in ((int(m.group(1)), int(m.group(2)))
                                for m in (re.match(r"frame (\d+): leaf=(\d+)", l) for l in lines) if m) if i]


def phases(ratios):
    """The run of ratios as its distinct phases: [2, 3, 2] for 2,2,3,3,2."""
    out = []
    for r in ratios:
        if not out or out[-1] != r:
            out.append(r)
    return out


def start(tmp_path, frames=250):
    build("game", tmp_path, ["main.c", "game.c"])
    (tmp_path / "game_orig.c").write_text((tmp_path / "game.c").read_text())
    out = open(tmp_path / "out.txt", "w")
    proc = subprocess.Popen([str(tmp_path / "prog"), str(frames)], cwd=tmp_path, stdout=out)
    time.sleep(0.3)
    return proc


def session(debugger, proc, tmp_path, steps):
    result = run(debugger, None, [Attach(proc.pid)] + steps + [Detach()], cwd=tmp_path)
    time.sleep(0.3)         # a few frames of the code it left
    return result


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("how", ["the original source", "revert"])
def test_a_later_session_knows_the_patches_of_an_earlier_one(tmp_path, debugger, how):
    proc = start(tmp_path)
    try:
        first = session(debugger, proc, tmp_path, [Copy("game_leaf.c", "game.c"), Hotfix("game.c")])
        assert any(l.startswith("hotfix: game.c: 1 function redirected (leaf)") for l in hotfix_lines(first)), \
            first.transcript
        undo = [Hotfix("--revert game.c")] if how == "revert" else [Copy("game_orig.c", "game.c"), Hotfix("game.c")]
        second = session(debugger, proc, tmp_path, [Hotfix("--status")] + undo + [Hotfix("--status")])
        lines = hotfix_lines(second)
        assert "hotfix: this process runs 1 patch an earlier session applied (game.c): --status, --revert and " \
               "the next patch know it." in lines, second.transcript
        assert re.search(r"hotfix: 1 patch applied in process \d+:\n  game.c patch 1 at \d\d:\d\d:\d\d: "
                         r"redirected leaf", second.transcript), second.transcript
        if how == "revert":
            assert "hotfix: game.c: reverted 1 function (leaf) to the program's own code." in lines, lines
        else:
            assert any(l.startswith("hotfix: game.c: 1 function redirected (leaf)") for l in lines), lines
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert phases(leaf_ratios(tmp_path / "out.txt")) == [2, 3, 2]


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_patches_without_their_manifest_are_named(tmp_path, debugger):
    proc = start(tmp_path, 150)
    try:
        first = session(debugger, proc, tmp_path, [Copy("game_leaf.c", "game.c"), Hotfix("game.c")])
        so = re.search(r"(/\S+/game-\d+-\d+\.so)", "\n".join(
            open("/proc/%d/maps" % proc.pid).read().splitlines())).group(1)
        os.unlink(so + ".json")
        second = session(debugger, proc, tmp_path, [Hotfix("--status")])
        assert "hotfix: warning: this process runs patch hotfix knows nothing of (%s): --status and --revert " \
               "do not see it, and a new patch of its unit is compared with the program's own code." % so \
               in hotfix_lines(second), second.transcript
        assert any(l.startswith("hotfix: no patches applied in process") for l in hotfix_lines(second))
        assert first.returncode == 0 and proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_files_of_a_process_go_with_it(tmp_path):
    # Fault 7 of issue 18: every session left its private directory behind.
    proc = start(tmp_path, 60)
    try:
        session("gdb", proc, tmp_path, [Copy("game_leaf.c", "game.c"), Hotfix("game.c")])
        so = re.search(r"(/\S+/game-\d+-\d+\.so)", open("/proc/%d/maps" % proc.pid).read()).group(1)
        folder = os.path.dirname(so)
        assert os.path.exists(so + ".json"), "the process runs it: its folder stays"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # The next session sweeps the folder of a process that is gone; a session
    # whose process exits under it removes its own.
    (tmp_path / "again").mkdir()
    build("game", tmp_path / "again", ["main.c", "game.c"])
    again = tmp_path / "again"
    result = run("gdb", str(again / "prog"), [
        Break("checkpoint"), Run(3), Copy(str(again / "game_leaf.c"), str(again / "game.c")), Hotfix("game.c"),
        Command("python import gdb; gdb.write('FOLDER %s\\n' % __import__('hotfix.cli').cli.session().workdir)"),
        Delete(), Continue(),
    ], cwd=again)
    assert not os.path.exists(folder), folder
    mine = re.search(r"FOLDER (\S+)", result.transcript).group(1)
    assert "exited normally" in result.transcript and not os.path.exists(mine), result.transcript


def test_lldb_removes_the_files_of_its_process_when_it_exits(tmp_path):
    # LLDB runs no Python atexit handler: its debugger's destroy callback
    # removes the folder of a process that exited.
    probe = subprocess.run([LLDB, "--no-lldbinit", "-b", "-o",
                            "script print('DESTROY=%s' % hasattr(lldb.SBDebugger, 'AddDestroyCallback'))"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    if "DESTROY=True" not in probe:
        pytest.skip("this LLDB has no destroy callback: the next session sweeps the folder "
                    "(test_the_files_of_a_process_go_with_it)")
    build("game", tmp_path, ["main.c", "game.c"])
    result = run("lldb", str(tmp_path / "prog"), [
        Break("checkpoint"), Run(3), Copy("game_leaf.c", "game.c"), Hotfix("game.c"),
        Command("script print('FOLDER=' + __import__('hotfix.cli').cli.session().workdir)"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    mine = re.search(r"^FOLDER=(/\S+)", result.transcript, re.M).group(1)
    assert "exited with status = 0" in result.transcript, result.transcript
    assert not os.path.exists(mine), result.transcript
