"""Which units an edit touches.

A unit's files are its DWARF line table (source and the headers that hold
code or declarations: no build system needed, and Ninja deleting depfiles
does not matter) and, for headers with only macros, the compiler's own
dependency list (`-M` with the unit's command), computed once per unit and
command, in parallel, and kept for the session.

The dependency lists are also kept on disk, one file per program
(~/.cache/hotfix/deps/), each list valid while none of its files is newer
than the list: the first `--all-changed` of a session then costs no
compiler run for units that did not change.  A program's file holds only
the units it has now, and files no program wrote for 30 days go: the
lists are read in the background while the debugger runs the user's
commands, and a large file read there slows every call into the debugger
(GDB gives up Python's lock many times in one call and waits for it each
time).

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


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hotfix", "deps")


def cache_path(executable):
    """The file of the program at executable."""
    name = hashlib.sha1(os.path.realpath(executable or "").encode()).hexdigest()
    return os.path.join(cache_dir(), name + ".json")


KEEP_DAYS = 30
PARTIAL_MINUTES = 60


def sweep(directory):
    """Files of the cache folder no program wrote for KEEP_DAYS, and
    half-written ones (".deps-*": a debugger killed while it wrote) older
    than PARTIAL_MINUTES.  Earlier versions kept one file for every
    program (deps.json) beside the folder: it goes."""
    now = time.time()
    places = [(directory, e) for e in _entries(directory)] + \
        [(os.path.dirname(directory), e) for e in _entries(os.path.dirname(directory))
         if e.name == "deps.json" or e.name.startswith(".deps-")]
    for folder, entry in places:
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if entry.name == "deps.json" and folder != directory or \
                    entry.name.startswith(".deps-") and age > PARTIAL_MINUTES * 60 or \
                    entry.name.endswith(".json") and age > KEEP_DAYS * 86400:
                os.unlink(os.path.join(folder, entry.name))
        except OSError:
            pass


def _entries(directory):
    try:
        with os.scandir(directory) as it:
            return [e for e in it if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


class DepsCache:
    """A program's dependency lists on disk: {key: {"time": when listed,
    "files": [...]}}."""

    def __init__(self, path):
        self.path = path
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

    def save(self, keep=None):
        """Write atomically, with only the lists of the keys in keep (the
        program's units now; None: all); a cache that cannot be written is
        only slower."""
        data = self._load()
        if keep is not None:
            wanted = {self._key(k) for k in keep}
            if set(data) - wanted:
                self._data = data = {k: v for k, v in data.items() if k in wanted}
                self._dirty = True
        if not self._dirty:
            return
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            sweep(directory)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".deps-")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(data, f)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
            self._dirty = False
        except OSError:
            pass


class Files:
    """Per session: each unit's files and command, found once."""

    def __init__(self, cache=None):
        self._deps = {}
        self._cache = cache             # one for every program (tests); else one per program
        self._caches = {}

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
        cache = self._cache or self._caches.setdefault(executable, DepsCache(cache_path(executable)))
        for _, u in units:
            c = commands[u.path]
            if c is None or self._key(u, c) in self._deps:
                continue
            cached = cache.get(self._key(u, c), mtime)
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
                        cache.put(self._key(u, c), deps, when)
            cache.save(keep=[self._key(u, commands[u.path]) for _, u in units if commands[u.path] is not None])
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
