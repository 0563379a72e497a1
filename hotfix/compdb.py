"""Finding the unit a user names, and the command that compiled it.

A unit is named by its source file: as typed (relative to the current
directory), absolute, or as DWARF names it.  Its command comes from a
compile_commands.json near the executable, the unit's DW_AT_comp_dir (and
upwards), or the current directory; failing that, from DW_AT_producer.
"""
import difflib
import json
import os
import shlex
from dataclasses import dataclass
from typing import List

from .errors import HotfixError


class UnknownFile(HotfixError):
    """The file is not one of the program's units."""


@dataclass
class CompileCommand:
    directory: str
    argv: List[str]        # the compiler and its flags, without -c/-o/-M*/file
    source: str            # the file exactly as the original command names it
    origin: str            # where the command came from, for messages
    warning: str = ""      # said to the user when the command may be incomplete
    output: str = ""       # the object file it wrote, when known (absolute)


def find_unit(program, typed):
    """The unit of the program whose source file is `typed`."""
    candidates = []
    wanted = os.path.normpath(os.path.abspath(typed))
    wanted_real = os.path.realpath(typed)
    for image in program.program_images():
        if image.info is None or not image.info.has_debug_info():
            continue
        for unit in image.info.units():
            if _is_runtime_unit(unit):
                continue
            candidates.append(unit)
            if unit.path in (wanted,) or os.path.realpath(unit.path) == wanted_real:
                return unit
    # As DWARF names it (a relative name, or a suffix of the path).
    norm = os.path.normpath(typed)
    suffix = [u for u in candidates if u.name == norm or u.path.endswith(os.sep + norm)]
    if len(suffix) == 1:
        return suffix[0]
    if len(suffix) > 1:
        raise HotfixError("%s matches several units: %s; give the full path."
                          % (typed, ", ".join(sorted(u.path for u in suffix))))
    main = program.main_image()
    if main.info is None or not main.info.has_debug_info():
        raise HotfixError("%s has no debug information: build it with -g." % main.path)
    names = sorted({u.name for u in candidates})
    close = difflib.get_close_matches(typed, names, n=3, cutoff=0.3)
    if not close:
        base = os.path.basename(typed)
        close = [n for n in names if os.path.basename(n) == base][:3]
    hint = "; did you mean %s?" % " or ".join(close) if close else ""
    raise UnknownFile("%s is not a source file of the program%s" % (typed, hint))


def _is_runtime_unit(unit):
    # crt files and libc's own units are not the user's code.
    return not unit.name or unit.name.endswith((".S", ".s", ".asm"))


