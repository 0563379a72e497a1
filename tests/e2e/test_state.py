"""Every kind of storage stays live across a patch, under each compiler and
optimisation level: a global of the program and one of the unit, a file
static, a function-local static, a pointer to a static taken before the
patch, and a function pointer taken before it (which must reach the new
code and compare equal to the function's address in the new code)."""
import os
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import COMPILERS, LEVELS, build


def frames(result):
    out = {}
    for line in result.lines():
        m = re.match(r"frame (\d+): (\w+) calls=(\d+) counter=(\d+) total=(\d+) same_fn=(\d)", line)
        if m:
            out[int(m.group(1))] = (m.group(2),) + tuple(int(x) for x in m.groups()[2:])
    return out


def expected(n, patches):
    """(label, calls, counter, total, same_fn) per frame; patches maps the
    first frame of each version to (label, counter step)."""
    label, step, counter, total = "v1", 1, 0, 0
    out = {}
    for i in range(n):
        if i in patches:
            label, step = patches[i]
        counter += step
        total += 2 * i
        out[i] = (label, i + 1, counter, total, 1)
    return out


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_state_carries_across_a_patch(tmp_path, debugger, cc, opt):
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),       # stopped before frame 3
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert frames(result) == expected(6, {3: ("v2", 10)}), result.transcript
    summary = [l for l in hotfix_lines(result) if "redirected" in l]
    assert len(summary) == 1, result.transcript
    assert re.search(r"hotfix: state.c: 3 functions redirected \(state_check, state_label, state_step\)",
                     summary[0]), summary
    assert "statics kept" in summary[0] and "compile" in summary[0]
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_successive_patches_and_a_compile_error(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(8), Continue(2),       # before frame 2
        Copy("state_broken.c", "state.c"), Hotfix("state.c"),
        Continue(),                                      # before frame 3
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Continue(2),                                     # before frame 5
        Copy("state_broken.c", "state.c"), Hotfix("state.c"),   # after a patch: compiled once
        Copy("state_v3.c", "state.c"), Hotfix("--verbose state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert frames(result) == expected(8, {3: ("v2", 10), 5: ("v3", 100)}), result.transcript
    lines = hotfix_lines(result)
    # The compile error: the compiler's own diagnostic, and nothing changed.
    assert any("state.c:21:44: error: expected" in l for l in result.transcript.splitlines()), result.transcript
    assert [l for l in lines if l.startswith("hotfix: compiling state.c")] == \
        ["hotfix: compiling state.c failed:"] * 2, lines
    # The third version's jumps go from the original entry and from v2's.
    jumps = [l for l in result.transcript.splitlines() if "write" in l and "jump state_step" in l]
    assert any("(original)" in l for l in jumps) and any("(patch 1)" in l for l in jumps), jumps
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
def test_a_static_whose_type_changed_is_refused_by_name(tmp_path, debugger, cc):
    # clang's DWARF 5 gives statics' places as DW_OP_addrx.  main holds a
    # pointer to counter in its frame, which DWARF does not show hotfix as
    # a pointer: counter cannot be migrated.
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=cc)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("state_type.c", "state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    refused = [l for l in hotfix_lines(result) if "nothing was changed" in l]
    assert len(refused) == 1 and re.search(r"hotfix: state.c: nothing was changed: the type of counter changed "
                                           r"from `int' to `long( int)?' and hotfix cannot migrate it: a pointer "
                                           r"into its old storage is at thread 1's stack 0x[0-9a-f]+, which hotfix "
                                           r"cannot tell is a pointer \(--force-migrate goes ahead",
                                           refused[0]), result.transcript
    # Said once, however many places of the unit use counter.
    assert refused[0].count("the type of counter") == 1, refused
    assert frames(result) == expected(4, {}), result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("state_v2.c", "state.c"), Hotfix("--dry-run state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    t = result.transcript
    assert "hotfix plan for state.c (command from %s/compile_commands.json):" % tmp_path in t, t
    assert re.search(r"redirect state_step \(\w[\w ]*\) -> patch\+0x[0-9a-f]+, from original 0x[0-9a-f]+ "
                     r"\((abs14|r11|rel32) jump\)", t), t
    assert "statics kept: calls in state_step(), counter" in t and "bound to the program:" in t, t
    assert frames(result) == expected(4, {}), result.output      # nothing was patched
    assert exited_normally(result, debugger), t


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_compile_command_that_does_not_reproduce_the_program_is_refused(tmp_path, debugger):
    prog = build("state", tmp_path, ["main.c", "state.c"])
    db = tmp_path / "compile_commands.json"
    db.write_text(db.read_text().replace('"-O0"', '"-O2"'))     # a stale database
    os.utime(tmp_path / "state.c", (1_000_000_000, 1_000_000_000))   # not edited since the build
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2), Hotfix("state.c"), Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(re.search(r"hotfix: state.c: the compile command \(from .*compile_commands.json\) does not "
                         r"reproduce the running code: .* although neither state.c nor a file it includes is newer than prog; nothing "
                         r"was changed\.", l) for l in hotfix_lines(result)), result.transcript
    assert frames(result) == expected(4, {}), result.output
    assert exited_normally(result, debugger)


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_compressed_debug_information(tmp_path, debugger):
    # -gz: the DWARF is compressed in the objects and the program; hotfix
    # must still read it (the type check needs it) and patch.
    prog = build("state", tmp_path, ["main.c", "state.c"], opt="-O0 -gz", link_flags=["-gz"])
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),
        Copy("state_type.c", "state.c"), Hotfix("state.c"),
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert any("the type of counter changed from `int' to `long int'" in l for l in lines), result.transcript
    assert any(re.search(r"hotfix: state.c: 3 functions redirected", l) for l in lines), result.transcript
    assert frames(result) == expected(6, {3: ("v2", 10)}), result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_split_dwarf_is_refused_in_one_sentence(tmp_path, debugger):
    # -gsplit-dwarf leaves only a skeleton in the program: the unit is found
    # by its line table, and refused rather than patched unchecked.
    prog = build("state", tmp_path, ["main.c", "state.c"], opt="-O0 -gsplit-dwarf")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(3),
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert hotfix_lines(result) == [
        "hotfix: state.c was built with -gsplit-dwarf: its debug information is in a .dwo file, which hotfix "
        "does not read, so it cannot check its statics and types; rebuild it without -gsplit-dwarf."], \
        result.transcript
    assert frames(result) == expected(6, {}), result.transcript
    assert exited_normally(result, debugger), result.transcript
