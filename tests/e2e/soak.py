"""The soak: many successive patches of one unit, alternating two versions,
while eight threads call the patched function.  Used by test_soak.py (short)
and `make stress` (200 patches, both debuggers)."""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from driver import Break, Command, Continue, Copy, Delete, Hotfix, Run, exited_normally, hotfix_lines, run  # noqa: E402
from programs import build  # noqa: E402


def soak(debugger, patches, workdir):
    prog = build("soak", workdir, ["main.c", "work.c"], link_flags=["-pthread"])
    steps = [Break("checkpoint"), Run(0)]
    for k in range(patches):
        steps += [Copy("work_b.c" if k % 2 == 0 else "work_a.c", "work.c"), Hotfix("--wait=10 work.c"),
                  Continue()]
    steps += [Hotfix("--status"), Command("set var finish = 1", "expression finish = 1"), Delete(), Continue()]
    result = run(debugger, prog, steps, cwd=workdir, timeout=60 + patches * 5)
    lines = hotfix_lines(result)
    report = re.search(r"threads=(\d+) updates_lost=(-?\d+) last_version=(\d) threads_agree=(\d) "
                       r"rss_growth_kb=(-?\d+)", result.output)
    return {
        "applied": sum(1 for l in lines if re.match(r"hotfix: work.c: 1 function redirected \(bump\)", l)),
        "errors": [l for l in lines if not re.match(r"hotfix: (work.c: 1 function|\d+ patch|  )", l)],
        "entries": next((l for l in result.transcript.splitlines() if "entries" in l), ""),
        "threads": int(report.group(1)) if report else 0,
        "updates_lost": int(report.group(2)) if report else None,
        "last_version": int(report.group(3)) if report else None,
        "threads_agree": report.group(4) == "1" if report else False,
        "rss_growth_kb": int(report.group(5)) if report else None,
        "exited_normally": exited_normally(result, debugger),
        "result": result,
    }


def main():
    patches = int(os.environ.get("STRESS_PATCHES", "200"))
    failed = False
    for debugger in sys.argv[1:] or ["gdb", "lldb"]:
        with tempfile.TemporaryDirectory() as d:
            r = soak(debugger, patches, d)
        ok = (r["applied"] == patches and not r["errors"] and r["updates_lost"] == 0 and r["threads_agree"]
              and r["last_version"] == (2 if patches % 2 else 1) and r["exited_normally"]
              and "all %d entries jump straight" % patches in r["entries"])
        failed |= not ok
        print("%s: %d of %d patches applied, %d threads, %d errors, updates lost %s, memory growth %s kB "
              "(%.1f kB per patch); %s; %s" % (
                  debugger, r["applied"], patches, r["threads"], len(r["errors"]), r["updates_lost"],
                  r["rss_growth_kb"], (r["rss_growth_kb"] or 0) / max(patches, 1), r["entries"].strip(),
                  "ok" if ok else "FAILED"))
        for e in r["errors"][:5]:
            print("   ", e)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
