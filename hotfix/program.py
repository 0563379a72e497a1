"""What the debugged program is made of: its loaded images, and for each
image its units (DWARF compile units), functions, statics and types.

Everything here is read lazily, once, and cached by file identity, so a
second `hotfix` in a session pays for nothing it already knows.
"""
import os
import struct
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import native
from .errors import HotfixError

# The DT_SONAME of every patch library: a library of the process with it is
# hotfix's, not the program's (its units are copies of the program's).
PATCH_SONAME = "hotfix-patch"


@dataclass
class Variable:
    scope: str          # enclosing function, "" at file scope
    name: str
    address: int        # link-time address in its image
    size: int
    type: str           # a readable description, compared across versions
    external: bool
    type_ref: int = -1  # the DIE offset of its type (ImageInfo.shape)

    @property
    def key(self):
        return (self.scope, self.name)

    @property
    def symbol(self):
        """A global's symbol (the name is the linkage name where DWARF has one)."""
        return self.name


@dataclass
class Unit:
    image: "ImageInfo"
    name: str           # DW_AT_name as the compiler saw it (may be relative)
    comp_dir: str
    producer: str
    cu_offset: int
    ranges: List[Tuple[int, int]]
    stmt_list: int = -1     # offset of its line program in .debug_line
    split: bool = False     # -gsplit-dwarf: its DIEs are in a .dwo file

    @property
    def path(self):
        return os.path.normpath(os.path.join(self.comp_dir, self.name))

    @property
    def label(self):
        return self.name

    @property
    def is_cxx(self):
        return "C++" in self.producer


def symbol_containing(table, address) -> Optional[dict]:
    """The symbol of table (sorted by address) whose bytes hold address."""
    lo, hi = 0, len(table)
    while lo < hi:
        mid = (lo + hi) // 2
        if table[mid]["value"] <= address:
            lo = mid + 1
        else:
            hi = mid
    if lo and address < table[lo - 1]["value"] + table[lo - 1]["size"]:
        return table[lo - 1]
    return None


