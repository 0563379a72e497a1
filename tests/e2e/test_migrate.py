"""Statics whose type changed are migrated: the patch's own copy gets the
old value member by member as DWARF describes both types, every function
that uses the static runs the new code, and pointers into the old storage
are rewritten (DWARF shows them) or refused (it does not)."""
import re
import subprocess
import time

import pytest

from driver import (DEBUGGERS, Attach, Break, Continue, Copy, Delete, Detach, Hotfix, Run, exited_normally,
                    hotfix_lines, run)
from programs import COMPILERS, LEVELS, build
from test_state import expected as state_expected, frames as state_frames


class Stats:
    """What programs/migrate's main.c prints, frame by frame, as stats.c
    (v1), stats_v2.c and stats_v3.c define it, with the values hotfix
    carries across each version."""

    def __init__(self):
        self.version = "v1"
        self.v1 = {"hits": 0, "misses": 0, "tag": "a", "table": [0] * 4, "recent": [0] * 5, "counter": 0,
                   "calls": 0}
        self.v2 = None

    def migrate(self, version):
        """stats_v2.c or stats_v3.c applied (v3 has v2's types)."""
        if self.v2 is None:
            v1 = self.v1
            self.v2 = {"hits": v1["hits"], "bonus": 5, "tag": v1["tag"], "table": v1["table"] + [100, 200],
                       "recent": v1["recent"][:3], "counter": v1["counter"], "calls": v1["calls"]}
        self.version = version

    def revert(self):
        v1, v2 = self.v1, self.v2
        v1.update(hits=v2["hits"], tag=v2["tag"], table=v2["table"][:4], counter=v2["counter"], calls=v2["calls"])
        v1["recent"][:3] = v2["recent"]     # misses and recent[3..4] had stayed in the old storage
        self.v2, self.version = None, "v1"

    def frame(self, i):
        s = self.v1 if self.v2 is None else self.v2
        s["hits"] += 1
        s["counter"] += 1
        s["calls"] += 1
        table, recent = s["table"], s["recent"]
        table[i % len(table)] += i + 1
        recent[i % len(recent)] = 10 * i
        if self.version == "v1":
            s["misses"] += 2
            middle = "misses=%d" % s["misses"]
        else:
            s["bonus"] += 1 if self.version == "v2" else 10
            middle = "bonus=%d" % s["bonus"]
        return "frame %d: %s hits=%d %s tag=%s table=%s recent=%s counter=%d watch=%d calls=%d" % (
            i, self.version, s["hits"], middle, s["tag"], ",".join(map(str, table)),
            ",".join(map(str, recent[:3])), s["counter"], s["counter"], s["calls"])


def expected(frames, events):
    """events: {frame: "v2" | "v3" | "revert"} applied before that frame."""
    stats, out = Stats(), []
    for i in range(frames):
        event = events.get(i)
        if event == "revert":
            stats.revert()
        elif event:
            stats.migrate(event)
        out.append(stats.frame(i))
    return out


