"""A unit of a plugin the program loaded with dlopen (RTLD_LOCAL) calls a
library only the plugin needs (stripped, as system libraries are): the
patch must name that library, or its load cannot bind the call.  Patches
whose libraries the program started with are linked without reading
them; this one is not."""
import json
import os
import subprocess

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import build


def _build(tmp_path):
    prog = build("plugin", tmp_path, ["main.c"])
    dest = str(tmp_path)
    compile_plugin = ["gcc", "-g", "-O0", "-fPIC", "-c", "plugin.c", "-o", "plugin.o"]
    for argv in (["gcc", "-shared", "-fPIC", "-s", "-Wl,-soname,libhelper.so", "helper.c", "-o", "libhelper.so"],
                 compile_plugin,
                 ["gcc", "-shared", "-o", "libplugin.so", "plugin.o", "-L.", "-lhelper", "-Wl,-rpath," + dest]):
        subprocess.run(argv, cwd=dest, check=True)
    database = os.path.join(dest, "compile_commands.json")
    with open(database) as f:
        entries = json.load(f)
    entries.append({"directory": dest, "file": "plugin.c", "arguments": compile_plugin, "output": "plugin.o"})
    with open(database, "w") as f:
        json.dump(entries, f)
    return prog, os.path.join(dest, "libplugin.so")


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_plugin_patch_names_the_library_only_the_plugin_loaded(tmp_path, debugger):
    prog, plugin = _build(tmp_path)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(6, plugin), Continue(3),
        Copy("plugin_v2.c", "plugin.c"), Hotfix("plugin.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    values = [3 * i + (i + 1) * 100 for i in range(6)]
    assert result.lines() == ["frame %d: value=%d" % (i, v if i < 3 else -v) for i, v in enumerate(values)], \
        result.transcript + result.output
    assert any("plugin.c: 1 function redirected (plugin_value), 1 static kept" in l for l in hotfix_lines(result)), \
        result.transcript
    assert exited_normally(result, debugger), result.transcript
