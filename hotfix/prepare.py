"""Patches prepared on save: while a session is attached, each saved file
of the program's units starts, in the background, the build the next
`hotfix` would run (compile, compare, link, and the plan's part that needs
nothing of the process), so that the command only loads and writes.

Threads.  A plain Python thread in the debugger's process that never calls
the debugger: neither GDB's nor LLDB's API may be used off the debugger's
own thread, and the debugger may be busy (at its prompt, running the
program, or running a user's script).  Everything a build needs of the
process is a Snapshot taken on the debugger's thread: at the end of each
hotfix command and when the session first sees the process stopped
(cli.stopped).  One watcher thread waits for saves (inotify on the
folders of the units' files, or polling); builder threads, one per core
but one, build the newest save first, niced (build.Runner).

What a prepared patch holds good for.  A Result records the content
(SHA-1) of every file its compile read (the compiler's own -MD list), the
unit's history it was compared with (number of patches, the baseline), the
images and load biases of the snapshot, and the compile command.  The
command (take) uses it only if all of these still hold, re-reading the
files: the hash, not the time, says whether the file is the one built.  A
build of the unit's current content still running is waited for; a build
of other content is given up.  Anything else and the command builds as it
always did.  A compile error found here is not said here: it is the
Result, raised by the command that takes it, as the command's own.

Files.  Builds write into the process's private directory
(session.workdir) under names of their own (pipeline.build_unit), link
under a temporary name and rename; nothing is written into the process
before the command."""
import ctypes
import hashlib
import os
import select
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import arch as arches
from . import changes, gcpause, near
from .build import Runner, driver_link_options
from .changes import parse_depfile
from .errors import HotfixError
from .pipeline import Prepared, Target, build_unit, label, moved_globals, plan_unit
from .program import Program

NICE = 10
POLL = 0.25             # without inotify: how often files are looked at
SETTLE = 0.005          # after a save, what else the editor writes comes with it
# Files under these folders do not change under a running program: their
# content is hashed once per (inode, time, size).
SYSTEM = ("/usr/",)


# --- what the files are -------------------------------------------------------

_system_digests = {}


def file_digest(path):
    """The SHA-1 of a file's content (None: it is not there)."""
    try:
        if path.startswith(SYSTEM):
            st = os.stat(path)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            known = _system_digests.get(path)
            if known is not None and known[0] == key:
                return known[1]
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha1").hexdigest()
    except OSError:
        return None
    if path.startswith(SYSTEM):
        _system_digests[path] = (key, digest)
    return digest


def digests(paths):
    return {path: file_digest(path) for path in paths}


# --- what the process is ------------------------------------------------------

@dataclass
class Snapshot:
    """What a build needs of the process, taken on the debugger's thread."""
    pid: int
    program: Program                # frozen: images() never asks the debugger
    executable: str
    arch: object
    workdir: str
    histories: Dict[str, list]      # unit path -> the versions applied (a copy)
    patches: int                    # patches applied in the process
    process: object = None          # the session's ProcessState (near.choice reads it)

    def basis(self, unit_path):
        return basis_of(self.histories.get(unit_path, []))

    def images(self):
        return [(im.path, im.bias) for im in self.program.images()]

    def program_images(self):
        """Without hotfix's patches: what the units' index depends on."""
        return [(im.path, im.bias) for im in self.program.program_images()]


def basis_of(history):
    """What a unit's next patch is compared with."""
    return len(history), history[-1].baseline if history else ""


def take_snapshot(dbg, session, program):
    """A Snapshot of the process for the preparer, or None when hotfix
    could not patch it anyway (stripped, static)."""
    images = program.images()
    main = images[0] if images else None
    if main is None or main.info is None or not main.info.native.header()["dynamic"]:
        return None
    state = session.process
    return Snapshot(state.pid, program.frozen(), dbg.executable() or "", arches.of_program(program),
                    session.workdir, {path: list(v) for path, v in state.units.items()}, state.patches, state)


# --- results ------------------------------------------------------------------

@dataclass
class Result:
    """One unit's patch built in the background, and what it holds good for."""
    unit_path: str
    prepared: Prepared              # its error, if it failed, is the command's to say
    files: Dict[str, Optional[str]]     # every file the compile read -> its digest
    basis: Tuple[int, str]
    images: List[Tuple[str, int]]
    moved: Dict[str, int] = field(default_factory=dict)     # the migrated globals it bound to
    finished: float = 0.0           # time.time() when it was ready
    saved: float = 0.0              # the newest modification time of its files: the save it was built for


