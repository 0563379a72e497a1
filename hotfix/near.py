"""Loading a patch within 2 GiB of the image its unit belongs to (x86-64).

A patch built -fPIC with the small code model reaches the program's
functions and statics through 32-bit PC-relative fields, which hotfix
points at them after the load (plan.py, kind "pc32"): that needs the
library within 2 GiB of them.  The compile costs what the program's own
does (-mcmodel=large, which reaches anywhere, about 12 % more).

dlopen gives the kernel no address (a PIE program's loader asks for none),
and the kernel puts a mapping at the top of the highest free gap below its
mmap base that fits.  So, for the one inferior call that loads the patch,
every other gap that could take it, above the place hotfix chose, is mapped
PROT_NONE (MAP_NORESERVE, MAP_FIXED_NOREPLACE: nothing of the process is
touched, no memory is committed), and unmapped when dlopen returns
(NEAR_DLOPEN below).  The place: the top of the highest free gap below the
image that is in reach (a PIE program has terabytes free below it), else the
highest place in reach above it (a non-PIE program at 0x400000: its heap
keeps the room below).  Whether the patch landed in reach is checked after
the load (rebind_writes); if not, it is unloaded and built for anywhere.

Read from /proc/PID/maps: a remote target, or a process whose stack limit
is unlimited (the kernel then maps bottom-up), loads patches built for
anywhere.
"""
import os
import struct
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .program import PT_LOAD, program_headers

REACH = 1 << 31
MARGIN = 64 << 20            # kept inside the reach (the patch's own data, rounding)
PAGE = 4096
TOP = 1 << 47                # user space (above: the vsyscall page)
MAX_RANGES = 168             # reservations the call's block holds
LOW = 1 << 16                # vm.mmap_min_addr

# near_dlopen(block), block = {dlopen, path, flags, n, (address, length,
# result) * n}: each range mapped PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
# MAP_NORESERVE | MAP_FIXED_NOREPLACE (the result stored in its third
# word), dlopen(path, flags) called, each range unmapped that was mapped
# (where asked, or elsewhere by a kernel that takes the flag for a hint);
# dlopen's value returned.  Syscalls touch no vector register; the call
# itself goes through the debugger's own call path (GDB: the XSAVE wrapper).
#    53 41 54 41 55 41 56 41 57   push %rbx, %r12 .. %r15 (the stack aligned for the call)
#    49 89 fc               mov    %rdi,%r12           (the block)
#    49 8d 5c 24 20         lea    0x20(%r12),%rbx     (the first range)
#    4d 8b 6c 24 18         mov    0x18(%r12),%r13     (how many)
# 1: 4d 85 ed               test   %r13,%r13
#    74 2d                  je     2f
#    48 8b 3b               mov    (%rbx),%rdi
#    48 8b 73 08            mov    0x8(%rbx),%rsi
#    31 d2                  xor    %edx,%edx           (PROT_NONE)
#    41 ba 22 40 10 00      mov    $0x104022,%r10d
#    49 c7 c0 ff ff ff ff   mov    $-1,%r8
#    45 31 c9               xor    %r9d,%r9d
#    b8 09 00 00 00         mov    $9,%eax             (mmap)
#    0f 05                  syscall
#    48 89 43 10            mov    %rax,0x10(%rbx)
#    48 83 c3 18            add    $0x18,%rbx
#    49 ff cd               dec    %r13
#    eb ce                  jmp    1b
# 2: 49 8b 7c 24 08         mov    0x8(%r12),%rdi      (path)
#    41 8b 74 24 10         mov    0x10(%r12),%esi     (flags)
#    31 c0                  xor    %eax,%eax
#    41 ff 14 24            call   *(%r12)             (dlopen)
#    49 89 c6               mov    %rax,%r14
#    49 8d 5c 24 20         lea    0x20(%r12),%rbx
#    4d 8b 6c 24 18         mov    0x18(%r12),%r13
# 3: 4d 85 ed               test   %r13,%r13
#    74 33                  je     4f
#    48 8b 7b 10            mov    0x10(%rbx),%rdi
#    48 3b 3b               cmp    (%rbx),%rdi
#    75 0d                  jne    5f
#    48 8b 73 08            mov    0x8(%rbx),%rsi
#    b8 0b 00 00 00         mov    $11,%eax            (munmap)
#    0f 05                  syscall
#    eb 14                  jmp    6f
# 5: 48 81 ff 00 f0 ff ff   cmp    $-4096,%rdi         (an error: nothing mapped)
#    73 0b                  jae    6f
#    48 8b 73 08            mov    0x8(%rbx),%rsi
#    b8 0b 00 00 00         mov    $11,%eax
#    0f 05                  syscall
# 6: 48 83 c3 18            add    $0x18,%rbx
#    49 ff cd               dec    %r13
#    eb c8                  jmp    3b
# 4: 4c 89 f0               mov    %r14,%rax
#    41 5f 41 5e 41 5d 41 5c 5b   pop %r15 .. %r12, %rbx
#    c3                     ret
NEAR_DLOPEN = bytes.fromhex(
    "5341544155415641574989fc498d5c24204d8b6c24184d85ed742d488b3b488b730831d241ba2240100049c7c0ffffffff"
    "4531c9b8090000000f05488943104883c31849ffcdebce498b7c2408418b74241031c041ff14244989c6498d5c24204d8b"
    "6c24184d85ed7433488b7b10483b3b750d488b7308b80b0000000f05eb144881ff00f0ffff730b488b7308b80b0000000f"
    "054883c31849ffcdebc84c89f0415f415e415d415c5bc3")
