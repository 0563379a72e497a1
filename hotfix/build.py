"""Building a patch: compile the edited unit and link it into a .so.

Two compiles of the same source run side by side:
  * the *diff object*: the original command plus -ffunction-sections
    -fdata-sections, so that its functions can be compared with the code
    the program runs (same flags, same code) and with earlier patches;
  * the *patch object*: the same plus what loading needs (arch.py).  On
    x86-64, for a library loaded within 2 GiB of the program (near.py),
    -fPIC: references to the unit's own code and data are 32-bit
    PC-relative fields, outside ones GOT slots; for one loaded anywhere,
    -fPIC -mcmodel=large makes every reference to the unit's own code and
    data a 64-bit GOT-relative immediate (GOTOFF64); on AArch64 the patch is compiled -fPIC to
    assembly and its references to the unit's data and function addresses
    are routed through GOT slots (gotasm.py).  Either way, after loading
    every one of them can be pointed at the program's live function or
    variable, however far away it is.  -fvisibility=hidden keeps the unit's
    own references local (and keeps inlining as in a non-PIC build);
    -falign-functions=16 leaves room to patch the patch.

Compilers run from the original directory with the file named as the
original command names it (so __FILE__ and DW_AT_name stay the same), as
argv lists, never through a shell.  Outputs go to a private 0700 directory.
"""
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

from . import gotasm
from .arch import X86_64
from .errors import HotfixError
from .program import PATCH_SONAME      # every patch library's DT_SONAME


class CompileError(HotfixError):
    pass


class Cancelled(HotfixError):
    """A background build was given up (a newer save, or its result is no
    longer wanted)."""


class Runner:
    """How build tools run.  The command runs them directly, as children of
    the debugger, while the program is stopped.

    A background runner (prepare.py, with nice > 0) runs each tool niced,
    under /bin/sh, which waits for it and writes its exit status to a pipe:
    while the program runs, GDB reaps any child of its process (waitpid(-1)
    in its event loop; measured: 2 exit statuses of 40 lost, which Python's
    subprocess then reports as 0), but never a grandchild.  Each tool gets
    a process group of its own, so cancel() ends it with its compiler
    passes."""

    def __init__(self, nice=0, scratch=None):
        self.nice = nice
        self.scratch = scratch      # where its files go (the session's workdir: swept); None: the temp dir
        self.cancelled = False
        self._lock = threading.Lock()
        self._running = set()

    def run(self, argv, cwd):
        """(exit status, stdout and stderr as text)."""
        if not self.nice:
            proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
            return proc.returncode, proc.stdout.decode(errors="replace")
        with tempfile.TemporaryFile() as out:
            with self._lock:
                if self.cancelled:
                    raise Cancelled("cancelled")
                proc = subprocess.Popen(["/bin/sh", "-c", 'nice -n %d "$@" </dev/null 1>&2; echo $?' % self.nice,
                                         "sh"] + list(argv),
                                        cwd=cwd, stdout=subprocess.PIPE, stderr=out, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
                self._running.add(proc)
            try:
                status = proc.stdout.read().decode().strip()
                proc.stdout.close()
                proc.wait()         # its status may have been reaped by the debugger: not used
            finally:
                with self._lock:
                    self._running.discard(proc)
            if self.cancelled:
                raise Cancelled("cancelled")
            out.seek(0)
            text = out.read().decode(errors="replace")
        if status == "127" and "nice:" in text:
            raise FileNotFoundError(argv[0])
        return (int(status) if status.lstrip("-").isdigit() else -1), text

    def cancel(self):
        with self._lock:
            self.cancelled = True
            for proc in self._running:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass


FOREGROUND = Runner()


@dataclass
class Built:
    diff_object: Optional[str]      # None when the unit was patched before (see compile_unit)
    patch_object: str
    compile_seconds: float


def _run(argv, cwd, what, runner=FOREGROUND):
    try:
        status, text = runner.run(argv, cwd)
    except FileNotFoundError:
        if not os.path.isdir(cwd):
            raise CompileError("the directory %s, where the unit was compiled, is not there." % cwd)
        raise CompileError("the compiler %s was not found." % argv[0])
    if status != 0:
        raise CompileError("%s failed:\n%s" % (what, text.rstrip()))
    return text


def _compile_via_got(argv, directory, what, compiler, asm, obj, runner=FOREGROUND):
    """AArch64: compile to assembly, route the unit's data and function
    addresses through the GOT, assemble."""
    _run(argv, directory, what, runner)
    with open(asm) as f:
        text, _ = gotasm.rewrite(f.read())
    got_asm = asm[:-2] + ".got.s"
    with open(got_asm, "w") as f:
        f.write(text)
    _run([compiler, "-c", got_asm, "-o", obj], directory, what + " (assembling)", runner)


def compile_unit(command, workdir, stem, arch=X86_64, first=True, runner=FOREGROUND, depfile=None, near=False):
    """Compile one unit; raise CompileError with the compiler's diagnostics
    (once) when the source does not compile.

    The first patch of a unit compiles twice, in parallel: with the
    program's own flags (to compare with the running code) and for loading.
    Later patches compile only for loading: the previous patch's object,
    built with the same flags, is what the new code is compared with.
    depfile: where the compile for loading lists the files it read.
    near: for loading within 2 GiB of the program (arch.near_load_flags)."""
    diff_o = os.path.join(workdir, stem + ".diff.o")
    patch_o = os.path.join(workdir, stem + ".patch.o")
    base = command.argv + list(arch.diff_flags)
    flags = arch.near_load_flags if near and arch.near_load_flags else arch.load_flags
    load = _code_flags(base) + list(flags) + _unloadable(command.argv[0]) + ["-w"]
    if depfile:
        load += ["-MD", "-MF", depfile]
    # A compile error is the user's: said the same way whichever compile saw it.
    what = "compiling %s%s" % (command.source, " for loading" if first else "")
    if arch.got_rewrite:
        asm = os.path.join(workdir, stem + ".patch.s")
        load_job = (_compile_via_got, load + ["-S", command.source, "-o", asm], command.directory, what,
                    command.argv[0], asm, patch_o, runner)
    else:
        load_job = (_run, load + ["-c", command.source, "-o", patch_o], command.directory, what, runner)
    jobs = [load_job]
    if first:
        jobs.insert(0, (_run, base + ["-c", command.source, "-o", diff_o], command.directory,
                        "compiling %s" % command.source, runner))
    start = time.monotonic()
    errors = []
    if len(jobs) == 1:
        try:
            jobs[0][0](*jobs[0][1:])
        except CompileError as e:
            errors.append(e)
    else:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(*job) for job in jobs]
            for f in futures:
                try:
                    f.result()
                except CompileError as e:
                    errors.append(e)
    if errors:
        raise errors[0]
    return Built(diff_o if first else None, patch_o, time.monotonic() - start)


