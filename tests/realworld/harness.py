"""What the real-program tests share: running a program plainly for the
outputs to judge against, the edit as the user makes it (the edited files
of a normal rebuild copied over the program's own, while it runs), and
reading hotfix's summary and a clock out of the debugger's transcript.

The scenarios themselves are driver.py's steps (tests/e2e)."""
import re
import subprocess

from driver import Copy, Step, hotfix_lines


class Clock(Step):
    """The debugger prints the time: two clocks around a hotfix time it as
    the user waits for it."""

    def __init__(self, label):
        self.label = label

    def gdb(self, ctx):
        return ["python print('realworld-clock %s %%.3f' %% __import__('time').time())" % self.label]

    def lldb(self, ctx):
        return ["script print('realworld-clock %s %%.3f' %% __import__('time').time())" % self.label]


def clocks(result):
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^realworld-clock (\S+) ([\d.]+)$", result.transcript, re.M)}


def edit(live, ref, rels):
    """The user's edit: each unit file of the rebuilt tree copied over the
    running program's own (inside the session: the program runs then)."""
    return [Copy(ref.path(rel), live.path(rel)) for rel in rels]


def plain(program, args, cwd, stdin_text=None, timeout=300):
    """The program's output, run without a debugger (it must exit 0)."""
    proc = subprocess.run([program] + [str(a) for a in args], cwd=cwd, timeout=timeout,
                          input=(stdin_text or "").encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 0, (program, args, proc.stdout.decode()[-2000:], proc.stderr.decode()[-2000:])
    return proc.stdout.decode(errors="replace")


def summaries(result, label):
    """hotfix's summary lines for the unit typed as label."""
    return [l for l in hotfix_lines(result) if l.startswith("hotfix: %s: " % label) and "redirected" in l]


def phases(line):
    """The phases a summary line gives ('compile 210 ms, link 19 ms, ...'),
    in seconds."""
    return {k: float(v) / 1000 for k, v in re.findall(r"(\w+) ([\d.]+) ms", line.split("\u2014", 1)[-1])}


def sections(text, marker):
    """The output cut at each line containing marker (the line itself goes
    with the part it ends)."""
    parts, current = [], []
    for line in text.splitlines():
        current.append(line)
        if marker in line:
            parts.append(current)
            current = []
    parts.append(current)
    return parts


def brief(result, tail=4000):
    """What an assertion shows: hotfix's lines and the end of both texts."""
    return "hotfix said:\n%s\n--- transcript (end):\n%s\n--- output (end):\n%s" % (
        "\n".join(hotfix_lines(result)), result.transcript[-tail:], result.output[-1500:])
