"""`make bench`: how long `hotfix FILE` takes, against the bare compiler.

    /usr/bin/python3 bench/bench.py [--quick] [--debuggers gdb,lldb] [--runs R]
                                    [--patches K] [--profile]

From the top of the repository (after `make`).  For synthetic programs
(bench/generate.py) of 200 to 10,000 functions, two with large edited
units (1,600 and 6,000 functions in one unit), and with 16 and 64 parked
worker threads, under GDB and LLDB (tests/e2e/driver.py runs each session
in batch mode), debugger sessions apply K successive patches of one unit
(the edited version, then the original, alternately), each measured
against the bare compile of that unit:

* with preparing on (hotfix builds the patch when the file is saved):
  (a) the `hotfix` command typed right after the save, (b) typed 2 s
  after it, (c) from the save to new code: the background build ("prepared
  N ms after the save", as hotfix says) plus the command's load and write;
  the first patch of each session (cold caches) apart;
* with preparing off (`set hotfix prepare off`): the command that builds,
  with its phases parsed from hotfix's summary line (compile, link, load,
  patch); "beyond compile+link" is total - compile - link;
* totals are wall time of the command, from timestamps taken by the
  debugger's Python just before and just after it;
* bare compile: `gcc -g -O0 -c` of the same unit with the program's own
  command, timed in the same run, between the sessions;
* unwinding every thread once (what the stack check does, twice per
  patch), at each thread count.

Also the plugin's load time in each debugger, and for the example game
(examples/jump) hotfix against rebuild + restart to the same frame.
Writes bench/results/RESULTS.md, results.json, latency.dat and latency.png
(gnuplot, Debian package gnuplot-nox: (a), (b), (c) and preparing off, as
multiples of the bare compile, against the bare compile), and unless
--quick or --no-profile, cProfile listings of one first and one later
patch (preparing off) of the program of most units, of the largest unit
and of the most threaded program (profile-*.txt), summed up in RESULTS.md.
Generated programs are kept in bench/results/work/ and reused.  Nothing
is asserted: targets are reported as met or missed.  About 20 minutes on
2 cores (--quick: about two).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)

import generate  # noqa: E402
from driver import LLDB, Break, Continue, Copy, Hotfix, Kill, Prepare, Run, Sleep, Step, run  # noqa: E402

RESULTS = os.path.join(HERE, "results")
WORK = os.path.join(RESULTS, "work")

# (units, functions per unit, worker threads): the programs of 200 to 10,000
# functions, two with larger edited units (a unit of 1,600 functions, about
# 32,000 lines; a very large one of 6,000, about 120,000 lines), and 16 and
# 64 worker threads.
FULL = {
    "sizes": [(10, 20, 0), (50, 40, 0), (100, 50, 0), (200, 50, 0), (2, 1600, 0), (2, 6000, 0)],
    "threads": [(10, 20, 16), (10, 20, 64)],
    "runs": 3, "patches": 5, "off_runs": 2, "plugin_runs": 5, "game_runs": 5,
}
QUICK = {
    "sizes": [(10, 20, 0), (50, 40, 0)],
    "threads": [(10, 20, 16)],
    "runs": 1, "patches": 5, "off_runs": 1, "plugin_runs": 2, "game_runs": 2,
}
# Units this large get fewer sessions: one each way.
LARGE_UNIT = 1000
BARE_PER_SESSION = 2
# (b): the command this long after the save (longer for a unit whose bare
# compile takes more than half of it: then twice its bare compile).
AFTER = 2.0

TARGETS = {"after_save": 1.15, "after_2s": 0.15, "save_to_code": 1.10, "beyond_10k": 50.0, "beyond_64t": 80.0,
           "plugin": 100.0, "all_changed": 50.0}


# --------------------------------------------------------------- steps

class Mark(Step):
    """Take a timestamp in the debugger's Python."""

    def gdb(self, ctx):
        return ["python import time; _bench_t = time.monotonic()"]

    def lldb(self, ctx):
        return ["script import time; _bench_t = time.monotonic()"]


class Stamp(Step):
    """Print `BENCH <label> <ms since Mark>`."""

    def __init__(self, label):
        self.label = label

    def _py(self):
        return "print('BENCH %s %%.3f' %% ((time.monotonic() - _bench_t) * 1000))" % self.label

    def gdb(self, ctx):
        return ["python " + self._py()]

    def lldb(self, ctx):
        return ["script " + self._py()]


class Unwind(Step):
    """Unwind every thread once through the adapter (the stack check's work)."""

    def _py(self, make):
        return ("import time; _b = %s; _s = time.monotonic(); _n = len(_b.threads()); "
                "print('BENCH unwind %%.3f threads=%%d' %% ((time.monotonic() - _s) * 1000, _n))" % make)

    def gdb(self, ctx):
        # hotfix_gdb.py is `source`d: its names live in __main__.
        return ["python " + self._py("GdbDebugger()")]

    def lldb(self, ctx):
        return ["script import hotfix_lldb; " + self._py("hotfix_lldb.LldbDebugger(lldb.debugger)")]


class Shell(Step):
    def __init__(self, text):
        self.text = text

    def gdb(self, ctx):
        return ["shell " + self.text]

    def lldb(self, ctx):
        return ["platform shell " + self.text]


class Profiled(Step):
    """A hotfix under cProfile; the 40 costliest entries go to `out`."""

    def __init__(self, args, out):
        self.args, self.out = args, out

    def _py(self, call):
        return ("import cProfile, pstats, io; _p = cProfile.Profile(); _p.runcall(%s); "
                "_o = io.StringIO(); pstats.Stats(_p, stream=_o).sort_stats('cumulative').print_stats(40); "
                "open(%r, 'w').write(_o.getvalue()); _p.dump_stats(%r)" % (call, self.out, self.out + ".prof"))

    def gdb(self, ctx):
        return ["python " + self._py("gdb.execute, 'hotfix %s'" % self.args)]

    def lldb(self, ctx):
        return ["script " + self._py("lldb.debugger.HandleCommand, 'hotfix %s'" % self.args)]


