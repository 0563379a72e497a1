"""The patches applied in this process: --status lists them, --revert
puts the program's own entries back, and a new debugger session finds
them again (recover).

Reverting restores the original bytes at each original entry; the patched
code stays mapped (a thread may still be inside it, and nothing that may be
in use is ever freed), and the live variables were shared all along, so
there is nothing else to undo.
"""
import json
import os
import re
import time

from . import apply as applying
from . import arch as arches
from .build import CLEAR_CACHE
from .errors import HotfixError
from .migrate import Move, carry
from .names import demangle_text
from .plan import Migration, fill_migration
from .session import Version


# --- what the process holds, for a later session ----------------------------
#
# Each patch library has a manifest beside it (PATCH.so.json in the
# process's private directory, which lives as long as the process): the
# unit, what the patch redirected, and the program's bytes it overwrote.
# Addresses are the process's, so a manifest is only read for a library
# the process has loaded, at the address it was loaded at.

MANIFEST_FORMAT = 1


def manifest_path(so_path):
    return so_path + ".json"


def write_manifest(version, unit_path, number, originals):
    data = {"format": MANIFEST_FORMAT, "unit_path": unit_path, "number": number,
            "version": {k: getattr(version, k) for k in ("so_path", "bias", "baseline", "functions", "redirected",
                                                         "unit", "when", "statics_kept", "globals_bound",
                                                         "entries", "loaded_from", "migrated", "moved",
                                                         "added_statics", "near")},
            "originals": {str(address): old.hex() for address, old in originals.items()},
            "reverted": False}
    try:
        with open(manifest_path(version.so_path), "w") as f:
            f.write(json.dumps(data))       # json.dump encodes in Python: 5 times slower
    except OSError:
        pass        # a later session will only say it does not know this patch


def _mark_reverted(versions):
    for v in versions:
        path = manifest_path(v.so_path)
        try:
            with open(path) as f:
                data = json.load(f)
            data["reverted"] = True
            with open(path, "w") as f:
                json.dump(data, f)
        except (OSError, ValueError):
            pass


# A patch library's name in the process: PRIVATE-DIR/STEM-N-M.so.
_PATCH_NAME = re.compile(r"/hotfix-[^/]+/[^/]+-\d+-\d+\.so$")


def recover(dbg, session, program):
    """Once per process and session: find the patches an earlier session
    applied to this process (the libraries it has loaded, and their
    manifests), so that --status, --revert and the next patch of each
    unit know them; say so, and name any patch whose manifest is gone."""
    state = session.process
    if state.recovered:
        return
    state.recovered = True
    if state.patches:
        return          # this session applied them: it knows them
    found, unknown = [], []
    known = set()
    for image in program.images():
        if not image.patch:
            continue
        known.add(image.name)
        try:
            with open(manifest_path(image.path)) as f:
                data = json.load(f)
            if data.get("format") != MANIFEST_FORMAT:
                raise ValueError("format")
        except (OSError, ValueError):
            unknown.append(image.name or image.path)
            continue
        if not data["reverted"]:
            found.append(data)
    for _, name, _ in program.link_map:
        if name not in known and _PATCH_NAME.search(name):
            unknown.append(name)        # its file is not on this machine (any more)
    found.sort(key=lambda d: (d["version"]["when"], d["number"]))
    for data in found:
        v = dict(data["version"])
        v["entries"] = [tuple(e) for e in v["entries"]]
        version = Version(handle=0, **v)
        for moved in version.moved:
            # Frames run code hotfix laid out itself: the debugger needs its
            # symbols to unwind them.
            if os.path.exists(moved["object"]):
                try:
                    dbg.add_symbol_file(moved["object"], moved.get("sections") or {})
                except OSError:
                    pass
        state.units.setdefault(data["unit_path"], []).append(version)
        for address, old in data["originals"].items():
            state.originals.setdefault(int(address), bytes.fromhex(old))
        state.patches += 1
    if found:
        names = sorted({d["version"]["unit"] for d in found})
        dbg.write("hotfix: this process runs %d patch%s an earlier session applied (%s): --status, --revert "
                  "and the next patch know %s." % (len(found), "" if len(found) == 1 else "es",
                                                   ", ".join(names), "it" if len(found) == 1 else "them"))
    if unknown:
        dbg.write("hotfix: warning: this process runs patch%s hotfix knows nothing of (%s): --status and "
                  "--revert do not see %s, and a new patch of %s unit is compared with the program's own "
                  "code." % ("" if len(unknown) == 1 else "es", ", ".join(unknown),
                             "it" if len(unknown) == 1 else "them", "its" if len(unknown) == 1 else "their"))


