"""A program run by a debug server: GDB with gdbserver (`target
extended-remote`, `target remote`), LLDB with an `lldb-server platform`.
The patch is built here and put into a private directory on the target,
from which the process loads it.  Everything runs on 127.0.0.1; the target
side has its own TMPDIR and the debugger its own XDG_RUNTIME_DIR, so the
test can tell where the loaded patch lies (in the process's maps)."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from driver import (Break, Command, Connect, Continue, Copy, Delete, Hotfix, Run, SaveMaps, exited_normally,
                    hotfix_lines, run)
from programs import build
from test_safety import leaf_values
from test_state import expected, frames
from test_watch import editor

GDBSERVER = shutil.which("gdbserver")
# Its real path: started through Debian's relative symlink /usr/bin/lldb-server-19
# from another directory, the platform cannot start its gdbserver ("unable to
# launch a GDB server").
LLDB_SERVER = next((os.path.realpath(p) for p in (shutil.which("lldb-server-19"), "/usr/lib/llvm-19/bin/lldb-server")
                    if p and os.path.exists(p)), None)
# (debugger, how it reaches the process)
SETUPS = [("gdb", "extended-remote"), ("gdb", "remote"), ("lldb", "platform")]
IDS = ["gdb-extended-remote", "gdb-remote", "lldb-platform"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port):
    """Whether something on this machine listens on port of 127.0.0.1
    (gdbserver 13 listens on every address whatever its HOST:PORT says;
    the debuggers connect to 127.0.0.1)."""
    wanted = {"0100007F:%04X" % port, "00000000:%04X" % port}
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] in wanted and line.split()[3] == "0A" for line in f.readlines()[1:])


class Target:
    """The target side: a debug server started in its own directory with
    its own TMPDIR, its output (and its program's) in a log file."""

    def __init__(self, tmp_path, setup, program_args=()):
        debugger, kind = setup
        self.dir = tmp_path / "target"
        self.tmp = tmp_path / "target-tmp"
        self.dir.mkdir()
        self.tmp.mkdir()
        self.log = tmp_path / "server.log"
        self.port = _free_port()
        address = "127.0.0.1:%d" % self.port
        if debugger == "gdb" and not GDBSERVER:
            pytest.skip("gdbserver is not installed (Debian package gdbserver)")
        if debugger == "lldb" and not LLDB_SERVER:
            pytest.skip("lldb-server is not installed (Debian package lldb-19)")
        if kind == "extended-remote":
            argv = [GDBSERVER, "--multi", address]
        elif kind == "remote":
            argv = [GDBSERVER, address, str(tmp_path / "prog")] + [str(a) for a in program_args]
        else:
            argv = [LLDB_SERVER, "platform", "--server", "--listen", address]
        env = dict(os.environ, TMPDIR=str(self.tmp))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        end = time.monotonic() + 20
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError("the debug server did not start:\n" + self.log.read_text())
            time.sleep(0.02)

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def session(tmp_path, setup, args, steps, stop_at_first=True, **kw):
    """Connect (starting the program as the setup does: `run` or gdbserver
    itself), stop at the first checkpoint, then the steps.  Returns the
    result, the program's output lines and the target side."""
    debugger, kind = setup
    target = Target(tmp_path, setup, args)
    prog = str(tmp_path / "prog")
    start = [Continue()] if kind == "remote" else [Run(*args)]
    # The program's environment on the target: gdbserver's own (TMPDIR set
    # above) plus GDB's changes; on a remote platform, only LLDB's settings.
    tmpdir = str(target.tmp)
    environment = Command("set environment TMPDIR %s" % tmpdir, "settings set target.env-vars TMPDIR=%s" % tmpdir)
    env = {"XDG_RUNTIME_DIR": str(tmp_path / "host-tmp")}
    os.makedirs(env["XDG_RUNTIME_DIR"], exist_ok=True)
    try:
        result = run(debugger, None, [Connect(prog, target.port, kind), environment, Break("checkpoint")]
                     + start + steps,
                     cwd=tmp_path, env=env, **kw)
    finally:
        target.stop()
    if debugger == "gdb":           # gdbserver's program writes to gdbserver's stdout
        result.output = target.output()
    return result, target


@pytest.mark.parametrize("setup", SETUPS, ids=IDS)
def test_remote_patch_is_shipped_and_keeps_state(tmp_path, setup):
    debugger = setup[0]
    build("state", tmp_path, ["main.c", "state.c"])
    maps = tmp_path / "maps.txt"
    result, target = session(tmp_path, setup, [8], [
        Continue(2),                                         # before frame 2
        Copy("state_broken.c", "state.c"), Hotfix("state.c"),
        Continue(),                                          # before frame 3
        Copy("state_v2.c", "state.c"), Hotfix("state.c"), Hotfix("--status"), SaveMaps(maps),
        Command("shell cp -r %s %s" % (tmp_path / "host-tmp", tmp_path / "host-seen"),
                "platform shell -h -- cp -r %s %s" % (tmp_path / "host-tmp", tmp_path / "host-seen")),
        Delete(), Continue(),
    ])
    t = result.transcript
    lines = hotfix_lines(result)
    # The compile error: the compiler's words, nothing changed (v1 for frame 2).
    assert any("state.c:21:44: error: expected" in l for l in t.splitlines()), t
    assert any(l.startswith("hotfix: compiling state.c failed") for l in lines), lines
    assert frames(result) == expected(8, {3: ("v2", 10)}), result.output + t
    summary = [l for l in lines if "redirected" in l]
    assert len(summary) == 1 and re.search(
        r"hotfix: state.c: 3 functions redirected \(state_check, state_label, state_step\), "
        r"2 statics kept, 2 globals bound", summary[0]), t
    # Built here, put into a private directory on the target, loaded from there.
    host_so = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "host-seen") for f in fs if f.endswith(".so")]
    assert len(host_so) == 1, host_so
    name = os.path.basename(host_so[0])
    # GDB's exit takes the host's copies along (a later session cannot find
    # a remote process's patches anyway); LLDB runs no Python at its exit:
    # the next session sweeps them after an hour.
    if debugger == "gdb":
        assert not [f for _, _, fs in os.walk(tmp_path / "host-tmp") for f in fs if f.endswith(".so")]
    shipped = re.search(r"loaded from (\S+) on the target", t)
    assert shipped, t
    target_dir = os.path.dirname(shipped.group(1))
    assert re.fullmatch(re.escape(str(target.tmp)) + r"/hotfix-\w{6}", target_dir), shipped.group(1)
    assert shipped.group(1) == os.path.join(target_dir, name)
    assert os.stat(target_dir).st_mode & 0o777 == 0o700
    with open(host_so[0], "rb") as a, open(shipped.group(1), "rb") as b:
        assert a.read() == b.read()
    mapped = {l.split()[-1] for l in maps.read_text().splitlines() if l.endswith(".so")}
    assert shipped.group(1) in mapped, mapped
    assert not any(str(tmp_path / "host-tmp") in m for m in mapped), mapped
    assert "hotfix: 1 patch applied in process" in t and "all 3 entries jump straight to the newest code" in t, t
    assert exited_normally(result, debugger), t


