"""Moving the running frames of changed functions to their new bodies
(on-stack replacement), for code built at -O0 on x86-64.

A function that never returns (main's loop, a thread's body) is always
active, so hotfix would refuse it for ever.  Instead, each frame of it is
moved into the new body, at the point that does the same from there on:

  * where: native/frames.c maps each point of the old body at which a frame
    can stand (a return address after a call, the first instruction of a
    statement) to the new body, or says why it cannot (see there: same
    frame, the calls aligned, the same code from a clean statement
    boundary before the point to one after it, every local read from there
    on in the same slot); this module adds the types of those locals;
  * into what: a frame of the program's own code (or of code moved before)
    goes on in the new function compiled like the program (the diff
    object), laid out within 2 GiB of the program by native/place.c: the
    patch library's copy is compiled for loading and has another frame.  A
    frame of an earlier patch goes on in the new patch;
  * how: a caller's frame by its return address (the slot below it, checked
    to hold the old one), frame 0 by its pc: writes like the jumps, in the
    same all-or-nothing step.

Everything is decided here and in plan.py; apply.py checks the stacks
with the maps and writes the moves.
"""
import os
from dataclasses import dataclass, field
from typing import Dict

from . import native
from .errors import HotfixError
from .program import describe_type


@dataclass
class Body:
    """A body of a changed function in the process, that frames may run."""
    function: str
    label: str          # "original", "patch N", "moved N" (a body frames were moved into)
    address: int        # runtime address of its first byte
    size: int

    def holds(self, frame):
        """Whether the frame runs this body (a caller's return address may
        be the byte after its end: a call that does not return ends it)."""
        return self.address <= frame.pc < self.address + self.size or \
            (frame.level > 0 and frame.pc == self.address + self.size)


@dataclass
class Placement:
    """The new body of a function as the program's flags compile it, laid
    out near the program for frames moved out of the program's code."""
    function: str
    obj: str            # the object (compiled like the program)
    near: int           # within 2 GiB of this (the function's original entry)
    address: int = 0    # of the function, once placed
    size: int = 0
    sections: Dict[str, int] = field(default_factory=dict)   # for the debugger
    unplaced: list = field(default_factory=list)             # (section, size) it does not need
    refused: str = ""   # why it cannot be placed


@dataclass
class FrameMap:
    """Where frames standing in one body of a function go on."""
    body: Body
    into: str           # "placed" (a Placement of this patch) or "patch" (the patch library)
    refused: str = ""   # why no frame of this body moves ("" if some may)
    points: Dict[tuple, dict] = field(default_factory=dict)   # (offset in the body, kind) -> native's point


@dataclass
class Move:
    function: str
    thread: int
    level: int
    where: str          # the frame as the debugger shows it
    pc: int             # its pc (level 0) or return address
    map: FrameMap
    to: int             # offset in the new body
    to_line: int

    def what(self):
        return "thread %d, frame #%d (%s)" % (self.thread, self.level, self.where)


def optimisation(unit, command):
    """The -O flag a unit was built with ("" for -O0): GCC records it in
    DW_AT_producer, clang does not (its compile command says)."""
    words = unit.producer.split() if unit.producer.startswith("GNU") else list(command.argv) if command else []
    level = ""
    for w in words:
        if w.startswith("-O"):
            level = w
    return "" if level in ("", "-O0") else level


def _is_cxx(unit, command):
    """GCC's producer says C++; clang's does not: the file or the compiler."""
    compiler = os.path.basename(command.argv[0]) if command and command.argv else ""
    return unit.is_cxx or "++" in compiler or os.path.splitext(unit.name)[1] in (".cpp", ".cc", ".cxx", ".C", ".c++")


def bodies_of(function, orig, bias, history):
    """Every body of a function the process has: the program's, each earlier
    patch's, each one frames were moved into.  With the file to read it
    from: (Body, image path, native spec, compile unit offset or None)."""
    out = []
    if orig is not None:
        out.append((Body(function, "original", orig["value"] + bias, orig["size"]), None,
                    "%s %x %x" % (function, orig["value"], orig["size"]), None))
    for n, v in enumerate(history, 1):
        f = v.functions.get(function)
        if f and function in v.redirected and v.baseline:
            out.append((Body(function, "patch %d" % n, f["address"], f["size"]), v.baseline, function, -1))
        for moved in v.moved:
            if moved["function"] == function:
                out.append((Body(function, "moved %d" % n, moved["address"], moved["size"]), moved["object"],
                            function, -1))
    return out


def plan_frame_maps(plan, threads, unit, command, image, unit_functions, history, like_program, patch_object):
    """Maps for the bodies of each changed function that a frame runs now,
    added to plan.frame_maps (nothing is computed for a body no frame runs,
    nor twice).  like_program() is the new unit compiled with the program's
    flags (compiled on demand).  Returns the maps added."""
    frames = [f for t in threads for f in t.frames]
    done = {(m.body.function, m.body.label) for m in plan.frame_maps}
    added = []
    originals = {f["name"]: f for f in unit_functions}
    why_not = ""
    level = optimisation(unit, command)
    if level:
        why_not = "its unit was built with %s (only frames of code built at -O0 are moved)" % level
    for r in plan.redirects:
        for body, path, spec, cu in bodies_of(r.function, originals.get(r.function), image.bias, history):
            if (body.function, body.label) in done or not any(body.holds(f) for f in frames):
                continue
            into = "patch" if body.label.startswith("patch") else "placed"
            fmap = FrameMap(body, into, why_not)
            plan.frame_maps.append(fmap)
            added.append(fmap)
            if fmap.refused:
                continue
            if into == "placed" and _is_cxx(unit, command):
                fmap.refused = ("frames of C++ code are not moved out of the program's code (the unwinder would not "
                                "find the moved code's tables for an exception)")
                continue
            try:
                new_path = like_program() if into == "placed" else patch_object
                old = native.Image(path) if path else image.info.native
                new = native.Image(new_path)
                result = old.frame_map(unit.cu_offset if cu is None else cu, spec, new, -1, r.function)
            except HotfixError as e:
                fmap.refused = "hotfix cannot read it: %s" % e
                continue
            fmap.refused = result["refused"]
            for point in result["points"]:
                fmap.points[(point["at"], point["kind"])] = point
            _check_types(fmap, old, unit.cu_offset if cu is None else cu, new)
            if into == "placed" and r.function not in plan.placements:
                plan.placements[r.function] = Placement(r.function, new_path, originals[r.function]["value"]
                                                        + image.bias if r.function in originals else body.address)
    return added