def database_places(unit, executable):
    places = []
    seen = set()

    def add(directory):
        while directory and directory not in seen:
            seen.add(directory)
            places.append(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent

    add(os.path.dirname(os.path.abspath(executable)))
    if unit.comp_dir:
        add(unit.comp_dir)
    add(os.getcwd())
    for d in list(places):
        build = os.path.join(d, "build")
        if build not in seen:
            seen.add(build)
            places.append(build)
    return places


def find_compile_command(unit, executable, _cache={}):
    for directory in database_places(unit, executable):
        path = os.path.join(directory, "compile_commands.json")
        if not os.path.isfile(path):
            continue
        database = _load_database(path, _cache)
        commands = [c for c in (_command(e, path) for e in database.find(unit.path)) if c]
        if commands:
            return _the_one_that_built(commands, unit, executable)
    return _from_producer(unit)


def _the_one_that_built(commands, unit, executable):
    """One file compiled twice (libtool: for the shared library with -fPIC
    -DPIC, sometimes as C++, and for the program; jemalloc: once more with
    other -D flags, to list its symbols): the command whose object, where it
    is still there, defines the functions the program has of the unit
    (-D flags are recorded nowhere else), then whose language and
    code-generation flags the unit's DW_AT_producer records (GCC records
    them), then whose position-independence fits the image (a shared
    library's -fPIC)."""
    if len(commands) == 1:
        return commands[0]
    recorded = {w for w in unit.producer.split() if w.startswith(("-O", "-f", "-m", "-g", "-std="))}
    in_library = getattr(getattr(unit, "image", None), "path", executable) != executable
    defined = _functions_defined(commands, unit)

    def score(command):
        flags = {a for a in command.argv[1:] if a.startswith(("-O", "-f", "-m", "-g", "-std="))}
        cxx = _is_cxx_command(command)
        pic = bool(flags & {"-fPIC", "-fpic"})
        return (defined.get(id(command), 0), (cxx == unit.is_cxx),
                len(flags & recorded) - len(flags - recorded) if recorded else 0, pic == in_library)

    return max(commands, key=score)


def _functions_defined(commands, unit):
    """{id(command): how many of the unit's functions in the program its
    object defines (by name)}, for the commands whose object is there."""
    image = getattr(unit, "image", None)
    if image is None or not hasattr(image, "unit_functions"):
        return {}
    try:
        wanted = {f["name"] for f in image.unit_functions(unit)}
    except HotfixError:
        return {}
    from .native import Image, NativeError      # only for a file compiled twice
    out = {}
    for command in commands:
        if command.output and os.path.exists(command.output):
            try:
                table = Image(command.output).symbols()
            except (NativeError, HotfixError, OSError):
                continue
            out[id(command)] = len(wanted & {s["name"] for s in table["symbols"] if s["type"] == "func"})
    return out


def _is_cxx_command(command):
    compiler = os.path.basename(command.argv[0])
    return ("++" in compiler or compiler.endswith("CC") or "-xc++" in command.argv
            or any(a == "-x" and b == "c++" for a, b in zip(command.argv, command.argv[1:])))


class _Database:
    """One compile_commands.json, indexed by the path of each entry's file
    (as written, then resolved through symlinks, only if needed)."""

    def __init__(self, path, entries):
        self.path = path
        self.entries = entries
        self.by_path = {}
        self._by_real = None
        for entry in entries:
            name = self._file(entry)
            if name:
                self.by_path.setdefault(os.path.normpath(name), []).append(entry)

    def _file(self, entry):
        file = entry.get("file", "")
        return os.path.join(entry.get("directory", os.path.dirname(self.path)), file) if file else ""

    def find(self, unit_path):
        """Every entry that compiles the file (a file may be compiled twice)."""
        entries = self.by_path.get(os.path.normpath(unit_path))
        if entries:
            return entries
        if self._by_real is None:
            self._by_real = {}
            for entry in self.entries:
                name = self._file(entry)
                if name:
                    self._by_real.setdefault(os.path.realpath(name), []).append(entry)
        return self._by_real.get(os.path.realpath(unit_path), [])


def _load_database(path, cache):
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in cache:
        try:
            with open(path) as f:
                cache[key] = _Database(path, json.load(f))
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise HotfixError("%s cannot be read: %s" % (path, e))
    return cache[key]


def _command(entry, db_path):
    directory = entry.get("directory", os.path.dirname(db_path))
    file = entry.get("file", "")
    if "arguments" in entry:
        argv = list(entry["arguments"])
    else:
        argv = shlex.split(entry.get("command", ""))
    if not argv:
        return None
    output = entry.get("output", "")
    if not output and "-o" in argv[:-1]:
        output = argv[argv.index("-o") + 1]
    output = os.path.join(directory, output) if output else ""
    source = _source_as_named(argv, file, directory)
    return CompileCommand(directory, clean_arguments(argv, source), source, db_path, output=output)


def _source_as_named(argv, file, directory):
    """The source file as the command's own arguments name it: bear writes
    "file" absolute while the build compiled a relative name, and that name
    is __FILE__ (in every assert) and the unit's DW_AT_name."""
    wanted = os.path.normpath(os.path.join(directory, file))
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in _DROP_WITH_VALUE:
            skip = True
        elif not arg.startswith("-") and os.path.normpath(os.path.join(directory, arg)) == wanted:
            return arg
    return file


# Flags that produce outputs or name inputs, not code: hotfix supplies its own.
_DROP_WITH_VALUE = {"-o", "-MF", "-MT", "-MQ", "-MJ", "-L", "-l", "-Xlinker", "--output"}
_DROP = {"-c", "-MD", "-MMD", "-M", "-MM", "-MP", "-MG", "-shared", "-static", "-pie", "-no-pie",
         "-rdynamic", "-S", "-E", "-pipe"}
_SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".c++", ".C", ".i", ".ii", ".s", ".S", ".o", ".a", ".so")


def clean_arguments(argv, source):
    """The compiler and code-generation flags of a command, without the
    outputs, the dependency files, link flags and other inputs (compile-and-
    link entries from bear and friends)."""
    out = [argv[0]]
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg in _DROP_WITH_VALUE:
            skip = True
            continue
        if arg in _DROP or arg.startswith(("-Wl,", "-l", "-L", "-o", "-MF", "-MT", "-MQ")) and arg != "-o":
            continue
        if arg == source or (not arg.startswith("-") and arg.endswith(_SOURCE_SUFFIXES)):
            continue
        out.append(arg)
    return out


def _from_producer(unit):
    """DW_AT_producer records -O/-f/-m/-g but not -D/-I: a last resort."""
    producer = unit.producer
    words = producer.split()
    if producer.startswith("GNU C++"):
        compiler = "g++"
    elif producer.startswith("GNU C"):
        compiler = "gcc"
    elif "clang" in producer:
        compiler = "clang++" if unit.is_cxx else "clang"
    else:
        raise HotfixError("no compile command found for %s (no compile_commands.json and an "
                          "unknown compiler: %r)." % (unit.name, producer))
    flags = [w for w in words if w.startswith("-") and not w.startswith(("-mtune=generic", "-march=x86-64"))]
    if "clang" in producer and not any(f.startswith("-O") for f in flags):
        warning = ("no compile_commands.json lists %s, and clang did not record its flags: "
                   "compiling with -g only (-O, -D and -I may be missing)." % unit.name)
    else:
        warning = ("no compile_commands.json lists %s: using the flags recorded in its debug "
                   "information (-D and -I may be missing)." % unit.name)
    if "-g" not in flags and not any(f.startswith("-g") for f in flags):
        flags.append("-g")
    return CompileCommand(unit.comp_dir or os.getcwd(), [compiler] + flags, unit.name,
                          "DW_AT_producer", warning)
