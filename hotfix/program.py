"""What the debugged program is made of: its loaded images, and for each
image its units (DWARF compile units), functions, statics and types.

Everything here is read lazily, once, and cached by file identity, so a
second `hotfix` in a session pays for nothing it already knows.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import native
from .errors import HotfixError


@dataclass
class Variable:
    scope: str          # enclosing function, "" at file scope
    name: str
    address: int        # link-time address in its image
    size: int
    type: str           # a readable description, compared across versions
    external: bool


@dataclass
class Unit:
    image: "ImageInfo"
    name: str           # DW_AT_name as the compiler saw it (may be relative)
    comp_dir: str
    producer: str
    cu_offset: int
    ranges: List[Tuple[int, int]]
    stmt_list: int = -1     # offset of its line program in .debug_line

    @property
    def path(self):
        return os.path.normpath(os.path.join(self.comp_dir, self.name))

    @property
    def label(self):
        return self.name

    @property
    def is_cxx(self):
        return "C++" in self.producer


class ImageInfo:
    """One ELF file of the program: symbols (native) and DWARF (pyelftools)."""

    def __init__(self, path):
        self.path = path
        self.native = native.Image(path)
        self._file = None
        self._dwarf = None
        self._units = None
        self._by_name = None
        self._line_files = None
        self._memo = {}             # (what, cu_offset) -> types or variables

    # --- symbols ---------------------------------------------------------
    def symbol_table(self):
        return self.native.symbols()

    def functions_by_name(self) -> Dict[str, List[dict]]:
        if self._by_name is None:
            table = {}
            for s in self.symbol_table()["symbols"]:
                table.setdefault(s["name"], []).append(s)
            self._by_name = table
        return self._by_name

    def unit_functions(self, unit) -> List[dict]:
        """Function symbols whose address lies in the unit's ranges."""
        out = []
        for s in self.symbol_table()["symbols"]:
            if s["type"] == "func" and s["size"] and any(lo <= s["value"] < hi for lo, hi in unit.ranges):
                out.append(s)
        return out

    def lookup(self, name, unit_file=None) -> Optional[dict]:
        """A defined symbol by name: a global one, or a local one that is
        unique (or unique within unit_file)."""
        cands = [s for s in self.functions_by_name().get(name, ()) if s["type"] in ("func", "object", "notype")]
        globals_ = [s for s in cands if s["bind"] != "local"]
        if globals_:
            return globals_[0]
        if unit_file is not None:
            mine = [s for s in cands if s["file"] == unit_file]
            if len(mine) == 1:
                return mine[0]
        return cands[0] if len(cands) == 1 else None

    # --- DWARF -----------------------------------------------------------
    def _dwarf_info(self):
        if self._dwarf is None:
            # pyelftools costs ~60 ms to import: only when DIEs are needed.
            from elftools.elf.elffile import ELFFile
            self._file = open(self.path, "rb")
            elf = ELFFile(self._file)
            if not elf.has_dwarf_info() or not elf.get_section_by_name(".debug_info"):
                raise HotfixError("%s has no debug information: build it with -g." % self.path)
            self._dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
        return self._dwarf

    def has_debug_info(self):
        try:
            self.units()
            return True
        except HotfixError:
            return False

    def units(self) -> List[Unit]:
        """The compile units, from their first DIE (native: pyelftools
        parses every unit's abbreviations to get there, ~5 ms a unit)."""
        if self._units is None:
            table = self.native.units()
            if not table["debug_info"]:
                raise HotfixError("%s has no debug information: build it with -g." % self.path)
            self._units = [Unit(image=self, name=u["name"], comp_dir=u["comp_dir"], producer=u["producer"],
                                cu_offset=u["offset"], ranges=[tuple(r) for r in u["ranges"]],
                                stmt_list=u["stmt_list"])
                           for u in table["units"]]
        return self._units

    def unit_files(self, unit):
        """The unit's source and every file its line table names (headers
        with code or declarations; macro-only headers are not there)."""
        if self._line_files is None:
            self._line_files = self.native.line_files()
        names = self._line_files.get(unit.stmt_list, [unit.name])
        return {os.path.normpath(os.path.join(unit.comp_dir, n)) for n in names}

    def _memoized(self, what, unit, read):
        key = (what, unit.cu_offset)
        if key not in self._memo:
            self._memo[key] = read(unit)
        return self._memo[key]

    def types(self, unit) -> Dict[str, str]:
        return self._memoized("types", unit, self._types)

    def variables(self, unit) -> Dict[Tuple[str, str], Variable]:
        return self._memoized("variables", unit, self._variables)

    def _types(self, unit) -> Dict[str, str]:
        """Layouts of the complete struct, class and union types the unit
        defines (qualified name -> size, bases, members with offsets and
        virtual functions with their vtable slots)."""
        dwarf = self._dwarf_info()
        cu = dwarf.get_CU_at(unit.cu_offset)
        out = {}
        for die in cu.iter_DIEs():
            if die.tag not in _RECORDS or "DW_AT_byte_size" not in die.attributes:
                continue
            if "DW_AT_declaration" in die.attributes:
                continue
            name = _qualified_name(die)
            if name:
                out[name] = _layout(die)
        return out

    def _variables(self, unit) -> Dict[Tuple[str, str], Variable]:
        """Statics and globals the unit defines, keyed by (scope, name)."""
        dwarf = self._dwarf_info()
        cu = dwarf.get_CU_at(unit.cu_offset)
        out = {}
        for die in cu.iter_DIEs():
            if die.tag != "DW_TAG_variable" or "DW_AT_location" not in die.attributes:
                continue
            loc = die.attributes["DW_AT_location"]
            if loc.form not in ("DW_FORM_exprloc", "DW_FORM_block1") or not loc.value or loc.value[0] != 0x03:
                continue        # not a fixed address (DW_OP_addr): a local or TLS
            address = int.from_bytes(bytes(loc.value[1:9]), "little")
            spec = die
            if "DW_AT_specification" in die.attributes:
                spec = die.get_DIE_from_attribute("DW_AT_specification")
            name = _name_of(spec)
            if not name:
                continue
            scope = _enclosing_function(die)
            size, type_text = _type_of(spec)
            out[(scope, name)] = Variable(scope, name, address, size, type_text,
                                          "DW_AT_external" in spec.attributes)
        return out

    def close(self):
        self.native.close()
        if self._file:
            self._file.close()


