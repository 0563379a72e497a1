"""One `hotfix` patch, for any debugger: every named (or changed) unit is
found, compiled, compared with the running code, linked and planned, then
all of them are loaded and written as one operation: all or nothing."""
import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import apply as applying
from . import arch as arches
from . import changes, frames, near, patches, report
from .build import (CLEAR_CACHE, FOREGROUND, compile_like_program, compile_unit, direct_link_possible,
                    driver_link_options, drop_initializers, link_patch, runtime_object)
from .compdb import UnknownFile, find_compile_command, find_unit
from .errors import HotfixError
from .migrate import Move, carry
from .native import Image
from .names import demangle_text
from .plan import (Plan, check_layouts, decide_changes, describe, fill_migration, is_clone, plan_redirects,
                   plan_rebinds, redirect_users, site_users, user_visible)
from .program import Program, Variable, exported_symbols, started_with
from .session import Version

# Symbols the linker makes for each output file: the patch has its own.
LINKER_DEFINED = {"_GLOBAL_OFFSET_TABLE_", "_DYNAMIC", "__dso_handle", "__ehdr_start", "_init",
                  "_fini", "__bss_start", "_end", "_edata", "__executable_start", "__TMC_END__",
                  "__GNU_EH_FRAME_HDR", "_PROCEDURE_LINKAGE_TABLE_"}


def _ms(seconds):
    return "%d ms" % round(seconds * 1000)


def _read_ahead(program, p):
    """While the compiler runs: read (and memoize) what the link and the
    plan will need -- the unit's variables and types in the program, the
    libraries' dynamic symbols, the driver's link options.  Errors are left
    for the steps that need them to report."""
    try:
        p.target.image.info.variables(p.target.unit)
        p.target.image.info.types(p.target.unit)
        for im in program.program_images()[1:]:
            exported_symbols(im.path)
        driver_link_options(p.command.argv[0])
    except Exception:       # noqa: BLE001 - reported where the plan reads them
        pass