def written_jumps(state):
    """[(lo, hi, function)]: the bytes hotfix wrote at entries (jumps, and
    gates' places), with the function each belongs to."""
    entries = []
    for versions in state.units.values():
        for v in versions:
            entries += [(address, name) for name, address, _ in v.entries]
            entries += [(f["address"], name) for name, f in v.functions.items() if name in v.redirected]
    out = []
    for address, old in state.originals.items():
        owner = next((name for entry, name in entries if entry <= address < entry + 16), None)
        if owner is not None:
            out.append((address, address + len(old), owner))
    return out


def guard_breakpoint(state, number, addresses):
    """A breakpoint location set after a patch inside a jump hotfix wrote
    (at -O0 a function's first line is a few bytes into it) would put the
    debugger's trap into the jump.  Returns the addresses to disable, and
    says so; revert enables them again."""
    jumps = written_jumps(state) if state is not None else []
    out = []
    for address in addresses:
        hit = next(((lo, name) for lo, hi, name in jumps if lo <= address < hi), None)
        if hit is None:
            continue
        out.append((address, demangle_text(
            "hotfix: breakpoint %s has a location inside the jump hotfix wrote at the entry of %s (0x%x): "
            "disabled there (it runs the new code)." % (number, hit[1], address))))
        if address not in state.disabled_locations:
            state.disabled_locations.append(address)
    return out


def _active(dbg, versions):
    """Where a replaced function (any of its bodies) is running now."""
    bodies = []
    for n, v in enumerate(versions, 1):
        for name in v.redirected:
            f = v.functions.get(name)
            if f:
                bodies.append((f["address"], f["address"] + f["size"], "%s (patch %d)" % (name, n)))
        for name, address, size in v.entries:
            bodies.append((address, address + size, "%s (original)" % name))
        for moved in v.moved:
            bodies.append((moved["address"], moved["address"] + moved["size"],
                           "%s (patch %d, where frames were moved)" % (moved["function"], n)))
    out = []
    for t in dbg.threads():
        for f in t.frames:
            for lo, hi, label in bodies:
                if lo <= f.pc < hi or (f.level and f.pc == hi):
                    out.append("%s in thread %d, frame #%d" % (label, t.id, f.level))
    return sorted(set(out), key=out.index)


def _follow(dbg, arch, address):
    """Where the jump at address leads, through at most one trampoline slot."""
    kind, target = arch.decode_jump(dbg.read_memory(address, 16), address)
    if kind == arch.near_kind:
        kind, target = arch.decode_jump(dbg.read_memory(target, 16), target)
    far = {k for k, _ in arch.jump_kinds} - {arch.near_kind}
    return target if kind in far else None


def _check_entries(dbg, arch, versions):
    """Every entry of a redirected function (the original, and each earlier
    patch's) must jump straight to its newest body."""
    newest, last, entries = {}, {}, {}
    for n, v in enumerate(versions):
        for name in v.redirected:
            newest[name], last[name] = v.functions[name]["address"], n
            entries.setdefault(name, [])
        for name, address, _ in v.entries:
            entries.setdefault(name, []).append(address)
    for name, n in last.items():
        entries[name] += [v.functions[name]["address"] for v in versions[:n] if name in v.functions]
    stale = []
    total = 0
    for name, addresses in entries.items():
        for address in sorted(set(addresses)):
            total += 1
            skip = arch.entry_skip(dbg.read_memory(address, 4))
            if _follow(dbg, arch, address + skip) != newest[name]:
                stale.append("%s at 0x%x" % (name, address))
    if stale:
        return "%d of %d entries do NOT reach the newest code: %s" % (len(stale), total, ", ".join(stale))
    return "all %d entries jump straight to the newest code" % total


