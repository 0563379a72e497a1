"""Which units an edit touches.

A unit's files are its DWARF line table (source and the headers that hold
code or declarations: no build system needed, and Ninja deleting depfiles
does not matter) and, for headers with only macros, the compiler's own
dependency list (`-M` with the unit's command), computed once per unit and
command, in parallel, and kept for the session.

A unit needs rebuilding when one of its files is newer than its object file
(or, if that is unknown, the program), or than its last patch.
"""
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from .compdb import find_compile_command
from .errors import HotfixError


def _user_units(program):
    for image in program.images():
        if image.info is None or not image.info.has_debug_info():
            continue
        for unit in image.info.units():
            if unit.name.endswith((".c", ".cc", ".cpp", ".cxx", ".C")) and not unit.path.startswith(
                    ("/usr/", "/lib/")) and os.path.exists(unit.path):
                yield image, unit


def dependencies(unit, command):
    """The compiler's list of the unit's files (-M); empty if it fails."""
    argv = command.argv + ["-M", "-MT", "x", command.source]
    try:
        out = subprocess.run(argv, cwd=command.directory, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL).stdout.decode()
    except OSError:
        return set()
    words = out.replace("\\\n", " ").split()[1:]
    return {os.path.normpath(os.path.join(command.directory, w)) for w in words if w != "\\"}


class Files:
    """Per session: each unit's files and command, found once."""

    def __init__(self):
        self._deps = {}

    def of(self, program, executable):
        """[(image, unit, command, files)] for every user unit."""
        units = list(_user_units(program))
        commands = {}
        for image, unit in units:
            try:
                commands[unit.path] = find_compile_command(unit, executable)
            except HotfixError:
                commands[unit.path] = None
        todo = [(u, commands[u.path]) for _, u in units
                if commands[u.path] is not None and self._key(u, commands[u.path]) not in self._deps]
        if todo:
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                for (u, c), deps in zip(todo, pool.map(lambda uc: dependencies(*uc), todo)):
                    self._deps[self._key(u, c)] = deps
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


def changed_units(files, history_of):
    """[(image, unit, reason)] for units with a file newer than the unit's
    object (or its image) and newer than its last patch."""
    mtimes = {}

    def mtime(path):
        if path not in mtimes:
            try:
                mtimes[path] = os.stat(path).st_mtime
            except OSError:
                mtimes[path] = 0.0
        return mtimes[path]

    out = []
    for image, unit, command, names in files:
        # The running code is what was compiled when the older of the two was
        # written: an edit after the object was compiled is not in the program.
        reference = mtime(image.path)
        if command is not None and command.output and os.path.exists(command.output):
            reference = min(reference, mtime(command.output))
        history = history_of(unit)
        if history:
            reference = max(reference, history[-1].when)
        newer = sorted(n for n in names if mtime(n) > reference)
        if not newer:
            continue
        if unit.path in newer:
            reason = "edited"
        else:
            reason = "includes edited header %s" % ", ".join(os.path.relpath(n) for n in newer)
        out.append((image, unit, reason))
    return out
