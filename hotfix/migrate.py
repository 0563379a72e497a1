"""Migrating a static whose type changed: its value is carried from the
program's storage into the patch's own copy, member by member, as DWARF
describes both types.

map_shapes() plans the copy as data (which bytes or bits of the old value
go where in the new one, converted how); new_value() carries it out on the
old value's bytes at apply time; translate() moves a pointer into old
storage to the same place in the new one; scan() finds the words of the
process's memory and registers that point into old storage.
"""
import os
import struct
import time
from dataclasses import dataclass, field
from typing import List, Tuple

from .apply import Write
from .errors import HotfixError
from .program import load_segments


@dataclass
class Copy:
    """One piece of the old value carried into the new storage.  Offsets
    are bytes from the static's first byte; an "int" copy reads and writes
    bits (a bit-field, or a whole integer: 8 bits a byte)."""
    path: str               # "pos.x", "items[2]", "" for the static itself
    old_offset: int
    new_offset: int
    size: int               # bytes in the new storage
    conversion: str         # "bytes" (as they are), "int", "float", "pointer"
    old_size: int = 0
    old_bits: Tuple[int, int] = (0, 0)      # "int": (bit offset, width) in the old value
    new_bits: Tuple[int, int] = (0, 0)
    old_signed: bool = False
    new_signed: bool = False

    def describe(self):
        what = self.path or "the value"
        if self.conversion == "bytes":
            return "%s: %d byte%s at %d -> %d" % (what, self.size, "" if self.size == 1 else "s",
                                                 self.old_offset, self.new_offset)
        if self.conversion == "int":
            def bits(b, signed):
                return "%s %d bits at bit %d" % ("signed" if signed else "unsigned", b[1], b[0])
            return "%s: %s -> %s" % (what, bits(self.old_bits, self.old_signed), bits(self.new_bits, self.new_signed))
        return "%s: %s of %d bytes at %d -> %d bytes at %d" % (what, self.conversion, self.old_size,
                                                               self.old_offset, self.size, self.new_offset)


@dataclass
class Mapping:
    copies: List[Copy] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)     # old members with no place in the new type
    added: List[str] = field(default_factory=list)       # new members: the new source's initial value
    refusals: List[str] = field(default_factory=list)


def _join(path, name):
    return "%s.%s" % (path, name) if path else name


def _int_bits(shape, offset):
    return (offset * 8, shape.size * 8)


def map_shapes(old, new, path="", old_offset=0, new_offset=0, out=None):
    """How the value of type old at old_offset becomes the value of type
    new at new_offset: members matched by name (through nested records;
    a union only if its layout is the same), arrays element by element up
    to the shorter, integers and enums by value, floats converted,
    pointers as pointers."""
    out = out if out is not None else Mapping()
    what = path or "the value"
    if old == new and (not old.has_pointers() or old.kind in ("union", "other")):
        out.copies.append(Copy(path, old_offset, new_offset, new.size, "bytes", old.size))
        return out
    if old.kind == "int" and new.kind == "int":
        out.copies.append(Copy(path, old_offset, new_offset, new.size, "int", old.size,
                               _int_bits(old, old_offset), _int_bits(new, new_offset), old.signed, new.signed))
    elif old.kind == "float" and new.kind == "float" and {old.size, new.size} <= {4, 8}:
        out.copies.append(Copy(path, old_offset, new_offset, new.size, "float", old.size))
    elif old.kind == "pointer" and new.kind == "pointer":
        out.copies.append(Copy(path, old_offset, new_offset, new.size, "pointer", old.size))
    elif old.kind == "array" and new.kind == "array":
        n = min(old.count, new.count)
        if n and old.element == new.element and not old.element.has_pointers():
            out.copies.append(Copy(path + "[0..%d]" % (n - 1) if n > 1 else path + "[0]", old_offset, new_offset,
                                   n * new.element.size, "bytes", n * old.element.size))
        else:
            for i in range(n):
                map_shapes(old.element, new.element, "%s[%d]" % (path, i), old_offset + i * old.element.size,
                           new_offset + i * new.element.size, out)
        if new.count > n:
            out.added.append("%s[%d..%d]" % (path, n, new.count - 1) if new.count - n > 1 else "%s[%d]" % (path, n))
        if old.count > n:
            out.dropped.append("%s[%d..%d]" % (path, n, old.count - 1) if old.count - n > 1 else "%s[%d]" % (path, n))
    elif old.kind == "union" and new.kind == "union":
        out.refusals.append("%s is a union whose layout changed (%s to %s): hotfix migrates a union only "
                            "when its layout is the same." % (what, _size(old), _size(new)))
    elif old.kind in ("struct", "class") and new.kind == old.kind:
        if old.virtual or new.virtual:
            out.refusals.append("%s is a %s with virtual functions: hotfix does not migrate objects that "
                                "have a vtable." % (what, old.describe()))
            return out
        olds = {f.name: f for f in old.fields}
        news = {f.name for f in new.fields}
        for f in new.fields:
            g = olds.get(f.name)
            name = _join(path, f.name)
            if g is None:
                out.added.append(name)
            elif f.bit_size or g.bit_size:
                _map_bits(g, f, name, old_offset, new_offset, out)
            else:
                map_shapes(g.shape, f.shape, name, old_offset + g.offset, new_offset + f.offset, out)
        out.dropped += [_join(path, f.name) for f in old.fields if f.name not in news]
    else:
        out.refusals.append("%shotfix converts integers, enums, floats, pointers, arrays and structs, not one "
                            "kind into another." % ("%s changed from `%s' to `%s': " % (
                                path, old.describe(), new.describe()) if path else ""))
    return out


