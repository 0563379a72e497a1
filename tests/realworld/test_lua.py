"""lua5.4, built as Debian builds it (its Makefile on libtool, under bear:
compile_commands.json names every file absolutely, and lists each unit
four times: C and C++, PIC and not).  The interpreter runs input.lua; at
step 20 the script calls os.getenv, where the session stops it, copies in
the edited unit and patches it.  Judged by the script's output: the first
20 lines are the program's own, the other 20 those of the interpreter
rebuilt with the same edit, and nothing ran twice.

- core.patch: ldebug.c, a unit of the core, whose functions are LUAI_FUNC
  (visibility "internal"): the edited typeerror() calls luaT_objtypename
  (ltm.c) and luaG_runerror, internal functions.
- library.patch: lbaselib.c, the standard library (the public API only):
  print() separates its values with " | ".
"""
import os
import shutil

import pytest

import builds
from builds import LEVELS, LUA
from driver import DEBUGGERS, Break, Continue, Delete, Hotfix, Run, exited_normally, run
from harness import brief, edit, plain, summaries

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lua5.4")
CHECKPOINT = 20


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", LEVELS)
@pytest.mark.parametrize("patch", ["core.patch", "library.patch"])
def test_lua(tmp_path, patch, opt, debugger):
    live = builds.build(LUA, opt)
    ref = builds.reference(LUA, opt, [os.path.join(HERE, patch)])
    shutil.copy(os.path.join(HERE, "input.lua"), tmp_path)
    own = plain(live.program, ["input.lua"], tmp_path).splitlines()
    rebuilt = plain(ref.program, ["input.lua"], tmp_path).splitlines()
    assert len(own) == len(rebuilt) == 40 and own[CHECKPOINT:] != rebuilt[CHECKPOINT:]

    (unit,) = LUA.unit_files(os.path.join(HERE, patch))
    with live.editing([unit]):
        result = run(debugger, live.program, [
            Break("os_getenv"), Run("input.lua"),
        ] + edit(live, ref, [unit]) + [
            Hotfix(live.path(unit)), Delete(), Continue(),
        ], cwd=tmp_path)
    assert summaries(result, live.path(unit)), brief(result)
    assert result.lines() == own[:CHECKPOINT] + rebuilt[CHECKPOINT:], brief(result)
    assert exited_normally(result, debugger), brief(result)
