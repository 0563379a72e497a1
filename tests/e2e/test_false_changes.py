"""False "changed" functions (fault 3 of issue 18).  A function that did not
change but is compared as changed is redirected for nothing, or, when it is
running (main's loop, a dispatcher), refuses the whole patch ("main is
active"); on a first patch of an unedited file it reads as a compile command
that does not reproduce the program.  Each scenario is one unit with its
main loop: the unedited file patches nothing, and an unrelated edit is
applied while the loop runs, redirecting the edited function only.

* lines.c: an edit above main moves its assert's __LINE__ (only line
  numbers: left as they are, and --dry-run says so);
* constants.c, strings.c: -O0 literals of a plain .rodata, whose padding
  differs between the program and a -fdata-sections rebuild (a file-scope
  constant moves out): compared over what the instruction reads (a double:
  8 bytes; a string: up to its NUL);
* vectors.c: at -O2 a scalar read from a shared 16-byte constant;
* tail.c: at -O2 a tail call the program's build made a 2-byte jmp to its
  neighbour and the rebuild a 5-byte jmp with a relocation;
* initializers.c: automatic arrays of pointers (strings, functions) that
  GCC copies from an anonymous block of writable .data, named by no
  symbol: compared by what they hold (seen in memcached's main).
"""
import re

import pytest

from driver import DEBUGGERS, Break, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run
from programs import COMPILERS, LEVELS, build

FRAMES = 6


def summary(result, unit):
    return [l for l in hotfix_lines(result) if l.startswith("hotfix: %s: " % unit) and "\u2014" in l]


def dry_run_redirects(result):
    return re.findall(r"^  redirect (\S+) \(", result.transcript, re.M)


def lines_expected(changes):
    """The frames of lines.c; changes maps a frame to step's new addend."""
    out, total, add = [], 0, 0
    for i in range(FRAMES):
        add = changes.get(i, add)
        r = i * 2 + add
        total += r
        out.append("frame %d: step=%d total=%d" % (i, r, total))
    return out + ["done"]


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", LEVELS)
def test_only_line_numbers_changed_is_not_a_change(tmp_path, debugger, cc, opt):
    prog = build("false_changes", tmp_path, ["lines.c"], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(FRAMES), Continue(2),           # main's loop is running
        Copy("lines_v2.c", "lines.c"), Hotfix("--dry-run lines.c"), Hotfix("lines.c"),
        Continue(2),                                             # a later patch: objects compared
        Copy("lines_v3.c", "lines.c"), Hotfix("--dry-run lines.c"), Hotfix("lines.c"),
        Delete(), Continue(),
    ], cwd=tmp_path)
    t = result.transcript
    assert dry_run_redirects(result) == ["step", "step"], t
    only_lines = "  only line numbers changed (left as they are: their __LINE__ values stay the old ones): finish, main"
    assert t.count(only_lines + "\n") == 2, t
    done = summary(result, "lines.c")
    assert len(done) == 2 and all(l.startswith("hotfix: lines.c: 1 function redirected (step), "
                                               "only line numbers changed: finish, main") for l in done), t
    assert result.lines() == lines_expected({2: 1000, 4: 2000}), t + result.output
    assert exited_normally(result, debugger), t


def constants_frame(i, new):
    x = float(i)        # b(0) is -0
    return "frame %d: a=%s b=%s" % (i, "%g" % (x * 2.5), "%g" % ((-x * 3.0 - x) if new else -x * 3.0))


def strings_frame(i, new):
    x = float(i)
    return "frame %d: small %s" % (i, "%g" % (x * 0.1 - x if new else x * 0.1))


def vectors_frame(i, new):
    return "frame %d: half=%s scale=%s,%s" % (i, "%g" % (i * 0.5), "%g" % (i * 0.5),
                                               "%g" % (i * (0.9 if new else 0.7)))


def initializers_frame(i, new):
    words = ["zero", "one", "two", "three", "four", "five"]
    return "frame %d: %s tick=%d step=%d" % (i, words[i], i + (100 if new else 1), i + (100 if new else 1))


def tail_frame(i, new):
    return "frame %d: dispatch=%d bonus=%d" % (i, (i + 1) * 3 + 1, i + (500 if new else 10))


# scenario: (the edited function, its frames, the levels where the fault was seen)
SCENARIOS = {
    "constants": ("b", constants_frame, ["-O0"]),
    "strings": ("tenth", strings_frame, ["-O0"]),
    "vectors": ("scale", vectors_frame, ["-O2"]),
    "tail": ("bonus", tail_frame, ["-O2"]),
    "initializers": ("tick", initializers_frame, ["-O0", "-O2"]),
}


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("scenario,opt", [(s, o) for s, (_, _, levels) in SCENARIOS.items() for o in levels])
def test_unchanged_code_is_same_and_an_unrelated_edit_applies(tmp_path, debugger, cc, scenario, opt):
    edited, frame, _ = SCENARIOS[scenario]
    unit = scenario + ".c"
    prog = build("false_changes", tmp_path, [unit], cc=cc, opt=opt)
    result = run(debugger, prog, [
        Break("checkpoint"), Run(FRAMES), Continue(2),
        Hotfix(unit),                                           # not edited: nothing differs
        Copy(scenario + "_v2.c", unit), Hotfix("--dry-run " + unit), Hotfix(unit),
        Delete(), Continue(),
    ], cwd=tmp_path)
    t = result.transcript
    lines = hotfix_lines(result)
    assert "hotfix: %s: no function changed; nothing to do." % unit in lines, t
    assert dry_run_redirects(result) == [edited], t
    done = summary(result, unit)
    assert len(done) == 1 and done[0].startswith("hotfix: %s: 1 function redirected (%s) " % (unit, edited)), t
    assert result.lines() == [frame(i, i >= 2) for i in range(FRAMES)] + ["done"], t + result.output
    assert exited_normally(result, debugger), t