class ImageInfo:
    """One ELF file of the program: its symbols and DWARF (both native)."""

    def __init__(self, path):
        self.path = path
        self.native = native.Image(path)
        self._units = None
        self._by_name = None
        self._found = {}            # lookup(name) without unit_file, once per name
        self._line_files = None
        self._memo = {}             # (what, cu_offset) -> types or variables
        self._last_dies = None      # (cu_offset, _Dies)

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
        """Function symbols whose address lies in the unit's ranges (a new
        list each time)."""
        return list(self._memoized("functions", unit, self._unit_functions))

    def _unit_functions(self, unit):
        return [s for s in self.symbol_table()["symbols"]
                if s["type"] == "func" and s["size"] and any(lo <= s["value"] < hi for lo, hi in unit.ranges)]

    def lookup(self, name, unit_file=None) -> Optional[dict]:
        """A defined symbol by name: a global one, or a local one that is
        unique (or unique within unit_file)."""
        if unit_file is not None:
            return self._lookup(name, unit_file)
        # A patch binds every name its unit refers to (6,000 and more).
        if name not in self._found:
            self._found[name] = self._lookup(name, None)
        return self._found[name]

    def _lookup(self, name, unit_file):
        cands = [s for s in self.functions_by_name().get(name, ()) if s["type"] in ("func", "object", "notype")]
        globals_ = [s for s in cands if s["bind"] != "local"]
        if globals_:
            return globals_[0]
        if unit_file is not None:
            mine = [s for s in cands if s["file"] == unit_file]
            if len(mine) == 1:
                return mine[0]
        return cands[0] if len(cands) == 1 else None

    def users(self, lo, hi) -> List[dict]:
        """The functions whose code refers into [lo, hi) (link-time
        addresses; x86-64, hf_users_json)."""
        key = ("users", lo, hi)
        if key not in self._memo:
            self._memo[key] = self.native.users(lo, hi)
        return self._memo[key]

    def unit_of(self, address) -> Optional[Unit]:
        """The unit whose address ranges hold a link-time address."""
        return next((u for u in self.units() if any(a <= address < b for a, b in u.ranges)), None)

    def object_at(self, address) -> Optional[dict]:
        """The data symbol whose bytes hold a link-time address."""
        if "objects" not in self._memo:
            self._memo["objects"] = sorted((s for s in self.symbol_table()["symbols"]
                                            if s["type"] == "object" and s["size"]), key=lambda s: s["value"])
        return symbol_containing(self._memo["objects"], address)

    def pointer_at(self, address) -> Optional[str]:
        """If DWARF shows a pointer (a variable of pointer type, or a member
        or element of one) at this link-time address: its name, e.g.
        "cursor" or "table[2].next".  Only the unit its symbol names is
        read (every unit for a global's)."""
        sym = self.object_at(address)
        if sym is None:
            return None
        units = [u for u in self.units() if os.path.basename(u.name) == sym["file"]] if sym["file"] else \
            self.units()
        for unit in units:
            for at, label in self.pointer_slots(unit):
                if at == address:
                    return label
        return None

    # --- DWARF (native) ----------------------------------------------------
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
            self._units = [Unit(image=self, name=u["name"] or self._primary_file(u["stmt_list"]),
                                comp_dir=u["comp_dir"], producer=u["producer"], cu_offset=u["offset"],
                                ranges=[tuple(r) for r in u["ranges"]], stmt_list=u["stmt_list"],
                                split=u["split"])
                           for u in table["units"]]
            self._units = [u for u in self._units if u.name]
            for u in self._units:
                if not os.path.isabs(u.comp_dir or "."):
                    u.comp_dir, u.name = self._unmapped(u.comp_dir or ".", u.name)
        return self._units

    def _unmapped(self, comp_dir, name):
        """A build with -ffile-prefix-map=DIR=. (dpkg-buildflags adds it to
        every Debian package) records DIR as "." in the unit's directory and
        in a source path that was absolute: find DIR from the image's
        directory upwards, as the one under which the source is, either
        relative to the unit's directory or (an absolute path mapped)
        relative to DIR itself.  (comp_dir, name), the name made absolute in
        the second case; else the directory taken from the image's."""
        here = os.path.dirname(os.path.abspath(self.path))
        base = here
        while True:
            directory = os.path.normpath(os.path.join(base, comp_dir))
            if os.path.isfile(os.path.join(directory, name)):
                return directory, name
            if not os.path.isabs(name) and os.path.isfile(os.path.join(base, name)):
                return directory, os.path.normpath(os.path.join(base, name))
            parent = os.path.dirname(base)
            if parent == base:
                return os.path.normpath(os.path.join(here, comp_dir)), name
            base = parent

    def _line_program_files(self, stmt_list, default):
        if self._line_files is None:
            self._line_files = self.native.line_files()
        return self._line_files.get(stmt_list, default)

    def _primary_file(self, stmt_list):
        """A split unit's source: the first file its line table names."""
        names = self._line_program_files(stmt_list, [])
        return names[0] if names else ""

    def unit_files(self, unit):
        """The unit's source and every file its line table names (headers
        with code or declarations; macro-only headers are not there)."""
        names = self._line_program_files(unit.stmt_list, [unit.name])
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

    def _dies(self, unit):
        """The unit's DIEs, read once for its types and its variables (the
        last unit asked is kept: a large unit has hundreds of thousands)."""
        self.units()        # no debug information: it says so
        if self._last_dies is not None and self._last_dies[0] == unit.cu_offset:
            return self._last_dies[1]
        try:
            dies = _Dies(self.native.unit_dies(unit.cu_offset))
        except native.NativeError as e:
            raise HotfixError("cannot read the debug information of %s in %s: %s"
                              % (unit.name, self.path, e)) from e
        self._last_dies = (unit.cu_offset, dies)
        return dies

    def _types(self, unit) -> Dict[str, str]:
        """Layouts of the complete struct, class and union types the unit
        defines (qualified name -> size, bases, members with offsets and
        virtual functions with their vtable slots)."""
        dies = self._dies(unit)
        out = {}
        for die in dies.all:
            if die.tag not in _RECORDS or "s" not in die.a or die.a.get("d"):
                continue
            name = _qualified_name(die)
            if name:
                try:
                    out[name] = _layout(dies, die)
                except _Unresolved:
                    pass        # a member's type is in a type unit: not compared
        return out

    def _variables(self, unit) -> Dict[Tuple[str, str], Variable]:
        """Statics and globals the unit defines, keyed by (scope, name)."""
        dies = self._dies(unit)
        out, ambiguous = {}, set()
        for die in dies.all:
            if die.tag != _VARIABLE or "a" not in die.a:
                continue        # no fixed address: a local, a TLS variable or a declaration
            spec = dies.ref(die, "sp") or die
            name = _name_of(dies, spec)
            scope = _enclosing_function(dies, die)
            if not name or scope is None:
                continue        # in a function DWARF does not name (clang -O2)
            key = (scope, name)
            if key in out or key in ambiguous:
                # Two statics of one name in one function (in separate
                # blocks): their symbols, not their names, tell them apart.
                out.pop(key, None)
                ambiguous.add(key)
                continue
            try:
                size, type_text = _type_of(dies, spec)
            except _Unresolved:
                continue        # its type is in a type unit: matched by symbol (size) instead
            out[key] = Variable(scope, name, die.a["a"], size, type_text, bool(spec.a.get("e")),
                                spec.a.get("ty", -1))
        return out

    # --- structured types (migrating statics) ------------------------------
    def shape(self, unit, variable) -> "Shape":
        """The structured type of one of the unit's variables (raises
        HotfixError when DWARF keeps it elsewhere)."""
        dies = self._memoized("dies", unit, self._dies)
        t = dies.by_offset.get(variable.type_ref)
        if t is None:
            raise HotfixError("the type of %s is not in the debug information of %s." % (variable.name, unit.name))
        try:
            return _shape(dies, t, {})
        except _Unresolved:
            raise HotfixError("the type of %s is kept outside the debug information of %s "
                              "(a type unit)." % (variable.name, unit.name)) from None

    def pointer_slots(self, unit) -> List[Tuple[int, str]]:
        """Every pointer DWARF shows in the unit's statics and globals
        (members and array elements too, not inside unions): (link-time
        address, "variable.member[2]")."""
        return self._memoized("pointers", unit, self._pointer_slots)

    def _pointer_slots(self, unit):
        out = []
        dies = self._dies(unit)
        shapes = {}
        for (scope, name), var in self.variables(unit).items():
            t = dies.by_offset.get(var.type_ref)
            if t is None:
                continue
            try:
                shape = _shape(dies, t, shapes)
            except _Unresolved:
                continue
            label = "%s in %s()" % (name, scope) if scope else name
            out += [(var.address + offset, label + path) for offset, path in shape.pointers()]
        return out

    def type_uses(self, unit, names) -> Dict[str, List[Tuple[str, object, str]]]:
        """Where the unit holds or points at an instance of each named
        struct, class or union (through typedefs, qualifiers and arrays),
        as (kind, what, words): ("variable", (scope, name), ...) for a
        variable with a fixed address (a static being migrated, perhaps),
        ("declaration", name, ...) for a global's declaration, ("member",
        record, ...) for a member or base of another record, and ("other",
        None, "a pointer" / "a parameter of f()" / ...) otherwise."""
        dies = _Dies(self.native.unit_dies(unit.cu_offset, parameters=True))
        wanted = {}
        for die in dies.all:
            if die.tag in _RECORDS:
                name = _qualified_name(die)
                if name in names:
                    wanted[die.a["o"]] = name
        # Typedefs, qualifiers and arrays of a wanted type are that type.
        _through(dies, wanted, _TRANSPARENT)
        # A pointer to it that only C++'s `this' parameters are is no
        # instance: a `this' in use is a word on a stack or in a register
        # (the search for pointers into old storage finds it).
        pointers = {die.a["o"]: die.a["o"] for die in dies.all if die.tag == _POINTER and die.a.get("ty") in wanted}
        _through(dies, pointers, tuple(_QUALIFIERS))
        used = {pointers[die.a["ty"]] for die in dies.all if die.a.get("ty") in pointers
                and die.tag not in _QUALIFIERS and not (die.tag == _PARAMETER and die.a.get("ar"))}
        out = {name: [] for name in names}
        for die in dies.all:
            name = wanted.get(die.a.get("ty"))
            if name is None or die.tag in _TRANSPARENT or die.tag == _POINTER and die.a["o"] not in used:
                continue
            out[name].append(_use(dies, die))
        return out

    def close(self):
        self._last_dies = None
        self.native.close()


