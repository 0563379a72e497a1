"""C++ units (examples/entities): virtual functions of objects made before
the patch run the new code, function-local and namespace-scope static
objects keep their state, constructors and destructors run once, names
are demangled, and a layout change is refused by the type's name."""
import re

import pytest

from driver import DEBUGGERS, REPO, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import LEVELS, build

EXAMPLE = REPO + "/examples/entities"


def ticks(result):
    return [tuple(int(x) for x in m.groups())
            for m in (re.match(r"tick (\d+): sum=(\d+) hp=(\d+),(\d+)", l) for l in result.lines()) if m]


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cxx", ["g++", "clang++"])
@pytest.mark.parametrize("opt", LEVELS)
def test_virtual_update_and_static_objects(tmp_path, debugger, cxx, opt):
    prog = build(EXAMPLE, tmp_path, ["main.cpp", "world.cpp"], cc=cxx, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6), Continue(2),
        Copy("world_v2.cpp", "world.cpp"), Hotfix("--dry-run world.cpp"), Hotfix("world.cpp"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    # Names as people read them (fault 7 of issue 18: mangled names, and a
    # function-local static's function with its parentheses doubled).
    kept = [l for l in result.transcript.splitlines() if "statics kept:" in l]
    assert kept and "history()" in kept[0] and "_Z" not in kept[0] and "()()" not in kept[0], kept
    assert ticks(result) == [(0, 0, 99, 98), (1, 3, 98, 96), (2, 8, 97, 91), (3, 12, 96, 86),
                             (4, 16, 95, 81), (5, 20, 94, 76)], result.output
    # The function-local vector and the namespace-scope ledger went on counting.
    steps = [l.strip() for l in result.lines() if l.startswith("  history=")]
    assert steps == ["history=%d ledger=%d" % (i, 1000 + i) for i in range(1, 7)], result.output
    assert result.lines().count("ledger constructed") == 1 and result.lines().count("ledger destroyed") == 1, \
        result.output
    assert any(re.match(r"hotfix: world.cpp: 1 function redirected \(Jumper::update\(int\)\), 2 statics kept",
                        l) for l in hotfix_lines(result)), result.transcript
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_class_layout_change_is_refused(tmp_path, debugger):
    prog = build(EXAMPLE, tmp_path, ["main.cpp", "world.cpp"], cc="g++")
    result = run(debugger, prog, [
        Break("checkpoint"), Run(4), Continue(2),
        Copy("entity_layout.h", "entity.h"), Hotfix("entity.h"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(re.search(r"the layout of Entity changed \(`int armor at 44' is new\): objects of it in the "
                         r"process keep the old layout", l) for l in hotfix_lines(result)), result.transcript
    assert ticks(result) == [(0, 0, 99, 98), (1, 3, 98, 96), (2, 6, 97, 94), (3, 9, 96, 92)], result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cxx", ["g++", "clang++"])
@pytest.mark.parametrize("opt", LEVELS)
def test_objects_made_after_the_patch_and_changed_templates_and_lambdas(tmp_path, debugger, cxx, opt):
    prog = build("spawn", tmp_path, ["main.cpp", "jumper.cpp"], cc=cxx, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(5), Continue(2),
        Copy("jumper_v2.cpp", "jumper.cpp"), Hotfix("jumper.cpp"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    # v1: 2 * (t + 1); v2: 3 * (t + 2), for the old object and the one made at tick 3.
    assert [l for l in result.lines() if l.startswith("tick ")] == [
        "tick 0: 2", "tick 1: 4", "tick 2: 12", "tick 3: 15 15", "tick 4: 18 18"], result.output
    summary = [l for l in hotfix_lines(result) if l.startswith("hotfix: jumper.cpp: ")]
    assert summary and ("Jumper::update(int)" in summary[0] or "scale<int>" in summary[0]), result.transcript
    if opt == "-O0":    # not inlined: the template and the lambda are redirected by their own names
        assert "(anonymous namespace)::scale<int>(int)" in summary[0], summary
        assert "{lambda(int)#1}::operator()(int) const" in summary[0], summary
    assert exited_normally(result, debugger), result.transcript