def _text(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _name_of(die):
    a = die.attributes
    if "DW_AT_linkage_name" in a:
        return _text(a["DW_AT_linkage_name"].value)
    if "DW_AT_name" in a:
        return _text(a["DW_AT_name"].value)
    if "DW_AT_abstract_origin" in a:
        return _name_of(die.get_DIE_from_attribute("DW_AT_abstract_origin"))
    return ""


_RECORDS = ("DW_TAG_structure_type", "DW_TAG_class_type", "DW_TAG_union_type")


def _qualified_name(die):
    parts = []
    while die is not None and die.tag != "DW_TAG_compile_unit":
        if "DW_AT_name" not in die.attributes:
            if die.tag in _RECORDS or die.tag == "DW_TAG_namespace":
                parts.append("(anonymous)")
            else:
                return ""       # a type local to a function: not shared with live objects
        else:
            parts.append(_text(die.attributes["DW_AT_name"].value))
        die = die.get_parent()
        if die is not None and die.tag in ("DW_TAG_subprogram", "DW_TAG_lexical_block"):
            return ""
    return "::".join(reversed(parts))


def _layout(die):
    """A type's layout as text: equal texts, equal layouts."""
    items = ["%d bytes" % die.attributes["DW_AT_byte_size"].value]
    for child in die.iter_children():
        a = child.attributes
        if child.tag == "DW_TAG_inheritance":
            base = child.get_DIE_from_attribute("DW_AT_type")
            off = a["DW_AT_data_member_location"].value if "DW_AT_data_member_location" in a else 0
            items.append("base %s at %s" % (_qualified_name(base) or "?", off))
        elif child.tag == "DW_TAG_member" and "DW_AT_external" not in a:
            if "DW_AT_data_member_location" not in a and die.tag != "DW_TAG_union_type":
                continue        # a static member: not part of the layout
            off = a["DW_AT_data_member_location"].value if "DW_AT_data_member_location" in a else 0
            _, t = _type_of(child, 2)
            bits = ":%d" % a["DW_AT_bit_size"].value if "DW_AT_bit_size" in a else ""
            items.append("%s %s at %s%s" % (t, _name_of(child), off, bits))
        elif child.tag == "DW_TAG_subprogram" and "DW_AT_vtable_elem_location" in a:
            loc = a["DW_AT_vtable_elem_location"].value
            slot = loc[-1] if isinstance(loc, list) and loc else loc
            items.append("virtual %s in slot %s" % (_text(a["DW_AT_name"].value) if "DW_AT_name" in a else "?",
                                                   slot))
    return "; ".join(items)


def layout_change(old, new):
    """The first difference between two layouts, in words."""
    a, b = old.split("; "), new.split("; ")
    if a[0] != b[0]:
        return "its size changed from %s to %s" % (a[0], b[0])
    for x in a[1:]:
        if x not in b:
            return "`%s' is no longer there" % x
    for x in b[1:]:
        if x not in a:
            return "`%s' is new" % x
    return "its members moved"


def _enclosing_function(die):
    parent = die.get_parent()
    while parent is not None:
        if parent.tag == "DW_TAG_subprogram":
            target = parent
            if "DW_AT_specification" in target.attributes:
                target = target.get_DIE_from_attribute("DW_AT_specification")
            return _name_of(target)
        if parent.tag == "DW_TAG_compile_unit":
            return ""
        parent = parent.get_parent()
    return ""


def _type_of(die, depth=0):
    """(byte size, description) of a DIE's type; the description names
    members with their offsets so that a layout change shows."""
    if "DW_AT_type" not in die.attributes:
        return 0, "void"
    t = die.get_DIE_from_attribute("DW_AT_type")
    return _describe(t, depth)


_QUALIFIERS = {"DW_TAG_const_type": "const ", "DW_TAG_volatile_type": "volatile ",
               "DW_TAG_atomic_type": "_Atomic ", "DW_TAG_restrict_type": ""}


def _describe(t, depth):
    tag = t.tag
    a = t.attributes
    name = _text(a["DW_AT_name"].value) if "DW_AT_name" in a else ""
    size = a["DW_AT_byte_size"].value if "DW_AT_byte_size" in a else 0
    if tag in _QUALIFIERS or tag == "DW_TAG_typedef":
        inner_size, inner = _type_of(t, depth)
        if tag == "DW_TAG_typedef":
            return inner_size, "%s=%s" % (name, inner) if depth < 2 else name
        return inner_size, _QUALIFIERS[tag] + inner
    if tag == "DW_TAG_pointer_type":
        if depth > 1:
            return size or 8, "pointer"
        _, inner = _type_of(t, depth + 1)
        return size or 8, inner + " *"
    if tag == "DW_TAG_array_type":
        elem_size, elem = _type_of(t, depth)
        count = 1
        dims = []
        for child in t.iter_children():
            if child.tag == "DW_TAG_subrange_type":
                ca = child.attributes
                if "DW_AT_count" in ca:
                    n = ca["DW_AT_count"].value
                elif "DW_AT_upper_bound" in ca:
                    n = ca["DW_AT_upper_bound"].value + 1
                else:
                    n = 0
                dims.append(n)
                count *= n
        return size or elem_size * count, "%s%s" % (elem, "".join("[%d]" % d for d in dims))
    if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
        kw = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union"}.get(tag, "class")
        if depth > 1:
            return size, "%s %s (%d bytes)" % (kw, name, size)
        members = []
        for child in t.iter_children():
            if child.tag == "DW_TAG_member":
                ca = child.attributes
                off = ca["DW_AT_data_member_location"].value if "DW_AT_data_member_location" in ca else 0
                _, mt = _type_of(child, depth + 1)
                members.append("%s %s@%s" % (mt, _name_of(child), off))
        return size, "%s %s {%s} (%d bytes)" % (kw, name, "; ".join(members), size)
    if tag == "DW_TAG_enumeration_type":
        return size, "enum %s (%d bytes)" % (name, size)
    if tag == "DW_TAG_subroutine_type":
        return 0, "function"
    return size, name or tag


# ---------------------------------------------------------------- the process

@dataclass
class LoadedImage:
    path: str
    bias: int
    info: Optional[ImageInfo]


class Program:
    """The debugged process as hotfix sees it: loaded images with their
    load bias, read from the dynamic loader's link map.  Each image is read
    from the file the debugger reads for it on this machine (on a remote
    target, its host copy); `copies` maps paths in the process to host
    files hotfix put there itself (its patches)."""

    def __init__(self, debugger, cache, copies=None):
        self.debugger = debugger
        self.cache = cache
        self.copies = copies or {}
        self._images = None

    def images(self) -> List[LoadedImage]:
        if self._images is None:
            entries = read_link_map(self.debugger)
            images = []
            for i, (bias, name, dynamic) in enumerate(entries):
                if i and not name or "linux-vdso" in name:
                    continue
                path = self.copies.get(name) or self.debugger.image_file("" if i == 0 else name, dynamic)
                if not path or not os.path.isfile(path):
                    if i == 0:
                        raise HotfixError("the debugger has no file on this machine for the program "
                                          "(%s)." % (self.debugger.executable() or "no executable"))
                    continue
                try:
                    info = self.cache.image(path)
                except native.NativeError:
                    info = None     # stripped (system libraries are): nothing to bind there
                images.append(LoadedImage(path, bias, info))
            self._images = images
        return self._images

    def main_image(self):
        return self.images()[0]

    def image_for(self, info):
        for im in self.images():
            if im.info is info and info is not None:
                return im
        raise HotfixError("%s is not loaded in the process." % info.path)


def load_segments(path, bias):
    """[(start, end, prot)] of an ELF file loaded at bias: its RELRO part
    (read-only once the loader has relocated it) first, then each PT_LOAD
    segment with the PROT_* bits its flags give, page-aligned."""
    from elftools.elf.elffile import ELFFile
    relro, loads = [], []
    try:
        with open(path, "rb") as f:
            for seg in ELFFile(f).iter_segments():
                lo = (seg["p_vaddr"] + bias) & ~0xFFF
                hi = (seg["p_vaddr"] + seg["p_memsz"] + bias + 0xFFF) & ~0xFFF
                if seg["p_type"] == "PT_GNU_RELRO":
                    relro.append((lo, (seg["p_vaddr"] + seg["p_memsz"] + bias) & ~0xFFF, 1))
                elif seg["p_type"] == "PT_LOAD":
                    flags = seg["p_flags"]          # PF_X 1, PF_W 2, PF_R 4
                    prot = (1 if flags & 4 else 0) | (2 if flags & 2 else 0) | (4 if flags & 1 else 0)
                    loads.append((lo, hi, prot))
    except (OSError, ValueError):
        return []
    return relro + loads


def read_link_map(debugger):
    """[(l_addr, l_name, l_ld)] from the dynamic loader's r_debug, the main
    program first.  A static binary has none."""
    r_debug = debugger.symbol_address("_r_debug")
    if not r_debug:
        raise HotfixError("the program is statically linked (no dynamic loader), so hotfix "
                          "cannot load a patch into it.")
    head = int.from_bytes(debugger.read_memory(r_debug + 8, 8), "little")
    out = []
    seen = 0
    while head and seen < 4096:
        raw = debugger.read_memory(head, 40)
        l_addr, l_name, l_ld, l_next = (int.from_bytes(raw[i:i + 8], "little") for i in (0, 8, 16, 24))
        out.append((l_addr, read_c_string(debugger, l_name) if l_name else "", l_ld))
        head = l_next
        seen += 1
    return out


def read_c_string(debugger, address, limit=4096):
    data = b""
    while len(data) < limit:
        # Never across a page boundary: the string may end just before an
        # unmapped page (an environment string at the top of the stack).
        at = address + len(data)
        chunk = debugger.read_memory(at, min(256, 4096 - at % 4096))
        nul = chunk.find(b"\0")
        if nul >= 0:
            return (data + chunk[:nul]).decode(errors="replace")
        data += chunk
    return data.decode(errors="replace")


class ImageCache:
    """ImageInfo objects by (path, mtime, size): reused across commands."""

    def __init__(self):
        self._images = {}

    def image(self, path):
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
        info = self._images.get(key)
        if info is None:
            info = self._images[key] = ImageInfo(path)
        return info