def label(path):
    """A unit's path as hotfix names it: relative to here, unless above."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


@dataclass
class Target:
    image: object
    unit: object
    label: str          # the file as the user named it, or the unit's path
    reason: str = ""    # why --all-changed or a header picked it


@dataclass
class Prepared:
    target: Target
    command: object
    history: list
    built: object = None
    plan: Plan = None
    stem: str = ""                                  # the patch's files' names in the work directory
    functions: list = field(default_factory=list)   # the program's functions of the unit
    times: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    sites: list = field(default_factory=list)       # the linked patch's references (native sites)
    symbols: list = field(default_factory=list)     # the linked patch's symbols
    types: tuple = ({}, {})                         # layouts in use and in the patch (check_layouts)
    frame_moves: list = field(default_factory=list)     # running frames moved to the new code (frames.Move)
    error: Exception = None         # a HotfixError: the unit does not compile, link, ...
    ready: str = ""                 # built before the command (prepare.py): "" or how ("prepared ...")
    patch_info: tuple = None        # (ImageInfo, unit) of the linked patch, read while the objects were compared
    all_sites: bool = False         # its plan rebinds every site (a static migrated), not only the live ones
    near: tuple = None              # the extent of its image: built to load within 2 GiB of it (near.py)


# Patch files are STEM-N-M: N the process's patch number, M unique in the
# session (several builds of one unit may be under way: see prepare.py).
_serial = itertools.count(1)


def moved_globals(histories):
    """{symbol: runtime address} of every global a patch of the process
    migrated (histories: unit path -> versions): other units' patches bind
    to its new storage."""
    return {rec["symbol"]: rec["address"] for versions in histories.values()
            for v in versions for rec in v.migrated if rec["external"]}


def build_unit(program, p, workdir, arch, number, moved, runner=FOREGROUND, depfile=None, image_of=None):
    """Compile, compare and link one unit (p: a Prepared with its target,
    command and history); sets p.built, p.plan, p.functions, p.times, and
    p.error (a HotfixError, also returned) when it fails.  Calls nothing of
    the debugger: the program's images were read already (the command's own
    Program, or a snapshot of it: prepare.py calls this on its own thread,
    with a background runner).  number: the patch's number in the process;
    moved: moved_globals(); image_of(path): the session's ImageInfo of a
    file (the linked patch's, read for the plan, is kept there: the next
    patch of the unit asks for its types)."""
    t = p.target
    try:
        p.stem = stem = "%s-%d-%d" % (os.path.splitext(os.path.basename(t.unit.name))[0], number, next(_serial))
        baseline = p.history[-1].baseline if p.history else ""
        # The previous patch's object is compared with only if it was built
        # the same way (near or not: other code).
        known = os.path.exists(baseline) and p.history[-1].near == (p.near is not None)
        p.built = compile_unit(p.command, workdir, stem, arch, first=not known, runner=runner, depfile=depfile,
                               near=p.near is not None)
        p.times["compile"] = p.built.compile_seconds
        p.plan = Plan(t.unit, p.command)
        # The link needs only the compiler's output, like the comparison: it
        # runs on a thread of its own meanwhile, and reads the linked
        # patch's debug information for the plan (a link nobody needs,
        # when nothing changed, costs only that thread).  It starts with
        # the names the object needs; the comparison reads all its symbols.
        patch = Image(p.built.patch_object)
        link = _Thread(lambda: link_unit(program, p, workdir, arch, moved, runner, read=image_of, patch=patch))
        try:
            decide_changes(_diff(p, baseline if known else "", patch), p.plan)
        finally:
            link.join()
        if p.history and not known:
            # Compared with the program's own code (an earlier session's
            # object is gone): a function patched before must get its
            # new body even if it is the program's own again.
            for name in sorted({n for v in p.history for n in v.redirected} - set(p.plan.changed)):
                p.plan.changed.append(name)
                p.plan.why[name] = "patched before"
            p.plan.changed.sort()
        if p.plan.nothing_changed:
            _forget_patch(p, image_of)
            return None
        if not t.reason:
            _check_command(t.label, p.plan, t.image, p.history, runner)
        link.result()
        return None
    except HotfixError as e:
        p.error = e
        return e


def link_unit(program, p, workdir, arch, moved, runner=FOREGROUND, read=None, patch=None):
    """Link the unit's patch against the program's live symbols (read, an
    image_of: and read what the plan asks of its debug information; patch:
    the object, opened already)."""
    t = p.target
    patch_symbols = (patch or Image(p.built.patch_object)).link_needs()
    if drop_initializers(p.built.patch_object, patch_symbols["sections"], p.command.argv[0], runner):
        p.warnings.append("%s has constructors or destructors: the patch does not run them "
                          "(they ran when the program started)." % t.label)
    p.plan.bindings = _bindings(program, patch_symbols["undefined"], moved)
    p.plan.so_path = os.path.join(workdir, p.stem + ".so")
    libraries = [im.path for im in program.program_images()[1:]]
    extra = []
    if "__dso_handle" in patch_symbols["undefined"] or arch.flush_icache:
        extra.append(runtime_object(workdir, p.command.argv[0], runner))
    providers = _providers(program, patch_symbols["undefined"], p.plan.bindings, extra) \
        if direct_link_possible(p.command) else None
    # No symbol of a named version (foo@VERS): ld must see its library.
    started = providers is not None and not any("@" in n for n in patch_symbols["undefined"]) and \
        set(providers) <= started_with(program.program_images())
    try:
        base = near.link_base(p.near) if p.near else None
        p.plan.linked_at = near.stand_ins(p.plan.bindings, base) if p.near else {}
        p.times["link"] = link_patch(p.built.patch_object, p.plan.so_path, dict(p.plan.bindings, **p.plan.linked_at),
                                     libraries, p.command.argv[0], extra, arch.link_flags, runner, providers, base,
                                     started)
    except HotfixError as e:
        # Several units' failures are said together: each names its unit.
        raise type(e)("%s: %s" % (t.label, e)) from e
    if read:
        p.patch_info = _read_patch(p.plan.so_path, t.unit, read)


class _Thread(threading.Thread):
    """A function run on a thread of its own; result() is its value, or
    raises its exception."""

    def __init__(self, function):
        super().__init__(name="hotfix-link", daemon=True)
        self._function, self._value, self._error = function, None, None
        self.start()

    def run(self):
        try:
            self._value = self._function()
        except BaseException as e:      # noqa: BLE001 - handed to result()
            self._error = e

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _forget_patch(p, image_of=None):
    """The linked patch nobody needs (nothing changed): its files go."""
    p.patch_info = None
    if p.plan.so_path:
        forget = getattr(getattr(image_of, "__self__", None), "forget", None)
        if forget is not None:
            forget(p.plan.so_path)
        for path in (p.plan.so_path, p.plan.so_path + ".bind.ld"):
            try:
                os.unlink(path)
            except OSError:
                pass
    p.plan.so_path = ""


def _read_patch(so_path, unit, image_of):
    """The linked patch and its unit, with what the plan asks of its debug
    information read already (types and variables)."""
    so = image_of(so_path)
    so.symbol_table()
    so_units = [u for u in so.units() if u.name == unit.name] or so.units()
    if so_units:
        so.variables(so_units[0])
        so.types(so_units[0])
    return so, (so_units[0] if so_units else None)


def _diff(p, baseline, patch):
    if baseline:
        # Both built for loading, with the same flags.
        new = patch
        p.functions = _functions(p.target, new)
        return new.diff(Image(baseline))
    new = Image(p.built.diff_object)
    p.functions = _functions(p.target, new)
    return new.diff(p.target.image.info.native, [(f["name"], f["value"], f["size"]) for f in p.functions])


def _functions(target, new):
    """The program's functions of this unit: those in its address
    ranges, and the one copy the program kept of each inline or template
    function (weak, COMDAT) the unit defines, wherever it landed."""
    info = target.image.info
    functions = info.unit_functions(target.unit)
    have = {f["name"] for f in functions}
    for sym in new.symbols()["symbols"]:
        if sym["type"] == "func" and sym["bind"] == "weak" and sym["name"] not in have:
            kept = info.lookup(sym["name"])
            if kept is not None and kept["type"] == "func" and kept["size"]:
                functions.append(kept)
                have.add(sym["name"])
    return functions


def _check_command(typed, plan, image, history, runner=FOREGROUND):
    """An unedited file whose code differs from the running code means
    the compile command does not reproduce the program (a stale database,
    a missing -D): patching with it would swap in other code."""
    if history or not plan.changed:
        return
    built_at = os.stat(image.path).st_mtime

    def edited(paths):
        return any(os.path.exists(f) and os.stat(f).st_mtime > built_at for f in paths)

    unit = plan.unit
    if edited(image.info.unit_files(unit) | {unit.path}) or \
            edited(changes.dependencies(unit, plan.command, None if runner is FOREGROUND else runner)):
        return
    raise HotfixError(
        "%s: the compile command (from %s) does not reproduce the running code: %s "
        "differ%s although neither %s nor a file it includes is newer than %s; nothing was changed."
        % (typed, plan.command.origin, ", ".join(plan.changed),
           "s" if len(plan.changed) == 1 else "", typed, os.path.basename(image.path)))


def _bindings(program, wanted, moved):
    """Runtime addresses of the program's own symbols the unit uses."""
    out = {}
    left = [base for base in dict.fromkeys(name.split("@")[0] for name in wanted)
            if base not in LINKER_DEFINED and not base.startswith(("__start_", "__stop_"))]
    for im in program.images():
        if im.info is None or not left:
            continue
        lookup, bias, rest = im.info.lookup, im.bias, []
        for base in left:
            sym = lookup(base)
            if sym is not None and sym["type"] in ("func", "object"):
                out[base] = sym["value"] + bias
            else:
                rest.append(base)
        left = rest
    # A global an earlier patch migrated lives in that patch's copy.
    for name in set(out) & set(moved):
        out[name] = moved[name]
    return out


