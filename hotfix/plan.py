"""Planning a patch: everything decided before the process is touched.

A Plan says which functions changed (and so get a jump from every entry
they had), which references of the patch are pointed at the program's live
functions and variables, and what must be refused.  It is plain data:
`--dry-run` prints it, unit tests build it, apply.py carries it out.

Addresses in the patch are link-time addresses of the .so ("patch+0x..."):
they become real once the loader has chosen where the .so lives.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Set, Tuple

from . import native
from .arch import X86_64
from .frames import Body
from .migrate import map_shapes
from .program import layout_change, symbol_containing


@dataclass
class Entry:
    """A place that must jump to the newest body of a function."""
    function: str
    address: int        # runtime address of the function's first byte
    size: int           # the function's size (for the stack check)
    room: int
    version: str        # "original" or "patch N"
    kind: int = 0
    kind_name: str = ""
    skip: int = 0       # bytes kept at the entry (endbr64, bti)

    @property
    def jump_start(self):
        return self.address + self.skip

    @property
    def jump_end(self):
        return self.address + self.skip + native.jump_size(self.kind)


@dataclass
class Redirect:
    function: str
    target: int         # link-time address in the patch
    entries: List[Entry]
    # Bodies earlier patches moved frames into (frames.Body): no entry
    # jumps there, but a frame in one runs this function.
    moved: list = field(default_factory=list)


@dataclass
class Rebind:
    """A field of the patch to point at the program's own storage/code."""
    at: int             # link-time address of the field in the patch
    kind: str           # gotoff64 | got64 | pltoff64 | abs64 | pc32
    target: int         # runtime address in the program
    what: str           # for --verbose: "static counter", "function helper"
    offset: int = 0     # within the target
    symbol: str = ""    # the program's symbol it binds (a global another patch may migrate)
    pc: int = 0         # pc32: link-time address the field is relative to (its instruction's end)
    branch: bool = False    # pc32: a call's or jump's (a far target is reached through a slot)


@dataclass
class Migration:
    """A static whose type changed: from now on it lives in the patch's own
    copy, which is given the old value member by member (migrate.py), and
    every function of the program that uses the old storage is redirected.
    Pointers to the old storage are rewritten or refused at apply time,
    when the values are read (the migrate.scan of the process)."""
    label: str              # "counter", "calls in state_step()"
    key: Tuple[str, str]    # (scope, name) in the unit's DWARF
    external: bool          # a global: other units may use it too
    symbol: str             # its symbol in the program (a global's name)
    old_address: int        # runtime address of the storage in use now
    old_size: int
    new_at: int             # link-time address of the patch's copy
    new_size: int
    old_type: str
    new_type: str
    copies: list = field(default_factory=list)      # migrate.Copy
    dropped: List[str] = field(default_factory=list)
    added: List[str] = field(default_factory=list)
    users: Set[str] = field(default_factory=set)    # functions of the patch that use it

    @property
    def old_range(self):
        return (self.old_address, self.old_address + self.old_size)


@dataclass
class Plan:
    unit: object
    command: object
    so_path: str = ""
    changed: List[str] = field(default_factory=list)
    new: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    lines_only: List[str] = field(default_factory=list)  # same code but for __LINE__ values: left alone
    why: Dict[str, str] = field(default_factory=dict)
    redirects: List[Redirect] = field(default_factory=list)
    rebinds: List[Rebind] = field(default_factory=list)
    statics_kept: List[str] = field(default_factory=list)
    globals_bound: List[str] = field(default_factory=list)
    new_statics: List[str] = field(default_factory=list)
    added_statics: List = field(default_factory=list)  # the patch's Variables of new_statics
    warnings: List[str] = field(default_factory=list)
    refusals: List[str] = field(default_factory=list)
    got: int = 0        # link-time address of the patch's GOT
    bindings: Dict[str, int] = field(default_factory=dict)     # program symbols the patch uses
    linked_at: Dict[str, int] = field(default_factory=dict)    # those the link gave a stand-in address (near.stand_ins)
    functions: Dict[str, dict] = field(default_factory=dict)   # patch symbols by name
    migrations: List[Migration] = field(default_factory=list)
    refs: Dict[str, List[str]] = field(default_factory=dict)   # functions each function calls (diff)
    data_bound: Dict[str, int] = field(default_factory=dict)   # patch variable -> the program's (runtime)
    frame_maps: list = field(default_factory=list)             # frames.FrameMap: running frames that may move
    placements: dict = field(default_factory=dict)             # function -> frames.Placement
    far: bool = False       # a near patch with a PC-relative field hotfix cannot point (plan_rebinds)

    @property
    def nothing_changed(self):
        return not self.changed and not self.new


