"""A library built with -fvisibility=hidden that exports a class (as
leveldb's LEVELDB_EXPORT does): the patch reaches the class's inline
members and the unit's exported global through the PLT and its own GOT
(64-bit PLT offsets and GOT slots), which must point at the program's
copies like any other reference -- the new code calls the program's
Status::Invalid (whose own calls the program bound), and counts in the
program's store_calls."""
import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build


def expected(frames, patched_at):
    out = []
    for i in range(frames):
        key = i % 3 - 1
        if key < 0:
            code, why = 2, "negative key"
        elif key == 0 and i >= patched_at:
            code, why = 2, "empty key"
        else:
            code, why = 0, "ok"
        out.append("frame %d: key=%d code=%d why=%s calls=%d made=%d" % (i, key, code, why, i + 1, i + 1))
    return out


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_an_exported_class_and_global_reached_through_the_plt_and_got(tmp_path, debugger, opt):
    prog = build("exported", tmp_path, ["main.cc", "status.cc", "store.cc"], cc="g++",
                 opt=opt + " -fvisibility=hidden")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(9), Continue(2),
        Copy("store_v2.cc", "store.cc"), Hotfix("store.cc"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(l.startswith("hotfix: store.cc: 1 function redirected (store_get(int))")
               for l in hotfix_lines(result)), result.transcript
    assert result.lines() == expected(9, 3), result.output
    assert exited_normally(result, debugger), result.transcript