class _Die:
    __slots__ = ("tag", "a", "parent", "children")

    def __init__(self, tag, attributes, parent):
        self.tag, self.a, self.parent, self.children = tag, attributes, parent, []


class _Dies:
    """One unit's DIEs (hf_unit_dies_json): a tree, and offsets to follow
    references.  Tags are DWARF's numbers."""

    def __init__(self, items):
        self.all = []
        self.by_offset = {}
        for item in items:
            p = item["p"]
            parent = self.all[p] if p >= 0 else None
            die = _Die(item["t"], item, parent)
            if parent is not None:
                parent.children.append(die)
            self.all.append(die)
            self.by_offset[item["o"]] = die

    def ref(self, die, key):
        """The DIE an attribute refers to (None: absent, or in another unit)."""
        off = die.a.get(key)
        return None if off is None else self.by_offset.get(off)


_COMPILE_UNIT, _SUBPROGRAM, _VARIABLE, _LEXICAL_BLOCK, _NAMESPACE = 0x11, 0x2e, 0x34, 0x0b, 0x39
_STRUCT, _CLASS, _UNION = 0x13, 0x02, 0x17
_MEMBER, _INHERITANCE, _SUBRANGE = 0x0d, 0x1c, 0x21
_TYPEDEF, _POINTER, _ARRAY, _ENUM, _SUBROUTINE = 0x16, 0x0f, 0x01, 0x04, 0x15
_TAG_NAMES = {0x10: "reference", 0x42: "rvalue reference", 0x1f: "pointer to member",
              0x24: "base type", 0x3b: "unspecified type", 0x15: "a function type"}