_object_symbols = {}


def _providers(program, undefined, bindings, extra):
    """The loaded libraries that define what the patch (and the extra
    objects linked with it) refers to beyond the program's own symbols
    (bindings) and the linker's, in the order the loader searches them
    (the first one defining a symbol provides it, as in a link against
    all of them); None when a symbol is defined by none of them (the
    compiler driver's own libraries may: link_patch lets the driver link)."""
    defined, wanted = set(), set(undefined)
    for path in extra:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        if key not in _object_symbols:
            table = Image(path).symbols()
            _object_symbols[key] = ({s["name"] for s in table["symbols"] if s["bind"] != "local"},
                                    set(table["undefined"]))
        defined |= _object_symbols[key][0]
        wanted |= _object_symbols[key][1]
    names = {n.split("@")[0] for n in wanted}
    names = {n for n in names if n not in bindings and n not in defined and n not in LINKER_DEFINED and
             not n.startswith(("__start_", "__stop_"))}
    libraries = [im.path for im in program.program_images()[1:]]
    used = set()
    tables = []
    for name in names:
        for i, path in enumerate(libraries):
            if i == len(tables):
                tables.append(exported_symbols(path))      # each file stat'ed once
            if tables[i] is None:
                return None
            if name in tables[i]:
                used.add(path)
                break
        else:
            return None
    return [path for path in libraries if path in used]


def plan_unit(p, image_of, arch, all_sites=False):
    """The part of a changed unit's plan that needs nothing of the process
    (so prepare.py makes it too): what the patch's references are bound
    to, which statics it migrates (their old and new types read now,
    while the patch's DWARF is open), and the types' layouts to compare.
    The redirects and the layout check (Hotfix._plan_jumps) read the
    process.  image_of(path): an ImageInfo (the session's cache).

    Only the references the new code reaches are rebound, unless all_sites
    or a static migrates: the patch's copies of unchanged functions never
    run (every 64-bit reference to one is pointed at the program's
    original, so the new code calls, and takes the address of, the
    original; nothing else enters the patch), so their references need
    not be rebound.  What changed decides the work, not the unit's size
    (sqlite3.c: 23,000 sites for one changed function).  native/sites.c
    follows every reference a part makes that is not pointed at the
    program -- pc-relative ones, new functions, clones, data -- and keeps
    places in no part.  A migrated static makes every function that uses
    it run the patch's code (redirect_users), found from the sites: then
    every site counts."""
    plan, unit, image = p.plan, p.target.unit, p.target.image
    so, so_unit = p.patch_info or _read_patch(plan.so_path, unit, image_of)
    p.patch_info = None
    # Planned afresh (again, with every site, for a migration).
    plan.rebinds, plan.migrations, plan.refusals = [], [], []
    table = so.symbol_table()
    plan.got = table["got"]
    plan.functions = {sym["name"]: sym for sym in table["symbols"] if sym["type"] == "func"}
    so_vars = so.variables(so_unit) if so_unit else {}
    live = _live_in_patches(p.history)
    exe_vars = dict(image.info.variables(unit))
    for key, rec in live.items():
        # Its storage is an earlier patch's copy now (addresses are
        # relative to the program's bias here, as the others are).
        exe_vars[key] = Variable(key[0], key[1], rec["address"] - image.bias, rec["size"], rec["type"],
                                 rec["external"])
    p.symbols = table["symbols"]
    p.all_sites = all_sites
    if all_sites:
        p.sites = so.native.sites()
    else:
        originals = {f["name"] for f in p.functions}
        bound = {name for name in plan.functions if name in originals and not is_clone(name)}
        p.sites = so.native.live_sites(set(plan.changed) | set(plan.new), bound)
    plan_rebinds(plan, p.sites, p.symbols, so_vars, exe_vars, p.functions,
                 image.bias, plan.bindings, os.path.basename(unit.name), image.info, near=p.near is not None,
                 linked_at=plan.linked_at)
    if not all_sites:
        # Every program symbol the patch refers to is bound (native lists no
        # unreached place naming one: a unit calling 6,000 functions of other
        # units would give 6,000).
        plan.globals_bound = sorted(set(plan.globals_bound) | set(user_visible(plan.bindings)))
    if plan.migrations and not all_sites:
        p.patch_info = (so, so_unit)
        return plan_unit(p, image_of, arch, all_sites=True)
    # Statics new in this patch: the next patch of the unit uses them.
    fresh = set(plan.new_statics)
    plan.added_statics = [v for key, v in so_vars.items()
                          if key not in exe_vars and v.address is not None and v.name in fresh]
    for m in plan.migrations:
        _map_migration(p, m, live.get(m.key), so, so_unit, so_vars[m.key], image_of, arch)
    if so_unit:
        p.types = (_types_in_use(p, image_of), so.types(so_unit))


def _live_in_patches(history):
    """{(scope, name): record} of the unit's statics whose storage is an
    earlier patch's: those it migrated and those it added (a static new in
    a patch keeps its value in the next, as the program's do), the newest
    storage of each."""
    live = {}
    for v in history:
        for rec in v.added_statics + v.migrated:
            live[(rec["scope"], rec["name"])] = rec
    return live


