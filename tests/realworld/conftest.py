"""tests/realworld: real programs from Debian's source packages, patched
live under GDB and LLDB (make test-realworld; README "Real programs").

Timings the tests measure are printed at the end and written to
CACHE/results.json; no test asserts one."""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import builds  # noqa: E402
from debian import CACHE  # noqa: E402

_TIMINGS = []


@pytest.fixture(scope="session")
def timings():
    """A list each test appends {"test": ..., ...} records to."""
    return _TIMINGS


def pytest_terminal_summary(terminalreporter):
    made = [{"built": os.path.relpath(tree, CACHE), "seconds": seconds} for tree, seconds in builds.MADE]
    if not _TIMINGS and not made:
        return
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "results.json")
    with open(path, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "timings": _TIMINGS, "builds": made}, f, indent=1)
    terminalreporter.section("real programs: timings (s)")
    for record in made:
        terminalreporter.write_line("built %(built)s in %(seconds).1f" % record)
    for record in _TIMINGS:
        terminalreporter.write_line("  ".join("%s=%s" % (k, "%.1f" % v if isinstance(v, float) else v)
                                              for k, v in record.items()))
    terminalreporter.write_line("written to %s" % path)