MIGRATED = (r"5 statics migrated \(calls in stats_step\(\), counter, recent: dropped \[3\.\.4\], "
            r"stats: dropped misses, table\), 1 pointer to them rewritten")


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_statics_whose_types_changed_carry_their_values(tmp_path, debugger, cc, opt):
    # A struct gaining (bonus), losing (misses) and reordering (tag, hits)
    # members with hits widened; an array growing and one shrinking; a
    # widened int; a widened function-local static; and main's pointer to
    # counter (a global DWARF shows) rewritten to the new storage.
    prog = build("migrate", tmp_path, ["main.c", "stats.c"], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),       # stopped before frame 3
        Copy("stats_v2.c", "stats.c"), Hotfix("stats.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert result.lines() == expected(6, {3: "v2"}), result.transcript + result.output
    summary = [l for l in hotfix_lines(result) if "redirected" in l]
    assert len(summary) == 1, result.transcript
    assert re.search(MIGRATED + r" .* scan \d+ ms", summary[0]), summary
    # Every function that uses a migrated static runs the new code, even
    # stats_counter, whose code is the same but for counter's storage.
    assert "stats_counter" in summary[0], summary
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_a_later_patch_uses_the_migrated_storage_and_revert_carries_the_values_back(tmp_path, debugger, cc, opt):
    prog = build("migrate", tmp_path, ["main.c", "stats.c"], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(9), Continue(3),       # before frame 3
        Copy("stats_v2.c", "stats.c"), Hotfix("stats.c"), Continue(2),
        Copy("stats_v3.c", "stats.c"), Hotfix("stats.c"), Continue(2),      # before frame 7
        Hotfix("--revert stats.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert result.lines() == expected(9, {3: "v2", 5: "v3", 7: "revert"}), result.transcript + result.output
    lines = hotfix_lines(result)
    # v3 changes no type: it binds to the storage v2 migrated.
    assert any(re.match(r"hotfix: stats.c: 2 functions redirected \(stats_line, stats_step\), 6 statics kept — ", l)
               for l in lines), lines
    assert "hotfix: stats.c: reverted 3 functions (stats_counter, stats_line, stats_step) to the program's own " \
           "code, 5 statics migrated back (counter, recent, stats: dropped bonus, table: dropped [4..5], calls in " \
           "stats_step())." in lines, lines
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_dry_run_prints_the_migration_plan_and_writes_nothing(tmp_path, debugger):
    prog = build("migrate", tmp_path, ["main.c", "stats.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("stats_v2.c", "stats.c"), Hotfix("--dry-run stats.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    t = result.transcript
    assert re.search(r"  migrate stats: `struct stats \{int hits@0; short int misses@4; char tag@6\} \(8 bytes\)' "
                     r"\(8 bytes at 0x[0-9a-f]+\) -> `struct stats \{char tag@0; long long int hits@8; int bonus@16\} "
                     r"\(24 bytes\)' \(24 bytes at patch\+0x[0-9a-f]+\)\n"
                     r"      copy tag: 1 byte at 6 -> 0\n"
                     r"      copy hits: signed 32 bits at bit 0 -> signed 64 bits at bit 64\n"
                     r"      new, from the new source's initial value: bonus\n"
                     r"      dropped: misses\n"
                     r"      used by \(redirected\): stats_line, stats_step\n", t), t
    assert "      copy [0..3]: 16 bytes at 0 -> 0\n      new, from the new source's initial value: [4..5]\n" in t, t
    assert re.search(r"  redirect stats_counter \(uses counter, which is migrated\) -> patch\+0x", t), t
    assert "  pointer to rewrite: prog: watch -> counter\n" in t, t
    assert re.search(r"  searched \d+ kB of the process's memory for pointers into the old storage in \d+ ms", t), t
    assert result.lines() == expected(4, {}), result.output        # nothing was patched
    assert exited_normally(result, debugger), t


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_a_pointer_dwarf_does_not_show_refuses_the_migration_unless_forced(tmp_path, debugger, cc, opt):
    # main keeps `int *counter` (taken before the patch) in its frame or a
    # register: hotfix cannot tell it is a pointer, so it names where it is.
    # With --force-migrate counter moves, and main's pointer still reads
    # the old storage: its counter stays where it was.
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),       # before frame 3
        Copy("state_type.c", "state.c"), Hotfix("state.c"), Hotfix("--force-migrate state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    place = r"(thread 1's stack 0x[0-9a-f]+|thread 1 register \w+)"
    assert re.search(r"^hotfix: state.c: nothing was changed: the type of counter changed from `int' to `long( int)?' "
                     r"and hotfix cannot migrate it: (a pointer|pointers) into its old storage (is|are) at %s(, %s)*, "
                     r"which hotfix cannot tell (is a pointer|are pointers) \(--force-migrate goes ahead and leaves "
                     r"(it|them) pointing at the old storage\)\.$" % (place, place), lines[0]), lines
    assert re.search(r"^hotfix: warning: --force-migrate: left pointing at the old storage: %s -> counter" % place,
                     lines[1]), lines
    assert re.match(r"hotfix: state.c: 2 functions redirected \(state_counter, state_step\), .*"
                    r"1 static migrated \(counter\)", lines[2]), lines
    want = state_expected(6, {})
    for i in (3, 4, 5):         # main's pointer: counter as it was when the patch came
        want[i] = want[i][:2] + (3,) + want[i][3:]
    assert state_frames(result) == want, result.transcript + result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_a_global_used_by_two_units_is_migrated_with_both(tmp_path, debugger, cc, opt):
    # ticks.c's global ticks, read by report.c, widened in the header both
    # include.  ticks.c alone is refused, naming report.c and its function
    # (the program's code says who refers to ticks); the two together go.
    prog = build("migrate", tmp_path, ["main_ticks.c", "ticks.c", "report.c"], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),       # before frame 3
        Copy("shared_v2.h", "shared.h"), Copy("ticks_v2.c", "ticks.c"),
        Hotfix("ticks.c"), Hotfix("ticks.c report.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert re.match(r"hotfix: ticks.c: nothing was changed: the type of ticks changed from `int' to `long long( int)?' "
                    r"and hotfix cannot migrate it: report.c uses it \(report\); hotfix that unit with it \(hotfix "
                    r"ticks.c report.c\)\.$", lines[0]), lines
    assert re.match(r"hotfix: ticks.c: 2 functions redirected \(tick, ticks_value\), 1 static migrated \(ticks\) — ",
                    lines[1]), lines
    assert re.match(r"hotfix: report.c: 1 function redirected \(report\), 1 global bound — ", lines[2]), lines
    ticks = [1, 2, 3, 1003, 2003, 3003]
    assert result.lines() == ["frame %d: ticks=%d report=%d" % (i, t, 10 * t) for i, t in enumerate(ticks)], \
        result.transcript + result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_struct_with_objects_on_the_heap_stays_refused_by_name(tmp_path, debugger, cc):
    # struct item gains a member: the static first could be migrated, but
    # the items made with malloc keep the old layout (DWARF shows pointers
    # to the type), so the type is refused and nothing changes.
    prog = build("migrate", tmp_path, ["main_items.c", "items.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),
        Copy("items_v2.c", "items.c"), Hotfix("items.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert hotfix_lines(result) == [
        "hotfix: items.c: nothing was changed: the layout of item changed (its size changed from 8 bytes to 12 "
        "bytes): objects of it in the process keep the old layout; besides the migrated statics, DWARF shows a "
        "pointer to it (items.c)."], result.transcript
    assert [l.split(": ", 1)[1] for l in result.lines()] == [
        "v1 first=%d made=%d" % (11 + i, 1 if i < 4 else 2) for i in range(6)], result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_later_session_binds_to_the_migrated_storage_and_reverts_it(tmp_path, debugger):
    # The program runs on its own; one session migrates, detaches; the next
    # one (the manifests tell it what was migrated) applies v3 on the
    # migrated storage, and a third reverts.  Whatever frame each lands on, the
    # values go on: hits, counter (and main's pointer to it) and calls
    # count the frames in every version.
    build("migrate", tmp_path, ["main.c", "stats.c"])
    with open(tmp_path / "out.txt", "w") as out:
        proc = subprocess.Popen([str(tmp_path / "prog"), "300", "10"], cwd=tmp_path, stdout=out)
    try:
        time.sleep(0.3)
        first = run(debugger, None, [Attach(proc.pid), Copy("stats_v2.c", "stats.c"), Hotfix("--wait stats.c"),
                                     Detach()], cwd=tmp_path)
        assert any(re.match(r"hotfix: stats.c: .*" + MIGRATED, l) for l in hotfix_lines(first)), first.transcript
        time.sleep(0.3)
        second = run(debugger, None, [Attach(proc.pid), Hotfix("--status"), Copy("stats_v3.c", "stats.c"),
                                      Hotfix("--wait stats.c"), Detach()], cwd=tmp_path)
        time.sleep(0.3)
        third = run(debugger, None, [Attach(proc.pid), Hotfix("--wait --revert stats.c"), Detach()], cwd=tmp_path)
        lines = hotfix_lines(second) + hotfix_lines(third)
        assert re.search(r"  stats.c patch 1 at [\d:]+: redirected stats_counter, stats_line, stats_step; statics "
                         r"kept: line in stats_line\(\); migrated: calls in stats_step\(\), counter, recent, stats, "
                         r"table", second.transcript), second.transcript
        assert any(re.match(r"hotfix: stats.c: 2 functions redirected \(stats_line, stats_step\), 6 statics kept — ",
                            l) for l in lines), lines
        assert any(l.startswith("hotfix: stats.c: reverted 3 functions (stats_counter, stats_line, stats_step) to "
                                "the program's own code, 5 statics migrated back") for l in lines), lines
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    frames = [re.match(r"frame (\d+): (v\d) hits=(\d+) .* counter=(\d+) watch=(\d+) calls=(\d+)$", l)
              for l in (tmp_path / "out.txt").read_text().splitlines()]
    assert len(frames) == 300 and all(frames), frames[-3:]
    assert all(int(m.group(1)) + 1 == int(m.group(3)) == int(m.group(4)) == int(m.group(5)) == int(m.group(6))
               for m in frames), [m.group(0) for m in frames if len(set(m.groups()[2:])) > 1][:3]
    versions = [m.group(2) for m in frames]
    assert [v for i, v in enumerate(versions) if not i or versions[i - 1] != v] == ["v1", "v2", "v3", "v1"], versions


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", ["g++", "clang++"])
def test_cxx_objects_are_migrated_unless_something_else_points_at_them(tmp_path, debugger, cc):
    # Plain has a method (its `this' is no other instance) and is migrated.
    # Tally's destructor was registered with atexit for the old object: a
    # pointer in libc's data refuses it.  Shape has a vtable: refused.
    prog = build("migrate", tmp_path, ["main_tally.cpp", "tally.cpp"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),       # before frame 3
        Copy("tally_dtor.cpp", "tally.cpp"), Hotfix("tally.cpp"),
        Copy("tally_vtable.cpp", "tally.cpp"), Hotfix("tally.cpp"),
        Copy("tally_plain.cpp", "tally.cpp"), Hotfix("tally.cpp"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = [l for l in hotfix_lines(result) if "warning" not in l]
    assert re.match(r"hotfix: tally.cpp: nothing was changed: the type of tally changed from `struct Tally \{int n@0\} "
                    r"\(4 bytes\)' to `struct Tally \{long( int)? first@0; int n@8\} \(16 bytes\)' and hotfix cannot "
                    r"migrate it: a pointer into its old storage is at libc.so.6 (\(.bss\) )?0x[0-9a-f]+, which hotfix "
                    r"cannot tell is a pointer", lines[0]), lines
    assert re.match(r"hotfix: tally.cpp: nothing was changed: the type of shape changed from .* and hotfix cannot "
                    r"migrate it: the value is a struct Shape with virtual functions: hotfix does not migrate objects "
                    r"that have a vtable\.", lines[1]), lines
    # Plain::bump changed (n moved): the inline method's one copy is redirected.
    assert re.match(r"hotfix: tally.cpp: 2 functions redirected \(tally_step\(\), Plain::bump\(\)\), .*1 static "
                    r"migrated \(plain\) — ", lines[2]), lines
    assert result.lines() == ["frame %d: %d" % (i, (i + 1) * (1000 if i >= 3 else 100) + (i + 1) * 11)
                              for i in range(6)], result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_revert_waits_for_the_patched_code_that_uses_the_migrated_storage(tmp_path, debugger):
    # Stopped inside the patch's stats_line: put back, the program's own
    # code would use the old storage while this frame goes on with the new.
    # (Stopped in the snprintf it calls: a breakpoint set on a line of
    # stats_line would land in the original's entry too, where the jump is.)
    prog = build("migrate", tmp_path, ["main.c", "stats.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),
        Copy("stats_v2.c", "stats.c"), Hotfix("stats.c"),
        Delete(), Break("snprintf"), Continue(), Hotfix("--revert stats.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    refused = [l for l in hotfix_lines(result) if "revert" in l]
    assert len(refused) == 1 and re.match(r"hotfix: cannot revert now: stats_line \(patch 1\) in thread 1, frame #1 "
                                          r"\(it uses the migrated statics\)\.$", refused[0]), result.transcript
    assert result.lines() == expected(6, {3: "v2"}), result.output
    assert exited_normally(result, debugger), result.transcript