def _map_migration(p, m, before, so, so_unit, new_var, image_of, arch):
    """The member mapping of one migrated static, from its type in use
    (the program's, or the earlier patch's that migrated it) and the
    patch's."""
    plan, unit, info = p.plan, p.target.unit, p.target.image.info
    if arch is not arches.X86_64:
        # gotasm.py turns its references into GOT slots, which do not
        # say which function uses them: its users cannot all be found.
        plan.refusals.append("the type of %s changed from `%s' to `%s' and hotfix cannot migrate it: on %s "
                             "the patch reaches statics through GOT slots, which do not tell which functions "
                             "use it." % (m.label, m.old_type, m.new_type, arch.name))
        return
    if before is None:
        # The program's own code that uses it: functions of the unit
        # the patch no longer has would go on with the old storage.
        lo = m.old_address - p.target.image.bias
        used = {f["name"] for f in info.users(lo, lo + m.old_size)}
        m.users |= used & set(plan.refs)
        gone = sorted(used & set(plan.removed))
        if gone:
            plan.refusals.append("the type of %s changed from `%s' to `%s' and hotfix cannot migrate it: %s "
                                 "used it and %s no longer in the source, so nothing would make %s use the new "
                                 "storage." % (m.label, m.old_type, m.new_type, ", ".join(gone),
                                               "is" if len(gone) == 1 else "are", "it" if len(gone) == 1 else
                                               "them"))
    try:
        new_shape = so.shape(so_unit, new_var)
        if before is None:
            old_shape = info.shape(unit, info.variables(unit)[m.key])
        else:
            older = image_of(before["so_path"])
            older_unit = [u for u in older.units() if u.name == unit.name][0]
            old_shape = older.shape(older_unit, older.variables(older_unit)[m.key])
    except (HotfixError, OSError, KeyError, IndexError) as e:
        plan.refusals.append("the type of %s changed from `%s' to `%s' and hotfix cannot migrate it: "
                             "%s" % (m.label, m.old_type, m.new_type, e or "its DWARF is gone"))
        return
    plan.refusals += fill_migration(m, old_shape, new_shape)


def _types_in_use(p, image_of):
    """The layouts the process's objects of the unit's types have: the
    newest patch's (each applied patch's types are in use: a changed
    one was refused, or its statics migrated), else the program's."""
    for v in reversed(p.history):
        if os.path.exists(v.so_path):
            older = image_of(v.so_path)
            units = [u for u in older.units() if u.name == p.target.unit.name]
            if units:
                return older.types(units[0])
            break
    return p.target.image.info.types(p.target.unit)