BLOCK_PATH = 4096            # where the path goes in the block
BLOCK_SIZE = 3 * PAGE


@dataclass
class Mapping:
    lo: int
    hi: int
    name: str


@dataclass
class Placement:
    base: int                             # where the library's first byte goes
    reserved: List[Tuple[int, int]]       # (address, length) mapped for the call


def read_maps(pid) -> Optional[List[Mapping]]:
    try:
        with open("/proc/%d/maps" % pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = []
    for line in lines:
        parts = line.split(None, 5)
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if lo < TOP:
            out.append(Mapping(lo, hi, parts[5] if len(parts) > 5 else ""))
    return sorted(out, key=lambda m: m.lo)


def stack_limit(pid) -> Optional[int]:
    """The process's soft stack limit in bytes (None: unlimited or unknown)."""
    try:
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max stack size"):
                    soft = line[len("Max stack size"):].split()[0]
                    return None if soft == "unlimited" else int(soft)
    except (OSError, ValueError, IndexError):
        pass
    return None


_extent = {}


def image_extent(path, bias) -> Optional[Tuple[int, int]]:
    """[lo, hi) of an ELF file's loaded segments at bias."""
    key = (path, bias)
    if key not in _extent:
        try:
            lo, hi, _ = library_span(path)
            _extent[key] = (lo + bias, ((hi + PAGE - 1) & ~(PAGE - 1)) + bias)
        except (OSError, ValueError, struct.error):
            _extent[key] = None
    return _extent[key]


def _gaps(maps, ceiling):
    """Free [lo, hi) between mappings, below ceiling."""
    out, prev = [], LOW
    for m in maps:
        if m.lo > prev:
            out.append((prev, min(m.lo, ceiling)))
        prev = max(prev, m.hi)
        if prev >= ceiling:
            break
    if prev < ceiling:
        out.append((prev, ceiling))
    return [(lo, hi) for lo, hi in out if hi > lo]


def place(maps, extent, size, stack_rlimit, linked=None) -> Optional[Placement]:
    """Where a library of `size` bytes (its mapped span, alignment
    included) goes within reach of every byte of extent, and what to map
    around it for the call; None if nowhere (or too many gaps to fill).

    linked: [lo, hi) the library is linked at, which the loader asks the
    kernel for: mapped for the call too, so that it never lands there.
    LLDB 19 takes a library the loader lists with a load bias of 0 for the
    program itself, and never reads its symbols."""
    if not maps or extent is None or stack_rlimit is None or stack_rlimit > (1 << 30):
        return None
    size = (size + PAGE - 1) & ~(PAGE - 1)
    held = []
    if linked is not None:
        lo_l, hi_l = linked[0] & ~(PAGE - 1), (linked[1] + PAGE - 1) & ~(PAGE - 1)
        if not any(m.lo < hi_l and lo_l < m.hi for m in maps):
            held = [(lo_l, hi_l - lo_l)]
            maps = sorted(maps + [Mapping(lo_l, hi_l, "(linked)")], key=lambda m: m.lo)
    lo, hi = extent
    stack = next((m for m in maps if m.name == "[stack]"), None)
    # Mapped for the call only up to where the main stack may grow (and
    # its guard gap); above that is above the kernel's mmap base anyway.
    ceiling = (stack.hi - stack_rlimit - (16 << 20)) & ~(PAGE - 1) if stack else TOP
    lowest = max(hi - REACH + MARGIN, LOW)
    highest = lo + REACH - MARGIN - size          # the highest base in reach
    gaps = _gaps(maps, ceiling)
    below = [(g0, min(g1, lo) - size) for g0, g1 in gaps if g1 <= lo]
    above = [(g0, min(g1 - size, highest)) for g0, g1 in gaps if g0 >= hi]
    base = None
    for g0, top in sorted(below, reverse=True, key=lambda g: g[1]) + sorted(above, reverse=True, key=lambda g: g[1]):
        top &= ~(PAGE - 1)
        if top >= max(g0, lowest) and top <= highest:
            base = top
            break
    if base is None:
        return None
    # Above the place, every gap that could take the library (the rest of
    # its own gap whatever its size); above the heap, brk keeps a little
    # room: malloc in dlopen may grow it, and a gap smaller than the
    # library and than malloc's own mmap (1 MiB) takes neither.
    heap_ends = {m.hi for m in maps if m.name == "[heap]"}
    room = max(min(size - PAGE, (1 << 20) - 16 * PAGE), 0) & ~(PAGE - 1)
    reserved = []
    for g0, g1 in gaps:
        start = max(g0 + (room if g0 in heap_ends else 0), base + size)
        if g1 > start and (g1 - start >= size or g0 <= base < g1):
            reserved.append((start, g1 - start))
    reserved = held + reserved
    if len(reserved) > MAX_RANGES:
        return None
    return Placement(base, reserved)


def in_reach(lo, hi, extent):
    """Whether [lo, hi) is within reach of every byte of extent."""
    return lo >= extent[1] - REACH + MARGIN // 2 and hi <= extent[0] + REACH - MARGIN // 2


def link_base(extent):
    """The address a patch is linked at: in reach of the image (the linker
    checks its 32-bit fields against the program's symbols; after the load
    hotfix points them again from where the library is)."""
    lo, hi = extent
    return (lo - (256 << 20)) & ~0xFFFFF if lo > (1 << 30) else (hi + (256 << 20)) & ~0xFFFFF


def stand_ins(bindings, base):
    """{name: address} for the program's symbols (bindings) beyond reach of
    a patch linked at base (another image's: a shared library's function):
    the link defines them at base, so that its 32-bit fields fit; after the
    load hotfix points every field that runs at the real address, a call
    through a slot (apply.far_branches), a GOT slot with the address."""
    return {name: base for name, address in bindings.items() if not -REACH + MARGIN < address - base < REACH - MARGIN}


def library_span(path):
    """(lowest, highest) link-time address of a library's loaded segments,
    and the size dlopen maps for it (its largest alignment added)."""
    loads = [(vaddr, memsz, align) for p_type, _, vaddr, memsz, align in program_headers(path) if p_type == PT_LOAD]
    lo = min(v for v, _, _ in loads) & ~(PAGE - 1)
    hi = max(v + m for v, m, _ in loads)
    align = max(a for _, _, a in loads)
    return lo, hi, (hi - lo) + (align if align > PAGE else 0)


def choice(arch, state, target, history):
    """The extent of the unit's image when its next patch is built to load
    near it, else None: another machine, a unit whose patch landed out of
    reach before or was built to load anywhere, HOTFIX_FAR=1 in hotfix's
    environment (tests of the other way)."""
    if not arch.near_load_flags or not state.local or not state.pid or os.environ.get("HOTFIX_FAR") == "1":
        return None
    if target.unit.path in state.far_units or any(not getattr(v, "near", False) for v in history):
        return None
    if stack_limit(state.pid) is None:
        return None
    return image_extent(target.image.path, target.image.bias)


def block(dlopen, path_address, flags, reserved):
    """The call's block (without the path, which goes at BLOCK_PATH)."""
    words = [dlopen, path_address, flags, len(reserved)]
    for address, length in reserved:
        words += [address, length, 0]
    return b"".join((w & (1 << 64) - 1).to_bytes(8, "little") for w in words)