# --------------------------------------------------------------- parsing

SUMMARY = re.compile(r"hotfix: (\S+): (.*?) \u2014 (.*)$")
PHASE = re.compile(r"(\w+) (\d+) ms")
BENCH = re.compile(r"BENCH (\S+) ([\d.]+)(?: threads=(\d+))?")


# A patch ends with the Stamp of its kind: "total" (as the game and the
# profiles measure), "first" (the first of a session), "aftersave" (a),
# "after2s" (b), "off" (preparing off: the command as before).
PATCH_LABELS = ("total", "first", "aftersave", "after2s", "off")


def parse_session(transcript):
    """The patches of one session in order: {kind, total, phases, summary}
    or {error}; the unwind timings; other stamps."""
    patches, unwinds, other = [], [], {}
    pending = None
    for line in transcript.splitlines():
        m = SUMMARY.search(line)
        if m:
            pending = {"summary": line.strip(),
                       "phases": {k: float(v) for k, v in PHASE.findall(m.group(3))},
                       "prepared": " \u2014 prepared " in line}
            continue
        if "hotfix:" in line and pending is None:
            pending = {"error": line.strip()}
            continue
        b = BENCH.search(line)
        if b:
            label, value = b.group(1), float(b.group(2))
            if label in PATCH_LABELS:
                entry = pending or {"error": "no summary line"}
                entry["total"] = value
                entry["kind"] = label
                patches.append(entry)
                pending = None
            elif label == "unwind":
                unwinds.append({"ms": value, "threads": int(b.group(3) or 0)})
            else:
                other.setdefault(label, []).append(value)
    return patches, unwinds, other


def save_to_code(patch):
    """(c) of a patch taken prepared: the background build's time from the
    save to the prepared patch (hotfix says "prepared N ms after the save"),
    and the command's load and write."""
    ph = patch["phases"]
    if not patch.get("prepared") or "prepared" not in ph:
        return None
    return ph["prepared"] + ph.get("load", 0) + ph.get("patch", 0)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(s, digits=0):
    if not s:
        return "—"
    f = "%%.%df" % digits
    if s["n"] == 1:
        return f % s["median"]
    return "%s (%s–%s)" % (f % s["median"], f % s["min"], f % s["max"])


def fmt_med(s, digits=0):
    return "—" if not s else ("%%.%df" % digits) % s["median"]


# --------------------------------------------------------------- measuring

def log(text):
    print(text, flush=True)


def _bare_argv(info, output):
    argv = list(info["compile_command"])
    argv[argv.index("-o") + 1] = os.path.join(WORK, output)
    return argv


