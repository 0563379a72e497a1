"""What a VS Code session sends, against the real debug adapters.

* lldb-dap (lldb-dap-19) over DAP: the initCommands of the shipped
  examples/.vscode/launch.json load the plugin; the hotfix extension sends `evaluate` with context "repl" and a
  backtick before the command.  lldb-dap answers success even when the
  command failed: the text tells (the extension reads it the same way).
* GDB over GDB/MI, as the Microsoft C/C++ extension (cppdbg) drives it:
  the launch.json setupCommands and `-exec CMD` become
  `-interpreter-exec console "CMD"`.

The requests are the ones the extension's logic (vscode/logic.js, run with
node) builds, and its reading of the real replies is checked too.

Each drives the example game copied into a temporary folder, pauses it
(at a breakpoint, or while it runs, as the extension does), applies
patches/jump_v2.c and checks that the game's own output changes.
"""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from dap import DapClient
from driver import REPO
from mi import GdbMi

LLDB_DAP = shutil.which("lldb-dap-19") or shutil.which("lldb-dap")
SUMMARY = re.compile(r"hotfix: src/jump\.c: 2 functions redirected \(jump_label, step_player\), 2 statics kept")
NOT_A_SOURCE = "hotfix: src/nosuch.c is not a source file of the program"


NODE = shutil.which("node")


def launch_config(debug_type):
    """The shipped examples/.vscode/launch.json entry of a debug type, with
    ${workspaceFolder} (examples/) filled in."""
    folder = os.path.join(REPO, "examples")
    with open(os.path.join(folder, ".vscode", "launch.json")) as f:
        text = f.read().replace("${workspaceFolder}", folder)
    return next(c for c in json.loads(text)["configurations"] if c["type"] == debug_type)


def extension(function, *args):
    """Call a function of the extension's vscode/logic.js with node."""
    if not NODE:
        pytest.skip("node is not installed (the VS Code extension's logic runs on it)")
    script = ("const logic = require(%s); process.stdout.write(JSON.stringify(logic[%s](...%s)));"
              % (json.dumps(os.path.join(REPO, "vscode", "logic.js")), json.dumps(function), json.dumps(list(args))))
    out = subprocess.run([NODE, "-e", script], check=True, stdout=subprocess.PIPE, timeout=30).stdout
    return json.loads(out)


def build_example(tmp_path):
    game = tmp_path / "jump"
    shutil.copytree(os.path.join(REPO, "examples", "jump"), game,
                    ignore=shutil.ignore_patterns("obj", "build", "jump", "compile_commands.json"))
    subprocess.run(["make", "-s"], cwd=game, check=True)
    return game


def edit(game):
    shutil.copy(game / "patches" / "jump_v2.c", game / "src" / "jump.c")


def frames(text):
    return [l.strip() for l in text.splitlines() if l.startswith("frame ")]


# -- lldb-dap ------------------------------------------------------------------

def repl_text(response):
    """What the Debug Console shows for an evaluate in the REPL."""
    return response.get("body", {}).get("result", "") if response.get("success") else response.get("message", "")


@pytest.fixture
def lldb_dap(tmp_path):
    if not LLDB_DAP:
        pytest.skip("lldb-dap-19 is not installed (scripts/deps.sh installs it)")
    game = build_example(tmp_path)
    # PYTHONHOME: LLDB's Python takes its home from the first python3 on PATH.
    env = dict(os.environ, PYTHONHOME="/usr")
    env.pop("JUMP_FAST", None)
    client = DapClient([LLDB_DAP], cwd=game, env=env)
    yield game, client
    client.close()


def dap_launch(client, game, args, breakpoints, env=()):
    init = client.request("initialize", {"clientID": "vscode", "adapterID": "lldb-dap", "linesStartAt1": True,
                                         "columnsStartAt1": True, "pathFormat": "path"})
    assert init["success"], init
    launch = client.send("launch", {
        "program": str(game / "jump"), "args": args, "cwd": str(game), "env": list(env),
        "initCommands": launch_config("lldb-dap")["initCommands"],
    })
    client.wait_event("initialized")
    bps = client.request("setFunctionBreakpoints", {"breakpoints": [{"name": b} for b in breakpoints]})
    assert bps["success"], bps
    assert client.request("configurationDone")["success"]
    response = client.wait_response(launch)
    assert response["success"], response