class Hotfix:
    """One `hotfix` command: every named (or changed) unit is compiled, then
    all of them are applied as one operation: all or nothing."""

    def __init__(self, dbg, session, args, program=None):
        self.dbg = dbg
        self.session = session
        self.args = args
        self.times = {}
        self._program = program
        self.carried = None     # what migrating statics wrote (migrate.Carried)
        self._prepared = []         # the units being patched (what _frame_maps looks at)
        self._placed = False        # the new bodies of moved frames are laid out
        self._retried = False       # built again after a patch landed out of reach (near.py)

    def say(self, text):
        self.dbg.write("hotfix: " + demangle_text(text))

    def run(self):
        program = self._program or Program(self.dbg, self.session.cache, self.session.process.shipped)
        self._check_program(program)
        self.arch = arches.of_program(program)
        self.program = program
        targets = self._targets(program)
        if not targets:
            self.say("no source file of the program changed since it was built or last patched.")
            return
        if any(t.reason for t in targets):
            self.say("%d unit%s to rebuild: %s" % (
                len(targets), "" if len(targets) == 1 else "s",
                ", ".join("%s (%s)" % (t.label, t.reason or "named") for t in targets)))
        prepared = self._prepare_all(program, targets)
        for p in prepared:
            for w in p.warnings:
                self.say("warning: " + w)
        changed = [p for p in prepared if not p.plan.nothing_changed]
        self._prepared = changed
        for p in prepared:
            if p.plan.nothing_changed:
                self.say("%s: no function changed%s; nothing to do." % (p.target.label, _lines_only(p.plan)))
        if not changed:
            return
        unreadable = [p for p in changed if p.plan.far and p.near]
        if unreadable and not self._retried:
            return self._again_anywhere(program, unreadable, "%s: hotfix cannot read every reference of the "
                                        "patch to load it near the program" % unreadable[0].target.label)
        if self.args.dry_run:
            for p in changed:
                threads = self.dbg.threads()
                self._frame_maps(threads)
                for line in describe(p.plan) + frames.describe_moves(threads, p.plan.frame_maps):
                    self.dbg.write(demangle_text(line))
            self._dry_run_migrations(changed)
            return
        refusals = ["%s: %s" % (p.target.label, r) for p in changed for r in p.plan.refusals]
        if refusals:
            if len(changed) == 1:
                raise HotfixError(demangle_text("%s: nothing was changed: %s" % (
                    changed[0].target.label, " ".join(changed[0].plan.refusals))))
            raise HotfixError(demangle_text("nothing was changed: %s" % " ".join(refusals)))
        try:
            self._apply_all(changed)
        except applying.OutOfReach as e:
            # Nothing was changed.
            if self._retried:
                raise
            self._again_anywhere(program, [p for p in changed if p.near], str(e))

    def _again_anywhere(self, program, prepared, why):
        """The command again (once), the units built to load anywhere
        (-mcmodel=large) from now on in this session."""
        self._retried = True
        for p in prepared:
            self.session.process.far_units.add(p.target.unit.path)
        self.say("%s; building it again to load anywhere." % why.rstrip("."))
        self._program = program
        self.run()

    # --- what to patch ---------------------------------------------------
    def _check_program(self, program):
        main = program.main_image()
        if main.info is None:
            raise HotfixError("%s has no symbol table (it is stripped): hotfix needs the "
                              "symbols and debug information of a -g build." % main.path)
        if not main.info.native.header()["dynamic"]:
            raise HotfixError("the program is statically linked (no dynamic loader), so hotfix "
                              "cannot load a patch into it.")

    def _targets(self, program):
        s = self.session
        if self.args.all_changed:
            mtime = changes.Mtimes()
            files = s.files.of(program, self.dbg.executable(), mtime)
            return [Target(image, unit, label(unit.path), reason)
                    for image, unit, reason in changes.changed_units(files, s.history, mtime)]
        targets = {}
        for typed in self.args.files:
            try:
                unit = find_unit(program, typed)
                targets.setdefault(unit.path, Target(program.image_for(unit.image), unit, typed))
                continue
            except UnknownFile as not_a_unit:
                files = s.files.of(program, self.dbg.executable())
                header = os.path.abspath(typed) if os.path.isfile(typed) else \
                    self._header_as_named(files, typed, not_a_unit)
                including = changes.units_including(files, header)
                if not including:
                    raise HotfixError("%s is not a source file of the program, and no unit of it "
                                      "includes it." % typed) from not_a_unit
                for image, unit in including:
                    targets.setdefault(unit.path, Target(image, unit, label(unit.path),
                                                         "includes %s" % typed))
        return list(targets.values())

    @staticmethod
    def _header_as_named(files, typed, not_a_unit):
        """A header named as the debug information names it (relative to a
        unit's directory, or the end of its path), from anywhere."""
        suffix = os.sep + os.path.normpath(typed)
        found = sorted({n for _, _, _, names in files for n in names if n.endswith(suffix)})
        if not found:
            raise not_a_unit
        if len(found) > 1:
            raise HotfixError("%s matches several files of the program: %s; give the full path."
                              % (typed, ", ".join(found)))
        return found[0]

    # --- compile, compare, link: every unit in parallel ----------------
    def _prepare_all(self, program, targets):
        s = self.session
        prepared = []
        for t in targets:
            if t.unit.split:
                raise HotfixError(
                    "%s was built with -gsplit-dwarf: its debug information is in a .dwo file, which "
                    "hotfix does not read, so it cannot check its statics and types; rebuild it "
                    "without -gsplit-dwarf." % t.label)
            command = find_compile_command(t.unit, self.dbg.executable())
            p = Prepared(t, command, s.history(t.unit))
            p.near = near.choice(self.arch, s.process, t, p.history)
            if command.warning:
                p.warnings.append(command.warning)
            prepared.append(p)
        report.note_prepared(self.dbg, prepared)
        moved = moved_globals(s.process.units)
        todo = self._take_prepared(program, prepared, moved)
        workers = max(1, min(len(todo), (os.cpu_count() or 2) // 2))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            running = pool.map(lambda p: build_unit(program, p, s.workdir, self.arch, s.process.patches + 1, moved,
                                                    image_of=self._image_of), todo)
            # While the compilers run: what the plan will need of the
            # program's DWARF (the slow part of a first patch).
            for p in todo:
                _read_ahead(program, p)
            if todo:
                self._unwind_ahead()
            list(running)
        errors = [p.error for p in prepared if p.error is not None]
        if errors:
            if len(errors) == 1:
                raise errors[0]
            raise HotfixError("nothing was changed: %s" % "\n".join(str(e) for e in errors))
        built_now = {id(p) for p in todo}
        for p in prepared:
            if not p.plan.nothing_changed and id(p) in built_now:
                plan_unit(p, self._image_of, self.arch)
        self._users_of_migrated_globals(program, prepared)
        for p in prepared:
            if not p.plan.nothing_changed:
                self._plan_jumps(p, prepared)
        return prepared

    def _unwind_ahead(self):
        """While the compilers run: every thread's stack, which the stack
        check reads before the load (both adapters keep it until the
        program moves)."""
        try:
            self.dbg.threads()
        except Exception:       # noqa: BLE001 - the stack check says what is wrong
            pass

    def _frame_maps(self, threads):
        """Where running frames of changed functions can go (frames.py):
        computed for the bodies that frames of `threads` run, the first time
        one does (the stack check asks only when a changed function runs).
        After the new bodies were laid out, a body that frames of the
        program's code enter is refused: nothing is placed for it now."""
        if not self.arch.moves_frames:
            return []
        out = []
        for p in self._prepared:
            plan = p.plan
            if plan.nothing_changed or plan.refusals:
                continue
            added = frames.plan_frame_maps(plan, threads, p.target.unit, p.command, p.target.image, p.functions,
                                           p.history, lambda p=p: self._like_program(p), p.built.patch_object)
            for m in added:
                if self._placed and m.into == "placed" and not plan.placements[m.body.function].address:
                    m.refused = m.refused or "it began running after hotfix laid out the new bodies; try again"
            out += plan.frame_maps
        return out

    def _like_program(self, p):
        """The unit compiled with the program's own flags: the new body of a
        frame moved out of the program's code."""
        if p.built.diff_object and os.path.exists(p.built.diff_object):
            return p.built.diff_object
        stem = os.path.basename(p.built.patch_object)[:-len(".patch.o")]
        p.built.diff_object = compile_like_program(p.command, self.session.workdir, stem, self.arch)
        return p.built.diff_object

    def _take_prepared(self, program, prepared, moved):
        """Put the patches the preparer built (prepare.py) in place of those
        it built from the files as they are now, against the same history;
        the others, returned, are built now (and the preparer leaves them
        to this command)."""
        preparer = self.session.preparer
        if preparer is None or self.args.dry_run:
            return list(prepared)
        todo = []
        for i, p in enumerate(prepared):
            ready = preparer.take(p, program, moved)
            if ready is None:
                todo.append(p)
            else:
                prepared[i] = ready
        preparer.claim([p.target.unit.path for p in todo])
        return todo

    def _image_of(self, path):
        return self.session.cache.image(path)

    def _users_of_migrated_globals(self, program, prepared):
        """A migrated global is used by other units too: each of them that
        uses it must be in this hotfix (its functions that use it are
        redirected, its references bound to the new storage), or the
        migration is refused naming it."""
        owners = [(p, m) for p in prepared if p.plan is not None for m in p.plan.migrations if m.external]
        for owner, m in owners:
            image = owner.target.image
            others = {q.target.unit.path: q for q in prepared if q is not owner and q.target.image is image}
            # The program's code says which units use it (their patches'
            # relocations, which functions of those in this hotfix).
            lo = m.old_address - image.bias
            users = {}
            for f in image.info.users(lo, lo + m.old_size):
                unit = image.info.unit_of(f["value"])
                if unit is not None and unit.path != owner.target.unit.path:
                    users.setdefault(unit.path, (unit, []))[1].append(f["name"])
            refused = []
            for path, (unit, functions) in sorted(users.items()):
                q = others.get(path)
                if q is None:
                    refused.append((unit, "%s uses it (%s)" % (unit.name, ", ".join(sorted(functions)))))
                    continue
                if not q.plan.so_path:          # nothing of it changed: linked now
                    link_unit(program, q, self.session.workdir, self.arch, moved_globals(self.session.process.units))
                if not q.all_sites:             # its functions that use it are redirected: every site counts
                    plan_unit(q, self._image_of, self.arch, all_sites=True)
                redirect_users(q.plan, site_users(q.sites, q.symbols, m.symbol) | set(functions),
                               "uses %s, which is migrated" % m.label)
            if refused:
                owner.plan.refusals.append(
                    "the type of %s changed from `%s' to `%s' and hotfix cannot migrate it: %s; hotfix %s with it "
                    "(hotfix %s)." % (
                        m.label, m.old_type, m.new_type, "; ".join(why for _, why in refused),
                        "that unit" if len(refused) == 1 else "those units",
                        " ".join([owner.target.label] + [label(u.path) for u, _ in refused])))

    def _plan_jumps(self, p, prepared):
        """Every function that uses a migrated static is redirected with the
        changed ones; then the jumps, and the layout check."""
        plan, image = p.plan, p.target.image
        for m in plan.migrations:
            redirect_users(plan, m.users, "uses %s, which is migrated" % m.label)
        plan_redirects(plan, p.functions, image.bias, p.history, self.dbg.read_memory, self.arch)
        old_types, new_types = p.types
        migrated_globals = {m.symbol for q in prepared if q.plan is not None for m in q.plan.migrations
                            if m.external}
        instances = None
        changed = [n for n in set(old_types) & set(new_types) if old_types[n] != new_types[n]]
        if changed and (plan.migrations or migrated_globals):
            instances = {}
            for u in image.info.units():
                if not set(changed) & set(image.info.types(u)):
                    continue
                for name, uses in image.info.type_uses(u, set(changed)).items():
                    instances.setdefault(name, []).extend((u.name,) + use for use in uses)
        check_layouts(plan, old_types, new_types, instances, migrated_globals)

    # --- load, check, write: all or nothing ----------------------------
    def _apply_all(self, prepared):
        dbg, arch = self.dbg, self.arch
        loader = applying.Loader(self.session)
        redirects = [r for p in prepared for r in p.plan.redirects]
        ranges = [x for p in prepared for x in applying.jump_ranges(p.plan)]
        fmaps = self._frame_maps
        # Refuse before loading anything when it is unsafe and there is no
        # --wait; check again after the load, during which other threads ran,
        # and wait there (with gates) if allowed.
        if self.args.wait is None:
            applying.wait_until_safe(dbg, redirects, ranges, None, frame_maps=fmaps)
        else:
            applying.wait_for_calling_thread(dbg, self.args.wait)
            # The frames that may have to move: their new bodies are laid
            # out after the load.
            if any(r.entries for r in redirects):
                self._frame_maps(dbg.threads())
        start = time.monotonic()
        loaded, disabled, symbol_files, writes, moves, frame_moves = [], [], [], [], [], []
        verbose = dbg.write if self.args.verbose else None
        protections = applying.Protections(dbg, loader, applying.protection_lookup(
            self.program, self.session.process, lambda: [(p.plan.so_path, b) for p, (_, b) in zip(prepared, loaded)]),
            verbose)
        try:
            places = []
            for p in prepared:
                places.append(loader.place(dbg, p.plan.so_path))
                loaded.append(loader.dlopen(dbg, places[-1], p.near and (p.near, p.plan.so_path)))
            trampolines = {}
            for p in prepared:
                trampolines.update(loader.trampolines(dbg, p.plan, arch))
            moves = [Move(m, m.new_at + bias) for p, (_, bias) in zip(prepared, loaded) for m in p.plan.migrations]
            moved = {mv.migration.symbol: mv.new_address for mv in moves if mv.migration.external}
            rebinds, jumps, bodies = [], [], []
            for p, (_, bias) in zip(prepared, loaded):
                slots = loader.slots(dbg, applying.far_branches(p.plan, bias), arch.near_reach)
                rebinds += applying.rebind_writes(p.plan, bias, moved, slots, arch)
                jumps += applying.jump_writes(p.plan, bias, trampolines, arch)
                bodies += self._place_bodies(p, bias, loader)
            self._placed = True
            writes = rebinds + bodies + jumps
            # Inferior calls (mprotect) let threads run: all of them happen
            # before the stack check.
            protections.prepare([(w.address, len(w.data)) for w in writes] +
                                [(mv.new_address, mv.migration.new_size) for mv in moves])
            self.times["load"] = time.monotonic() - start
            start = time.monotonic()
            frame_moves = applying.wait_until_safe(dbg, redirects, ranges, self.args.wait, gate=True, arch=arch,
                                                   protections=protections, frame_maps=fmaps)
            if moves:
                # Every thread is stopped for good now: the values to carry
                # are read, and the pointers into old storage looked for.
                try:
                    carried = carry(dbg, self.program, moves, self.args.force_migrate)
                except HotfixError as e:
                    if len(prepared) == 1:
                        raise HotfixError("%s: %s" % (prepared[0].target.label, e)) from e
                    raise
                if not carried.unsearched:
                    self.times["scan"] = carried.scan.seconds
                self.carried = carried
                protections.prepare([(w.address, len(w.data)) for w in carried.writes])
                writes = rebinds + bodies + carried.writes + jumps
            writes += self._move_writes(frame_moves, prepared, loaded)
            # A breakpoint inside bytes we overwrite would be re-inserted over
            # the jump: its location on the old code goes; the debugger has
            # already placed one on the new code if its spec names it.
            for loc in dbg.breakpoint_locations():
                if loc.enabled and any(lo <= loc.address < hi for lo, hi, _ in ranges):
                    dbg.set_location_enabled(loc.key, False)
                    disabled.append(loc)
            done = applying.write_all(dbg, writes, verbose, protections)
            if frame_moves:
                dbg.forget_frames(sorted({m.thread for m in frame_moves}))
                symbol_files = self._add_symbols(prepared, frame_moves)
            if arch.flush_icache:
                p, (_, bias) = prepared[0], loaded[0]
                helper = p.plan.functions[CLEAR_CACHE]["value"] + bias
                try:
                    applying.clear_caches(dbg, loader, helper, jumps, verbose)
                except HotfixError:
                    applying.write_all(dbg, [applying.Write(w.address, w.old, "restore " + w.what)
                                             for w in reversed(done)], protections=protections)
                    raise
        except Exception as error:
            for path in symbol_files:
                dbg.remove_symbol_file(path)
            if frame_moves:
                dbg.forget_frames(sorted({m.thread for m in frame_moves}))
            for loc in disabled:
                dbg.set_location_enabled(loc.key, True)
            try:
                protections.restore()
            except HotfixError:
                pass
            stuck = []
            for (handle, _), place in reversed(list(zip(loaded, places))):
                why = loader.unload(dbg, handle, place)
                if why:
                    stuck.append("%s (%s)" % (place, why))
            if stuck and isinstance(error, HotfixError):
                raise HotfixError("%s The patch library %s stays in the process, unused."
                                  % (str(error), ", ".join(stuck))) from error
            raise
        protections.restore()
        self.times["patch"] = time.monotonic() - start
        if self.carried is not None:
            if self.carried.stray:
                self.say("warning: --force-migrate: left pointing at the old storage: %s."
                         % "; ".join(self.carried.stray))
            if self.carried.unsearched:
                self.say("warning: --force-migrate: the process was not searched for pointers into the old "
                         "storage (%s)." % self.carried.unsearched)
            if verbose:
                verbose("  searched %d kB of the process's memory for pointers into the old storage in %s"
                        % (self.carried.scan.bytes // 1024, _ms(self.carried.scan.seconds)))
        state = self.session.process
        entry_bytes = [w for w in done if not w.unreached and not w.expect]     # what --revert puts back
        for w in entry_bytes:
            state.originals.setdefault(w.address, w.old)
        state.disabled_locations += [loc.address for loc in disabled]
        for p, (handle, bias), place in zip(prepared, loaded, places):
            plan = p.plan
            self.program.note_loaded(place, plan.so_path, bias)
            functions = {name: {"address": sym["value"] + bias, "size": sym["size"], "room": sym["room"]}
                         for name, sym in plan.functions.items()}
            entries = [(r.function, e.address, e.size) for r in plan.redirects for e in r.entries
                       if e.version == "original"]
            migrated = [{"scope": m.key[0], "name": m.key[1], "label": m.label, "symbol": m.symbol,
                         "external": m.external, "address": m.new_at + bias, "size": m.new_size,
                         "type": m.new_type, "so_path": plan.so_path} for m in plan.migrations]
            added = [{"scope": v.scope, "name": v.name, "address": v.address + bias, "size": v.size,
                      "type": v.type, "external": bool(v.external), "so_path": plan.so_path}
                     for v in plan.added_statics]
            version = Version(plan.so_path, handle, bias, p.built.patch_object, functions,
                              [r.function for r in plan.redirects], p.target.label,
                              time.time(), plan.statics_kept, plan.globals_bound, entries,
                              place if place != plan.so_path else "", migrated,
                              frames.manifest_entries(plan.placements, [m for m in frame_moves if m.map in plan.frame_maps]),
                              added, p.near is not None)
            p.frame_moves = [m for m in frame_moves if m.map in plan.frame_maps]
            p.history.append(version)
            state.patches += 1
            originals = {w.address: w.old for w in entry_bytes
                         if any(a <= w.address < a + 16 for _, a, _ in entries)}
            patches.write_manifest(version, p.target.unit.path, len(p.history), originals)
            self.say(self._summary(p))

    # --- frames moved into new bodies (frames.py) -------------------------
    def _place_bodies(self, p, bias, loader):
        """Lay out, near the program, the new bodies frames of the program's
        own code will move into (writes of code nothing runs yet).  A body
        that cannot be laid out refuses its frames, with the reason."""
        plan, writes = p.plan, []
        for placement in plan.placements.values():
            used = [m for m in plan.frame_maps if m.into == "placed" and m.body.function == placement.function]
            try:
                obj, size, text, missing = frames.resolve_placement(
                    placement, self.program, p.functions, p.target.image.bias, plan.bindings, plan.data_bound,
                    plan.functions, bias,
                    lambda name: _bindings(self.program, [name], moved_globals(self.session.process.units)).get(name)
                    or self.dbg.symbol_address(name))
                if missing:
                    raise HotfixError("no address for %s" % ", ".join(missing))
                base = loader.map_near(self.dbg, placement.near, size, "the new body of %s" % placement.function)
                code = frames.place(placement, obj, base, text)
                shadow = sum((n + 15) & ~15 for _, n in placement.unplaced)
                if shadow:
                    at = loader.map_anywhere(self.dbg, shadow)
                    for name, n in placement.unplaced:
                        placement.sections[name] = at
                        at += (n + 15) & ~15
            except HotfixError as e:
                placement.refused = str(e)
                for m in used:
                    m.refused = "its new body cannot be laid out near the program: %s" % e
                continue
            writes.append(applying.Write(base, code, "new body of %s for moved frames" % placement.function,
                                         unreached=True))
        return writes

    def _move_writes(self, moves, prepared, loaded):
        """Each frame to its new body: a caller by its return address (in
        the slot below it, checked to hold the old one), frame 0 by its pc."""
        out = []
        for p, (_, bias) in zip(prepared, loaded):
            for m in moves:
                if m.map not in p.plan.frame_maps:
                    continue
                to = frames.new_address(m, p.plan.functions, bias, p.plan.placements)
                what = "move %s %s to its new body" % (m.function, m.what())
                old = m.pc.to_bytes(8, "little")
                if m.level == 0:
                    out.append(applying.Write(0, to.to_bytes(8, "little"), what, expect=old, register="pc",
                                              thread=m.thread))
                else:
                    out.append(applying.Write(self.dbg.return_address_slot(m.thread, m.level),
                                              to.to_bytes(8, "little"), what, expect=old))
        return out

    def _add_symbols(self, prepared, moves):
        """The debugger reads each placed body's object, so that moved frames
        unwind and show their function and line; a failure is only said."""
        added = []
        for p in prepared:
            used = {m.function for m in moves if m.map in p.plan.frame_maps and m.map.into == "placed"}
            for placement in p.plan.placements.values():
                if placement.function not in used:
                    continue
                try:
                    self.dbg.add_symbol_file(placement.obj, placement.sections)
                    added.append(placement.obj)
                except OSError as e:
                    self.say("warning: the debugger could not read %s (%s): frames moved into the new %s may "
                             "show no function or line." % (os.path.basename(placement.obj), e,
                                                            placement.function))
        return added

    def _dry_run_migrations(self, changed):
        """What migrating the statics would do now: the values read, the
        pointers found (the patch is not loaded: its storage is shown at
        its link-time address)."""
        moves = [Move(m, m.new_at) for p in changed for m in p.plan.migrations
                 if not any(r.startswith("the type of %s " % m.label) for r in p.plan.refusals)]
        if not moves:
            return
        try:
            carried = carry(self.dbg, self.program, moves, self.args.force_migrate, initial=False)
        except HotfixError as e:
            self.dbg.write(demangle_text("  refused when applied now: %s" % e))
            return
        for r in carried.rewritten:
            self.dbg.write(demangle_text("  pointer to rewrite: %s" % r))
        for r in carried.stray:
            self.dbg.write(demangle_text("  pointer left to the old storage (--force-migrate): %s" % r))
        self.dbg.write("  searched %d kB of the process's memory for pointers into the old storage in %s"
                       % (carried.scan.bytes // 1024, _ms(carried.scan.seconds)))

    def _summary(self, p):
        plan = p.plan
        parts = []
        names = [r.function for r in plan.redirects]
        parts.append("%d function%s redirected%s" % (len(names), "" if len(names) == 1 else "s",
                                                       " (%s)" % ", ".join(names) if names else ""))
        if plan.new:
            parts.append("%d new (%s)" % (len(plan.new), ", ".join(plan.new)))
        if plan.statics_kept:
            parts.append("%d static%s kept" % (len(plan.statics_kept), "" if len(plan.statics_kept) == 1 else "s"))
        if plan.new_statics:
            n = len(plan.new_statics)
            parts.append("%d new static%s (start from %s initial value: %s)" % (
                n, "" if n == 1 else "s", "its" if n == 1 else "their", ", ".join(plan.new_statics)))
        if plan.globals_bound:
            n = len(plan.globals_bound)
            parts.append("%d global%s bound" % (n, "" if n == 1 else "s"))
        if plan.migrations:
            n = len(plan.migrations)
            parts.append("%d static%s migrated (%s)" % (n, "" if n == 1 else "s", ", ".join(
                m.label + (": dropped %s" % ", ".join(m.dropped) if m.dropped else "") for m in plan.migrations)))
            rewritten = [r for r in self.carried.rewritten if any(r.endswith("-> " + m.label) for m in plan.migrations)]
            if rewritten:
                parts.append("%d pointer%s to %s rewritten" % (len(rewritten), "" if len(rewritten) == 1 else "s",
                                                              "it" if n == 1 else "them"))
        if plan.removed:
            parts.append("removed but left in place: %s" % ", ".join(plan.removed))
        if plan.lines_only:
            parts.append("only line numbers changed: %s" % ", ".join(plan.lines_only))
        moved = p.frame_moves
        if moved:
            parts.append("%d running frame%s moved to the new code (%s)" % (
                len(moved), "" if len(moved) == 1 else "s",
                ", ".join("%s in thread %d, frame #%d" % (m.function, m.thread, m.level) for m in moved)))
        timing = ", ".join("%s %s" % (k, _ms(v)) for k, v in dict(p.times, **self.times).items())
        if p.ready:
            # Compiled and linked before the command (prepare.py).
            here = ", ".join("%s %s" % (k, _ms(v)) for k, v in self.times.items())
            timing = "%s (%s), %s" % (p.ready, ", ".join("%s %s" % (k, _ms(v)) for k, v in p.times.items()), here)
        return "%s: %s \u2014 %s" % (p.target.label, ", ".join(parts), timing)


def _lines_only(plan):
    return " (only line numbers, in %s)" % ", ".join(plan.lines_only) if plan.lines_only else ""