def bare_compile(info, times):
    """The program's own command for the edited unit, into a scratch file."""
    argv = _bare_argv(info, "bare-compile.o")
    out = []
    for _ in range(times):
        start = time.monotonic()
        subprocess.run(argv, cwd=info["directory"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        out.append((time.monotonic() - start) * 1000)
    return out


def bare_pair(info):
    """Two bare compiles of the unit side by side: what this machine makes
    of hotfix's two parallel compiles, without hotfix's extra flags."""
    start = time.monotonic()
    procs = [subprocess.Popen(_bare_argv(info, "bare-compile-%d.o" % i), cwd=info["directory"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in (1, 2)]
    for p in procs:
        p.wait()
    return (time.monotonic() - start) * 1000


def patch_steps(src, v2, v1, patches):
    steps = []
    for k in range(patches):
        steps += [Copy(v2 if k % 2 == 0 else v1, src), Mark(), Hotfix(src), Stamp("total"), Continue()]
    return steps


def prepared_steps(src, v2, v1, patches, after):
    """Preparing on: the first patch of the session right after its save
    (cold), then in turn (b) `after` seconds after the save and (a) right
    after it."""
    steps = []
    for k in range(patches):
        steps.append(Copy(v2 if k % 2 == 0 else v1, src))
        if k and k % 2:
            steps += [Sleep(after), Mark(), Hotfix(src), Stamp("after2s")]
        else:
            steps += [Mark(), Hotfix(src), Stamp("aftersave" if k else "first")]
        steps.append(Continue())
    return steps


def off_steps(src, v2, v1, patches):
    """Preparing off: every patch built by the command, right after the save."""
    steps = [Prepare(False)]
    for k in range(patches):
        steps += [Copy(v2 if k % 2 == 0 else v1, src), Mark(), Hotfix(src), Stamp("first" if not k else "off"),
                  Continue()]
    return steps


def measure_program(info, debuggers, plan, profile):
    d = info["directory"]
    src = info["edited_source"]
    unit = os.path.splitext(os.path.basename(src))[0]
    v1, v2 = "edits/%s_v1.c" % unit, "edits/%s_v2.c" % unit
    expect = "1 function redirected (%s)" % info["edited_function"]
    out = {"bare": [], "bare_pair": [], "debuggers": {}}
    large = info["functions"] >= LARGE_UNIT
    runs, off_runs = (min(2, plan["runs"]), 1) if large else (plan["runs"], plan["off_runs"])
    patches = 3 if large else plan["patches"]
    shutil.copy(os.path.join(d, v1), os.path.join(d, src))
    out["bare"] += bare_compile(info, BARE_PER_SESSION)
    after = max(AFTER, 2 * statistics.median(out["bare"]) / 1000)
    out["after"] = after
    timeout = 300 + info["total_functions"] // 50 + info["threads"] * 2 + int(patches * (after + 30))
    for dbg in debuggers:
        res = {"patches": [], "unwind": [], "errors": [], "sessions": 0}
        for mode, n in (("prepared", runs), ("off", off_runs)):
            for r in range(n):
                shutil.copy(os.path.join(d, v1), os.path.join(d, src))     # the program as built
                out["bare"] += bare_compile(info, BARE_PER_SESSION)
                out["bare_pair"].append(bare_pair(info))
                steps = [Break("checkpoint"), Run(patches + 5, info["threads"]), Unwind()]
                steps += prepared_steps(src, v2, v1, patches, after) if mode == "prepared" else \
                    off_steps(src, v2, v1, patches)
                steps.append(Kill())
                start = time.monotonic()
                try:
                    result = run(dbg, info["program"], steps, cwd=d, timeout=timeout)
                except subprocess.TimeoutExpired:
                    res["errors"].append("%s session timed out after %d s" % (mode, timeout))
                    continue
                res["sessions"] += 1
                found, unwinds, _ = parse_session(result.transcript)
                res["unwind"] += unwinds
                for p in found:
                    if "error" in p or expect not in p["summary"]:
                        res["errors"].append(p.get("error") or p["summary"])
                        continue
                    p["mode"] = mode
                    res["patches"].append(p)
                if len(found) < patches:
                    tail = [l for l in result.transcript.splitlines() if l.strip()][-5:]
                    res["errors"].append("%d of %d patches reported; transcript ends: %s"
                                         % (len(found), patches, " | ".join(tail)))
                log("  %s %s %s run %d/%d: %s (%.1f s)" % (
                    info["name"], dbg, mode, r + 1, n,
                    ", ".join("%s %.0f" % (p.get("kind", "?"), p.get("total", 0)) for p in found) or "no patch",
                    time.monotonic() - start))
        shutil.copy(os.path.join(d, v1), os.path.join(d, src))
        if profile:
            res["profile"] = profile_session(info, dbg, src, v1, v2, timeout)
        out["debuggers"][dbg] = res
    return out


def measure_all_changed(info, debuggers, runs):
    """`hotfix --all-changed` with nothing changed: the first of a session
    with no dependency lists on disk (a first use), the first with them
    (any later session), and later ones in the session."""
    d = info["directory"]
    src = info["edited_source"]
    unit = os.path.splitext(os.path.basename(src))[0]
    shutil.copy(os.path.join(d, "edits/%s_v1.c" % unit), os.path.join(d, src))
    built = os.stat(info["program"]).st_mtime - 60
    os.utime(os.path.join(d, src), (built, built))      # as built: nothing changed
    out = {}
    for dbg in debuggers:
        res = {"cold": [], "warm": [], "later": [], "errors": []}
        cache = os.path.join(WORK, "cache-%s" % dbg)
        shutil.rmtree(cache, ignore_errors=True)
        for r in range(runs + 1):
            cold = r == 0       # the first session fills the cache the others use
            steps = [Break("checkpoint"), Run(8, 0)]
            for k in range(3):
                steps += [Mark(), Hotfix("--all-changed"), Stamp("ac%d" % k)]
            steps.append(Kill())
            env = dict(debugger_env(), XDG_CACHE_HOME=cache)
            try:
                result = run(dbg, info["program"], steps, cwd=d, timeout=300, env=env)
            except subprocess.TimeoutExpired:
                res["errors"].append("--all-changed session timed out")
                continue
            _, _, other = parse_session(result.transcript)
            if "hotfix: no source file of the program changed" not in result.transcript:
                res["errors"].append("--all-changed found changes: %s" % " | ".join(
                    l for l in result.transcript.splitlines() if "hotfix:" in l)[:300])
                continue
            (res["cold"] if cold else res["warm"]).extend(other.get("ac0", []))
            res["later"] += other.get("ac1", []) + other.get("ac2", [])
            log("  --all-changed %s run %d: %s" % (dbg, r + 1, ", ".join(
                "%.0f" % v for k in ("ac0", "ac1", "ac2") for v in other.get(k, []))))
        out[dbg] = res
    return out


def profile_session(info, dbg, src, v1, v2, timeout):
    files = []
    steps = [Prepare(False), Break("checkpoint"), Run(8, info["threads"])]
    for k, version in enumerate((v2, v1)):
        path = os.path.join(RESULTS, "profile-%s-%s-%s.txt" % (info["name"], dbg, "first" if k == 0 else "later"))
        steps += [Copy(version, src), Profiled(src, path), Continue()]
        files.append(path)
    run(dbg, info["program"], steps + [Kill()], cwd=info["directory"], timeout=timeout)
    shutil.copy(os.path.join(info["directory"], v1), os.path.join(info["directory"], src))
    return [os.path.relpath(f, REPO) for f in files if os.path.exists(f)]


CATEGORIES = [
    ("compiler, linker (waiting)", lambda f, n: f == "~" and any(
        w in n for w in ("acquire' of '_thread.lock", "waitpid", "fork_exec", "method 'read'", "poll", "select"))),
    ("debugger API", lambda f, n: f == "~" and ("_gdb." in n or "_lldb." in n)),
    ("pyelftools", lambda f, n: "/elftools/" in f),
    ("hotfix Python + libhotfix", lambda f, n: f.startswith(REPO)),
]


def profile_breakdown(prof):
    """Own time (tottime) of one profiled hotfix by where it is spent."""
    import pstats
    st = pstats.Stats(prof)
    out = {name: 0.0 for name, _ in CATEGORIES}
    out["other (stdlib)"] = 0.0
    for (f, _line, n), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
        for name, test in CATEGORIES:
            if test(f, n):
                out[name] += tt
                break
        else:
            out["other (stdlib)"] += tt
    out["total"] = st.total_tt
    top = sorted(((ct, "%s:%d(%s)" % (os.path.relpath(f, REPO), line, n)) for (f, line, n), (_c, _n, _t, ct, _)
                  in st.stats.items() if f.startswith(REPO) and ct < 0.97 * st.total_tt), reverse=True)
    return {k: v * 1000 for k, v in out.items()}, [(ct * 1000, where) for ct, where in top[:12]]


def debugger_env():
    env = dict(os.environ)
    env.setdefault("PYTHONHOME", "/usr")       # as driver.py: LLDB's Python must be Debian's
    return env


def measure_plugin(debuggers, runs):
    """Import time of the plugin in a fresh debugger, twice over: with
    Python's bytecode of hotfix's modules (and everything else) in place,
    as `make` and `make install` leave it; and with hotfix's own modules
    compiled on each load (their bytecode put aside), the standard
    library's still cached."""
    cached = debugger_env()
    cached.pop("PYTHONPYCACHEPREFIX", None)     # the bytecode beside the sources, as `make` writes it
    uncached = debugger_env()
    uncached["PYTHONDONTWRITEBYTECODE"] = "1"
    uncached.pop("PYTHONPYCACHEPREFIX", None)
    has_pycache = os.path.isdir(os.path.join(REPO, "hotfix", "__pycache__"))
    out = {}
    for dbg in debuggers:
        if dbg == "gdb":
            argv = ["gdb", "-nx", "-batch", "-ex", "python import time; _bench_t = time.monotonic()",
                    "-ex", "source %s" % os.path.join(REPO, "gdb", "hotfix_gdb.py"),
                    "-ex", "python " + Stamp("plugin")._py()]
        else:
            argv = [LLDB, "--no-lldbinit", "-b", "-o", "script import time; _bench_t = time.monotonic()",
                    "-o", "command script import %s" % os.path.join(REPO, "lldb", "hotfix_lldb.py"),
                    "-o", "script " + Stamp("plugin")._py()]
        res = {"ms": [], "uncached_ms": [], "errors": []}
        for key, env, n in (("warmup", cached, 1), ("ms", cached, runs), ("uncached_ms", uncached, runs)):
            # `make` leaves the core's bytecode in hotfix/__pycache__: put it
            # aside while the uncached loads run.
            pycache = os.path.join(REPO, "hotfix", "__pycache__")
            aside = pycache + ".bench"
            if key == "uncached_ms" and has_pycache:
                os.rename(pycache, aside)
            try:
                _plugin_runs(argv, env, n, key, res)
            finally:
                if os.path.isdir(aside):
                    os.rename(aside, pycache)
        out[dbg] = res
        log("  plugin load %s: %s ms cached, %s ms uncached" % (
            dbg, ", ".join("%.0f" % v for v in res["ms"]) or res["errors"][:1],
            ", ".join("%.0f" % v for v in res["uncached_ms"])))
    return out


def _plugin_runs(argv, env, n, key, res):
    for _ in range(n):
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=env, timeout=120)
        text = proc.stdout.decode(errors="replace")
        m = re.search(r"BENCH plugin ([\d.]+)", text)
        if not m:
            res["errors"].append(" | ".join(text.strip().splitlines()[-3:]))
        elif key != "warmup":
            res[key].append(float(m.group(1)))


def build_game():
    dest = os.path.join(WORK, "jump")
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    shutil.copytree(os.path.join(REPO, "examples", "jump"), dest,
                    ignore=shutil.ignore_patterns("obj", "build", "jump", "compile_commands.json"))
    shutil.copy(os.path.join(dest, "src", "jump.c"), os.path.join(dest, "patches", "jump_v1.c"))
    subprocess.run(["make", "-s"], cwd=dest, check=True)
    return dest


def measure_game(debuggers, runs):
    """Hotfix of src/jump.c at frame 10, against `make` + restarting the
    game in the same debugger and running it to frame 10 again."""
    dest = build_game()
    prog = os.path.join(dest, "jump")
    env = {"JUMP_FAST": "1"}
    v1, v2, src = "patches/jump_v1.c", "patches/jump_v2.c", "src/jump.c"
    expect = "2 functions redirected (jump_label, step_player)"
    out = {}
    for dbg in debuggers:
        res = {"first": [], "later": [], "rebuild": [], "restart": [], "errors": []}
        # hotfix: R sessions, two patches each
        for _ in range(runs):
            shutil.copy(os.path.join(dest, v1), os.path.join(dest, src))
            subprocess.run(["make", "-s"], cwd=dest, check=True)
            steps = [Break("checkpoint"), Run(1000), Continue(10)] + patch_steps(src, v2, v1, 2) + [Kill()]
            result = run(dbg, prog, steps, cwd=dest, env=env)
            found, _, _ = parse_session(result.transcript)
            for i, p in enumerate(found):
                if "error" in p or expect not in p["summary"]:
                    res["errors"].append(p.get("error") or p["summary"])
                else:
                    (res["first"] if i == 0 else res["later"]).append(p)
        # rebuild + restart: one session, R edits
        shutil.copy(os.path.join(dest, v1), os.path.join(dest, src))
        subprocess.run(["make", "-s"], cwd=dest, check=True)
        steps = [Break("checkpoint"), Run(1000), Continue(10)]
        for k in range(runs):
            steps += [Copy(v2 if k % 2 == 0 else v1, src), Mark(), Shell("make -s"), Stamp("rebuild"),
                      Kill(), Run(1000), Continue(10), Stamp("restart")]
        steps += [Kill()]
        result = run(dbg, prog, steps, cwd=dest, env=env, timeout=300)
        _, _, other = parse_session(result.transcript)
        rebuild, restart = other.get("rebuild", []), other.get("restart", [])
        res["rebuild"] = rebuild
        res["restart"] = [b - a for a, b in zip(rebuild, restart)]
        frames = len(re.findall(r"frame 10:", result.output))
        if len(restart) < runs or frames < 1:
            res["errors"].append("rebuild+restart: %d of %d restarts measured" % (len(restart), runs))
        out[dbg] = res
        log("  game %s: hotfix %s ms, rebuild %s ms, restart %s ms" % (
            dbg, fmt_med(stats([p["total"] for p in res["first"]])), fmt_med(stats(res["rebuild"])),
            fmt_med(stats(res["restart"]))))
    shutil.copy(os.path.join(dest, v1), os.path.join(dest, src))
    return out


# --------------------------------------------------------------- report

def tool_version(argv):
    try:
        text = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=debugger_env()).stdout.decode(errors="replace")
        return text.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def environment():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu, "cpus": os.cpu_count(), "load": os.getloadavg(),
        "kernel": platform.release(),
        "gcc": tool_version(["gcc", "--version"]),
        "gdb": tool_version(["gdb", "--version"]),
        "lldb": tool_version([LLDB, "--version"]),
        "python": sys.version.split()[0],
    }


def summarize_program(p):
    """Per debugger: the numbers the tables show.  Ratios are to the median
    bare compile."""
    bare = stats(p["bare"])
    pair = stats(p.get("bare_pair", []))
    out = {}
    for dbg, r in p["debuggers"].items():
        row = {"bare": bare, "bare_pair": pair, "errors": r["errors"]}
        ps = r["patches"]
        groups = {
            "first": [x for x in ps if x["mode"] == "prepared" and x["kind"] == "first"],
            "after_save": [x for x in ps if x["kind"] == "aftersave"],
            "after_2s": [x for x in ps if x["kind"] == "after2s"],
            "off": [x for x in ps if x["kind"] == "off"],
        }
        for kind, xs in groups.items():
            row[kind] = stats([x["total"] for x in xs])
            row[kind + "_beyond"] = stats([x["total"] - x["phases"].get("compile", 0) - x["phases"].get("link", 0)
                                           for x in xs if not x.get("prepared")])
            for ph in ("compile", "link", "load", "patch", "waited"):
                row["%s_%s" % (kind, ph)] = stats([x["phases"].get(ph) for x in xs])
            row[kind + "_prepared"] = (sum(1 for x in xs if x.get("prepared")), len(xs))
            row[kind + "_ratio"] = (row[kind]["median"] / bare["median"]) if row[kind] and bare else None
        code = stats([save_to_code(x) for x in groups["after_2s"]])
        row["save_to_code"] = code
        row["save_to_code_ratio"] = code["median"] / bare["median"] if code and bare else None
        row["unwind"] = stats([u["ms"] for u in r["unwind"]])
        row["threads_seen"] = max([u["threads"] for u in r["unwind"]] or [0])
        out[dbg] = row
    return out


def write_plot(programs, debuggers):
    """latency.dat (one block per series) and latency.png via gnuplot: each
    measure against the size of the edited unit's program, as a multiple of
    the bare compile of that unit."""
    sizes = [p for p in programs if p["threads"] == 0]
    series = []
    names = {"after_save": "(a) command right after a save", "after_2s": "(b) command 2 s after a save",
             "save_to_code": "(c) save to new code", "off": "command, preparing off"}
    for dbg in debuggers:
        for kind, title in names.items():
            pts = []
            for p in sizes:
                s = p["summary"].get(dbg)
                if s and s.get(kind) and s["bare"]:
                    v = s[kind]
                    b = s["bare"]["median"]
                    pts.append((b, p["total_functions"],
                                {"median": v["median"] / b, "min": v["min"] / b, "max": v["max"] / b}))
            if pts:
                series.append(("%s %s" % (dbg.upper(), title), pts))
    dat = os.path.join(RESULTS, "latency.dat")
    with open(dat, "w") as f:
        for title, pts in series:
            f.write("# %s\n# bare-compile-ms program-functions median min max (x bare compile)\n" % title)
            for b, n, s in sorted(pts, key=lambda x: x[0]):
                f.write("%.1f %d %.4f %.4f %.4f\n" % (b, n, s["median"], s["min"], s["max"]))
            f.write("\n\n")
    gp = os.path.join(RESULTS, "latency.gp")
    plots = ", ".join("'%s' index %d using 1:3:4:5 with yerrorlines lw 2 pt 7 title '%s'" % (dat, i, t)
                      for i, (t, _) in enumerate(series))
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size 1400,650 font 'sans,11'\n"
                "set output '%s'\n"
                "set title 'hotfix against the bare compile of the edited unit (median, bars: min-max)'\n"
                "set xlabel 'bare compile of the edited unit, ms (programs of 200 to 10,000 functions; "
                "units of 1,600 and 6,000)'\n"
                "set ylabel 'time / bare compile of the unit'\n"
                "set logscale x\nset logscale y\nset grid\nset key outside right top\n"
                "set xrange [*:*]\nset offsets graph 0.05, graph 0.05, 0, 0\n"
                "set arrow from graph 0, first 1.15 to graph 1, first 1.15 nohead dt 2 lc rgb 'gray'\n"
                "set arrow from graph 0, first 0.15 to graph 1, first 0.15 nohead dt 2 lc rgb 'gray'\n"
                "plot %s\n" % (os.path.join(RESULTS, "latency.png"), plots))
    if not shutil.which("gnuplot"):
        return "gnuplot not found (apt-get install gnuplot-nox): no latency.png"
    proc = subprocess.run(["gnuplot", gp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return None if proc.returncode == 0 else proc.stdout.decode(errors="replace")


def write_report(data, path):
    env = data["environment"]
    debuggers = data["debuggers"]
    L = []
    L.append("# hotfix benchmark (`make bench`)\n")
    L.append("%s, %s run (%d sessions x %d patches per program and debugger).  %s, %d CPUs, "
             "load average %.2f at the start, %.2f at the end; %s; %s; %s; Linux %s.\n"
             % (env["date"], "quick" if data["quick"] else "full", data["runs"], data["patches"],
                env["cpu"], env["cpus"], env["load"][0], env.get("load_at_end", [0])[0], env["gcc"], env["gdb"], env["lldb"], env["kernel"]))
    L.append("All times in ms, as median (min–max).  Each program: N units × M functions, one unit edited (one "
             "function body changed), `-g -O0`, workers parked in a loop calling another unit.  *bare*: `gcc -g "
             "-O0 -c` of the edited unit with the program's own command, timed between the sessions.  Per program "
             "and debugger, %d sessions with preparing on (patch 1: *first*, right after its save with cold "
             "caches; then in turn (b) and (a)) and %d with preparing off (`set hotfix prepare off`: the command "
             "builds; patches 2 on: *off*); units of %d functions and more: two sessions with preparing on and one "
             "with it off, 3 patches each.\n\n"
             "* (a) *right after a save*: the `hotfix` command typed at once (wall time, timestamps in the "
             "debugger's Python around it): it waits for the background build the save started, or builds;\n"
             "* (b) *%g s after a save* (or twice the bare compile, for a unit that compiles longer than half "
             "of that): the debugger busy meanwhile in a script (`python time.sleep`); the command loads and "
             "writes the prepared patch;\n"
             "* (c) *save to new code*: from the save to the prepared patch (the background build, as hotfix "
             "says: \"prepared N ms after the save\") plus the command's load and write: what a front end "
             "applying each patch as soon as it is prepared would see.\n\n"
             "Ratios are to the median bare compile of the same unit.  *beyond c+l*: total − compile − link "
             "(what hotfix adds; patches built by the command).\n"
             % (data["runs"], data.get("off_runs", 0), LARGE_UNIT, AFTER))
    progs = data["programs"]

    def ratio(x):
        return "%.2f" % x if x else "—"

    def prepared(pair):
        return "%d/%d" % tuple(pair) if pair and pair[1] else "—"

    L.append("\n## Latency against the edited unit\n")
    L.append("| program | functions | debugger | bare compile | (a) right after save | (a) / bare | (b) %g s after "
             "| (b) / bare | (b) prepared | (c) save to code | (c) / bare | off: command | off / bare | off: "
             "compile | off: link | off: load | off: beyond c+l | first (cold) |" % AFTER)
    L.append("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for p in progs:
        if p["threads"]:
            continue
        for dbg in debuggers:
            s = p["summary"].get(dbg)
            if not s:
                continue
            L.append("| %d × %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s "
                     "| %s |" % (
                         p["units"], p["functions"], p["total_functions"], dbg.upper(), fmt(s["bare"]),
                         fmt(s["after_save"]), ratio(s["after_save_ratio"]), fmt(s["after_2s"]),
                         ratio(s["after_2s_ratio"]), prepared(s.get("after_2s_prepared")), fmt(s["save_to_code"]),
                         ratio(s["save_to_code_ratio"]), fmt(s["off"]), ratio(s["off_ratio"]),
                         fmt_med(s["off_compile"]), fmt_med(s["off_link"]), fmt_med(s["off_load"]),
                         fmt(s["off_beyond"]), fmt(s["first"])))

    L.append("\n## Threads (stack check)\n")
    L.append("Program %s.  Workers parked in a loop calling another unit.  *patch* phase = stack check "
             "after the load + breakpoint check + writes; *unwind* = the adapter unwinding every thread "
             "once (the stack check does it before and after the load).\n"
             % next(("%d × %d" % (p["units"], p["functions"]) for p in progs if p["threads"]), "—"))
    L.append("| threads | debugger | unwind all threads | (a) / bare | (b) / bare | (c) / bare | (b) load | "
             "(b) patch | off: beyond c+l |")
    L.append("|--:|---|--:|--:|--:|--:|--:|--:|--:|")
    small = [p for p in progs if (p["units"], p["functions"]) == (progs[0]["units"], progs[0]["functions"])]
    for p in sorted(small, key=lambda p: p["threads"]):
        for dbg in debuggers:
            s = p["summary"].get(dbg)
            if not s:
                continue
            L.append("| %d (%d workers) | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                s["threads_seen"] or p["threads"] + 1, p["threads"], dbg.upper(), fmt(s["unwind"], 1),
                ratio(s["after_save_ratio"]), ratio(s["after_2s_ratio"]), ratio(s["save_to_code_ratio"]),
                fmt(s["after_2s_load"]), fmt(s["after_2s_patch"]), fmt(s["off_beyond"])))

    L.append("\n## Plugin load\n")
    L.append("`source gdb/hotfix_gdb.py` / `command script import lldb/hotfix_lldb.py`, timed inside a fresh "
             "debugger (its Python already started), %d times each.  *cached*: Python's bytecode cache in "
             "place (`make` writes the core's; LLDB itself never writes bytecode); *uncached*: hotfix's "
             "modules compiled on each load (no bytecode beside them, and none written), the standard "
             "library's still cached.  LLDB imports the core on the first `hotfix`, not here.\n" % data["plugin_runs"])
    L.append("| debugger | load, cached | load, uncached |")
    L.append("|---|--:|--:|")
    for dbg in debuggers:
        pl = data["plugin"].get(dbg, {})
        if pl.get("ms"):
            L.append("| %s | %s | %s |" % (dbg.upper(), fmt(stats(pl["ms"])), fmt(stats(pl["uncached_ms"]))))
        else:
            L.append("| %s | failed: %s | |" % (dbg.upper(), (pl.get("errors") or ["?"])[0]))

    L.append("\n## The example game: hotfix against rebuild + restart\n")
    L.append("examples/jump stopped at frame 10; edit src/jump.c (patches/jump_v2.c).  *Rebuild*: `make` "
             "(compile jump.c, link).  *Restart*: kill, run again in the same debugger and reach frame 10 "
             "(JUMP_FAST=1: without it the game's 100 ms per frame adds 1 s).\n")
    L.append("| debugger | hotfix, first | hotfix, later | rebuild | restart to frame 10 | rebuild + restart | "
             "(rebuild + restart) / hotfix |")
    L.append("|---|--:|--:|--:|--:|--:|--:|")
    for dbg in debuggers:
        g = data["game"].get(dbg)
        if not g:
            continue
        first = stats([p["total"] for p in g["first"]])
        both = stats([a + b for a, b in zip(g["rebuild"], g["restart"])])
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            dbg.upper(), fmt(first), fmt(stats([p["total"] for p in g["later"]])), fmt(stats(g["rebuild"])),
            fmt(stats(g["restart"])), fmt(both),
            "%.1f" % (both["median"] / first["median"]) if both and first else "—"))

    profiles = [(p["name"], dbg, f) for p in progs for dbg, r in p["raw"]["debuggers"].items()
                for f in r.get("profile", [])]
    if profiles:
        L.append("\n## Where the time goes (cProfile of one patch)\n")
        L.append("Own time by kind, ms, from one profiled patch per line (cProfile slows Python code, "
                 "so its share is overstated).  Listings: bench/results/profile-*.txt.\n")
        names = [n for n, _ in CATEGORIES] + ["other (stdlib)", "total"]
        L.append("| program | debugger | patch | " + " | ".join(names) + " |")
        L.append("|---|---|---|" + "--:|" * len(names))
        tops = []
        for prog, dbg, f in profiles:
            prof = os.path.join(REPO, f) + ".prof"
            try:
                kinds, top = profile_breakdown(prof)
            except (OSError, ValueError, EOFError, TypeError):
                continue
            which = "first" if "-first" in f else "later"
            L.append("| %s | %s | %s | %s |" % (prog, dbg.upper(), which,
                                                 " | ".join("%.0f" % kinds[n] for n in names)))
            tops.append(("%s %s %s" % (prog, dbg.upper(), which), top))
        for title, top in tops:
            L.append("\n%s, hotfix's functions by cumulative time (ms):\n" % title)
            L.append("```")
            L += ["%8.0f  %s" % (ms, where) for ms, where in top]
            L.append("```")

    ac = data.get("all_changed")
    if ac:
        L.append("\n## `hotfix --all-changed` with nothing changed\n")
        L.append("Program %s (%d units).  *first, no cache*: the first in a session with no dependency lists "
                 "on disk (hotfix's first use on this program: one `-M` run per unit); *first, cached*: the "
                 "first in a later session; *later*: the second and third in a session.\n"
                 % (ac["program"], ac["units"]))
        L.append("| debugger | first, no cache | first, cached | later |")
        L.append("|---|--:|--:|--:|")
        for dbg, r in ac["raw"].items():
            L.append("| %s | %s | %s | %s |" % (dbg.upper(), fmt(stats(r["cold"])), fmt(stats(r["warm"])),
                                                 fmt(stats(r["later"]))))

    L.append("\n## Targets\n")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    for row in targets(data):
        L.append("| %s | %s | %s |" % row)
    ac = data.get("all_changed")
    if ac:
        for dbg, r in ac["raw"].items():
            later = stats(r["later"])
            if later:
                L.append("| `--all-changed`, nothing changed, %d units ≤ %d ms (%s, later in session) | %.0f ms | %s |"
                         % (ac["units"], TARGETS["all_changed"], dbg.upper(), later["median"],
                            "yes" if later["median"] <= TARGETS["all_changed"] else "no"))
            warm = stats(r["warm"])
            if warm:
                L.append("| `--all-changed`, nothing changed, %d units ≤ %d ms (%s, first in session) | %.0f ms | %s |"
                         % (ac["units"], TARGETS["all_changed"], dbg.upper(), warm["median"],
                            "yes" if warm["median"] <= TARGETS["all_changed"] else "no"))

    errors = []
    for p in progs:
        for dbg, r in p["raw"]["debuggers"].items():
            errors += ["%s %s: %s" % (p["name"], dbg, e) for e in r["errors"]]
    for dbg, g in data["game"].items():
        errors += ["game %s: %s" % (dbg, e) for e in g["errors"]]
    for dbg, r in data.get("all_changed", {}).get("raw", {}).items():
        errors += ["--all-changed %s: %s" % (dbg, e) for e in r["errors"]]
    if data.get("plot_error"):
        errors.append("plot: %s" % data["plot_error"])
    if errors:
        L.append("\n## Problems seen\n")
        L += ["* %s" % e for e in errors[:30]]
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def targets(data):
    rows = []
    progs = data["programs"]
    for dbg in data["debuggers"]:
        for kind, target, what in (("after_save", TARGETS["after_save"], "(a) command right after a save"),
                                   ("after_2s", TARGETS["after_2s"], "(b) command %g s after a save" % AFTER),
                                   ("save_to_code", TARGETS["save_to_code"], "(c) save to new code")):
            # The targets are for real units (a realistic one compiles in
            # about 0.7 s): the small units of the sizes' programs compile in
            # tens of ms, less than a dlopen and a link take; they are listed.
            for real in (True, False):
                rs = [(p, p["summary"][dbg][kind + "_ratio"]) for p in progs if dbg in p["summary"]
                      and p["summary"][dbg][kind + "_ratio"] and (p["functions"] >= LARGE_UNIT) == real]
                if rs:
                    rows.append(("%s ≤ %.2f × bare compile (%s%s)" % (what, target, dbg.upper(),
                                                                      "" if real else ", small units: listed"),
                                 ", ".join("%.2f at %s" % (r, _program_name(p)) for p, r in rs),
                                 ("yes" if all(r <= target for _, r in rs) else
                                  "no (%d of %d)" % (sum(1 for _, r in rs if r > target), len(rs))) if real else "—"))
        sizes = [p for p in progs if not p["threads"] and p["functions"] < LARGE_UNIT]
        big = max(sizes, key=lambda p: p["total_functions"], default=None)
        if big and dbg in big["summary"] and big["summary"][dbg]["off_beyond"]:
            b = big["summary"][dbg]["off_beyond"]
            rows.append(("beyond compile+link ≤ %d ms at %d functions (%s, preparing off)"
                         % (TARGETS["beyond_10k"], big["total_functions"], dbg.upper()),
                         "%.0f ms" % b["median"], "yes" if b["median"] <= TARGETS["beyond_10k"] else "no"))
        for p in progs:
            if not p["threads"] and p["functions"] >= LARGE_UNIT and dbg in p["summary"]:
                s = p["summary"][dbg]
                beyond = s["off_beyond"]
                if beyond and s["off_load"]:
                    own = beyond["median"] - s["off_load"]["median"]
                    rows.append(("hotfix's own work ≤ 100 ms beyond compile+link+load, unit of %d functions (%s)"
                                 % (p["functions"], dbg.upper()), "%.0f ms" % own, "yes" if own <= 100 else "no"))
        most = max([p for p in progs if p["threads"]], key=lambda p: p["threads"], default=None)
        if most and dbg in most["summary"] and most["summary"][dbg]["off_beyond"]:
            b = most["summary"][dbg]["off_beyond"]
            rows.append(("beyond compile+link ≤ %d ms at %d threads (%s, preparing off)"
                         % (TARGETS["beyond_64t"], most["threads"], dbg.upper()),
                         "%.0f ms" % b["median"], "yes" if b["median"] <= TARGETS["beyond_64t"] else "no"))
        for key, how in (("ms", "cached"), ("uncached_ms", "uncached")):
            pl = stats(data["plugin"].get(dbg, {}).get(key, []))
            if pl:
                rows.append(("plugin load ≤ %d ms (%s, %s)" % (TARGETS["plugin"], dbg.upper(), how),
                             "%.0f ms" % pl["median"], "yes" if pl["median"] <= TARGETS["plugin"] else "no"))
    return rows