def is_clone(name):
    """GCC's specialised copies carry changed signatures (foo.isra.0,
    foo.constprop.1, foo.part.0) or are pieces of a function (foo.cold)."""
    return "." in name


def decide_changes(diff, plan):
    """Fill plan.changed/new/removed/lines_only from native's diff.  A
    changed clone changes every function that calls it: unchanged callers
    would go on calling the old clone.  A function whose code differs only
    in line numbers (__LINE__ after an edit that moved lines) is left as it
    is, like an unchanged one: its __LINE__ values stay the old ones."""
    status = {f["name"]: f for f in diff["functions"]}
    plan.refs = {n: f["refs"] for n, f in status.items() if f["status"] != "new"}
    changed = {n for n, f in status.items() if f["status"] == "changed"}
    for name in changed:
        plan.why[name] = status[name]["why"]
    changed = _with_callers_of_clones(plan, changed, changed)
    # Clones and split parts are reached through their (changed) callers.
    plan.changed = sorted(n for n in changed if not is_clone(n))
    plan.new = sorted(n for n, f in status.items() if f["status"] == "new" and not is_clone(n))
    plan.removed = sorted(n for n in diff["removed"] if not is_clone(n))
    # A clone holding the lines (main.cold) is named by its origin.
    plan.lines_only = sorted({n.split(".")[0] for n, f in status.items() if f["status"] == "lines"
                              and n not in changed} - set(plan.changed))
    return changed


def _with_callers_of_clones(plan, changed, fresh):
    changed = set(changed)
    frontier = [n for n in fresh if is_clone(n)]
    while frontier:
        clone = frontier.pop()
        for name, refs in plan.refs.items():
            if clone in refs and name not in changed:
                changed.add(name)
                plan.why[name] = "calls %s, which changed" % clone
                if is_clone(name):
                    frontier.append(name)
    return changed


def redirect_users(plan, functions, why):
    """Functions of the program that must run new code although they did
    not change (they use a static that moves): changed from now on, with
    the callers of any clone among them."""
    fresh = {n for n in functions if n not in plan.changed and n in plan.refs}
    for name in fresh:
        plan.why[name] = why
    changed = _with_callers_of_clones(plan, set(plan.changed) | fresh, fresh)
    plan.changed = sorted(n for n in changed if not is_clone(n))


def plan_redirects(plan, unit_functions, bias, history, memory, arch=X86_64):
    """One Redirect per changed function: from its original entry and from
    every earlier patch's entry, straight to the new body.  The jump kinds
    come largest first: the smallest needs a trampoline slot near the code."""
    originals = {f["name"]: f for f in unit_functions}
    seen = {}
    for name in plan.changed:
        # Aliases (C++ complete/base constructors C1/C2) share one address:
        # redirect it once.
        orig = originals.get(name)
        if orig is not None and orig["value"] in seen:
            continue
        if orig is not None:
            seen[orig["value"]] = name
        new = plan.functions.get(name)
        orig = originals.get(name)
        if new is None or orig is None:
            continue
        entries = [Entry(name, orig["value"] + bias, orig["size"], orig["room"], "original")]
        for n, version in enumerate(history, 1):
            old = version.functions.get(name)
            if old:
                entries.append(Entry(name, old["address"], old["size"], old["room"], "patch %d" % n))
        r = Redirect(name, new["value"], entries)
        for n, version in enumerate(history, 1):
            for moved in version.moved:
                if moved["function"] == name:
                    r.moved.append(Body(name, "moved %d" % n, moved["address"], moved["size"]))
        for e in entries:
            e.skip = arch.entry_skip(memory(e.address, 4))
            room = e.room - e.skip
            for kind, kind_name in arch.jump_kinds:
                if native.jump_size(kind) <= room:
                    e.kind, e.kind_name = kind, kind_name
                    break
        small = [e for e in entries if not e.kind]
        if small:
            room = small[0].room - small[0].skip
            plan.refusals.append(
                "%s is too small to patch: %d byte%s of room at its entry (%s), %d needed for a jump."
                % (name, room, "" if room == 1 else "s", small[0].version,
                   min(native.jump_size(k) for k, _ in arch.jump_kinds)))
            continue
        plan.redirects.append(r)


