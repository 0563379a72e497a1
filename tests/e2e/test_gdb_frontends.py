"""GDB specifics: MI front ends see failures as ^error; completion."""
import subprocess

from driver import REPO
from programs import build


def gdb_mi(prog, commands, cwd):
    argv = ["gdb", "-nx", "--interpreter=mi2", "-batch", "-ex", "source %s/gdb/hotfix_gdb.py" % REPO]
    for c in commands:
        argv += ["-ex", c]
    return subprocess.run(argv + [prog], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60).stdout.decode()


def test_mi_front_ends_get_an_error_record(tmp_path):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    out = subprocess.run(["gdb", "-nx", "--interpreter=mi2", "-q", prog], cwd=tmp_path, timeout=60,
                         input=("-interpreter-exec console \"source %s/gdb/hotfix_gdb.py\"\n"
                                "-interpreter-exec console \"hotfix work.c\"\n-gdb-exit\n" % REPO).encode(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    assert '^error,msg="hotfix: the program is not running."' in out, out


def test_completion_of_options_and_files(tmp_path):
    prog = build("refuse", tmp_path, ["main.c", "work.c"])
    out = subprocess.run(["gdb", "-nx", "-batch", "-ex", "source %s/gdb/hotfix_gdb.py" % REPO,
                          "-ex", "complete hotfix --dr", "-ex", "complete hotfix wor", prog],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60).stdout.decode()
    assert "hotfix --dry-run" in out.splitlines(), out
    assert "hotfix work.c" in out.splitlines(), out
