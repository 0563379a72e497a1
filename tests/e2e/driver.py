"""A small neutral controller: one scenario, run under GDB or LLDB.

A scenario is a list of steps (break at a function, run, continue, copy a
file over a source, hotfix, ...).  The driver turns it into the
debugger's own batch command line, runs it with the program's output
going to a file, and returns both texts so tests can assert what a user
would see: the program's own lines before and after, and hotfix's words.
"""
import os
import shlex
import shutil
import socket
import subprocess
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEBUGGERS = ["gdb", "lldb"]
# HOTFIX_TEST_LLDB: another LLDB to run the tests with (scripts/lldb16.sh).
LLDB = os.environ.get("HOTFIX_TEST_LLDB") or shutil.which("lldb-19") or shutil.which("lldb-16") or "lldb-19"


@dataclass
class Result:
    transcript: str     # what the debugger printed (hotfix's messages among it)
    output: str         # what the program printed
    returncode: int

    def lines(self):
        return self.output.splitlines()


class Step:
    def gdb(self, ctx):
        raise NotImplementedError

    def lldb(self, ctx):
        raise NotImplementedError


class Break(Step):
    def __init__(self, where):
        self.where = where

    def gdb(self, ctx):
        return ["break %s" % self.where]

    def lldb(self, ctx):
        if ":" in self.where:
            f, line = self.where.rsplit(":", 1)
            return ["breakpoint set --file %s --line %s" % (f, line)]
        return ["breakpoint set --name %s" % self.where]


class Delete(Step):
    """Remove every breakpoint."""

    def gdb(self, ctx):
        return ["delete"]

    def lldb(self, ctx):
        return ["breakpoint delete --force"]


class Run(Step):
    def __init__(self, *args):
        self.args = [str(a) for a in args]

    def gdb(self, ctx):
        if ctx.remote:      # gdbserver: the output goes to its own stdout
            return ["run %s" % " ".join(map(shlex.quote, self.args))]
        return ["run %s > %s" % (" ".join(map(shlex.quote, self.args)), ctx.output)]

    def lldb(self, ctx):
        # -o opens the file without O_TRUNC: run() removes it first.
        return ["process launch -o %s -- %s" % (ctx.output, " ".join(map(shlex.quote, self.args)))]


class Continue(Step):
    """Continue; with times=N, pass the current breakpoint N-1 more times."""

    def __init__(self, times=1):
        self.times = times

    def gdb(self, ctx):
        return ["continue" if self.times == 1 else "continue %d" % self.times]

    def lldb(self, ctx):
        return ["continue" if self.times == 1 else "process continue -i %d" % (self.times - 1)]


class Copy(Step):
    """Replace a source file (the user's edit)."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst

    def gdb(self, ctx):
        return ["shell cp %s %s" % (shlex.quote(self.src), shlex.quote(self.dst))]

    def lldb(self, ctx):
        # On this machine (-h), also when a remote platform is connected.
        return ["platform shell -h -- cp %s %s" % (shlex.quote(self.src), shlex.quote(self.dst))]


class Command(Step):
    """A command that reads the same in both debuggers (e.g. `hotfix ...`)."""

    def __init__(self, text, lldb_text=None):
        self.text, self.lldb_text = text, lldb_text

    def gdb(self, ctx):
        return [self.text]

    def lldb(self, ctx):
        return [self.lldb_text or self.text]


def Hotfix(args):
    return Command("hotfix " + args)


def Sleep(seconds):
    """The debugger busy in a user's script (its Python sleeping)."""
    return Command("python import time; time.sleep(%g)" % seconds, "script import time; time.sleep(%g)" % seconds)


def Prepare(on):
    """Preparing patches on save on or off."""
    word = "on" if on else "off"
    return Command("set hotfix prepare " + word, "hotfix-config prepare " + word)


class Kill(Step):
    def gdb(self, ctx):
        return ["kill"]

    def lldb(self, ctx):
        return ["process kill"]


class Attach(Step):
    def __init__(self, pid):
        self.pid = pid

    def gdb(self, ctx):
        return ["attach %d" % self.pid]

    def lldb(self, ctx):
        return ["process attach --pid %d" % self.pid]


class Detach(Step):
    def gdb(self, ctx):
        return ["detach"]

    def lldb(self, ctx):
        return ["process detach"]


class Connect(Step):
    """Load the program and connect to a debug server listening on this
    machine at port: GDB to gdbserver (`target extended-remote`, then Run;
    or `target remote` to a gdbserver that started the program, then
    Continue), LLDB to an `lldb-server platform` (then Run).  Pass program
    None to run()."""

    def __init__(self, program, port, gdb_kind="extended-remote"):
        self.program, self.port, self.kind = program, port, gdb_kind

    def gdb(self, ctx):
        ctx.remote = True
        out = ["file %s" % self.program, "target %s 127.0.0.1:%d" % (self.kind, self.port)]
        if self.kind == "extended-remote":
            out.append("set remote exec-file %s" % self.program)
        return out

    def lldb(self, ctx):
        ctx.remote = True
        return ["platform select remote-linux", "platform connect connect://127.0.0.1:%d" % self.port,
                "target create %s" % self.program]