def fill_migration(m, old_shape, new_shape):
    """The member mapping of a migration from the two structured types;
    the refusals, as sentences naming the static."""
    mapping = map_shapes(old_shape, new_shape)
    m.copies, m.dropped, m.added = mapping.copies, mapping.dropped, mapping.added
    return ["the type of %s changed from `%s' to `%s' and hotfix cannot migrate it: %s"
            % (m.label, m.old_type, m.new_type, r) for r in mapping.refusals]


def _functions(so_symbols):
    return sorted((s for s in so_symbols if s["type"] == "func" and s["size"]), key=lambda s: s["value"])


def site_users(sites, so_symbols, symbol):
    """The patch's functions that refer to the program's symbol."""
    funcs = _functions(so_symbols)
    return {f["name"] for f in (symbol_containing(funcs, s["at"]) for s in sites if s.get("sym") == symbol)
            if f is not None}


# R_X86_64_PC32, PLT32, GOTPCREL, GOTPCRELX, REX_GOTPCRELX
PC_TYPES = (2, 4, 9, 41, 42)


def plan_rebinds(plan, sites, so_symbols, so_vars, exe_vars, exe_functions, exe_bias,
                 bindings, unit_file, exe_image, near=True, linked_at=None):
    """Point every reference of the patch to something the program already
    has at the program's own copy: its functions (so function pointers
    compare equal and unchanged code is shared), its statics and globals
    (one live instance, values continue).

    near: the patch is loaded within 2 GiB of the program (near.py), so its
    32-bit PC-relative fields reach the program too.  Else (-mcmodel=large)
    those refer to its own code and data (a jump table, a literal), which
    it keeps; one naming the program's symbol cannot be pointed at it.  A
    field of a near patch hotfix cannot read (code the decoder does not
    know) sets plan.far: built again to load anywhere.  linked_at: the
    program's symbols the link defined at a stand-in address (beyond 2 GiB
    of where the patch was linked: near.stand_ins), which the link's
    fields are relative to."""
    linked_at = linked_at or {}
    funcs = _functions(so_symbols)
    objects = sorted((s for s in so_symbols if s["type"] == "object" and s["size"]), key=lambda s: s["value"])
    so_var_by_addr = sorted(so_vars.values(), key=lambda v: v.address)
    orig_funcs = {f["name"]: f for f in exe_functions}
    own_symbols = {s["name"]: s for s in so_symbols
                   if s["type"] in ("func", "object") and s["size"] and s.get("bind") != "local"}
    kept, bound, fresh = set(), set(), set()
    migrations = {}
    slots = set()

    def variable_at(address):
        for v in so_var_by_addr:
            if v.address <= address < v.address + max(v.size, 1):
                return v
        return None

    def rebind(site, r):
        # A place no new code reaches (native's live sites) says what the
        # unit shares with the program, and is not written.
        if not site.get("unreached"):
            plan.rebinds.append(r)

    for site in sites:
        kind, target = site["kind"], site["target"]
        if kind in ("pc32", "gotpcrel") and not near:
            if site["sym"] not in bindings:
                continue
            kind = "unhandled"
        if kind == "unhandled" and near and site["type"] in PC_TYPES:
            plan.far = True
        if kind == "unhandled":
            plan.refusals.append("the patch refers to %s through a kind of relocation hotfix cannot point at "
                                 "the program's copy (type %d); nothing would reach it." % (site["sym"], site["type"]))
            continue
        user_at = site["at"]        # where the code is that refers (a migrated static's user)
        pc, branch = site.get("pc", 0), site.get("branch", False)
        if kind == "gotpcrel":
            # A GOT load of the small model (near.py): its slot, like got64's.
            kind = "got64"
        if kind in ("got64", "pltoff64"):
            name = site["sym"]
            # A GOT slot is shared by every site that loads it: fill it once.
            at = target if kind == "got64" else site["at"]
            if name in bindings:
                if (at, kind) not in slots and not site.get("unreached"):
                    slots.add((at, kind))
                    rebind(site, Rebind(at, kind, bindings[name], "symbol %s" % name, symbol=name))
                bound.add(name)
                continue
            # The patch's own function or variable of default visibility
            # (an exported class's inline members, an exported global):
            # the linker pointed the slot or PLT offset at the patch's copy.
            # It is a reference like any other, to the symbol's address.
            own = own_symbols.get(name)
            if own is None or (at, kind) in slots:
                continue        # another library's (the loader resolved it), or filled already
            if not site.get("unreached"):
                slots.add((at, kind))
            site = dict(site, at=at, kind="abs64" if kind == "got64" else kind, target=own["value"])
            kind, target, pc, branch = site["kind"], site["target"], 0, False
        name = site["sym"]
        if name in bindings:
            # The program's own symbol, which the link defined at its
            # runtime address: a GOT-relative field (a hidden function or
            # variable of another unit, as -mcmodel=large reaches it) was
            # computed against the patch's link-time GOT, so it is rebound
            # like any other (it was left pointing beside the program).
            offset = target - linked_at.get(name, bindings[name]) if target else site.get("addend", 0)
            rebind(site, Rebind(site["at"], kind, bindings[name], "symbol %s" % name, offset, name, pc, branch))
            bound.add(name)
            continue
        if not target:
            continue
        f = symbol_containing(funcs, target)
        if f is not None:
            orig = orig_funcs.get(f["name"])
            if orig is not None and not is_clone(f["name"]):
                rebind(site, Rebind(site["at"], kind, orig["value"] + exe_bias,
                                    "function %s" % f["name"], target - f["value"], pc=pc, branch=branch))
            continue
        obj = symbol_containing(objects, target)
        if obj is None or not obj["writable"]:
            continue        # literals and constants: the new ones are right
        var = variable_at(target)
        old = exe_vars.get((var.scope, var.name)) if var is not None else None
        if old is not None:
            # A C++ scope is a linkage name: demangled, it has its parameters.
            label = ("%s in %s%s" % (var.name, var.scope, "" if var.scope.startswith("_Z") else "()")
                     if var.scope else var.name)
            if old.size != var.size or old.type != var.type:
                # Migrated: the patch keeps its own copy, and every
                # function that uses it runs the patch's code.
                m = migrations.get(var.key)
                if m is None:
                    m = migrations[var.key] = Migration(
                        label, var.key, bool(old.external), old.symbol, old.address + exe_bias, old.size,
                        var.address, var.size, old.type, var.type)
                user = symbol_containing(funcs, user_at)
                if user is not None:
                    m.users.add(user["name"])
                continue
            offset = target - var.address
            address = old.address
        else:
            # No DWARF location on one side (optimised, or its name or
            # scope is ambiguous): match the symbol within the unit.
            label = obj["name"].split(".")[0]
            sym = exe_image.lookup(obj["name"], unit_file=unit_file)
            if sym is None or not sym["size"] or (sym["size"] != obj["size"] and not user_visible([label])):
                # (A vtable or typeinfo of another size: the class changed,
                # which check_layouts refuses.)  Guard variables, vtables
                # and typeinfo of the same size are bound like any static:
                # a function-local singleton is constructed once.
                fresh.add(label)
                continue
            if sym["size"] != obj["size"]:
                refusal = ("the type of %s changed from %d to %d bytes and hotfix cannot migrate it: DWARF gives "
                           "no single address of it (the compiler split it or optimised it away), so hotfix "
                           "cannot read its members." % (label, sym["size"], obj["size"]))
                if refusal not in plan.refusals:
                    plan.refusals.append(refusal)
                continue
            offset = target - obj["value"]
            address = sym["value"]
        if address is None:
            fresh.add(label)
            continue
        rebind(site, Rebind(site["at"], kind, address + exe_bias, "variable %s" % label, offset, pc=pc))
        # Where the program has the object the site is in (by its name in the patch).
        plan.data_bound[obj["name"]] = address + exe_bias - (var.address - obj["value"] if old is not None else 0)
        known = old or var
        (bound if known is not None and known.external else kept).add(label)
    plan.statics_kept = sorted(user_visible(kept))
    plan.globals_bound = sorted(user_visible(bound))
    plan.new_statics = sorted(user_visible(fresh))
    plan.migrations = sorted(migrations.values(), key=lambda m: m.label)


