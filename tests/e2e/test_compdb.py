"""The compile command as the build ran it (fault 3 of issue 18): bear
writes "file" absolute while the build named the file relatively; compiled
with the absolute name, __FILE__ in every assert changed, so `main` looked
changed and the patch was refused as long as main runs."""
import json
import os
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, run
from programs import build


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_a_database_with_absolute_file_names_compiles_the_name_the_build_used(tmp_path, debugger, opt):
    prog = build("asserts", tmp_path, ["main.c"], opt=opt, database=False)
    # As bear records it: "file" absolute, the arguments as the build ran them.
    entry = {"directory": str(tmp_path), "file": os.path.join(str(tmp_path), "main.c"),
             "arguments": ["gcc", "-g"] + opt.split() + ["-c", "main.c", "-o", "main.o"], "output": "main.o"}
    (tmp_path / "compile_commands.json").write_text(json.dumps([entry]))
    result = run(debugger, prog, [
        Break("checkpoint"), Run(5), Continue(2),       # stopped in frame 2, main on the stack
        Copy("main_v2.c", "main.c"), Hotfix("main.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    assert re.search(r"hotfix: main.c: 1 function redirected \(value\)", result.transcript), result.transcript
    assert result.lines() == ["frame 0: value=0", "frame 1: value=1", "frame 2: value=20", "frame 3: value=30",
                              "frame 4: value=40", "done"], result.transcript
    assert exited_normally(result, debugger), result.transcript
