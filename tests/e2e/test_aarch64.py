"""AArch64: the state scenario built with the Debian cross compiler, run
under qemu-user and patched through qemu's gdbstub with gdb-multiarch.

Every kind of storage stays live across a patch at -O0, -O2 (section
anchors) and -O2 with branch protection (bti c kept at entries, paciasp
overwritten); successive patches go straight to the newest body, --status
follows every entry, --revert puts the program's code back.  qemu-user's
gdbstub refuses writes to read-only pages: hotfix makes them writable with
an inferior mprotect and restores them; after writing code it runs
hotfix_clear_cache in the process (--verbose lists both)."""
import re
import shutil

import pytest

from driver import GDB_MULTIARCH, QEMU, Break, Continue, Copy, Delete, Hotfix, exited_normally, hotfix_lines, \
    run_qemu
from programs import build
from test_state import expected, frames

CC = "aarch64-linux-gnu-gcc"
MISSING = [name for name, found in (("qemu-aarch64 (Debian: qemu-user)", QEMU),
                                    ("gdb-multiarch", GDB_MULTIARCH),
                                    ("aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu)", shutil.which(CC)))
           if not found]
pytestmark = pytest.mark.skipif(bool(MISSING), reason="AArch64 tests need %s: install them with scripts/deps.sh"
                                % ", ".join(MISSING))


@pytest.mark.parametrize("opt", ["-O0", "-O2", "-O2 -mbranch-protection=standard"])
def test_state_carries_across_a_patch_on_aarch64(tmp_path, opt):
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=CC, opt=opt)
    result = run_qemu(prog, [6], [
        Break("checkpoint"), Continue(), Continue(3),       # stopped before frame 3
        Copy("state_v2.c", "state.c"), Hotfix("--verbose state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert frames(result) == expected(6, {3: ("v2", 10)}), result.transcript + result.output
    summary = [l for l in hotfix_lines(result) if "redirected" in l]
    assert len(summary) == 1, result.transcript
    assert re.search(r"hotfix: state.c: 3 functions redirected \(state_check, state_label, state_step\), "
                     r"2 statics kept, 2 globals bound", summary[0]), summary
    t = result.transcript
    # Each jump's code range, then its instruction cache, in that order.
    jumps = re.findall(r"write (0x[0-9a-f]+) ([0-9a-f]+) \((?:trampoline for )?jump state_\w+ \(original\)", t)
    flushed = re.findall(r"clear instruction cache (0x[0-9a-f]+)-(0x[0-9a-f]+) \(hotfix_clear_cache\)", t)
    assert len(jumps) >= 3 and [(a, "0x%x" % (int(a, 16) + len(d) // 2)) for a, d in jumps] == flushed, t
    # The 16-byte ldr x16 / br x16 jump at the entries with room for it.
    assert re.search(r"write 0x[0-9a-f]+ 5000005800021fd6[0-9a-f]{16} \(jump state_step \(original\)", t), t
    # qemu's gdbstub refused to write to code: mprotect, then back to r-x.
    assert re.search(r"mprotect 0x[0-9a-f]+ writable", t) and "back to r-x" in t, t
    if "branch-protection" in opt:
        # state_step begins with bti c (d503245f; paciasp would be overwritten): the jump goes after it.
        step = re.search(r"write (0x[0-9a-f]+) \S+ \(jump state_step \(original\)", t).group(1)
        assert re.search(r"Breakpoint 1 at", t)
        assert int(step, 16) % 16 == 4, step
    assert exited_normally(result, "gdb"), t


def test_successive_patches_status_and_revert_on_aarch64(tmp_path):
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=CC, opt="-O0")
    result = run_qemu(prog, [8], [
        Break("checkpoint"), Continue(), Continue(2),       # before frame 2
        Copy("state_v2.c", "state.c"), Hotfix("state.c"),
        Continue(2),                                        # before frame 4
        Copy("state_v3.c", "state.c"), Hotfix("--verbose state.c"),
        Hotfix("--status"),
        Continue(2),                                        # before frame 6
        Hotfix("--revert state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert frames(result) == expected(8, {2: ("v2", 10), 4: ("v3", 100), 6: ("v1", 1)}), \
        result.transcript + result.output
    t = result.transcript
    jumps = [l for l in t.splitlines() if "write" in l and "jump state_step" in l]
    assert any("(original)" in l for l in jumps) and any("(patch 1)" in l for l in jumps), jumps
    assert re.search(r"state.c: all \d+ entries jump straight to the newest code", t), t
    assert "hotfix: state.c: reverted 3 functions (state_check, state_label, state_step) to the program's own code." \
        in t, t
    assert exited_normally(result, "gdb"), t


def test_a_static_whose_type_changed_is_refused_on_aarch64(tmp_path):
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=CC, opt="-O2")
    result = run_qemu(prog, [4], [
        Break("checkpoint"), Continue(), Continue(2),
        Copy("state_type.c", "state.c"), Hotfix("state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    # Statics are migrated on x86-64 only.
    assert any("hotfix: state.c: nothing was changed: the type of counter changed from `int' to `long int' and "
               "hotfix cannot migrate it: on AArch64 the patch reaches statics through GOT slots, which do not tell "
               "which functions use it." in l for l in hotfix_lines(result)), result.transcript
    assert frames(result) == expected(4, {}), result.output
    assert exited_normally(result, "gdb"), result.transcript


def test_wait_for_an_active_function_on_aarch64(tmp_path):
    """--wait under qemu: hotfix interrupts the program by signalling qemu
    (GDB's remote pid is no pid here), holds callers at b . gates, and
    writes to code pages that qemu write-protected again after running them."""
    prog = build("state", tmp_path, ["main.c", "state.c"], cc=CC, opt="-O0")
    result = run_qemu(prog, [5], [
        Break("checkpoint"), Continue(), Continue(2), Break("state_step"), Continue(),   # inside state_step
        Copy("state_v2.c", "state.c"), Hotfix("state.c"), Hotfix("--wait 5 state.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    lines = hotfix_lines(result)
    assert any("hotfix: cannot patch now: state_step is active in thread 1, frame #0: state_step (state.c:11)" in l
               for l in lines), result.transcript
    assert any("3 functions redirected" in l for l in lines), result.transcript
    # state_step (old) finished frame 2's step; its label came from the new code.
    want = expected(5, {3: ("v2", 10)})
    want[2] = ("v2",) + want[2][1:]
    assert frames(result) == want, result.transcript + result.output
    assert exited_normally(result, "gdb"), result.transcript