def check_layouts(plan, old_types, new_types, instances=None, migrated_globals=()):
    """A struct or class whose layout changed cannot be patched: objects of
    it live in the process with the old layout, and new code would read
    them with the new one.  Unless (instances given: what DWARF shows of
    each changed type, see migratable_types) the statics being migrated
    are its only instances."""
    changed = [name for name in sorted(set(old_types) & set(new_types)) if old_types[name] != new_types[name]]
    allowed, why = set(), {}
    if instances is not None:
        allowed, why = migratable_types(changed, instances, {m.key for m in plan.migrations},
                                        set(migrated_globals), plan.unit.name)
    for name in changed:
        if name in allowed:
            continue
        refusal = "the layout of %s changed (%s): objects of it in the process keep the old layout." % (
            name, layout_change(old_types[name], new_types[name]))
        if name in why:
            refusal = refusal[:-1] + "; besides the migrated statics, DWARF shows %s." % why[name]
        plan.refusals.append(refusal)


def migratable_types(changed, instances, migrated_here, migrated_globals, unit_name):
    """The changed types whose every instance DWARF shows is a static being
    migrated (or a member of such a type, or a migrated global's
    declaration), and for the others the first other instance, in words.
    instances: {type: [(unit name, kind, what, words)]} (ImageInfo.type_uses)."""
    allowed, why = set(changed), {}
    again = True
    while again:
        again = False
        for name in sorted(allowed):
            for unit, kind, what, words in instances.get(name, ()):
                if kind == "variable" and unit == unit_name and what in migrated_here or \
                        kind == "declaration" and what in migrated_globals or \
                        kind == "member" and what in allowed:
                    continue
                allowed.discard(name)
                why[name] = "%s (%s)" % (words, unit)
                again = True
                break
    return allowed, why