_PARAMETER, _BASE_TYPE = 0x05, 0x24


def _name_of(dies, die):
    a = die.a
    if "l" in a:
        return a["l"]
    if "n" in a:
        return a["n"]
    origin = dies.ref(die, "ao")
    if origin is not None and origin is not die:
        return _name_of(dies, origin)
    return ""


_RECORDS = (_STRUCT, _CLASS, _UNION)


def _qualified_name(die):
    parts = []
    while die is not None and die.tag != _COMPILE_UNIT:
        if "n" not in die.a:
            if die.tag in _RECORDS or die.tag == _NAMESPACE:
                parts.append("(anonymous)")
            else:
                return ""       # a type local to a function: not shared with live objects
        else:
            parts.append(die.a["n"])
        die = die.parent
        if die is not None and die.tag in (_SUBPROGRAM, _LEXICAL_BLOCK):
            return ""
    return "::".join(reversed(parts))


def _layout(dies, die):
    """A type's layout as text: equal texts, equal layouts."""
    items = ["%d bytes" % die.a["s"]]
    for child in die.children:
        a = child.a
        if child.tag == _INHERITANCE:
            base = dies.ref(child, "ty")
            items.append("base %s at %s" % (base and _qualified_name(base) or "?", a.get("m", 0)))
        elif child.tag == _MEMBER and not a.get("e"):
            if "m" not in a and die.tag != _UNION:
                continue        # a static member: not part of the layout
            _, t = _type_of(dies, child, 2)
            bits = ":%d" % a["b"] if "b" in a else ""
            items.append("%s %s at %s%s" % (t, _name_of(dies, child), a.get("m", 0), bits))
        elif child.tag == _SUBPROGRAM and "v" in a:
            items.append("virtual %s in slot %s" % (a.get("n", "?"), a["v"]))
    return "; ".join(items)


def describe_type(dies_json):
    """For a unit's DIEs (hf_unit_dies_json), a function giving the
    description of the type at a .debug_info offset, as statics' types are
    compared ("?" if it is not there)."""
    dies = _Dies(dies_json)

    def text(offset):
        t = dies.by_offset.get(offset)
        if t is None:
            return "?"
        try:
            return _describe(dies, t, 0)[1]
        except _Unresolved:
            return "?"
    return text


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


def _enclosing_function(dies, die):
    """The name of the function a static is local to, "" at file scope,
    None if DWARF does not name that function."""
    parent = die.parent
    while parent is not None:
        if parent.tag == _SUBPROGRAM:
            return _name_of(dies, dies.ref(parent, "sp") or parent) or None
        if parent.tag == _COMPILE_UNIT:
            return ""
        parent = parent.parent
    return ""


def _type_of(dies, die, depth=0):
    """(byte size, description) of a DIE's type; the description names
    members with their offsets so that a layout change shows."""
    if "ty" not in die.a:
        return 0, "void"
    t = dies.ref(die, "ty")
    if t is None:
        raise _Unresolved()
    return _describe(dies, t, depth)


class _Unresolved(Exception):
    """A type DWARF keeps outside the unit (-fdebug-types-section, dwz)."""


_QUALIFIERS = {0x26: "const ", 0x35: "volatile ", 0x47: "_Atomic ", 0x37: ""}
_TRANSPARENT = (_TYPEDEF, _ARRAY) + tuple(_QUALIFIERS)


