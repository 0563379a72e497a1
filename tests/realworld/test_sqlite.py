"""sqlite3, built as Debian builds it (autoconf, Debian's flags) but from
the amalgamation: sqlite3.c, some 250,000 lines in one unit, made by the
build from src/.  An edit is made where a sqlite developer makes it, in
src/, and reaches the program's unit through `make sqlite3.c`; the test
copies the sqlite3.c of the rebuilt tree over the program's own.

The shell runs input.sql, three parts.  After the first part:
hex.patch, hexFunc() in lowercase: a static function that SQL reaches
through the table of built-in functions (a function pointer the program
stored at start).  After the second: heap-limit.patch on top,
sqlite3_soft_heap_limit64(), which reads and writes the file static mem0
(the limits the first part set: they must still be there).  Each part's
output must be the program's own (first part), then that of the shell
rebuilt with the first edit, then with both.

Timings: the first and the second hotfix of sqlite3.c, as the user waits
for them, and the phases hotfix reports, against the bare compile of
sqlite3.c with the same command, timed after the session (printed and
written to the results file; never asserted).
"""
import json
import os
import queue
import shutil
import subprocess
import threading
import time

import pytest

import builds
from builds import SQLITE
from driver import Attach, Break, Continue, Delete, Detach, Hotfix, Run, exited_normally, run
from harness import Clock, brief, clocks, edit, phases, plain, sections, summaries

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlite3")
PATCHES = [os.path.join(HERE, "hex.patch"), os.path.join(HERE, "heap-limit.patch")]
MARKER = "checkpoint|1"
UNIT = "sqlite3.c"



def expected_parts(live, tmp_path):
    """The three parts of the output: of the program, of the shell rebuilt
    with the first edit, and with both."""
    shutil.copy(os.path.join(HERE, "input.sql"), tmp_path)
    refs = [builds.reference(SQLITE, live.opt, PATCHES[:n]) for n in (1, 2)]
    outs = [plain(b.program, [":memory:", ".read input.sql"], tmp_path) for b in [live] + refs]
    parts = [sections(o, MARKER) for o in outs]
    assert all(len(p) == 3 for p in parts), outs
    # Each edit shows in the part after it.
    assert parts[0][1] != parts[1][1] and parts[1][2] != parts[2][2], outs
    return refs, [parts[0][0], parts[1][1], parts[2][2]]


def bare_compile_seconds(live):
    """The program's own compile command for sqlite3.c, into a scratch
    object, timed in the same run as the patches it is set against."""
    with open(live.path("compile_commands.json")) as f:
        (entry,) = [e for e in json.load(f) if e["file"].endswith("/" + UNIT)]
    argv = list(entry["arguments"])
    scratch = live.path(".hotfix-realworld-bare.o")
    argv[argv.index("-o") + 1] = scratch
    t0 = time.time()
    subprocess.run(argv, cwd=entry["directory"], check=True, stdout=subprocess.DEVNULL)
    seconds = time.time() - t0
    os.unlink(scratch)
    return seconds


@pytest.mark.parametrize("opt,debugger", [("-O0", "gdb"), ("-O2", "lldb")])
def test_sqlite_two_patches(tmp_path, timings, opt, debugger):
    live = builds.build(SQLITE, opt)
    (ref1, ref2), expected = expected_parts(live, tmp_path)
    unit = live.path(UNIT)
    with live.editing([UNIT]):
        result = run(debugger, live.program, [
            Break("versionFunc"), Run(":memory:", ".read input.sql"),
        ] + edit(live, ref1, [UNIT]) + [
            Clock("first-start"), Hotfix(unit), Clock("first-end"), Continue(),
        ] + edit(live, ref2, [UNIT]) + [
            Clock("second-start"), Hotfix(unit), Clock("second-end"), Delete(), Continue(),
        ], cwd=tmp_path, timeout=900)
    done = summaries(result, unit)
    t = clocks(result)
    record = {"test": "sqlite3 %s %s" % (opt, debugger), "bare compile": bare_compile_seconds(live)}
    for n in ("first", "second"):
        if n + "-end" in t:
            record[n + " hotfix"] = t[n + "-end"] - t[n + "-start"]
    record["patches applied"] = len(done)
    for n, line in zip(("first", "second"), done):
        record.update(("%s %s" % (n, k), v) for k, v in phases(line).items())
    timings.append(record)
    assert len(done) == 2, brief(result)
    assert sections(result.output, MARKER) == expected, brief(result)
    assert exited_normally(result, debugger), brief(result)


class Shell:
    """The sqlite3 shell as a client drives it: SQL on its standard input,
    replies read from its output up to the line that ends a part."""

    def __init__(self, program, cwd):
        self.proc = subprocess.Popen([program, ":memory:"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def send(self, sql, until, timeout=60):
        self.proc.stdin.write(sql.encode())
        self.proc.stdin.flush()
        reply = []
        deadline = time.time() + timeout
        while not reply or until not in reply[-1]:
            line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            if line is None:
                break
            reply.append(line)
        return reply


def test_sqlite_attach_detach_twice(tmp_path):
    """The shell serves a client on its standard input; between parts GDB
    attaches, patches sqlite3.c and detaches, twice (the second patch goes
    on top of the first, in a new session)."""
    debugger, opt = "gdb", "-O0"
    live = builds.build(SQLITE, opt)
    (ref1, ref2), expected = expected_parts(live, tmp_path)
    with open(os.path.join(HERE, "input.sql")) as f:
        parts = ["\n".join(p) + "\n" for p in sections(f.read(), "'checkpoint'")]
    unit = live.path(UNIT)
    replies, results = [], []
    with live.editing([UNIT]):
        shell = Shell(live.program, tmp_path)
        try:
            replies.append(shell.send(parts[0], MARKER))
            for ref, part, until in ((ref1, parts[1], MARKER), (ref2, parts[2], "end")):
                results.append(run(debugger, None, [Attach(shell.proc.pid)] + edit(live, ref, [UNIT]) + [
                    Hotfix(unit), Detach()], cwd=tmp_path))
                replies.append(shell.send(part, until))
            shell.proc.stdin.close()
            assert shell.proc.wait(timeout=60) == 0
        finally:
            if shell.proc.poll() is None:
                shell.proc.kill()
    for r in results:
        assert summaries(r, unit), brief(r)
    assert replies == expected, "\n".join(brief(r) for r in results)