def _program_name(p):
    if p["threads"]:
        return "%d threads" % (p["threads"] + 1)
    if p["functions"] >= LARGE_UNIT:
        return "a unit of %d fn" % p["functions"]
    return "%d fn" % p["total_functions"]


# --------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="hotfix latency benchmark (make bench)")
    ap.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    ap.add_argument("--debuggers", default="gdb,lldb", help="comma-separated: gdb,lldb")
    ap.add_argument("--runs", type=int, help="debugger sessions per program and debugger")
    ap.add_argument("--patches", type=int, help="patches per session (the first is reported apart)")
    ap.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                    help="profile (cProfile) a first and a later patch of the largest program and of the "
                         "one with most threads; default: on, off with --quick")
    ap.add_argument("--programs", help="only these programs, comma-separated: UNITSxFUNCTIONS or "
                                       "UNITSxFUNCTIONS-tTHREADS (e.g. 2x1600,10x20-t64)")
    ap.add_argument("--report-only", action="store_true",
                    help="write RESULTS.md and latency.png again from bench/results/results.json")
    args = ap.parse_args()
    if args.report_only:
        with open(os.path.join(RESULTS, "results.json")) as f:
            data = json.load(f)
        data["plot_error"] = write_plot(data["programs"], data["debuggers"])
        write_report(data, os.path.join(RESULTS, "RESULTS.md"))
        return
    plan = dict(QUICK if args.quick else FULL)
    plan["runs"] = args.runs or plan["runs"]
    plan["patches"] = max(3, args.patches or plan["patches"])
    debuggers = [d for d in args.debuggers.split(",") if d]
    if args.profile is None:
        args.profile = not args.quick

    if not os.path.exists(os.path.join(REPO, "native", "libhotfix.so")):
        subprocess.run(["make", "-s", "-C", os.path.join(REPO, "native")], check=True)
    os.makedirs(WORK, exist_ok=True)
    started = time.monotonic()
    data = {"quick": args.quick, "runs": plan["runs"], "off_runs": plan["off_runs"], "patches": plan["patches"],
            "plugin_runs": plan["plugin_runs"], "debuggers": debuggers, "environment": environment()}
    if data["environment"]["load"][0] > 0.5:
        log("bench: note: load average %.2f: other work on this machine skews the numbers"
            % data["environment"]["load"][0])

    log("plugin load")
    data["plugin"] = measure_plugin(debuggers, plan["plugin_runs"])

    configs = plan["sizes"] + plan["threads"]
    if args.programs:
        wanted = set(args.programs.split(","))
        configs = [c for c in configs if ("%dx%d" % c[:2] if not c[2] else "%dx%d-t%d" % c) in wanted]
    # The program with most units (--all-changed, a profile), the largest
    # unit (a profile), the most threads (a profile).
    largest = max([c for c in plan["sizes"] if c[1] < LARGE_UNIT], key=lambda c: c[0] * c[1])
    biggest_unit = max(plan["sizes"], key=lambda c: c[1])
    busiest = max(plan["threads"], key=lambda c: c[2]) if plan["threads"] else None
    data["programs"] = []
    for units, functions, threads in configs:
        name = "%dx%d" % (units, functions)
        log("program %s (%d functions), %d worker threads" % (name, units * functions, threads))
        start = time.monotonic()
        info = generate.generate(os.path.join(WORK, name), units, functions, threads)
        info["name"] = name if not threads else "%s-t%d" % (name, threads)
        log("  built in %.1f s" % (time.monotonic() - start))
        profile = args.profile and (units, functions, threads) in (largest, biggest_unit, busiest)
        raw = measure_program(info, debuggers, plan, profile)
        entry = {k: info[k] for k in ("name", "units", "functions", "threads", "total_functions",
                                      "edited_source", "edited_function")}
        entry["raw"] = raw
        entry["bare"] = raw["bare"]
        entry["bare_pair"] = raw["bare_pair"]
        entry["summary"] = summarize_program(raw)
        data["programs"].append(entry)
        if (units, functions, threads) == largest:
            log("--all-changed with nothing changed, %s" % name)
            data["all_changed"] = {"program": name, "units": units,
                                   "raw": measure_all_changed(info, debuggers, plan["runs"])}

    log("example game")
    data["game"] = measure_game(debuggers, plan["game_runs"])
    data["plot_error"] = write_plot(data["programs"], debuggers)
    data["seconds"] = time.monotonic() - started
    data["environment"]["load_at_end"] = os.getloadavg()
    with open(os.path.join(RESULTS, "results.json"), "w") as f:
        json.dump(data, f, indent=1, default=str)
    report = os.path.join(RESULTS, "RESULTS.md")
    write_report(data, report)
    log("")
    with open(report) as f:
        sys.stdout.write(f.read())
    log("\nbench: %s, %s and latency.png in %s (%.0f s)"
        % (os.path.relpath(report, REPO), "results.json", os.path.relpath(RESULTS, REPO), data["seconds"]))


if __name__ == "__main__":
    main()