@pytest.mark.parametrize("setup", SETUPS, ids=IDS)
def test_remote_wait_interrupts_the_process(tmp_path, setup):
    """--wait lets the program run and stops it again, many times: through
    the debug server (GDB's own SIGINT would not reach a remote process)."""
    debugger = setup[0]
    build("game", tmp_path, ["main.c", "game.c"])
    result, _ = session(tmp_path, setup, [40], [
        Continue(2), Copy("game_loop.c", "game.c"), Hotfix("--wait=0.5 game.c"), Delete(), Continue(),
    ])
    refusals = [l for l in hotfix_lines(result) if "cannot patch now" in l]
    assert len(refusals) == 1 and "still so after waiting 0.5 s" in refusals[0], result.transcript
    assert "run_game is active in thread 1" in refusals[0], refusals
    values = leaf_values(result)
    assert [v[1] for v in values] == list(range(40)) and {v[0] for v in values} == {"frame"}, result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("setup", [SETUPS[0], SETUPS[2]], ids=[IDS[0], IDS[2]])
def test_remote_watch(tmp_path, setup):
    debugger = setup[0]
    build("game", tmp_path, ["main.c", "game.c"])
    # The editor follows the program's output: gdbserver's log, or LLDB's file.
    output = tmp_path / ("server.log" if debugger == "gdb" else "program-output.txt")
    edits = editor(tmp_path, [(10, "game_leaf.c", "game.c")], output=str(output))
    result, _ = session(tmp_path, setup, [60], [Delete(), Hotfix("watch on")])
    edits.join()
    lines = hotfix_lines(result)
    assert any(l.startswith("hotfix: game.c: 1 function redirected (leaf)") for l in lines), result.transcript
    assert lines[-1] == "hotfix: watch ended: the program is gone.", lines
    values = [(int(m.group(1)), int(m.group(2)))
              for m in (re.match(r"frame (\d+): leaf=(\d+)", l) for l in result.lines()) if m]
    assert len(values) == 60, result.output
    ratios = [v // i for i, v in values if i]
    switch = ratios.index(3)
    # ratios[k] is frame k+1: saved after frame 10, frame 11 is the first that can be new.
    assert ratios == [2] * switch + [3] * (len(ratios) - switch) and 10 <= switch < 55, ratios
    assert exited_normally(result, debugger), result.transcript
