"""The preparer's rules, without a debugger: a prepared patch is handed to
the command only while every file it was built from has the same content
(not time), against the same history, images and command; tools run in
the background report their real exit status and can be given up."""
import threading
import time
from types import SimpleNamespace

import pytest

from hotfix import prepare
from hotfix.build import Cancelled, Runner
from hotfix.compdb import CompileCommand
from hotfix.errors import HotfixError
from hotfix.pipeline import Prepared, Target


def test_a_background_tool_reports_its_own_exit_status_and_output():
    status, text = Runner(nice=5).run(["sh", "-c", "echo out; echo err >&2; exit 3"], "/")
    assert status == 3 and text.split() == ["out", "err"]


def test_a_background_tool_that_is_not_there():
    with pytest.raises(FileNotFoundError):
        Runner(nice=5).run(["/nonexistent/cc", "-c"], "/")


def test_a_cancelled_background_tool_ends_at_once():
    runner = Runner(nice=5)
    outcome = []

    def build():
        try:
            runner.run(["sh", "-c", "sleep 30; echo never"], "/")
        except Cancelled:
            outcome.append("cancelled")

    t = threading.Thread(target=build)
    start = time.monotonic()
    t.start()
    time.sleep(0.3)
    runner.cancel()
    t.join(10)
    assert outcome == ["cancelled"] and time.monotonic() - start < 5


class _Image:
    def __init__(self, path, bias):
        self.path, self.bias = path, bias


class _Program:
    def __init__(self, images):
        self._images = [_Image(p, b) for p, b in images]

    def images(self):
        return self._images


def _setup(tmp_path, error=None):
    source = tmp_path / "unit.c"
    header = tmp_path / "unit.h"
    source.write_text("int f(void) { return 2; }\n")
    header.write_text("#define X 1\n")
    command = CompileCommand(str(tmp_path), ["cc", "-g"], "unit.c", "compile_commands.json")
    unit = SimpleNamespace(path=str(source), name="unit.c")
    built = Prepared(Target(None, unit, "unit.c"), command, [], error=error)
    files = prepare.digests([str(source), str(header)])
    preparer = prepare.Preparer()
    preparer._results[unit.path] = prepare.Result(unit.path, built, files, (0, ""), [("/prog", 0x1000)])
    ask = Prepared(Target(None, unit, "./unit.c", ""), command, [], warnings=["from the command"])
    return preparer, ask, source, header


def test_a_prepared_patch_is_taken_once_while_its_files_are_unchanged(tmp_path):
    preparer, ask, _, _ = _setup(tmp_path)
    ready = preparer.take(ask, _Program([("/prog", 0x1000)]), {})
    assert ready is not None and ready.ready.startswith("prepared ") and ready.ready.endswith(" ms after the save")
    assert ready.target is ask.target and ready.history is ask.history and ready.warnings == ["from the command"]
    assert preparer.take(ask, _Program([("/prog", 0x1000)]), {}) is None      # loaded once


def test_content_not_time_decides(tmp_path):
    preparer, ask, source, header = _setup(tmp_path)
    program = _Program([("/prog", 0x1000)])
    text = header.read_text()
    header.write_text("#define X 2\n")          # a header it read changed
    assert preparer.take(ask, program, {}) is None
    header.write_text(text)                      # and back, at a newer time
    assert preparer.take(ask, program, {}) is not None


def test_not_taken_against_another_history_or_command_or_images(tmp_path):
    preparer, ask, _, _ = _setup(tmp_path)
    ask.history = [SimpleNamespace(baseline="/w/unit-1-1.patch.o")]
    assert preparer.take(ask, _Program([("/prog", 0x1000)]), {}) is None
    ask.history = []
    ask.command = CompileCommand(ask.command.directory, ["cc", "-g", "-DX"], "unit.c", "compile_commands.json")
    assert preparer.take(ask, _Program([("/prog", 0x1000)]), {}) is None
    ask.command = preparer._results[ask.target.unit.path].prepared.command
    assert preparer.take(ask, _Program([("/prog", 0x2000)]), {}) is None        # another address
    # A library (or another unit's patch) loaded since: what was bound holds.
    assert preparer.take(ask, _Program([("/prog", 0x1000)]), {"global": 0x7100}) is None   # a global migrated since
    assert preparer.take(ask, _Program([("/prog", 0x1000), ("/tmp/hotfix-x/u-2-9.so", 0x7000)]), {}) is not None


def test_a_prepared_failure_is_taken_only_against_the_same_images(tmp_path):
    preparer, ask, _, _ = _setup(tmp_path, error=HotfixError("the patch refers to `x'"))
    assert preparer.take(ask, _Program([("/prog", 0x1000), ("/lib/libx.so", 0x7000)]), {}) is None
    ready = preparer.take(ask, _Program([("/prog", 0x1000)]), {})
    assert ready is not None and str(ready.error) == "the patch refers to `x'"


def test_a_build_of_the_current_content_under_way_is_waited_for(tmp_path):
    preparer, ask, source, header = _setup(tmp_path)
    path = ask.target.unit.path
    result = preparer._results.pop(path)
    job = prepare._Job(path, (0, ""), prepare.digests([str(source), str(header)]))
    preparer._jobs[path] = job

    def finish():
        time.sleep(0.3)
        with preparer._cond:
            del preparer._jobs[path]
            preparer._results[path] = result
            preparer._cond.notify_all()

    threading.Thread(target=finish).start()
    ready = preparer.take(ask, _Program([("/prog", 0x1000)]), {})
    assert ready is not None and ", waited " in ready.ready


def test_a_build_of_other_content_is_given_up(tmp_path):
    preparer, ask, source, header = _setup(tmp_path)
    path = ask.target.unit.path
    job = prepare._Job(path, (0, ""), {str(source): "0" * 40})
    preparer._jobs[path] = job
    preparer._results.clear()
    assert preparer.take(ask, _Program([("/prog", 0x1000)]), {}) is None
    assert job.runner.cancelled