def _check_types(fmap, old, old_cu, new):
    """A local read after the point must have the type it had."""
    if not any(p.get("locals") for p in fmap.points.values()):
        return
    try:
        old_dies = old.unit_dies(max(old_cu, 0))
        new_dies = new.unit_dies(0)
    except HotfixError:
        for p in fmap.points.values():
            if p.get("locals"):
                p["to"], p["why"] = -1, "hotfix cannot read the types of its locals"
        return
    old_types, new_types = describe_type(old_dies), describe_type(new_dies)
    for p in fmap.points.values():
        for local in p.get("locals") or ():
            a, b = old_types(local["old_type"]), new_types(local["new_type"])
            if a != b:
                p["to"], p["why"] = -1, "the local `%s' changed type from `%s' to `%s'" % (local["name"], a, b)
                break


def point_of(fmap, frame):
    """(native point, None) where this frame stands in its body, or (None,
    why it cannot move)."""
    if fmap.refused:
        return None, fmap.refused
    kind = "return" if frame.level > 0 else "statement"
    point = fmap.points.get((frame.pc - fmap.body.address, kind))
    if point is None:
        if frame.level == 0:
            return None, "it is stopped inside a statement, not at its first instruction"
        return None, "hotfix does not know that return address"
    if point["to"] < 0:
        return None, point["why"]
    return point, None


def find_moves(threads, fmaps, refused=None):
    """The moves for every frame that stands in a mapped body; refused(frame,
    why) is told of each one that cannot move."""
    moves = []
    for t in threads:
        for f in t.frames:
            for m in fmaps:
                if not m.body.holds(f):
                    continue
                point, why = point_of(m, f)
                if point is None:
                    if refused:
                        refused(t, f, why)
                    continue
                moves.append(Move(m.body.function, t.id, f.level, f.where(), f.pc, m, point["to"],
                                  point.get("to_line", 0)))
    return moves


def new_address(move, plan_functions, bias, placements):
    """Where a move goes, once the patch is loaded and the bodies placed."""
    if move.map.into == "patch":
        return plan_functions[move.function]["value"] + bias + move.to
    return placements[move.function].address + move.to


def describe_moves(threads, fmaps):
    """--dry-run: each frame that would move, from where to where, and each
    that would be refused."""
    lines = []

    def refused(t, f, why):
        lines.append("  cannot move thread %d, frame #%d: %s (%s)" % (t.id, f.level, f.where(), why))

    for mv in find_moves(threads, fmaps, refused):
        into = "the patch's %s" % mv.function if mv.map.into == "patch" else \
            "%s compiled like the program, placed near it" % mv.function
        lines.append("  move %s: %s 0x%x (%s body) -> %s +0x%x (line %d)"
                     % (mv.what(), "return address" if mv.level else "pc", mv.pc, mv.map.body.label, into, mv.to,
                        mv.to_line))
    return lines


def resolve_placement(placement, program, unit_functions, image_bias, bindings, data, plan_functions, so_bias,
                      lookup):
    """The addresses a placement's code refers to: the program's functions
    (their original entries, which jump to the newest code), the program's
    variables as the patch was bound to them (data), new functions in the
    patch, anything else as the patch was linked against (bindings, or
    looked up).  Returns (text for native, missing required names)."""
    obj = native.Image(placement.obj)
    first = obj.place(placement.function, 0, None)
    if first["error"]:
        raise HotfixError(first["error"])
    originals = {f["name"]: f["value"] + image_bias for f in unit_functions}
    text, missing = [], []
    for need in first["needs"]:
        name = need["name"]
        address = originals.get(name) if need["function"] else data.get(name)
        if address is None and name in plan_functions and need["function"]:
            address = plan_functions[name]["value"] + so_bias
        if address is None:
            address = bindings.get(name)
        if address is None:
            address = lookup(name)
        if address is None:
            if need["required"]:
                missing.append(name)
            continue
        text.append("%s %x\n" % (name, address))
    return obj, first["size"], "".join(text), missing


def place(placement, obj, base, addresses):
    """Lay the placement out at base: its bytes; fills its address, size
    and sections (every section of the object that is placed; the rest are
    given to the debugger in a shadow region by the caller)."""
    laid = obj.place(placement.function, base, addresses)
    placement.address = base + laid["entry"]
    placement.size = laid["size"]
    placement.sections = {s["name"]: s["address"] for s in laid["sections"] if s["address"] >= 0}
    placement.unplaced = [(s["name"], s["size"]) for s in laid["sections"] if s["address"] < 0]
    return bytes.fromhex(laid["bytes"])


def manifest_entries(placements, moves):
    """What a Version remembers of the bodies frames were moved into."""
    used = {m.function for m in moves if m.map.into == "placed"}
    return [{"function": p.function, "address": p.address, "size": p.size, "object": p.obj,
             "sections": p.sections} for p in placements.values() if p.function in used and p.address]