def test_lldb_dap_hotfix_at_a_breakpoint(lldb_dap):
    game, client = lldb_dap
    dap_launch(client, game, ["14"], ["checkpoint"], env=["JUMP_FAST=1"])
    stopped = client.wait_event("stopped")
    assert not extension("isPauseStop", stopped), stopped       # a breakpoint: the user's stop, shown
    thread = stopped["body"]["threadId"]
    for _ in range(10):                      # stop after frame 10 was drawn
        assert client.request("continue", {"threadId": thread})["success"]
        client.wait_event("stopped")
    edit(game)
    request = extension("requestFor", "lldb-dap", extension("hotfixCommand", ["src/jump.c"]))
    assert request["arguments"] == {"expression": "`hotfix src/jump.c", "context": "repl"}, request
    ok = client.request(request["command"], request["arguments"])
    assert ok["success"] and SUMMARY.search(repl_text(ok)), ok
    assert "error:" not in repl_text(ok), ok
    seen = extension("readReply", ok)
    assert seen["ok"] and SUMMARY.match(seen["message"]), seen
    # A failing command: lldb-dap still says success; the text says error.
    bad = client.request("evaluate", {"expression": "`hotfix src/nosuch.c", "context": "repl"})
    assert bad["success"] and ("error: " + NOT_A_SOURCE) in repl_text(bad), bad
    seen = extension("readReply", bad)
    assert not seen["ok"] and seen["message"].startswith(NOT_A_SOURCE), seen
    client.request("setFunctionBreakpoints", {"breakpoints": []})
    client.request("continue", {"threadId": thread})
    exited = client.wait_event("exited")
    lines = frames(client.output())
    assert exited["body"]["exitCode"] == 0, client.output()
    assert len(lines) == 14, lines
    assert lines[9] == "frame 9: y=0.00 vy=0.00 state=ground jumps=1", lines
    assert lines[11] == "frame 11: y=3.00 vy=2.50 state=airborne! jumps=2", lines
    assert not any("airborne" in l for l in lines[:11]), lines


