"""Which units an edit touches.

A unit's files are its DWARF line table (source and the headers that hold
code or declarations: no build system needed, and Ninja deleting depfiles
does not matter) and, for headers with only macros, the compiler's own
dependency list (`-M` with the unit's command), computed once per unit and
command, in parallel, and kept for the session.

The dependency lists are also kept on disk (~/.cache/hotfix/deps.json), each
valid while none of its files is newer than the list: the first
`--all-changed` of a session then costs no compiler run for units that did
not change.

A unit needs rebuilding when one of its files is newer than its object file
(or, if that is unknown, the program), or than its last patch.
"""
import hashlib
import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from .compdb import find_compile_command
from .errors import HotfixError


def _user_units(program):
    for image in program.program_images():
        if image.info is None or not image.info.has_debug_info():
            continue
        for unit in image.info.units():
            if unit.name.endswith((".c", ".cc", ".cpp", ".cxx", ".C")) and not unit.path.startswith(
                    ("/usr/", "/lib/")) and os.path.exists(unit.path):
                yield image, unit


def dependencies(unit, command, runner=None):
    """The compiler's list of the unit's files (-M); empty if it fails.
    With a runner (build.Runner), run as that runner runs tools."""
    if runner is None:
        argv = command.argv + ["-M", "-MT", "x", command.source]
        try:
            out = subprocess.run(argv, cwd=command.directory, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL).stdout.decode()
        except OSError:
            return set()
        return parse_depfile(out, command.directory)
    fd, listing = tempfile.mkstemp(prefix="hotfix-deps-", suffix=".d", dir=runner.scratch)
    os.close(fd)
    try:
        status, _ = runner.run(command.argv + ["-M", "-MT", "x", "-MF", listing, command.source],
                               command.directory)
        with open(listing, errors="replace") as f:
            return parse_depfile(f.read(), command.directory) if status == 0 else set()
    except OSError:
        return set()
    finally:
        os.unlink(listing)


def parse_depfile(text, directory):
    """The files a make rule (`target: file file \\ ...`, as -M and -MD
    write it) names, absolute; the target is left out."""
    words, word, i = [], "", 0
    text = text.replace("\\\n", " ")
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in " #":
            word += text[i + 1]
            i += 2
            continue
        if c.isspace():
            if word:
                words.append(word)
            word = ""
        else:
            word += c
        i += 1
    if word:
        words.append(word)
    files = []
    for n, w in enumerate(words):
        if n == 0 or (w.endswith(":") and not files):
            continue        # the rule's target
        files.append(w)
    return {os.path.normpath(os.path.join(directory, f)) for f in files}


def cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hotfix", "deps.json")


class DepsCache:
    """Dependency lists on disk: {key: {"time": when listed, "files": [...]}}."""

    def __init__(self, path=None):
        self.path = path or cache_path()
        self._data = None
        self._dirty = False

    def _load(self):
        if self._data is None:
            try:
                with open(self.path) as f:
                    self._data = json.load(f)
                if not isinstance(self._data, dict):
                    self._data = {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    @staticmethod
    def _key(key):
        return hashlib.sha1(repr(key).encode()).hexdigest()

    def get(self, key, mtime):
        """The list, if no file in it changed since it was made."""
        entry = self._load().get(self._key(key))
        if not isinstance(entry, dict):
            return None
        try:
            files = set(entry["files"])
            if any((mtime(f) or float("inf")) >= entry["time"] for f in files):
                return None
        except (KeyError, TypeError):
            return None
        return files

    def put(self, key, files, when):
        self._load()[self._key(key)] = {"time": when, "files": sorted(files)}
        self._dirty = True

    def save(self):
        """Write atomically; a cache that cannot be written is only slower."""
        if not self._dirty:
            return
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".deps-")
            with os.fdopen(fd, "w") as f:
                json.dump(self._data, f)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass


class Files:
    """Per session: each unit's files and command, found once."""

    def __init__(self, cache=None):
        self._deps = {}
        self._cache = cache if cache is not None else DepsCache()

    def of(self, program, executable, mtime=None, runner=None):
        """[(image, unit, command, files)] for every user unit.  mtime (an
        Mtimes) may be shared with changed_units; runner: how the compiler
        runs for -M (see dependencies)."""
        mtime = mtime or Mtimes()
        units = list(_user_units(program))
        commands = {}
        for image, unit in units:
            try:
                commands[unit.path] = find_compile_command(unit, executable)
            except HotfixError:
                commands[unit.path] = None
        todo = []
        for _, u in units:
            c = commands[u.path]
            if c is None or self._key(u, c) in self._deps:
                continue
            cached = self._cache.get(self._key(u, c), mtime)
            if cached is not None:
                self._deps[self._key(u, c)] = cached
            else:
                todo.append((u, c))
        if todo:
            when = time.time()
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                for (u, c), deps in zip(todo, pool.map(lambda uc: dependencies(*uc, runner=runner), todo)):
                    self._deps[self._key(u, c)] = deps
                    if deps:
                        self._cache.put(self._key(u, c), deps, when)
            self._cache.save()
        out = []
        for image, unit in units:
            command = commands[unit.path]
            files = image.info.unit_files(unit) | {unit.path}
            if command is not None:
                files |= self._deps.get(self._key(unit, command), set())
            out.append((image, unit, command, files))
        return out

    @staticmethod
    def _key(unit, command):
        return (unit.path, tuple(command.argv), command.directory)


def units_including(files, path):
    """The units one of whose files is `path` (a header)."""
    real = os.path.realpath(path)
    return [(image, unit) for image, unit, _, names in files
            if path in names or real in {os.path.realpath(n) for n in names}]


class Mtimes:
    """os.stat(path).st_mtime, each path asked once (headers are shared by
    many units); None for a file that is not there."""

    def __init__(self):
        self._known = {}

    def __call__(self, path):
        if path not in self._known:
            try:
                self._known[path] = os.stat(path).st_mtime
            except OSError:
                self._known[path] = None
        return self._known[path]


def changed_units(files, history_of, mtime=None):
    """[(image, unit, reason)] for units with a file newer than the unit's
    object (or its image) and newer than its last patch."""
    mtime = mtime or Mtimes()
    out = []
    for image, unit, command, names in files:
        # The running code is what was compiled when the older of the two was
        # written: an edit after the object was compiled is not in the program.
        reference = mtime(image.path) or 0.0
        if command is not None and command.output and mtime(command.output) is not None:
            reference = min(reference, mtime(command.output))
        history = history_of(unit)
        if history:
            reference = max(reference, history[-1].when)
        newer = sorted(n for n in names if (mtime(n) or 0.0) > reference)
        if not newer:
            continue
        if unit.path in newer:
            reason = "edited"
        else:
            reason = "includes edited header %s" % ", ".join(os.path.relpath(n) for n in newer)
        out.append((image, unit, reason))
    return out