@dataclass
class _Job:
    unit_path: str
    basis: Tuple[int, str]
    before: Dict[str, Optional[str]]        # the unit's files when the build began
    runner: Runner = field(default_factory=lambda: Runner(NICE))

    def cancel(self):
        self.runner.cancel()


class Preparer:
    """The background builds of one process (see the module's text)."""

    def __init__(self, workers=None):
        self._cond = threading.Condition()
        self._snapshot = None
        self._units = {}            # unit path -> (image, unit, command, files)
        self._by_file = {}          # file -> unit paths
        self._read = {}             # unit path -> the files its last compile read
        self._results = {}          # unit path -> Result
        self._jobs = {}             # unit path -> _Job (running)
        self._queue = []            # unit paths, the newest save first
        self._claimed = set()       # units the command builds itself
        self._deferred = set()      # saved while claimed
        self._stopped = False
        self._reindex = False
        self._first_index = True
        self._files = changes.Files()       # its own: Files is not for two threads
        self._threads = []
        self._wake_r, self._wake_w = os.pipe()
        self._workers = workers or max(1, (os.cpu_count() or 2) - 1)
        self.errors = []            # internal errors of background builds (for debugging)

    # --- the debugger's thread -------------------------------------------
    def serves(self, pid):
        with self._cond:
            return self._snapshot is not None and self._snapshot.pid == pid

    def update(self, snapshot):
        """A new Snapshot (after a command, or at the first stop): builds
        against an older history of a unit are given up; units saved while
        a command built them are built now."""
        if snapshot is None:
            return
        with self._cond:
            if self._stopped:
                return
            old = self._snapshot
            self._snapshot = snapshot
            if old is None or old.program_images() != snapshot.program_images():
                self._reindex = True
            for path, result in list(self._results.items()):
                if result.basis != snapshot.basis(path):
                    self._drop(self._results.pop(path))
            for path, job in self._jobs.items():
                if job.basis != snapshot.basis(path):
                    job.cancel()        # the unit was patched since it began
            self._claimed.clear()
            deferred, self._deferred = self._deferred, set()
            self._cond.notify_all()
        self._start()
        self._wake()
        if deferred:
            self.schedule(deferred)

    def claim(self, unit_paths):
        """The command builds these units itself, from the files as they are
        now: none of them is built here until the next update(), which
        builds those saved meanwhile."""
        with self._cond:
            for path in unit_paths:
                self._claimed.add(path)
                if path in self._queue:
                    self._queue.remove(path)
                job = self._jobs.get(path)
                if job is not None:
                    job.cancel()

    def take(self, p, program, moved):
        """The prepared patch for p's unit (a pipeline.Prepared in its place,
        with p's target and history), or None: see the module's text.  Waits
        for a build of the unit's current content that is under way.
        moved: the globals patches migrated (pipeline.moved_globals) now."""
        path = p.target.unit.path
        start = time.monotonic()
        while True:
            with self._cond:
                job = self._jobs.get(path)
            if job is None:
                break
            if digests(job.before) != job.before:
                job.cancel()        # built from other content
                break
            with self._cond:
                while self._jobs.get(path) is job and not self._stopped:
                    self._cond.wait(0.5)
        waited = time.monotonic() - start
        with self._cond:
            result = self._results.get(path)
        if result is None or result.basis != basis_of(p.history) or result.prepared.command != p.command or \
                result.moved != moved or result.prepared.near != p.near:
            return None
        if not _prefix(result.images, [(im.path, im.bias) for im in program.images()],
                       exact=result.prepared.error is not None):
            return None
        if digests(result.files) != result.files:
            return None
        with self._cond:
            if self._results.get(path) is not result:
                return None
            del self._results[path]         # a patch is loaded once
        ready = result.prepared
        ready.target, ready.history = p.target, p.history
        ready.warnings = list(p.warnings) + [w for w in ready.warnings if w not in p.warnings]
        ready.ready = "prepared %d ms after the save" % round(max(0.0, result.finished - result.saved) * 1000)
        if waited >= 0.001:
            ready.ready += ", waited %d ms" % round(waited * 1000)
        return ready

    def stop(self):
        """Give up every build; the threads end."""
        with self._cond:
            self._stopped = True
            jobs = list(self._jobs.values())
            for result in self._results.values():
                self._drop(result)
            self._results.clear()
            self._queue.clear()
            self._cond.notify_all()
        for job in jobs:
            job.cancel()
        self._wake()
        if not self._threads:
            self._close_wake()

    def _close_wake(self):
        with self._cond:
            fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)

    # --- saves --------------------------------------------------------------
    def schedule(self, unit_paths):
        """Build these units, newest first; a build of one of them under way
        is given up (the newest save wins)."""
        with self._cond:
            for path in unit_paths:
                if path in self._claimed:
                    self._deferred.add(path)
                    continue
                job = self._jobs.get(path)
                if job is not None:
                    job.cancel()
                if path in self._queue:
                    self._queue.remove(path)
                self._queue.insert(0, path)
            self._cond.notify_all()

    def _wake(self):
        # Never once closed: the number may be another file's by then.
        with self._cond:
            if self._wake_w >= 0:
                try:
                    os.write(self._wake_w, b"x")
                except OSError:
                    pass

    def _start(self):
        with self._cond:
            if self._threads:
                return
            self._threads = [threading.Thread(target=self._watch, name="hotfix-prepare-watch", daemon=True)]
            self._threads += [threading.Thread(target=self._build_loop, name="hotfix-prepare-%d" % n, daemon=True)
                              for n in range(self._workers)]
        for t in self._threads:
            t.start()

    def _index(self, snapshot):
        """The units' files (as --all-changed knows them), watched."""
        runner = Runner(NICE, scratch=snapshot.workdir)
        files = self._files.of(snapshot.program, snapshot.executable, runner=runner)
        units, by_file = {}, {}
        for image, unit, command, names in files:
            if command is None:
                continue
            units[unit.path] = (image, unit, command, names)
            for name in names:
                if not name.startswith(SYSTEM):
                    by_file.setdefault(name, set()).add(unit.path)
        for command in {c.argv[0] for _, _, c, _ in units.values()}:
            driver_link_options(command, runner)
        with self._cond:
            self._units, self._by_file = units, by_file
            for path, read in self._read.items():
                for name in read:
                    if not name.startswith(SYSTEM):
                        by_file.setdefault(name, set()).add(path)
        if self._first_index:
            # Saved before the session first saw the process stopped.
            self._first_index = False
            stale = [unit.path for _, unit, _ in changes.changed_units(files, lambda u: snapshot.histories.get(u.path, []))]
            if stale:
                self.schedule(stale)

    def _watch(self):
        notify = _Inotify.open()
        watched_dirs = set()
        seen = {}
        while True:
            with self._cond:
                if self._stopped:
                    break
                reindex, self._reindex = self._reindex, False
                snapshot = self._snapshot
            if reindex:
                try:
                    self._index(snapshot)
                except Exception as e:      # noqa: BLE001 - a bug of ours: no preparing
                    self.errors.append(e)
            with self._cond:
                new = [f for f in self._by_file if f not in seen]
            if notify is not None:
                for d in sorted({os.path.dirname(f) for f in new} - watched_dirs):
                    if notify.watch(d):
                        watched_dirs.add(d)
            seen.update((f, _stat(f)) for f in new)
            wake = self._wake_r
            ready = select.select([wake] + ([notify.fd] if notify else []), [], [], None if notify else POLL)[0]
            if wake in ready:
                os.read(wake, 4096)
            saved = set()
            if notify is not None and notify.fd in ready:
                time.sleep(SETTLE)
                saved = {p for p in notify.read() if p in seen}
            elif notify is None:
                saved = set(seen)
            for path in saved:
                now = _stat(path)
                if now != seen.get(path):
                    seen[path] = now
                else:
                    saved.discard(path)
            if saved:
                with self._cond:
                    units = {u for path in saved for u in self._by_file.get(path, ())}
                self.schedule(units)
        if notify is not None:
            notify.close()
        self._close_wake()

    # --- builds -------------------------------------------------------------
    def _build_loop(self):
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or self._snapshot is None):
                    self._cond.wait()
                if self._stopped:
                    return
                path = self._queue.pop(0)
                entry = self._units.get(path)
                snapshot = self._snapshot
                if entry is None:
                    continue
                if path in self._jobs:      # a build given up, still ending
                    self._queue.append(path)
                    self._cond.wait(0.05)
                    continue
                read = self._read.get(path) or {n for n in entry[3] if not n.startswith(SYSTEM)} | {path}
            before = digests(read)
            with self._cond:
                if self._stopped or path in self._queue or path in self._jobs or path in self._claimed:
                    continue        # saved again, or the command took it, meanwhile
                job = self._jobs[path] = _Job(path, snapshot.basis(path), before, Runner(NICE, scratch=snapshot.workdir))
            result = None
            try:
                result = self._build(job, snapshot, entry)
            except Exception as e:      # noqa: BLE001 - a bug of ours: the command builds itself
                self.errors.append(e)
            finally:
                with self._cond:
                    if self._jobs.get(path) is job:
                        del self._jobs[path]
                    if result is not None and not job.runner.cancelled and not self._stopped and \
                            self._snapshot is snapshot:
                        old = self._results.get(path)
                        if old is not None:
                            self._drop(old)
                        self._results[path] = result
                    elif result is not None:
                        self._drop(result)
                    self._cond.notify_all()

    def _build(self, job, snapshot, entry):
        with gcpause.paused():
            return self._build_paused(job, snapshot, entry)

    def _build_paused(self, job, snapshot, entry):
        image, unit, command, _ = entry
        path = unit.path
        history = snapshot.histories.get(path, [])
        with self._cond:
            previous = self._results.get(path)
        if previous is not None and previous.basis == basis_of(history) and digests(previous.files) == previous.files:
            return None         # saved again as it was built
        started = time.time()
        p = Prepared(Target(image, unit, label(path)), command, list(history))
        p.near = near.choice(snapshot.arch, snapshot.process, p.target, p.history) if snapshot.process else None
        depfile = os.path.join(snapshot.workdir, "prepare-%d.d" % id(job))
        moved = moved_globals(snapshot.histories)
        try:
            if build_unit(snapshot.program, p, snapshot.workdir, snapshot.arch, snapshot.patches + 1, moved,
                          runner=job.runner, depfile=depfile, image_of=snapshot.program.cache.image) is None \
                    and not p.plan.nothing_changed:
                try:
                    plan_unit(p, snapshot.program.cache.image, snapshot.arch)
                except HotfixError as e:
                    p.error = e
            if job.runner.cancelled:
                return None
            try:
                with open(depfile, errors="replace") as f:
                    after = parse_depfile(f.read(), command.directory)
            except OSError:
                after = set(job.before)     # it did not compile: the files as they were
        finally:
            if os.path.exists(depfile):
                os.unlink(depfile)
        files = digests(after | {path})
        # A file saved while the compiler ran may have been read either way:
        # a newer save (scheduled by then) builds again.
        changed_during = [f for f in files if f in job.before and files[f] != job.before[f]]
        fresh = [f for f in files if f not in job.before and _changed_since(f, started - 1.0)]
        if changed_during or fresh:
            self._drop_files(p)
            self.schedule([path])
            return None
        with self._cond:
            self._read[path] = set(files)
            new = [n for n in files if not n.startswith(SYSTEM) and n not in self._by_file]
            for name in files:
                if not name.startswith(SYSTEM):
                    self._by_file.setdefault(name, set()).add(path)
        if new:
            self._wake()        # watch them too
        saved = max([_mtime(f) for f in files if not f.startswith(SYSTEM)] or [started])
        return Result(path, p, files, basis_of(history), snapshot.images(), moved, time.time(), saved)

    def _drop(self, result):
        """A result nobody will load: its files go."""
        self._drop_files(result.prepared)

    def _drop_files(self, p):
        if p.plan is not None and p.plan.so_path and self._snapshot is not None:
            self._snapshot.program.cache.forget(p.plan.so_path)
        paths = []
        if p.built is not None:
            paths += [p.built.patch_object, p.built.diff_object]
        if p.plan is not None and p.plan.so_path:
            paths += [p.plan.so_path, p.plan.so_path + ".bind.ld"]
        for f in paths:
            if f:
                try:
                    os.unlink(f)
                except OSError:
                    pass


