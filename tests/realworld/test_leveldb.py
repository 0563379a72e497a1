"""leveldb, built as Debian builds its shared library (CMake, every symbol
hidden but the API), driven by our client (leveldb/client.cc): rounds of
writes and reads while leveldb compacts on its background thread, one
line per round.  The session stops the client after round 6, in
checkpoint(), while that thread lives; the user stands in the source tree
and types the file as there.

- get.patch: DBImpl::Get, a virtual method (the client calls it through
  the DB interface), refuses an empty key: the rounds after the patch must
  read as those of the client on the rebuilt library.
- singletons.patch: a neutral edit of the two functions that hold the
  library's function-local singletons, Env::Default() (its Env owns the
  background thread) and BytewiseComparator(), patched by --all-changed:
  the output must not change at all — the same Env and comparator as in
  round 1, still two threads (no second Env started a second one), and
  every job scheduled ran.
"""
import os
import re

import pytest

import builds
from builds import LEVELDB
from driver import Break, Continue, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from harness import brief, edit, plain

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "leveldb")
ROUNDS, CHECKPOINT = 12, 6


def client_output(build, tmp_path, name):
    lines = plain(build.program, [tmp_path / name, ROUNDS, CHECKPOINT], tmp_path).splitlines()
    assert len(lines) == ROUNDS + 1 and lines[-1] == "done", lines
    for line in lines[:-1]:
        assert " env=same comparator=same(leveldb.BytewiseComparator) threads=2 " in line, line
    return lines


def session(debugger, live, ref, units, command, tmp_path):
    with live.editing(units):
        try:
            return run(debugger, live.program, [
                Break("checkpoint"), Run(tmp_path / "db", ROUNDS, CHECKPOINT),
            ] + edit(live, ref, units) + [
                Hotfix(command), Delete(), Continue(),
            ], cwd=live.tree, timeout=300)
        finally:
            for name in ("program-output.txt", "lldb-commands.txt"):
                if os.path.exists(live.path(name)):
                    os.unlink(live.path(name))


# Each scenario at both levels, and each level under both debuggers.
@pytest.mark.parametrize("opt,debugger", [("-O0", "lldb"), ("-O2", "gdb")])
def test_leveldb_virtual_method_while_threads_run(tmp_path, opt, debugger):
    live = builds.build(LEVELDB, opt)
    ref = builds.reference(LEVELDB, opt, [os.path.join(HERE, "get.patch")])
    own = client_output(live, tmp_path, "own")
    rebuilt = client_output(ref, tmp_path, "rebuilt")
    assert "empty-key=NotFound: " in own[0] and "empty-key=Invalid argument: empty key " in rebuilt[0]
    result = session(debugger, live, ref, ["db/db_impl.cc"], "--wait db/db_impl.cc", tmp_path)
    assert any(re.match(r"hotfix: db/db_impl.cc: .*redirected \(.*leveldb::DBImpl::Get\(", l)
               for l in hotfix_lines(result)), brief(result)
    assert result.lines() == own[:CHECKPOINT] + rebuilt[CHECKPOINT:], brief(result)
    assert exited_normally(result, debugger), brief(result)


@pytest.mark.parametrize("opt,debugger", [("-O0", "gdb"), ("-O2", "lldb")])
def test_leveldb_neutral_edit_of_singletons(tmp_path, opt, debugger):
    live = builds.build(LEVELDB, opt)
    patch = os.path.join(HERE, "singletons.patch")
    ref = builds.reference(LEVELDB, opt, [patch])
    own = client_output(live, tmp_path, "own")
    assert client_output(ref, tmp_path, "rebuilt") == own
    result = session(debugger, live, ref, LEVELDB.unit_files(patch), "--wait --all-changed", tmp_path)
    said = "\n".join(hotfix_lines(result))
    assert re.search(r"hotfix: \S*util/env_posix.cc: .*redirected \(.*leveldb::Env::Default\(\)", said), \
        brief(result)
    assert re.search(r"hotfix: \S*util/comparator.cc: .*redirected \(.*leveldb::BytewiseComparator\(\)", said), \
        brief(result)
    assert result.lines() == own, brief(result)
    assert exited_normally(result, debugger), brief(result)