def compile_like_program(command, workdir, stem, arch=X86_64):
    """The unit compiled with the program's own flags (the diff object's),
    for a later patch that compiled only for loading: the body frames
    moved out of the program's code go on in (see frames.py)."""
    out = os.path.join(workdir, stem + ".diff.o")
    if not os.path.exists(out):
        _run(command.argv + list(arch.diff_flags) + ["-c", command.source, "-o", out], command.directory,
             "compiling %s" % command.source)
    return out


# Flags that only make the compiler say or write more than the code: the
# compile for loading drops them (it is -w anyway).  Warnings made errors
# (-Werror=x, -pedantic-errors) stay: they decide whether it compiles.
_TALK = ("-fanalyzer", "-fdump-", "-fopt-info", "-fstack-usage", "-fcallgraph-info", "-save-temps",
         "-ftime-report", "-fmem-report")
_WARNINGS_KEPT = ("-Werror=", "-Wfatal-errors", "-Wp,", "-Wa,", "-Wl,")


def _code_flags(argv):
    """argv without warning and report flags (see _TALK)."""
    out = argv[:1]
    for arg in argv[1:]:
        if arg.startswith(_TALK) or arg in ("-pedantic", "-Wpedantic") or \
                arg.startswith("-W") and not arg.startswith(_WARNINGS_KEPT):
            continue
        out.append(arg)
    return out


def _unloadable(compiler):
    """g++ gives a default-visibility function-local static of an inline
    function (a singleton) STB_GNU_UNIQUE binding, and glibc never unloads
    a library that defines one: a patch refused after its load must be
    unloadable.  The patch's copy is bound to the program's anyway."""
    return [] if "clang" in os.path.basename(compiler) else ["-fno-gnu-unique"]