def _describe(dies, t, depth):
    tag = t.tag
    a = t.a
    name = a.get("n", "")
    size = a.get("s", 0)
    if tag in _QUALIFIERS or tag == _TYPEDEF:
        inner_size, inner = _type_of(dies, t, depth)
        if tag == _TYPEDEF:
            return inner_size, "%s=%s" % (name, inner) if depth < 2 else name
        return inner_size, _QUALIFIERS[tag] + inner
    if tag == _POINTER:
        if depth > 1:
            return size or 8, "pointer"
        _, inner = _type_of(dies, t, depth + 1)
        return size or 8, inner + " *"
    if tag == _ARRAY:
        elem_size, elem = _type_of(dies, t, depth)
        count = 1
        dims = []
        for child in t.children:
            if child.tag == _SUBRANGE:
                ca = child.a
                n = ca["c"] if "c" in ca else ca["u"] + 1 if "u" in ca else 0
                dims.append(n)
                count *= n
        return size or elem_size * count, "%s%s" % (elem, "".join("[%d]" % d for d in dims))
    if tag in _RECORDS:
        if depth == 0 and a.get("d") and "s" not in a:
            raise _Unresolved()     # only declared here (its definition is in a type unit)
        kw = {_STRUCT: "struct", _UNION: "union"}.get(tag, "class")
        if depth > 1:
            return size, "%s %s (%d bytes)" % (kw, name, size)
        members = []
        for child in t.children:
            if child.tag == _MEMBER:
                _, mt = _type_of(dies, child, depth + 1)
                members.append("%s %s@%s" % (mt, _name_of(dies, child), child.a.get("m", 0)))
        return size, "%s %s {%s} (%d bytes)" % (kw, name, "; ".join(members), size)
    if tag == _ENUM:
        return size, "enum %s (%d bytes)" % (name, size)
    if tag == _SUBROUTINE:
        return 0, "function"
    return size, name or _TAG_NAMES.get(tag, "DW_TAG 0x%x" % tag)


# ------------------------------------------------ structured types (shapes)

@dataclass(frozen=True)
class Field:
    """A member of a struct, class or union: its byte offset, or for a
    bit-field its bit offset and width (bits counted from the record's
    first byte, little-endian)."""
    name: str
    offset: int
    shape: "Shape"
    bit_offset: int = -1
    bit_size: int = 0


@dataclass(frozen=True)
class Shape:
    """A type as migrating a static needs it, typedefs and qualifiers
    resolved.  kind: "int" (integers, bool, characters; enums too, by
    value), "float", "pointer", "struct", "class", "union", "array",
    "other" (anything else: compared, never converted)."""
    kind: str
    size: int
    name: str = ""
    signed: bool = False
    fields: Tuple[Field, ...] = ()
    element: Optional["Shape"] = None
    count: int = 0
    virtual: bool = False           # a record with a vtable (virtual functions or bases)

    @property
    def record(self):
        return self.kind in ("struct", "class", "union")

    def describe(self):
        if self.kind == "array":
            return "%s[%d]" % (self.element.describe(), self.count)
        if self.record:
            return "%s %s" % (self.kind, self.name or "(anonymous)")
        return self.name or self.kind

    def pointers(self, offset=0, path=""):
        """(byte offset, member path) of every pointer in it, outside unions."""
        if self.kind == "pointer":
            return [(offset, path)]
        if self.kind == "array" and self.element.has_pointers():
            out = []
            for i in range(self.count):
                out += self.element.pointers(offset + i * self.element.size, "%s[%d]" % (path, i))
            return out
        if self.kind in ("struct", "class"):
            return [p for f in self.fields if f.bit_size == 0
                    for p in f.shape.pointers(offset + f.offset, "%s.%s" % (path, f.name))]
        return []

    def has_pointers(self):
        """Whether a pointer lies anywhere in it (unions too)."""
        if self.kind == "array":
            return self.element.has_pointers()
        return self.kind == "pointer" or any(f.shape.has_pointers() for f in self.fields)


_SIGNED_ENCODINGS = (5, 6, 0xd)          # DW_ATE_signed, signed_char, signed_fixed
_INT_ENCODINGS = (2, 5, 6, 7, 8, 0x10)   # boolean, signed, signed_char, unsigned, unsigned_char, UTF
_FLOAT_ENCODING = 4


def _shape(dies, t, memo):
    """The Shape of a type DIE (memo: by DIE offset; types refer to each
    other only through pointers, which are not followed)."""
    key = t.a["o"]
    if key not in memo:
        memo[key] = _read_shape(dies, t, memo)
    return memo[key]


def _inner(dies, t, memo):
    if "ty" not in t.a:
        return Shape("other", 0, "void")
    inner = dies.ref(t, "ty")
    if inner is None:
        raise _Unresolved()
    return _shape(dies, inner, memo)