def _map_bits(old_field, new_field, path, old_offset, new_offset, out):
    """A bit-field on either side: by value, as integers."""
    g, f = old_field, new_field
    if g.shape.kind != "int" or f.shape.kind != "int":
        out.refusals.append("%s changed from `%s' to `%s': hotfix converts bit-fields only to and from "
                            "integers." % (path, g.shape.describe(), f.shape.describe()))
        return

    def bits(field_, base):
        if field_.bit_size:
            return (base * 8 + field_.bit_offset, field_.bit_size)
        return ((base + field_.offset) * 8, field_.shape.size * 8)

    ob, nb = bits(g, old_offset), bits(f, new_offset)
    out.copies.append(Copy(path, ob[0] // 8, nb[0] // 8, (nb[0] % 8 + nb[1] + 7) // 8, "int",
                           (ob[0] % 8 + ob[1] + 7) // 8, ob, nb, g.shape.signed, f.shape.signed))


def _size(shape):
    return "%d bytes" % shape.size


# --- the values, at apply time ---------------------------------------------

class Translator:
    """Where a pointer into old storage points in the new storage.  Each
    migration gives (old address, old size, new address, copies)."""

    def __init__(self):
        self.places = []

    def add(self, old_address, old_size, new_address, copies):
        self.places.append((old_address, old_size, new_address, copies))

    def inside(self, value):
        return any(lo <= value < lo + size for lo, size, _, _ in self.places)

    def translate(self, value):
        """The new address for a pointer into old storage; None if what it
        points at has no place in the new storage (a member dropped, or the
        inside of a converted value); the value itself if it points
        elsewhere."""
        for lo, size, new, copies in self.places:
            if not lo <= value < lo + size:
                continue
            offset = value - lo
            if offset == 0:
                return new          # the static itself, whatever its first member became
            for c in copies:
                if c.conversion == "bytes" and c.old_offset <= offset < c.old_offset + c.old_size:
                    return new + c.new_offset + offset - c.old_offset
                if c.old_offset == offset and c.conversion in ("pointer", "float") or \
                        (c.conversion == "int" and c.old_bits[0] == offset * 8):
                    return new + c.new_offset
            return None
        return value


def new_value(old, initial, copies, translator):
    """The new storage's bytes: initial (the new source's initial value)
    with every copy carried from old.  Returns (bytes, refusals)."""
    data = bytearray(initial)
    refusals = []
    for c in copies:
        if c.conversion == "bytes":
            data[c.new_offset:c.new_offset + c.size] = old[c.old_offset:c.old_offset + c.size]
        elif c.conversion == "int":
            value = _get_bits(old, *c.old_bits)
            if c.old_signed and value >> (c.old_bits[1] - 1):
                value -= 1 << c.old_bits[1]
            width = c.new_bits[1]
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if c.new_signed else (0, (1 << width) - 1)
            if not lo <= value <= hi:
                refusals.append("%s holds %d, which does not fit in %s %d bits." % (
                    c.path or "the value", value, "signed" if c.new_signed else "unsigned", width))
                continue
            _set_bits(data, c.new_bits[0], width, value & ((1 << width) - 1))
        elif c.conversion == "float":
            value = struct.unpack("<f" if c.old_size == 4 else "<d", old[c.old_offset:c.old_offset + c.old_size])[0]
            try:
                data[c.new_offset:c.new_offset + c.size] = struct.pack("<f" if c.size == 4 else "<d", value)
            except OverflowError:
                refusals.append("%s holds %g, which does not fit in a float." % (c.path or "the value", value))
        elif c.conversion == "pointer":
            value = int.from_bytes(old[c.old_offset:c.old_offset + c.old_size], "little")
            moved = translator.translate(value)
            if moved is None:
                refusals.append("%s points at 0x%x, inside old storage that has no place in the new one."
                                % (c.path or "the value", value))
                continue
            data[c.new_offset:c.new_offset + c.size] = moved.to_bytes(c.size, "little")
    return bytes(data), refusals


def _get_bits(data, offset, width):
    first, last = offset // 8, (offset + width + 7) // 8
    return (int.from_bytes(data[first:last], "little") >> (offset % 8)) & ((1 << width) - 1)


def _set_bits(data, offset, width, value):
    first, last = offset // 8, (offset + width + 7) // 8
    word = int.from_bytes(data[first:last], "little")
    mask = ((1 << width) - 1) << (offset % 8)
    word = (word & ~mask) | (value << (offset % 8))
    data[first:last] = word.to_bytes(last - first, "little")


# --- pointers into old storage anywhere in the process -----------------------

# The scan reads memory in pieces of this size, and at most this much in all.
SCAN_CHUNK = 1 << 20
SCAN_LIMIT = 1 << 30
# A stack is scanned from this far below a thread's stack pointer (the
# x86-64 red zone a leaf function may use) to the end of its mapping.
RED_ZONE = 128


@dataclass
class Hit:
    address: int        # where the word is (0 for a register)
    value: int
    where: str          # "thread 1 register rbx", "[heap] 0x5555...", "libc.so.6 (writable data)"


@dataclass
class Scan:
    hits: List[Hit]
    bytes: int
    seconds: float


def _needles(lo, hi):
    """The top six bytes of every address in [lo, hi): a word that points
    into the range ends with one of them (little-endian)."""
    out = []
    block = lo >> 16
    while block << 16 < hi:
        out.append((block << 16).to_bytes(8, "little")[2:])
        block += 1
    return out


def scan_block(data, base, ranges):
    """(address, value) of every aligned 8-byte word of data (which starts
    at base) whose value lies in one of ranges [(lo, hi)].  bytes.find on
    each range's top bytes: Python does not look at every word."""
    found = []
    for lo, hi in ranges:
        for needle in _needles(lo, hi):
            at = data.find(needle)
            while at >= 0:
                start = at - 2
                if start >= 0 and (base + start) % 8 == 0:
                    value = int.from_bytes(data[start:start + 8], "little")
                    if lo <= value < hi:
                        found.append((base + start, value))
                at = data.find(needle, at + 1)
    return sorted(set(found))


def scan(dbg, ranges, regions, registers, skip=()):
    """Every word of the regions [(lo, hi, label)] and every register
    {label: value} that points into one of ranges [(lo, hi)], except
    the places in skip [(lo, hi)].  Bounded by SCAN_LIMIT bytes."""
    start = time.monotonic()
    hits, total = [], 0
    for label, value in registers:
        if any(lo <= value < hi for lo, hi in ranges):
            hits.append(Hit(0, value, label))
    for lo, hi, label in regions:
        at = lo
        while at < hi:
            size = min(SCAN_CHUNK, hi - at)
            if total + size > SCAN_LIMIT:
                raise HotfixError("the process has more than %d MiB of writable memory" % (SCAN_LIMIT >> 20))
            try:
                data = dbg.read_memory(at, size)
            except Exception:       # noqa: BLE001 - a guard page, or a mapping gone: nothing to read
                at += size
                continue
            total += size
            for address, value in scan_block(data, at, ranges):
                if not any(s <= address < e for s, e in skip):
                    hits.append(Hit(address, value, "%s 0x%x" % (label, address)))
            at += size
    return Scan(hits, total, time.monotonic() - start)


# --- at apply time: the writes, or why not ----------------------------------

@dataclass
class Move:
    """A Migration with the address its new storage has in the process."""
    migration: object       # plan.Migration
    new_address: int
    unreached: bool = True  # the new storage is a patch's that no code uses yet (not so for --revert)


@dataclass
class Carried:
    writes: list                    # apply.Write: new values, then pointers rewritten
    rewritten: List[str]            # "cursor -> counter", for --dry-run and --verbose
    stray: List[str]                # pointers left alone (--force-migrate)
    scan: Scan
    unsearched: str = ""            # why the process was not searched (--force-migrate)


_NOT_SCANNED = ("[vvar]", "[vvar_vclock]", "[vsyscall]", "[vdso]")


def regions_to_scan(dbg, program, registers):
    """[(lo, hi, label)]: every writable mapping (a thread's stack from its
    stack pointer's red zone up), and the RELRO part of each image (its
    GOT and relocated constants: read-only once loaded, but pointers)."""
    sps = [(tid, value) for tid, name, value in registers if name in ("rsp", "sp")]
    out = []
    previous = None
    for r in dbg.memory_regions():
        after, previous = previous, r
        if not (r.readable and r.writable) or r.name in _NOT_SCANNED:
            continue
        lo, label = r.start, r.name or "anonymous memory"
        mine = [(tid, sp) for tid, sp in sps if r.start <= sp < r.end]
        if mine:
            lo = max(r.start, min(sp for _, sp in mine) - RED_ZONE)
            label = "thread %s's stack" % "/".join(str(tid) for tid, _ in mine)
        elif r.name.startswith("/"):
            label = os.path.basename(r.name)
        elif not r.name and after is not None and after.end == r.start and after.name.startswith("/"):
            label = "%s (.bss)" % os.path.basename(after.name)     # the rest of a library's zeroed data
        out.append((lo, r.end, label))
    for im in program.images():
        for lo, hi, _ in load_segments(im.path, im.bias, relro_only=True):
            out.append((lo, hi, "%s (relocated read-only data)" % os.path.basename(im.path)))
    return out


def _image_places(program):
    return [(lo, hi, im) for im in program.images() if im.info is not None
            for lo, hi, _ in load_segments(im.path, im.bias)]


def _where(places, address):
    """(words, rewritable): a word's place, and whether hotfix may rewrite
    it (DWARF shows a pointer there, or it is in a patch library: hotfix's
    own bindings and migrated storage)."""
    for lo, hi, im in places:
        if not lo <= address < hi:
            continue
        name = os.path.basename(im.path)
        if im.patch:
            return "%s (hotfix's patch) 0x%x" % (name, address), True
        pointer = im.info.pointer_at(address - im.bias)
        if pointer:
            return "%s: %s" % (name, pointer), True
        sym = im.info.object_at(address - im.bias)
        if sym:
            return "%s: %s+%d" % (name, sym["name"], address - im.bias - sym["value"]), False
        return "%s 0x%x" % (name, address), False
    return None, False


def carry(dbg, program, moves, force, initial=True, back=False):
    """Read every migrated static's old value and build its new one; find
    every word of the process pointing into old storage: one DWARF shows
    as a pointer (or in a patch library) is rewritten, any other refuses
    the migration unless force.  Raises HotfixError naming every problem.
    initial False (--dry-run): the new storage is not loaded yet, its
    initial value taken as zeros.  back (--revert): the values go back to
    the program's own storage."""
    translator = Translator()
    for mv in moves:
        m = mv.migration
        translator.add(m.old_address, m.old_size, mv.new_address, m.copies)

    def owner(value):
        return next(mv.migration for mv in moves if mv.migration.old_address <= value <
                    mv.migration.old_address + mv.migration.old_size)

    problems, stray = {}, {}        # by static: sentences; words pointing into it
    writes, rewritten = [], []
    ranges = [mv.migration.old_range for mv in moves]
    for mv in moves:
        m = mv.migration
        old = dbg.read_memory(m.old_address, m.old_size)
        start = dbg.read_memory(mv.new_address, m.new_size) if initial else bytes(m.new_size)
        data, wrong = new_value(old, start, m.copies, translator)
        problems.setdefault(m.label, []).extend(wrong)
        carried = {c.new_offset for c in m.copies if c.conversion == "pointer"}
        for at, value in scan_block(data, 0, ranges):
            if at not in carried:       # in a union, or bytes of a type DWARF does not describe
                stray.setdefault(owner(value).label, []).append("%s+%d (copied as it is)" % (m.label, at))
        writes.append(Write(mv.new_address, data, "migrate %s" % m.label, unreached=mv.unreached))
    try:
        registers = dbg.registers()
        found = scan(dbg, ranges, regions_to_scan(dbg, program, registers),
                     [("thread %d register %s" % (tid, name), value) for tid, name, value in registers], skip=ranges)
    except HotfixError as e:
        # Not searched: nobody can say no pointer is left.
        found, unsearched = Scan([], 0, 0.0), str(e).rstrip(".")
        for mv in moves:
            if not force:
                problems[mv.migration.label].append(
                    "%s, so hotfix cannot search the process for pointers into the old storage (--force-migrate "
                    "goes ahead without searching)" % unsearched)
    else:
        unsearched = ""
    places = _image_places(program)
    for hit in found.hits:
        target = owner(hit.value)
        where, rewritable = _where(places, hit.address) if hit.address else (hit.where, False)
        where = where or hit.where
        if not rewritable:
            stray.setdefault(target.label, []).append(where)
            continue
        moved = translator.translate(hit.value)
        if moved is None:
            problems[target.label].append("%s points at %s+%d, which has no place in the new storage"
                                          % (where, target.label, hit.value - target.old_address))
            continue
        writes.append(Write(hit.address, moved.to_bytes(8, "little"), "pointer %s to %s" % (where, target.label)))
        rewritten.append("%s -> %s" % (where, target.label))
    if not force:
        for label, places_ in stray.items():
            if not places_:
                continue
            problems[label].append(
                "%s into its old storage %s at %s, which hotfix cannot tell %s (--force-migrate goes ahead and "
                "leaves %s pointing at the old storage)" % (
                    "a pointer" if len(places_) == 1 else "pointers", "is" if len(places_) == 1 else "are",
                    ", ".join(places_), "is a pointer" if len(places_) == 1 else "are pointers",
                    "it" if len(places_) == 1 else "them"))
    sentences = []
    for mv in moves:
        m = mv.migration
        if problems.get(m.label):
            why = "; ".join(p.rstrip(".") for p in problems[m.label])
            sentences.append("%s cannot go back from `%s' to `%s': %s." % (m.label, m.old_type, m.new_type, why)
                             if back else "the type of %s changed from `%s' to `%s' and hotfix cannot migrate "
                             "it: %s." % (m.label, m.old_type, m.new_type, why))
    if sentences:
        raise HotfixError("nothing was %s: %s" % ("reverted" if back else "changed", " ".join(sentences)))
    return Carried(writes, rewritten, ["%s -> %s" % (w, label) for label, ws in stray.items() for w in ws], found,
                   unsearched)