# Run when a library is loaded or unloaded: in a patch they would run again in
# a process that ran them at its start, before hotfix binds the patch.
INIT_SECTIONS = (".init_array", ".fini_array", ".preinit_array", ".ctors", ".dtors")


def tool(compiler, name):
    """The binutils program `name` that goes with a compiler: a cross
    compiler (aarch64-linux-gnu-gcc) finds its own (aarch64-linux-gnu-objcopy)."""
    base = os.path.basename(compiler)
    for suffix in ("-gcc", "-g++", "-cc", "-c++", "-clang", "-clang++"):
        cut = base.rfind(suffix)
        if cut > 0:
            prefixed = base[:cut] + "-" + name
            if shutil.which(prefixed):
                return prefixed
    return name


def drop_initializers(patch_object, sections, compiler="cc", runner=FOREGROUND):
    """Remove constructor and destructor tables from the patch object;
    returns whether there were any."""
    found = [s for s in sections if s.startswith(INIT_SECTIONS)]
    if not found:
        return False
    argv = [tool(compiler, "objcopy")]
    for name in found:
        argv += ["-R", name, "-R", ".rela" + name]
    _run(argv + [patch_object], os.path.dirname(patch_object), "removing constructors from the patch", runner)
    return True


_RUNTIME_SOURCE = b"""/* What C++ code of a patch needs from the startup files hotfix leaves out
 * (they would add constructors): the handle __cxa_atexit registers
 * destructors under. */
void *__dso_handle __attribute__((visibility("hidden"))) = &__dso_handle;

/* Called by hotfix after it writes code into the process, before that code
 * runs: on AArch64 the instruction cache is not coherent with data writes. */
__attribute__((visibility("hidden"))) int hotfix_clear_cache(unsigned long begin, unsigned long end)
{
    __builtin___clear_cache((char *)begin, (char *)end);
    return 0;
}
"""

CLEAR_CACHE = "hotfix_clear_cache"


def runtime_object(workdir, compiler, runner=FOREGROUND):
    """A small object defining __dso_handle and hotfix_clear_cache, compiled
    once per directory and compiler (a cross compiler's for its target)."""
    cc = os.path.basename(compiler)
    if "clang" in cc:
        cc = cc.replace("clang++", "clang")
    elif "g++" in cc:
        cc = cc.replace("g++", "gcc")
    elif "gcc" not in cc:
        cc = "cc"
    out = os.path.join(workdir, "runtime-%s.o" % cc)
    if not os.path.exists(out):
        # Written under names of its own, then renamed: the command and the
        # preparer (prepare.py) may both want it at once.
        fd, src = tempfile.mkstemp(prefix="runtime-", suffix=".c", dir=workdir)
        with os.fdopen(fd, "wb") as f:
            f.write(_RUNTIME_SOURCE)
        tmp = src[:-2] + ".o"
        try:
            _run([cc, "-fPIC", "-c", src, "-o", tmp], workdir, "compiling hotfix's runtime object", runner)
            os.replace(tmp, out)
        finally:
            os.unlink(src)
    return out


# The options of the compiler driver's link line that shape a shared
# object (hash table, unwind table index, build id, emulation, -z ...);
# not its libraries, startup files or LTO plugin.
_SHAPING = ("-m", "-z")
_KEPT_ALONE = ("-shared", "-X", "-EL", "-EB")
_DROPPED_LONG = ("--push-state", "--pop-state", "--dynamic-linker", "--output")
_driver_options = {}


def driver_link_options(compiler, runner=FOREGROUND):
    """The options the compiler's driver gives the linker for `-shared
    -nostartfiles` (from `-###`), once per compiler; None if they cannot be
    read."""
    key = shutil.which(compiler) or compiler
    if key not in _driver_options:
        options = None
        try:
            status, text = runner.run([compiler, "-###", "-shared", "-nostartfiles", "-o", "hotfix.so",
                                       os.devnull], "/")
        except OSError:
            status, text = 1, ""
        lines = [line for line in text.splitlines() if line.startswith(" ")] if status == 0 else []
        if lines:
            try:
                words = shlex.split(lines[-1])
            except ValueError:
                words = []
            if words and os.path.basename(words[0]).startswith(("collect2", "ld")):
                options = _shaping_options(words[1:])
        _driver_options[key] = options
    return _driver_options[key]