def _prefix(built_with, now, exact=False):
    """Whether the images a patch was built with are those of the process
    now, at the same addresses; later images (patches of other units) do not
    change what the link bound: it took each symbol from the first image
    defining it.  A failed build may have failed for want of them."""
    if exact:
        return built_with == now
    return now[:len(built_with)] == built_with


def _stat(path):
    try:
        st = os.stat(path)
        return st.st_ino, st.st_mtime_ns, st.st_size
    except OSError:
        return None


def _mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _changed_since(path, when):
    try:
        return os.stat(path).st_ctime >= when
    except OSError:
        return True


class _Inotify:
    """Linux's inotify, on folders: an editor saves by writing a file or by
    renaming another over it."""
    MASK = 0x8 | 0x80 | 0x100      # IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE

    def __init__(self, libc, fd):
        self._libc, self.fd = libc, fd
        self._dirs = {}

    @classmethod
    def open(cls):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def watch(self, directory):
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(directory), self.MASK)
        if wd < 0:
            return False
        self._dirs[wd] = directory
        return True

    def read(self):
        """The paths written since the last read."""
        out = set()
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            at = 0
            while at + 16 <= len(data):
                wd, _mask, _cookie, size = struct.unpack_from("iIII", data, at)
                name = data[at + 16:at + 16 + size].split(b"\0", 1)[0]
                at += 16 + size
                if wd in self._dirs and name:
                    out.add(os.path.join(self._dirs[wd], os.fsdecode(name)))

    def close(self):
        os.close(self.fd)