class SaveMaps(Step):
    """Copy the process's /proc/PID/maps into a file (for a test whose
    process runs on this machine)."""

    def __init__(self, path):
        self.path = str(path)

    def gdb(self, ctx):
        return ["python import shutil; shutil.copyfile('/proc/%%d/maps' %% gdb.selected_inferior().pid, %r)"
                % self.path]

    def lldb(self, ctx):
        return ["script import shutil; shutil.copyfile('/proc/%%d/maps' %% "
                "lldb.debugger.GetSelectedTarget().GetProcess().GetProcessID(), %r)" % self.path]


class _Context:
    def __init__(self, output):
        self.output = output
        self.remote = False


def run(debugger, program, steps, cwd, timeout=120, env=None):
    """Run the steps under `debugger` ("gdb" or "lldb") and return a Result.
    With program None the steps attach to a running process."""
    output = os.path.join(cwd, "program-output.txt")
    if os.path.exists(output):
        os.unlink(output)
    ctx = _Context(output)
    commands = []
    for step in steps:
        commands += getattr(step, debugger)(ctx)
    if debugger == "gdb":
        argv = ["gdb", "-nx", "-batch",
                "-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set style enabled off",
                "-ex", "set breakpoint pending on",
                "-ex", "source %s" % os.path.join(REPO, "gdb", "hotfix_gdb.py"),
                "-ex", "set hotfix debug on"]
        for c in commands:
            argv += ["-ex", c]
        argv += [program] if program else []
    else:
        # lldb -b stops at the first -o command that fails whatever
        # interpreter.stop-command-source-on-error says (its driver forces
        # StopOnError), unlike gdb -batch; `command source -e false` goes on,
        # so a scenario can continue after a refused hotfix.
        script = os.path.join(cwd, "lldb-commands.txt")
        with open(script, "w") as f:
            f.write("".join(c + "\n" for c in commands))
        argv = [LLDB, "--no-lldbinit", "--no-use-colors", "-b",
                "-O", "settings set auto-confirm true",
                "-o", "command script import %s" % os.path.join(REPO, "lldb", "hotfix_lldb.py"),
                "-o", "command source -e false %s" % shlex.quote(script)]
        argv += ["--", program] if program else []
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["HOTFIX_DEBUG"] = "1"
    if debugger == "lldb":
        # LLDB's embedded Python takes its home from the first python3 on
        # PATH; under pyenv (which puts its own bin first) that is a Python
        # without Debian's packages (elftools), so hotfix cannot import.
        full_env.setdefault("PYTHONHOME", "/usr")
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout, env=full_env)
    out = ""
    if os.path.exists(output):
        with open(output, errors="replace") as f:
            out = f.read()
    return Result(proc.stdout.decode(errors="replace"), out, proc.returncode)


QEMU = shutil.which("qemu-aarch64")
GDB_MULTIARCH = shutil.which("gdb-multiarch")
AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_qemu(program, args, steps, cwd, timeout=180):
    """Run an AArch64 program under qemu-user, stopped at its first
    instruction with qemu's gdbstub listening, and the steps under
    gdb-multiarch connected to it (`target remote`); no Run step: the
    program starts with args.  The program's output goes to a file."""
    output = os.path.join(cwd, "program-output.txt")
    ctx = _Context(output)
    commands = []
    for step in steps:
        commands += step.gdb(ctx)
    port = _free_port()
    with open(output, "w") as out:
        qemu = subprocess.Popen([QEMU, "-L", AARCH64_SYSROOT, "-g", str(port), program] + [str(a) for a in args],
                                cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    # qemu's gdbstub takes one connection: no probing; GDB retries a
    # refused connection for a while (tcp auto-retry) until qemu listens.
    argv = [GDB_MULTIARCH, "-nx", "-batch",
            "-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set style enabled off",
            "-ex", "set sysroot %s" % AARCH64_SYSROOT, "-ex", "set tcp connect-timeout 30",
            "-ex", "source %s" % os.path.join(REPO, "gdb", "hotfix_gdb.py"),
            "-ex", "set hotfix debug on",
            "-ex", "file %s" % program, "-ex", "target remote 127.0.0.1:%d" % port]
    for c in commands:
        argv += ["-ex", c]
    env = dict(os.environ, HOTFIX_DEBUG="1")
    try:
        proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=env)
    finally:
        try:
            qemu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
    with open(output, errors="replace") as f:
        out = f.read()
    return Result(proc.stdout.decode(errors="replace"), out, proc.returncode)


def hotfix_lines(result):
    """The lines hotfix printed (its summary, warnings and errors), as GDB
    shows them: LLDB puts "error: " before a command's error."""
    return [line[len("error: "):] if line.startswith("error: hotfix:") else line
            for line in result.transcript.splitlines() if "hotfix:" in line]


def exited_normally(result, debugger):
    t = result.transcript
    if debugger == "gdb":
        return "exited normally" in t
    return "exited with status = 0" in t