# Objects the compiler makes (vtables, typeinfo, VTTs, guard variables, TLS
# wrappers): bound like statics, but not the user's variables to report.
_COMPILER_MADE = ("_ZTV", "_ZTI", "_ZTS", "_ZTT", "_ZGV", "_ZTH", "_ZTW", "__dso_handle")


def user_visible(names):
    return [n for n in names if not n.startswith(_COMPILER_MADE)]


def describe(plan):
    """The plan as lines of text, for --dry-run."""
    lines = ["hotfix plan for %s (command from %s):" % (plan.unit.name, plan.command.origin)]
    if plan.nothing_changed:
        lines.append("  no function changed: nothing to do.")
    for r in plan.redirects:
        lines.append("  redirect %s (%s) -> patch+0x%x, from %s" % (
            r.function, plan.why.get(r.function, ""), r.target,
            ", ".join("%s 0x%x (%s jump)" % (e.version, e.address, e.kind_name) for e in r.entries)))
    for n in plan.new:
        lines.append("  new function %s" % n)
    for n in plan.removed:
        lines.append("  removed from the source, left in place: %s" % n)
    if plan.lines_only:
        lines.append("  only line numbers changed (left as they are: their __LINE__ values stay the old ones): %s"
                     % ", ".join(plan.lines_only))
    if plan.statics_kept:
        lines.append("  statics kept: %s" % ", ".join(plan.statics_kept))
    if plan.globals_bound:
        lines.append("  bound to the program: %s" % ", ".join(plan.globals_bound))
    if plan.new_statics:
        lines.append("  new statics (start from their initial value): %s" % ", ".join(plan.new_statics))
    for m in plan.migrations:
        lines += describe_migration(m)
    lines.append("  %d references of the patch rebound" % len(plan.rebinds))
    for w in plan.warnings:
        lines.append("  warning: %s" % w)
    for w in plan.refusals:
        lines.append("  refused: %s" % w)
    return lines


def describe_migration(m):
    lines = ["  migrate %s: `%s' (%d bytes at 0x%x) -> `%s' (%d bytes at patch+0x%x)"
             % (m.label, m.old_type, m.old_size, m.old_address, m.new_type, m.new_size, m.new_at)]
    lines += ["      copy %s" % c.describe() for c in m.copies]
    if m.added:
        lines.append("      new, from the new source's initial value: %s" % ", ".join(m.added))
    if m.dropped:
        lines.append("      dropped: %s" % ", ".join(m.dropped))
    if m.users:
        lines.append("      used by (redirected): %s" % ", ".join(sorted(m.users)))
    return lines