def status(dbg, session, arch=arches.X86_64):
    state = session.process
    units = [(path, versions) for path, versions in state.units.items() if versions]
    if not units:
        dbg.write("hotfix: no patches applied in process %d." % state.pid)
        return
    count = sum(len(v) for _, v in units)
    dbg.write("hotfix: %d patch%s applied in process %d:" % (count, "" if count == 1 else "es", state.pid))
    for path, versions in units:
        for n, v in enumerate(versions, 1):
            when = time.strftime("%H:%M:%S", time.localtime(v.when))
            parts = ["redirected %s" % (", ".join(v.redirected) or "nothing")]
            if v.statics_kept:
                parts.append("statics kept: %s" % ", ".join(v.statics_kept))
            if v.globals_bound:
                parts.append("bound: %s" % ", ".join(v.globals_bound))
            if v.migrated:
                parts.append("migrated: %s" % ", ".join(rec["label"] for rec in v.migrated))
            if v.loaded_from:
                parts.append("loaded from %s on the target" % v.loaded_from)
            dbg.write(demangle_text("  %s patch %d at %s: %s" % (v.unit, n, when, "; ".join(parts))))
        dbg.write("  %s: %s" % (versions[-1].unit, _check_entries(dbg, arch, versions)))
        active = _active(dbg, versions)
        dbg.write("  %s: %s" % (versions[-1].unit, "replaced code active now: " + "; ".join(active)
                                if active else "no replaced function is active now"))


def _migrated_back(session, program, paths):
    """Moves that carry each static the given units' patches migrated back
    into the program's own storage: from its newest storage (an earlier
    patch's copy, its type from that patch's DWARF) to the program's, as
    DWARF describes the program's type.  Refused (HotfixError) when a
    value cannot go back, or a migrated global is used by a patch of a
    unit that stays."""
    state = session.process
    moves, refusals = [], []
    for path in paths:
        live = {}
        for v in state.units.get(path, []):
            for rec in v.migrated:
                live[(rec["scope"], rec["name"])] = rec
        if not live:
            continue
        found = [(im, u) for im in program.program_images() if im.info is not None and im.info.has_debug_info()
                 for u in im.info.units() if u.path == path]
        for key, rec in sorted(live.items()):
            label = rec["label"]
            users = sorted({v.unit for other, versions in state.units.items() if other not in paths
                            for v in versions if rec["external"] and rec["symbol"] in v.globals_bound})
            if users:
                refusals.append("%s is migrated and the patch of %s uses it: revert %s with it"
                                % (label, ", ".join(users), "them" if len(users) > 1 else "it"))
                continue
            try:
                im, unit = found[0]
                original = im.info.variables(unit)[key]
                older = session.cache.image(rec["so_path"])
                older_unit = [u for u in older.units() if u.name == unit.name][0]
                current = older.variables(older_unit)[key]
                m = Migration(label, key, rec["external"], rec["symbol"], rec["address"], rec["size"],
                              original.address + im.bias, original.size, rec["type"], original.type)
                problems = fill_migration(m, older.shape(older_unit, current), im.info.shape(unit, original))
            except (HotfixError, OSError, KeyError, IndexError) as e:
                refusals.append("hotfix cannot read the types of %s (%s)" % (label, e or "its DWARF is gone"))
                continue
            refusals += [p.replace("the type of %s changed from" % label, "%s cannot go back from" % label, 1)
                         for p in problems]
            moves.append(Move(m, original.address + im.bias, unreached=False))
    if refusals:
        raise HotfixError("nothing was reverted: %s." % "; ".join(r.rstrip(".") for r in refusals))
    return moves


