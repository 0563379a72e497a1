"""AArch64 patch objects: reach the unit's data and function addresses
through the GOT.

A patch .so is loaded far from the program (more than the 4 GiB an
adrp/:lo12: pair reaches), yet its code must use the program's live
statics and the program's function addresses.  GCC has no large code model
for PIC on AArch64, so hotfix compiles the patch to assembly and rewrites
each direct reference to a symbol defined in the unit's writable data
(statics, the unit's globals) or to one of its functions' addresses:

    adrp  xN, sym           ->  adrp  xN, :got:sym
                                ldr   xN, [xN, #:got_lo12:sym]
    ... [xM, #:lo12:sym+K]  ->  ... [xM, #K]
    add   xD, xM, :lo12:sym ->  add   xD, xM, #0

The register an adrp of sym sets is used only with :lo12: parts of sym
(GCC pairs them), so holding sym's address instead of its page, with
each :lo12:sym+K becoming K, computes the same addresses.  The linker gives
each such symbol a GOT slot (a dynamic relocation hotfix reads back), and
after loading hotfix points the slot at the program's own variable or
function.  Calls (bl) stay direct: they reach the patch's own copies, or the
program's functions through PLT slots hotfix fills.  Read-only data and
literals are left alone: the new ones are right.  Section anchors must be
off (-fno-section-anchors): they address several statics from one symbol.
"""
import re

_SYM = r'[A-Za-z_.$][\w.$]*'
_SECTION = re.compile(r'\s*\.section\s+("[^"]*"|[^,\s]+)(?:\s*,\s*"([^"]*)")?')
_PUSHSECTION = re.compile(r'\s*\.pushsection\s+("[^"]*"|[^,\s]+)(?:\s*,\s*"([^"]*)")?')
_LABEL = re.compile(r'^(%s):' % _SYM)
_TYPE_FUNC = re.compile(r'\s*\.type\s+(%s)\s*,\s*[%%@](function|gnu_indirect_function)' % _SYM)
_COMM = re.compile(r'\s*\.(?:comm|lcomm)\s+(%s)\s*,' % _SYM)
_ADRP = re.compile(r'^(\s*)adrp\s+(x\d+|x16|x17|x29|x30)\s*,\s*(%s)\s*([+-]\s*\d+)?\s*(//.*)?$' % _SYM)
_LO12 = re.compile(r'#?:lo12:(%s)\s*(?:([+-])\s*(\d+))?' % _SYM)


def _writable(name, flags):
    name = name.strip('"')
    if flags is not None:
        return "w" in flags and "T" not in flags       # thread-local data goes its own way
    return name.startswith((".data", ".bss")) and not name.startswith((".tdata", ".tbss"))


def targets(lines):
    """Symbols defined in the unit's writable data, and its functions."""
    section, flags = ".text", "ax"
    stack = []
    found = set()
    for line in lines:
        m = _SECTION.match(line)
        if m:
            section, flags = m.group(1), m.group(2)
            continue
        m = _PUSHSECTION.match(line)
        if m:
            stack.append((section, flags))
            section, flags = m.group(1), m.group(2)
            continue
        s = line.strip()
        if s == ".popsection" and stack:
            section, flags = stack.pop()
            continue
        if s in (".text", ".data", ".bss"):
            section, flags = s, None
            continue
        m = _TYPE_FUNC.match(line)
        if m:
            found.add(m.group(1))
            continue
        m = _COMM.match(line)
        if m:
            found.add(m.group(1))
            continue
        m = _LABEL.match(line)
        if m and _writable(section, flags):
            found.add(m.group(1))
    return found


def rewrite(text):
    """The assembly with every direct reference to the unit's writable data
    and function addresses made through the GOT.  Returns (text, count of
    adrp instructions rewritten)."""
    lines = text.splitlines()
    syms = targets(lines)
    out = []
    count = 0

    def lo12(m):
        if m.group(1) not in syms:
            return m.group(0)
        k = int(m.group(3) or 0) * (-1 if m.group(2) == "-" else 1)
        return "#%d" % k

    for line in lines:
        m = _ADRP.match(line)
        if m and m.group(3) in syms:
            indent, reg, sym = m.group(1), m.group(2), m.group(3)
            out.append("%sadrp\t%s, :got:%s" % (indent, reg, sym))
            out.append("%sldr\t%s, [%s, #:got_lo12:%s]" % (indent, reg, reg, sym))
            count += 1
            continue
        if ":lo12:" in line:
            line = _LO12.sub(lo12, line)
        out.append(line)
    return "\n".join(out) + "\n", count
