"""Where a patch library lands (x86-64): within 2 GiB of the program, its
references to the program's statics 32-bit fields (built -fPIC, the small
model: the compile costs what the program's own does), even when dlopen's
own wish for an address is not granted; built again to load anywhere, and
still right, when there is no room near the program.  Its calls of a
shared library's functions (far away) go through slots near it."""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build


def expected(n, patched_at, where):
    out, total = [], 0
    for i in range(n):
        total += i
        if i >= patched_at:
            out.append("v2 %s fresh=%d far=%d" % (where, i - patched_at + 1, 1000 + i))
            out.append("frame %d: %d" % (i, total * 10))
        else:
            out.append("frame %d: %d" % (i, total))
    return out


def session(tmp_path, debugger, opt, mode, env=None):
    prog = build("near", tmp_path, ["main.c", "near.c"], opt=opt, library="far.c")
    return run(debugger, prog, [
        Break("checkpoint"), Run(6, mode), Continue(3),
        Copy("near_v2.c", "near.c"), Hotfix("--verbose near.c"),
        Delete(), Continue(),
    ], cwd=tmp_path, env=env)


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
@pytest.mark.parametrize("mode", ["plain", "hint"])
def test_the_patch_lands_within_reach_of_the_program(tmp_path, debugger, opt, mode):
    # "hint": the place the library is linked at is taken, so the kernel
    # would put it beside the other libraries but for what hotfix maps
    # around the call.
    result = session(tmp_path, debugger, opt, mode)
    lines = hotfix_lines(result)
    assert any(l.startswith("hotfix: near.c: 1 function redirected (report), 1 static kept, "
                            "1 new static") for l in lines), result.transcript
    assert not any("anywhere" in l for l in lines), result.transcript
    # libunit.so's far_add, beyond 2 GiB: called through a slot.
    assert re.search(r"write 0x[0-9a-f]+ ff25[0-9a-f]+ \(slot for symbol far_add\)", result.transcript), \
        result.transcript
    assert result.lines() == expected(6, 3, "near"), result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_no_room_near_the_program_builds_the_patch_again_to_load_anywhere(tmp_path, debugger):
    result = session(tmp_path, debugger, "-O0", "crowded")
    lines = hotfix_lines(result)
    assert any(l == "hotfix: there is no room for the patch library within 2 GiB of the program; "
               "building it again to load anywhere." for l in lines), result.transcript
    assert any(l.startswith("hotfix: near.c: 1 function redirected (report)") for l in lines), result.transcript
    assert result.lines() == expected(6, 3, "far"), result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_patch_built_to_load_anywhere_is_right_too(tmp_path, debugger):
    result = session(tmp_path, debugger, "-O2", "plain", env={"HOTFIX_FAR": "1"})
    assert result.lines() == expected(6, 3, "far"), result.output
    assert exited_normally(result, debugger), result.transcript