def revert(dbg, session, unit_paths, wait, arch=arches.X86_64, program=None, force_migrate=False):
    """Put back the original entries of the given units (paths as keys of
    the session's history), and the values of the statics their patches
    migrated into the program's own storage."""
    state = session.process
    moves = _migrated_back(session, program, unit_paths) if program is not None else []
    plans = []
    for path in unit_paths:
        versions = state.units.get(path)
        if not versions:
            continue
        addresses = sorted({address for v in versions for _, address, _ in v.entries})
        writes = []
        for address in addresses:
            # Every byte hotfix wrote at this entry (the jump, after a kept
            # endbr64) goes back to what the program had.
            for w_address, old in sorted(state.originals.items()):
                if address <= w_address < address + 16:
                    writes.append(applying.Write(w_address, old, "original entry at 0x%x" % address))
        names = sorted({name for v in versions for name, _, _ in v.entries})
        plans.append((path, versions, writes, names))
    if not plans:
        raise HotfixError("nothing to revert: no patches applied%s." % (
            "" if not unit_paths else " to " + ", ".join(os.path.basename(p) for p in unit_paths)))
    # No thread may be part-way through a jump being removed.
    ranges = [(w.address, w.address + len(w.old), w.what) for _, _, ws, _ in plans for w in ws]
    # A patched body still running would go on with the migrated storage
    # while the program's own code is back on the old one.
    migrating = [versions for _, versions, _, _ in plans if any(v.migrated for v in versions)]
    deadline = time.monotonic() + (wait or 0)
    while True:
        problems = [p for p in applying.check_stacks(dbg, [], [(lo + 1, hi, what) for lo, hi, what in ranges])]
        problems += ["%s (it uses the migrated statics)" % a for versions in migrating for a in _active(dbg, versions)
                     if "(original)" not in a]
        if not problems:
            break
        if wait is None or time.monotonic() >= deadline:
            raise HotfixError("cannot revert now: %s." % "; ".join(problems))
        dbg.resume_for(0.01)
    all_writes = [w for _, _, ws, _ in plans for w in ws]
    loader = applying.Loader(session)
    protections = None
    if program is not None:
        protections = applying.Protections(dbg, loader, applying.protection_lookup(program, state))
    try:
        if protections:
            # Calls let threads run: check the stacks again after them.
            protections.prepare([(w.address, len(w.data)) for w in all_writes])
            problems = applying.check_stacks(dbg, [], [(lo + 1, hi, what) for lo, hi, what in ranges])
            if problems:
                raise HotfixError("cannot revert now: %s." % "; ".join(problems))
        if moves:
            # The values go back now that nothing runs.
            carried = carry(dbg, program, moves, force_migrate, back=True)
            if protections:
                protections.prepare([(w.address, len(w.data)) for w in carried.writes])
            all_writes = carried.writes + all_writes
        applying.write_all(dbg, all_writes, protections=protections)
        helper = next((v.functions[CLEAR_CACHE]["address"] for _, versions, _, _ in plans for v in versions
                       if CLEAR_CACHE in v.functions), None)
        if arch.flush_icache and helper:
            applying.clear_caches(dbg, loader, helper, all_writes)
    finally:
        if protections:
            protections.restore()
    for address in {w.address for w in all_writes}:
        state.originals.pop(address, None)
    # Breakpoints hotfix moved off the old entries work there again.
    restored = [a for a in state.disabled_locations if any(lo <= a < hi for lo, hi, _ in ranges)]
    for loc in dbg.breakpoint_locations():
        if not loc.enabled and loc.address in restored:
            dbg.set_location_enabled(loc.key, True)
    state.disabled_locations = [a for a in state.disabled_locations if a not in restored]
    for path, versions, _, names in plans:
        _mark_reverted(versions)
        state.units[path] = []
        back = [mv.migration for mv in moves if any(rec["label"] == mv.migration.label and rec["address"] ==
                                                    mv.migration.old_address for v in versions for rec in v.migrated)]
        dbg.write(demangle_text("hotfix: %s: reverted %d function%s (%s) to the program's own code%s."
                                % (versions[-1].unit, len(names), "" if len(names) == 1 else "s",
                                   ", ".join(names), "" if not back else ", %d static%s migrated back (%s)" % (
                                       len(back), "" if len(back) == 1 else "s", ", ".join(
                                           m.label + (": dropped %s" % ", ".join(m.dropped) if m.dropped else "")
                                           for m in back)))))
