"""One file, two compile commands: libtool (and Debian's lua5.4 Makefile)
compile each unit once for the shared library (-fPIC -DPIC, often also as
C++) and once for the program, and compile_commands.json lists both.  The
patch must be built with the command that built the running code."""
import json
import os
import subprocess

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_the_command_that_built_the_program_of_several(tmp_path, debugger):
    prog = build("variants", tmp_path, ["main.c", "who.c"], database=False)
    os.mkdir(tmp_path / ".libs")
    library = ["gcc", "-g", "-O0", "-fPIC", "-DPIC", "-c", "who.c", "-o", ".libs/who.o"]
    subprocess.run(library, cwd=tmp_path, check=True)
    entries = [{"directory": str(tmp_path), "file": str(tmp_path / "who.c"), "arguments": library,
                "output": str(tmp_path / ".libs" / "who.o")}]
    for unit in ("main.c", "who.c"):
        obj = unit[:-2] + ".o"
        entries.append({"directory": str(tmp_path), "file": str(tmp_path / unit),
                        "arguments": ["gcc", "-g", "-O0", "-c", unit, "-o", obj], "output": str(tmp_path / obj)})
    with open(tmp_path / "compile_commands.json", "w") as f:
        json.dump(entries, f, indent=1)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(), Continue(2),
        Copy("who_v2.c", "who.c"), Hotfix("who.c"), Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(l.startswith("hotfix: who.c: 1 function redirected (who)") for l in hotfix_lines(result)), \
        result.transcript
    assert result.lines() == ["frame 0: the program, version 1", "frame 1: the program, version 1",
                              "frame 2: the program, version 2", "frame 3: the program, version 2"], result.output
    assert exited_normally(result, debugger), result.transcript


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_the_command_whose_object_the_program_has(tmp_path, debugger):
    # jemalloc compiles each file once more with other -D flags (to list its
    # symbols before they get their prefix), listed first: nothing in the
    # program's debug information tells the two apart, their objects do.
    prog = build("variants", tmp_path, ["nsmain.c", "ns.c"], database=False)
    listing = ["gcc", "-g", "-O0", "-DNO_NS", "-c", "ns.c", "-o", "ns.sym.o"]
    subprocess.run(listing, cwd=tmp_path, check=True)
    entries = [{"directory": str(tmp_path), "file": "ns.c", "arguments": listing, "output": "ns.sym.o"}]
    for unit in ("nsmain.c", "ns.c"):
        obj = unit[:-2] + ".o"
        entries.append({"directory": str(tmp_path), "file": unit,
                        "arguments": ["gcc", "-g", "-O0", "-c", unit, "-o", obj], "output": obj})
    with open(tmp_path / "compile_commands.json", "w") as f:
        json.dump(entries, f, indent=1)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(), Continue(2),
        Copy("ns_v2.c", "ns.c"), Hotfix("ns.c"), Delete(), Continue(),
    ], cwd=tmp_path)
    assert any(l.startswith("hotfix: ns.c: 1 function redirected (ns_value)") for l in hotfix_lines(result)), \
        result.transcript
    assert result.lines() == ["frame 0: value 2", "frame 1: value 4", "frame 2: value 9", "frame 3: value 12"], \
        result.output
    assert exited_normally(result, debugger), result.transcript
