"""The `hotfix` command, for any debugger: arguments, the pipeline, output.

The adapters call run(debugger, argv) and turn HotfixError into their own
error (gdb.GdbError, SBCommandReturnObject.SetError).
"""
import argparse
import os
import time

from . import apply as applying
from . import patches
from .build import compile_unit, drop_initializers, link_patch
from .compdb import find_compile_command, find_unit
from .errors import HotfixError
from .native import Image
from .plan import Plan, decide_changes, describe, plan_redirects, plan_rebinds
from .program import ImageInfo, Program
from .session import Session, Version

SUMMARY = "Patch the running program with the edited source FILE; state is kept."

HELP_EPILOG = """\
hotfix recompiles each FILE with the command that built it (from
compile_commands.json, or the flags in its debug information), compares
the new code with the code the program runs, and redirects only the
functions that changed.  Every global and static keeps its one live
instance and its value.  If anything is unsafe (a changed function is
running, a static's type changed, a symbol cannot be bound) nothing is
written and hotfix says why.  Stop the program first (Ctrl-C or a
breakpoint), then continue it after the patch."""


# Symbols the linker makes for each output file: the patch has its own.
LINKER_DEFINED = {"_GLOBAL_OFFSET_TABLE_", "_DYNAMIC", "__dso_handle", "__ehdr_start", "_init",
                  "_fini", "__bss_start", "_end", "_edata", "__executable_start", "__TMC_END__",
                  "__GNU_EH_FRAME_HDR", "_PROCEDURE_LINKAGE_TABLE_"}