def _read_shape(dies, t, memo):
    tag, a = t.tag, t.a
    name, size = a.get("n", ""), a.get("s", 0)
    if tag in _QUALIFIERS or tag == _TYPEDEF:
        return _inner(dies, t, memo)
    if tag == _BASE_TYPE:
        en = a.get("en", 0)
        if en in _INT_ENCODINGS:
            return Shape("int", size, name, en in _SIGNED_ENCODINGS)
        return Shape("float" if en == _FLOAT_ENCODING else "other", size, name)
    if tag == _ENUM:
        # By value: as its underlying type (signed when DWARF does not say).
        under = _inner(dies, t, memo) if "ty" in a else Shape("int", size, "", True)
        return Shape("int", size or under.size, "enum " + name if name else "enum", under.signed)
    if tag == _POINTER:
        return Shape("pointer", size or 8, "pointer")
    if tag == _ARRAY:
        element = _inner(dies, t, memo)
        dims = [c.a["c"] if "c" in c.a else c.a["u"] + 1 if "u" in c.a else 0
                for c in t.children if c.tag == _SUBRANGE]
        for n in reversed(dims or [0]):
            element = Shape("array", n * element.size, "", element=element, count=n)
        return element
    if tag in _RECORDS:
        if a.get("d") and "s" not in a:
            raise _Unresolved()
        kind = {_STRUCT: "struct", _UNION: "union"}.get(tag, "class")
        fields, virtual = [], False
        for child in t.children:
            ca = child.a
            if child.tag == _INHERITANCE:
                base = _inner(dies, child, memo)
                fields.append(Field("(base %s)" % base.name, ca.get("m", 0), base))
                virtual = virtual or base.virtual or "m" not in ca
            elif child.tag == _MEMBER and not ca.get("e"):
                if "m" not in ca and "bo" not in ca and "bx" not in ca and tag != _UNION:
                    continue        # a static member: not part of the layout
                member = _inner(dies, child, memo)
                fname = _name_of(dies, child) or "(anonymous %d)" % len(fields)
                if fname.startswith("_vptr"):
                    virtual = True
                if "b" in ca:
                    bit = ca["bo"] if "bo" in ca else ca.get("m", 0) * 8 + \
                        (ca.get("s") or member.size) * 8 - ca.get("bx", 0) - ca["b"]
                    fields.append(Field(fname, bit // 8, member, bit, ca["b"]))
                else:
                    fields.append(Field(fname, ca.get("m", 0), member))
            elif child.tag == _SUBPROGRAM and "v" in ca:
                virtual = True
        return Shape(kind, size, _qualified_name(t), fields=tuple(fields), virtual=virtual)
    return Shape("other", size, name or _TAG_NAMES.get(tag, "DW_TAG 0x%x" % tag))


def _through(dies, found, tags):
    """found ({DIE offset: value}) grown by every DIE of one of tags whose
    type is in it (a typedef of a typedef of it...), with its value."""
    grown = True
    while grown:
        grown = False
        for die in dies.all:
            if die.tag in tags and die.a["o"] not in found and die.a.get("ty") in found:
                found[die.a["o"]] = found[die.a["ty"]]
                grown = True


def _use(dies, die):
    """What a DIE that refers to a (wanted) type is: (kind, what, words)."""
    if die.tag == _VARIABLE:
        spec = dies.ref(die, "sp") or die
        name = _name_of(dies, spec)
        scope = _enclosing_function(dies, die)
        if "a" in die.a:
            label = "%s in %s()" % (name, scope) if scope else name
            return ("variable", (scope or "", name), "the variable %s" % label)
        if die.a.get("d"):
            return ("declaration", name, "the declaration of %s" % name)
        if scope:
            return ("other", None, "the local variable %s in %s()" % (name, scope))
        return ("other", None, "the variable %s, of which DWARF gives no single address (the compiler split "
                               "it or optimised it away)" % name)
    if die.tag in (_MEMBER, _INHERITANCE):
        record = _qualified_name(die.parent) or "(anonymous)"
        return ("member", record, "a member of %s" % record)
    if die.tag == _PARAMETER:
        scope = die.parent
        while scope is not None and scope.tag != _SUBPROGRAM:
            scope = scope.parent
        fn = _name_of(dies, dies.ref(scope, "sp") or scope) if scope is not None else ""
        return ("other", None, "a parameter of %s()" % fn if fn else "a parameter")
    if die.tag == _SUBPROGRAM:
        return ("other", None, "the result of %s()" % _name_of(dies, die))
    if die.tag == _POINTER:
        return ("other", None, "a pointer to it")
    return ("other", None, _TAG_NAMES.get(die.tag, "DW_TAG 0x%x" % die.tag))


# ---------------------------------------------------------------- the process

@dataclass
class LoadedImage:
    path: str
    bias: int
    info: Optional[ImageInfo]
    name: str = ""          # its path in the process (the loader's l_name)

    @property
    def patch(self):
        """Whether it is a patch hotfix loaded (PATCH_SONAME)."""
        return self.info is not None and self.info.native.header().get("soname") == PATCH_SONAME


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
        self.link_map = []      # [(l_addr, l_name, l_ld)] as images() read it

    def images(self) -> List[LoadedImage]:
        if self._images is None:
            entries = self.link_map = read_link_map(self.debugger, self._header())
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
                images.append(LoadedImage(path, bias, info, name))
            self._images = images
        return self._images

    def _header(self):
        exe = self.debugger.executable()
        try:
            return self.cache.image(exe).native.header() if exe and os.path.isfile(exe) else None
        except native.NativeError:
            return None

    def frozen(self):
        """This program as it is now, for another thread: its images (read
        here, on the debugger's thread) are all it knows; it never asks the
        debugger again."""
        images = self.images()
        copy = Program(None, self.cache, dict(self.copies))
        copy._images, copy.link_map = list(images), list(self.link_map)
        return copy

    def note_loaded(self, name, path, bias):
        """A patch hotfix has just loaded (name: its path in the process):
        the loader appended it to its list, as images() would read it now."""
        if self._images is not None:
            try:
                info = self.cache.image(path)
            except native.NativeError:
                info = None
            self._images.append(LoadedImage(path, bias, info, name))

    def program_images(self):
        """The images of the program itself: without hotfix's patches."""
        return [im for im in self.images() if not im.patch]

    def main_image(self):
        return self.images()[0]

    def image_for(self, info):
        for im in self.images():
            if im.info is info and info is not None:
                return im
        raise HotfixError("%s is not loaded in the process." % info.path)


PT_LOAD, PT_GNU_RELRO = 1, 0x6474E552


def program_headers(path):
    """(p_type, p_flags, p_vaddr, p_memsz, p_align) of each program header
    of a 64-bit little-endian ELF file, read directly (pyelftools takes 10
    ms to open a patch of 6,000 functions); ValueError for another file."""
    with open(path, "rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            raise ValueError("%s is not a 64-bit little-endian ELF file" % path)
        phoff, = struct.unpack_from("<Q", ident, 0x20)
        size, count = struct.unpack_from("<HH", ident, 0x36)
        f.seek(phoff)
        table = f.read(size * count)
    out = []
    for i in range(count):
        p_type, flags, _, vaddr, _, _, memsz, align = struct.unpack_from("<IIQQQQQQ", table, i * size)
        out.append((p_type, flags, vaddr, memsz, align))
    return out


def load_segments(path, bias, relro_only=False):
    """[(start, end, prot)] of an ELF file loaded at bias: its RELRO part
    (read-only once the loader has relocated it) first, then (unless
    relro_only) each PT_LOAD segment with the PROT_* bits its flags give,
    page-aligned."""
    relro, loads = [], []
    try:
        headers = program_headers(path)
    except (OSError, ValueError, struct.error):
        return []
    for p_type, flags, vaddr, memsz, _ in headers:
        lo = (vaddr + bias) & ~0xFFF
        hi = (vaddr + memsz + bias + 0xFFF) & ~0xFFF
        if p_type == PT_GNU_RELRO:
            relro.append((lo, (vaddr + memsz + bias) & ~0xFFF, 1))
        elif p_type == PT_LOAD:
            # PF_X 1, PF_W 2, PF_R 4
            prot = (1 if flags & 4 else 0) | (2 if flags & 2 else 0) | (4 if flags & 1 else 0)
            loads.append((lo, hi, prot))
    return relro if relro_only else relro + loads


AT_ENTRY, DT_NULL, DT_DEBUG = 9, 0, 21


def _r_debug_from_dynamic(debugger, header):
    """The loader's r_debug from the program's own DT_DEBUG entry, found
    through the entry point in the auxiliary vector: no symbol lookup (in
    GDB, looking up _r_debug searches the whole program's debug
    information first).  None when anything is missing."""
    entry = debugger.auxv_entry(AT_ENTRY)
    if not entry or not header or not header["dynamic_address"] or not header["entry"]:
        return None
    at = entry - header["entry"] + header["dynamic_address"]
    for _ in range(64):
        chunk = debugger.read_memory(at, min(256, 4096 - at % 4096))
        for i in range(0, len(chunk) - 15, 16):
            tag = int.from_bytes(chunk[i:i + 8], "little")
            if tag == DT_NULL:
                return None
            if tag == DT_DEBUG:
                r_debug = int.from_bytes(chunk[i + 8:i + 16], "little")
                version = int.from_bytes(debugger.read_memory(r_debug, 4), "little") if r_debug else 0
                return r_debug if version in (1, 2) else None
        at += len(chunk) - len(chunk) % 16
    return None


def read_link_map(debugger, header=None):
    """[(l_addr, l_name, l_ld)] from the dynamic loader's r_debug, the main
    program first.  A static binary has none.  header: the program file's
    (hf_header_json), to find r_debug without a symbol lookup."""
    try:
        r_debug = _r_debug_from_dynamic(debugger, header)
    except Exception:       # noqa: BLE001 - any debugger's memory error: look the symbol up
        r_debug = None
    r_debug = r_debug or debugger.symbol_address("_r_debug")
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


_exported, _dynamic = {}, {}
_SHT_DYNSYM, _SHT_DYNAMIC, _SHT_GNU_VERSYM = 11, 6, 0x6fffffff
_VERSYM_HIDDEN = 0x8000
_DT_NEEDED, _DT_SONAME = 1, 14


def _once(table, path, read):
    """read(file) of the ELF file at path, once per file (path, time,
    size); None for a file that is not a 64-bit little-endian ELF file or
    cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
    if key not in table:
        try:
            with open(path, "rb") as f:
                table[key] = read(_ElfSections(f))
        except (OSError, struct.error, ValueError):
            table[key] = None
    return table[key]


class _ElfSections:
    """The section headers of a 64-bit little-endian ELF file, read with
    struct: system libraries are stripped (native/ reads only files with
    a symbol table), and pyelftools takes milliseconds to open one."""

    def __init__(self, f):
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            raise ValueError("not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", ident, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", ident, 0x3a)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        self.f = f
        self.sections = [struct.unpack_from("<IIQQQQIIQQ", table, i * shentsize) for i in range(shnum)]

    def find(self, kind):
        return next((i for i, sec in enumerate(self.sections) if sec[1] == kind), None)

    def data(self, index):
        _, _, _, _, offset, size, _, _, _, _ = self.sections[index]
        self.f.seek(offset)
        return self.f.read(size)


def exported_symbols(path):
    """The names a shared object defines for others: its dynamic symbols
    that are defined, global or weak, and of the default version.  None
    for a file that is not a 64-bit little-endian ELF file (whoever asks
    then links the slow way)."""
    return _once(_exported, path, _read_exported)


def _read_exported(elf):
    dynsym = elf.find(_SHT_DYNSYM)
    if dynsym is None:
        return frozenset()
    strings = elf.data(elf.sections[dynsym][6])
    symbols = elf.data(dynsym)
    versym = elf.find(_SHT_GNU_VERSYM)
    versions = elf.data(versym) if versym is not None else b""
    out = set()
    for n, (name, info, _other, shndx, _value, _size) in enumerate(struct.iter_unpack("<IBBHQQ", symbols)):
        if not shndx or (info >> 4) not in (1, 2, 10):        # undefined; not global, weak or unique
            continue
        if 2 * n + 2 <= len(versions) and struct.unpack_from("<H", versions, 2 * n)[0] & _VERSYM_HIDDEN:
            continue        # an old version kept for old programs: not what a new link gets
        end = strings.index(b"\0", name)
        out.add(strings[name:end].decode(errors="replace"))
    return frozenset(out)


def dynamic_names(path):
    """(DT_SONAME or "", (DT_NEEDED, ...)) of an executable or shared
    object; None if it cannot be read."""
    return _once(_dynamic, path, _read_dynamic)


def _read_dynamic(elf):
    dynamic = elf.find(_SHT_DYNAMIC)
    if dynamic is None:
        return "", ()
    strings = elf.data(elf.sections[dynamic][6])

    def string(at):
        return strings[at:strings.index(b"\0", at)].decode(errors="replace")

    soname, needed = "", []
    for tag, value in struct.iter_unpack("<qQ", elf.data(dynamic)):
        if tag == _DT_NEEDED:
            needed.append(string(value))
        elif tag == _DT_SONAME:
            soname = string(value)
        elif tag == 0:
            break
    return soname, tuple(needed)


def started_with(images):
    """The paths of the libraries among images (LoadedImage, the program
    first) that the dynamic loader loaded with the program: the closure
    of its DT_NEEDED entries.  Their symbols are in the scope every
    library the program loads later is bound in; a library loaded later
    with dlopen may not be (RTLD_LOCAL, the default).  A library whose
    entries cannot be read ends the search there (it and what only it
    needs count as loaded later)."""
    by_name = {}
    for im in images[1:]:
        names = dynamic_names(im.path)
        for key in {os.path.basename(im.name), os.path.basename(im.path), names[0] if names else ""} - {""}:
            by_name.setdefault(key, im.path)
    first = dynamic_names(images[0].path) if images else None
    todo, seen = list(first[1]) if first else [], set()
    while todo:
        path = by_name.get(os.path.basename(todo.pop()))
        if path is None or path in seen:
            continue
        seen.add(path)
        names = dynamic_names(path)
        if names:
            todo.extend(names[1])
    return seen


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

    def forget(self, path):
        """A file that goes (a prepared patch nobody loads)."""
        real = os.path.realpath(path)
        for key in [k for k in self._images if k[0] == real]:
            self._images.pop(key).close()
