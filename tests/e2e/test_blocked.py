"""A single-threaded server blocked in read() between two requests of its
client (as the sqlite3 shell, a REPL or any server is while idle): the
debugger attaches, hotfix patches it, the debugger detaches, and the next
reply comes from the new code with the state kept."""
import subprocess

import pytest

from driver import DEBUGGERS, Attach, Copy, Detach, Hotfix, hotfix_lines, run
from programs import build


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_attach_to_a_server_blocked_in_read(tmp_path, debugger):
    build("server", tmp_path, ["main.c", "reply.c"])
    proc = subprocess.Popen([str(tmp_path / "prog")], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        proc.stdin.write(b"one\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"1: hello one\n"
        result = run(debugger, None, [
            Attach(proc.pid), Copy("reply_v2.c", "reply.c"), Hotfix("reply.c"), Detach(),
        ], cwd=tmp_path)
        assert any(l.startswith("hotfix: reply.c: 1 function redirected (reply)") for l in hotfix_lines(result)), \
            result.transcript
        proc.stdin.write(b"two\n")
        proc.stdin.close()
        assert proc.stdout.read() == b"2: goodbye two\n"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