def wait_for_frames(read, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = frames(read())
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    raise AssertionError("the program printed %d frames in %ds:\n%s" % (len(frames(read())), timeout, read()))


def test_lldb_dap_pause_hotfix_resume(lldb_dap):
    """The extension's path for a running program: pause, hotfix, continue."""
    game, client = lldb_dap
    dap_launch(client, game, ["600"], [])          # one frame per 100 ms, no breakpoint
    wait_for_frames(client.output, 3)
    pause = client.request("pause", {"threadId": 0})
    assert pause["success"], pause
    stopped = client.wait_event("stopped")
    # lldb-dap 19 reports the pause as reason "exception", "signal SIGSTOP":
    # the extension hides such a stop from VS Code while it patches.
    assert extension("isPauseStop", stopped), stopped
    before = len(frames(client.output()))
    edit(game)
    ok = client.request("evaluate", {"expression": "`hotfix src/jump.c", "context": "repl"})
    assert SUMMARY.search(repl_text(ok)) and "error:" not in repl_text(ok), ok
    assert client.request("continue", {"threadId": stopped["body"]["threadId"]})["success"]
    lines = wait_for_frames(client.output, before + 25)
    assert not any("airborne" in l for l in lines[:before]), lines
    assert any("state=airborne!" in l for l in lines[before:]), lines
    assert [int(l.split()[1].rstrip(":")) for l in lines] == list(range(len(lines))), lines  # no restart


def test_lldb_dap_error_when_not_stopped_is_text(lldb_dap):
    game, client = lldb_dap
    dap_launch(client, game, ["600"], [])
    wait_for_frames(client.output, 2)
    edit(game)
    # Sent while the program runs (what the extension avoids by pausing).
    res = client.request("evaluate", {"expression": "`hotfix src/jump.c", "context": "repl"})
    text = repl_text(res)
    assert "hotfix: src/jump.c: 2 functions" not in text, res
    assert "error" in text.lower() or not res["success"], res


def break_label(game):
    """A save that does not compile: the ';' of jump_label's return goes."""
    path = game / "src" / "jump.c"
    lines = path.read_text().splitlines()
    at = next(i for i, l in enumerate(lines) if '"rising" : "falling";' in l)
    lines[at] = lines[at].rstrip(";")
    path.write_text("\n".join(lines) + "\n")
    return at + 1, len(lines[at]) + 1          # where GCC says the ';' is expected


def check_json_compile_error(game, seen, line, column):
    """What the extension makes of `hotfix --json` with a compile error:
    the notification's line and a Problem at the compiler's place."""
    assert not seen["ok"], seen
    assert seen["message"].startswith("hotfix: compiling src/jump.c failed: src/jump.c:%d:%d: error: expected"
                                      % (line, column)), seen
    assert "hotfix-json" not in seen["text"], seen
    path = str(game / "src" / "jump.c")
    assert [(d["file"], d["line"], d["column"], d["severity"]) for d in seen["result"]["diagnostics"]
            if d["severity"] == "error"] == [(path, line, column, "error")], seen["result"]


def test_lldb_dap_json_result_of_a_compile_error_and_its_fix(lldb_dap):
    game, client = lldb_dap
    dap_launch(client, game, ["600"], [])
    wait_for_frames(client.output, 3)
    client.request("pause", {"threadId": 0})
    stopped = client.wait_event("stopped")
    line, column = break_label(game)
    command = extension("hotfixCommand", [str(game / "src" / "jump.c")], {"json": True})
    request = extension("requestFor", "hotfix-lldb-dap", command)
    seen = extension("readReply", client.request(request["command"], request["arguments"]))
    check_json_compile_error(game, seen, line, column)
    edit(game)
    seen = extension("readReply", client.request(request["command"], request["arguments"]))
    assert seen["ok"] and SUMMARY.match(seen["message"].replace(str(game) + "/", "")), seen
    assert (seen["result"]["patches"], seen["result"]["active"], seen["result"]["diagnostics"]) == (1, 1, []), seen
    assert client.request("continue", {"threadId": stopped["body"]["threadId"]})["success"]


# -- GDB / MI as cppdbg drives it ------------------------------------------------

@pytest.fixture
def gdb_mi(tmp_path):
    game = build_example(tmp_path)
    gdb = GdbMi(["gdb", "-nx", "--interpreter=mi2", str(game / "jump")], cwd=game,
                env=dict(os.environ, JUMP_FAST="1"))
    yield game, gdb
    gdb.close()


def mi_setup(gdb, game, args):
    # cppdbg runs GDB asynchronously and then the launch.json setupCommands.
    gdb.command("-gdb-set mi-async on")
    for setup in launch_config("cppdbg")["setupCommands"]:
        result, _ = gdb.console(setup["text"])
        assert result.result_class == "done", gdb.transcript()
    out = game / "output.txt"
    result, _ = gdb.command("-exec-arguments %s > %s" % (args, out))
    assert result.result_class == "done", gdb.transcript()
    return out


def read_file(path):
    return path.read_text() if path.exists() else ""


def test_gdb_mi_hotfix_at_a_breakpoint(gdb_mi):
    game, gdb = gdb_mi
    out = mi_setup(gdb, game, "14")
    assert gdb.command("-break-insert checkpoint")[0].result_class == "done"
    assert gdb.command("-exec-run")[0].result_class == "running"
    gdb.wait_stopped()
    for _ in range(10):
        gdb.command("-exec-continue")
        gdb.wait_stopped()
    edit(game)
    expression = extension("requestFor", "cppdbg", "hotfix src/jump.c")["arguments"]["expression"]
    assert expression == "-exec hotfix src/jump.c", expression
    result, console = gdb.console(expression[len("-exec "):])       # what cppdbg sends for -exec
    assert result.result_class == "done", gdb.transcript()
    assert SUMMARY.search(console), console
    seen = extension("readReply", {"success": True, "body": {"result": ""}}, console)
    assert seen["ok"] and SUMMARY.match(seen["message"]), seen
    result, console = gdb.console("hotfix src/nosuch.c")
    assert result.result_class == "error" and result.field("msg").startswith(NOT_A_SOURCE), result.line
    seen = extension("readReply", {"success": False, "message": result.field("msg")}, console)
    assert not seen["ok"] and seen["message"].startswith(NOT_A_SOURCE), seen
    gdb.command("-break-delete")
    gdb.command("-exec-continue")
    stopped = gdb.wait_stopped()
    assert 'reason="exited-normally"' in stopped.line, stopped.line
    lines = frames(read_file(out))
    assert len(lines) == 14, lines
    assert lines[9] == "frame 9: y=0.00 vy=0.00 state=ground jumps=1", lines
    assert lines[11] == "frame 11: y=3.00 vy=2.50 state=airborne! jumps=2", lines
    assert not any("airborne" in l for l in lines[:11]), lines


def test_gdb_mi_pause_hotfix_resume(tmp_path):
    game = build_example(tmp_path)
    gdb = GdbMi(["gdb", "-nx", "--interpreter=mi2", str(game / "jump")], cwd=game)   # 100 ms a frame
    try:
        out = mi_setup(gdb, game, "600")
        assert gdb.command("-exec-run")[0].result_class == "running"
        wait_for_frames(lambda: read_file(out), 3)
        edit(game)
        # Sent while running: refused by hotfix, the program is untouched.
        result, _ = gdb.console("hotfix src/jump.c")
        assert result.result_class == "error" and "the program is running" in result.field("msg"), result.line
        assert gdb.command("-exec-interrupt")[0].result_class == "done"
        gdb.wait_stopped()
        before = len(frames(read_file(out)))
        result, console = gdb.console("hotfix src/jump.c")
        assert result.result_class == "done" and SUMMARY.search(console), gdb.transcript()
        assert gdb.command("-exec-continue")[0].result_class == "running"
        lines = wait_for_frames(lambda: read_file(out), before + 25)
        assert not any("airborne" in l for l in lines[:before]), lines
        assert any("state=airborne!" in l for l in lines[before:]), lines
        assert [int(l.split()[1].rstrip(":")) for l in lines] == list(range(len(lines))), lines
    finally:
        gdb.command("-exec-interrupt", timeout=10)
        gdb.close()


def test_gdb_mi_json_result_of_a_compile_error_and_its_fix(gdb_mi):
    game, gdb = gdb_mi
    mi_setup(gdb, game, "14")
    assert gdb.command("-break-insert checkpoint")[0].result_class == "done"
    assert gdb.command("-exec-run")[0].result_class == "running"
    gdb.wait_stopped()
    line, column = break_label(game)
    expression = extension("requestFor", "cppdbg", extension("hotfixCommand", [str(game / "src" / "jump.c")],
                                                              {"json": True}))["arguments"]["expression"]
    result, console = gdb.console(expression[len("-exec "):])
    assert result.result_class == "error", gdb.transcript()
    seen = extension("readReply", {"success": False, "message": result.field("msg")}, console)
    check_json_compile_error(game, seen, line, column)
    edit(game)
    result, console = gdb.console(expression[len("-exec "):])
    seen = extension("readReply", {"success": result.result_class == "done", "body": {"result": ""},
                                   "message": result.field("msg") if result.result_class == "error" else ""}, console)
    assert seen["ok"] and SUMMARY.match(seen["message"].replace(str(game) + "/", "")), seen
    assert (seen["result"]["patches"], seen["result"]["diagnostics"]) == (1, []), seen


def test_shipped_launch_json_loads_the_plugin_for_each_debugger():
    loads = {"cppdbg": lambda c: [s["text"] for s in c["setupCommands"]],
             "lldb": lambda c: c["initCommands"], "lldb-dap": lambda c: c["initCommands"],
             "hotfix-lldb-dap": lambda c: c["initCommands"]}
    for debug_type, commands in loads.items():
        config = launch_config(debug_type)
        plugin = [c.split(None, 3)[-1] for c in commands(config) if "hotfix_" in c]
        assert len(plugin) == 1 and os.path.isfile(plugin[0]), (debug_type, config)
        assert config["program"] == os.path.join(REPO, "examples", "jump", "jump"), config