class ArgumentError(HotfixError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the debugger."""

    def error(self, message):
        raise ArgumentError("%s (see `hotfix --help`)." % message)

    def exit(self, status=0, message=None):
        raise ArgumentError(message or "")


def make_parser():
    p = _Parser(prog="hotfix", description=SUMMARY, epilog=HELP_EPILOG, add_help=False,
                usage="hotfix [OPTIONS] FILE...\n       hotfix --revert FILE... | --revert --all | --status",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="an edited source file of the program")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="print the plan (functions, statics, jumps) and write nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="list every write")
    p.add_argument("--wait", nargs="?", const=5.0, type=float, metavar="SECONDS",
                   help="if a changed function is running, let the program run and retry "
                        "for up to SECONDS (default 5)")
    p.add_argument("--status", action="store_true",
                   help="list the patches applied in this process and whether replaced code is running")
    p.add_argument("--revert", action="store_true",
                   help="put back the program's own code of each FILE (or of every unit with --all)")
    p.add_argument("--all", action="store_true", help="with --revert: every patched unit")
    p.add_argument("-h", "--help", action="store_true", help="show this help")
    return p


PARSER = make_parser()


def help_text():
    return PARSER.format_help().rstrip()


def options():
    return [a for action in PARSER._actions for a in action.option_strings]


def debug_default():
    """Whether tracebacks of internal errors are shown before the user
    changes the setting (GDB: `set hotfix debug`, LLDB: `hotfix-config debug`)."""
    return bool(os.environ.get("HOTFIX_DEBUG"))


def error_text(error, debug_command):
    """The one line an adapter shows for an exception out of run():
    HotfixError's sentence, or for a bug of ours its type and text and the
    command that turns tracebacks on."""
    if isinstance(error, HotfixError):
        return "hotfix: %s" % error
    return ("hotfix: internal error: %s: %s (`%s` shows the traceback)"
            % (type(error).__name__, error, debug_command))


_session = None


def session():
    global _session
    if _session is None:
        _session = Session()
    return _session


def run(dbg, argv):
    """Run one `hotfix` command.  Raises HotfixError with the sentence to show."""
    args = PARSER.parse_args(argv)
    if args.help:
        dbg.write(help_text())
        return
    if args.all and not args.revert:
        raise ArgumentError("--all goes with --revert (see `hotfix --help`).")
    if not args.files and not (args.status or args.all):
        raise ArgumentError("name the edited source file: hotfix FILE (see `hotfix --help`).")
    state = dbg.process_state()
    if state == "none":
        raise HotfixError("the program is not running.")
    if state == "running":
        raise HotfixError("the program is running: interrupt it first (Ctrl-C), then hotfix.")
    s = session()
    s.for_process(dbg.pid())
    if args.status:
        patches.status(dbg, s)
    elif args.revert:
        if args.all:
            units = [path for path, versions in s.process.units.items() if versions]
        else:
            program = Program(dbg, s.cache)
            units = [find_unit(program, f).path for f in args.files]
        patches.revert(dbg, s, units, args.wait)
    else:
        for file in args.files:
            Hotfix(dbg, s, args).patch(file)


def _ms(seconds):
    return "%d ms" % round(seconds * 1000)


class Hotfix:
    def __init__(self, dbg, session, args):
        self.dbg = dbg
        self.session = session
        self.args = args
        self.times = {}

    def say(self, text):
        self.dbg.write("hotfix: " + text)

    def patch(self, typed):
        dbg, s = self.dbg, self.session
        program = Program(dbg, s.cache)
        main = program.main_image()
        if main.info is None:
            raise HotfixError("%s has no symbol table (it is stripped): hotfix needs the "
                              "symbols and debug information of a -g build." % main.path)
        if not main.info.symbol_table()["dynamic"]:
            raise HotfixError("the program is statically linked (no dynamic loader), so hotfix "
                              "cannot load a patch into it.")
        unit = find_unit(program, typed)
        image = program.image_for(unit.image)
        command = find_compile_command(unit, dbg.executable())
        if command.warning:
            self.say("warning: " + command.warning)
        history = s.history(unit)
        stem = "%s-%d" % (os.path.splitext(os.path.basename(unit.name))[0], s.process.patches + 1)

        built = compile_unit(command, s.workdir, stem)
        self.times["compile"] = built.compile_seconds
        plan = Plan(unit, command)
        diff = self._diff(built, unit, image, history)
        changed_all = decide_changes(diff, plan)
        if plan.nothing_changed:
            self.say("%s: no function changed; nothing to do." % typed)
            return
        self._check_command(typed, plan, image, history)

        so_path = os.path.join(s.workdir, stem + ".so")
        patch_symbols = Image(built.patch_object).symbols()
        if drop_initializers(built.patch_object, patch_symbols["sections"]):
            self.say("warning: %s has constructors or destructors: the patch does not run them "
                     "(they ran when the program started)." % typed)
        bindings = self._bindings(program, patch_symbols["undefined"])
        libraries = [im.path for im in program.images()[1:]]
        self.times["link"] = link_patch(built.patch_object, so_path, bindings, libraries, command.argv[0])
        plan.so_path = so_path
        self._plan(plan, so_path, unit, image, bindings, history)
        if self.args.dry_run:
            for line in describe(plan):
                dbg.write(line)
            return
        if plan.refusals:
            raise HotfixError("%s: nothing was changed: %s" % (typed, " ".join(plan.refusals)))
        self._apply(typed, plan, unit, history, built)

    # --- steps -----------------------------------------------------------
    def _diff(self, built, unit, image, history):
        new = Image(built.diff_object)
        if history:
            return new.diff(Image(history[-1].diff_object))
        funcs = [(f["name"], f["value"], f["size"]) for f in image.info.unit_functions(unit)]
        return new.diff(image.info.native, funcs)

    def _check_command(self, typed, plan, image, history):
        """An unedited file whose code differs from the running code means
        the compile command does not reproduce the program (a stale database,
        a missing -D): patching with it would swap in other code."""
        if history:
            return
        try:
            unedited = os.stat(plan.unit.path).st_mtime <= os.stat(image.path).st_mtime
        except OSError:
            return
        if unedited and plan.changed:
            raise HotfixError(
                "%s: the compile command (from %s) does not reproduce the running code: %s "
                "differ%s although %s is not newer than %s; nothing was changed."
                % (typed, plan.command.origin, ", ".join(plan.changed),
                   "s" if len(plan.changed) == 1 else "", typed, os.path.basename(image.path)))

    def _bindings(self, program, wanted):
        """Runtime addresses of the program's own symbols the unit uses."""
        out = {}
        for name in wanted:
            base = name.split("@")[0]
            if base in LINKER_DEFINED or base.startswith(("__start_", "__stop_")):
                continue
            for im in program.images():
                if im.info is None:
                    continue
                sym = im.info.lookup(base)
                if sym is not None and sym["type"] in ("func", "object"):
                    out[base] = sym["value"] + im.bias
                    break
        return out

    def _plan(self, plan, so_path, unit, image, bindings, history):
        so = ImageInfo(so_path)
        table = so.symbol_table()
        plan.got = table["got"]
        plan.functions = {sym["name"]: sym for sym in table["symbols"] if sym["type"] == "func"}
        so_units = [u for u in so.units() if u.name == unit.name] or so.units()
        so_vars = so.variables(so_units[0]) if so_units else {}
        exe_vars = image.info.variables(unit)
        unit_functions = image.info.unit_functions(unit)
        unit_file = os.path.basename(unit.name)
        plan_rebinds(plan, so.native.sites(), table["symbols"], so_vars, exe_vars, unit_functions,
                     image.bias, bindings, unit_file, image.info)
        plan_redirects(plan, unit_functions, image.bias, history, self.dbg.read_memory)
        so.close()

    def _apply(self, typed, plan, unit, history, built):
        dbg = self.dbg
        loader = applying.Loader(self.session)
        ranges = applying.jump_ranges(plan)
        # Refuse before loading anything when it is unsafe and there is no
        # --wait; check again after the load, during which other threads ran,
        # and wait there (with gates) if allowed.
        if self.args.wait is None:
            applying.wait_until_safe(dbg, plan.redirects, ranges, None)
        start = time.monotonic()
        handle, bias = loader.dlopen(dbg, plan.so_path)
        disabled = []
        try:
            trampolines = loader.trampolines(dbg, plan)
            self.times["load"] = time.monotonic() - start
            start = time.monotonic()
            applying.wait_until_safe(dbg, plan.redirects, ranges, self.args.wait, gate=True)
            # A breakpoint inside bytes we overwrite would be re-inserted over
            # the jump: its location on the old code goes; the debugger has
            # already placed one on the new code if its spec names it.
            for loc in dbg.breakpoint_locations():
                if loc.enabled and any(lo <= loc.address < hi for lo, hi, _ in ranges):
                    dbg.set_location_enabled(loc.key, False)
                    disabled.append(loc)
            writes = applying.rebind_writes(plan, bias) + applying.jump_writes(plan, bias, trampolines)
            verbose = dbg.write if self.args.verbose else None
            done = applying.write_all(dbg, writes, verbose)
        except Exception:
            for loc in disabled:
                dbg.set_location_enabled(loc.key, True)
            loader.dlclose(dbg, handle)
            raise
        self.times["patch"] = time.monotonic() - start
        state = self.session.process
        for w in done:
            state.originals.setdefault(w.address, w.old)
        state.disabled_locations += [loc.address for loc in disabled]
        functions = {name: {"address": sym["value"] + bias, "size": sym["size"], "room": sym["room"]}
                     for name, sym in plan.functions.items()}
        entries = [(r.function, e.address, e.size) for r in plan.redirects for e in r.entries
                   if e.version == "original"]
        history.append(Version(plan.so_path, handle, bias, built.diff_object, functions,
                               [r.function for r in plan.redirects], done, typed, time.time(),
                               plan.statics_kept, plan.globals_bound, entries))
        state.patches += 1
        self.say(self._summary(typed, plan))

    def _summary(self, typed, plan):
        parts = []
        names = [r.function for r in plan.redirects]
        parts.append("%d function%s redirected%s" % (len(names), "" if len(names) == 1 else "s",
                                                       " (%s)" % ", ".join(names) if names else ""))
        if plan.new:
            parts.append("%d new (%s)" % (len(plan.new), ", ".join(plan.new)))
        if plan.statics_kept:
            parts.append("%d static%s kept" % (len(plan.statics_kept), "" if len(plan.statics_kept) == 1 else "s"))
        if plan.globals_bound:
            n = len(plan.globals_bound)
            parts.append("%d global%s bound" % (n, "" if n == 1 else "s"))
        if plan.removed:
            parts.append("removed but left in place: %s" % ", ".join(plan.removed))
        timing = ", ".join("%s %s" % (k, _ms(v)) for k, v in self.times.items())
        return "%s: %s \u2014 %s" % (typed, ", ".join(parts), timing)