def _shaping_options(words):
    """Up to the first input: later ones are about the driver's libraries."""
    out, i = [], 0
    while i < len(words) and words[i] != os.devnull:
        w = words[i]
        if w in _SHAPING and i + 1 < len(words):
            out += [w, words[i + 1]]
            i += 2
            continue
        if w == "-plugin" or w == "-o" or w == "-dynamic-linker":
            i += 2
            continue
        if w in _KEPT_ALONE or w.startswith(("-m", "--fix-")) and len(w) > 2 or \
                w.startswith("--") and not w.startswith(_DROPPED_LONG):
            out.append(w)
        i += 1
    return tuple(out)


def direct_link_possible(command):
    """Whether the patch object is one ld can link alone (not LTO bytecode)."""
    return not any(a.startswith("-flto") and a != "-flto=0" and a != "-fno-lto" for a in command.argv)


def link_patch(patch_object, output, bindings, libraries, compiler, extra_objects=(), link_flags=("-Wl,-Bsymbolic",),
               runner=FOREGROUND, providers=None, base=None, started=False):
    """Link the patch .so.  bindings {name: address} define the program's
    own symbols the unit refers to (quoted in a linker script: ld's
    expression parser reads names like `dbAdd` as numbers otherwise).

    providers: the loaded libraries that define every other symbol the
    patch refers to (see pipeline.build_unit), or None.  With them, ld runs
    directly with the options the driver would give it, reading only those
    libraries (so the same DT_NEEDED entries and symbol versions as a link
    against all of them with --as-needed), and -z defs holds.  Without them
    (a symbol no loaded library defines: the driver's own libgcc or
    libc_nonshared may; or ld refused), the compiler driver links against
    every loaded library (-z defs: a reference nothing satisfies fails
    here, naming the symbol).

    started: the providers are all libraries the program started with
    (program.started_with).  A library the program loads later is bound
    in their scope first, whatever its own entries say, and every name
    the patch needs was found there: ld then reads none of them (libc
    alone costs it 4 ms of a 7 ms link), so the patch names no library
    it needs and no symbol version (the loader binds an unversioned
    name to the default version, the one a link would have chosen).

    base: the address the library is linked at (near.link_base: its
    32-bit PC-relative fields to the program's symbols fit; hotfix points
    them again once the library is loaded)."""
    if base is not None:
        # GOT loads stay GOT loads: the slot holds the program's symbol's
        # address, which reaches anywhere (ld would make a lea of one).
        link_flags = list(link_flags) + ["-Wl,-Ttext-segment=0x%x" % base, "-Wl,--no-relax"]
    script = output + ".bind.ld"
    with open(script, "w") as f:
        for name, address in sorted(bindings.items()):
            f.write('"%s" = 0x%x;\n' % (name.replace('"', '\\"'), address))
    # Linked under a name of its own, then renamed: a patch file is never
    # seen half-written (the preparer builds while a command may run).
    partial = output + ".partial"
    start = time.monotonic()
    options = driver_link_options(compiler, runner) if providers is not None else None
    if options is not None:
        argv = [tool(compiler, "ld")] + list(options) + ["-o", partial, patch_object] + list(extra_objects) + [
            script, "--emit-relocs", "-z", "now"] + ([] if started else ["-z", "defs"]) + [
            "-soname", PATCH_SONAME] + [f[len("-Wl,"):] for f in link_flags] + ["--as-needed"] + (
            [] if started else list(providers))
        status, _ = runner.run(argv, os.path.dirname(output))
        if status == 0:
            os.replace(partial, output)
            return time.monotonic() - start
    argv = [compiler, "-shared", "-nostartfiles", "-o", partial, patch_object] + list(extra_objects) + [script,
            "-Wl,--emit-relocs", "-Wl,-z,now", "-Wl,-z,defs", "-Wl,-soname," + PATCH_SONAME] + list(link_flags) + [
            "-Wl,--as-needed"] + list(libraries)
    try:
        _run(argv, os.path.dirname(output), "linking the patch", runner)
        os.replace(partial, output)
    except CompileError as e:
        missing = [line.split("undefined reference to")[-1].strip(" `'\u2018\u2019")
                   for line in str(e).splitlines() if "undefined reference to" in line]
        if missing:
            names = sorted(set(missing))
            raise HotfixError("the patch refers to %s, which the program does not define and "
                              "no loaded library provides." % ", ".join("`%s'" % n for n in names))
        raise
    return time.monotonic() - start
