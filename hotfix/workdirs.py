"""hotfix's private directories: one per process it patches.

A directory holds the process's patch libraries (the process maps them),
the objects the next patch of each unit is compared with, and a manifest
per patch (patches.py), so that a later debugger session attached to the
same process finds its history.  It lives as long as its process: a
session removes it when the process is gone (its exit, the debugger's
exit), and each new session sweeps away those whose process is gone.
"""
import os
import shutil
import tempfile
import time

PREFIX = "hotfix-"
OWNER = "process"           # the file naming the directory's process
# Directories of earlier versions (no OWNER file) or of remote processes
# (whose life hotfix cannot see from here) go when untouched this long.
STALE = 3600.0


def _bases():
    out = []
    for base in (os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir()):
        if base and base not in out and os.access(base, os.W_OK):
            out.append(base)
    return out or [tempfile.gettempdir()]


def _start_time(pid):
    """The process's start time (clock ticks after boot), which tells a live
    process from a later one that got its pid; "" if unknown."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError, ValueError):
        return ""


def create(pid, local):
    """A fresh 0700 directory for the patches of process pid ("remote" if
    it runs elsewhere)."""
    path = tempfile.mkdtemp(prefix=PREFIX, dir=_bases()[0])
    with open(os.path.join(path, OWNER), "w") as f:
        f.write("local %d %s\n" % (pid, _start_time(pid)) if local else "remote\n")
    return path


def alive(path):
    """Whether the process a directory serves may still map its files."""
    try:
        with open(os.path.join(path, OWNER)) as f:
            words = f.read().split()
    except OSError:
        return _recent(path)
    if words[:1] != ["local"] or len(words) < 2:
        return _recent(path)
    pid = int(words[1])
    start = words[2] if len(words) > 2 else ""
    return os.path.exists("/proc/%d" % pid) and _start_time(pid) == start


def _recent(path):
    try:
        return time.time() - os.stat(path).st_mtime < STALE
    except OSError:
        return False


def remove(path):
    shutil.rmtree(path, ignore_errors=True)


def remove_if_gone(path):
    if path and os.path.isdir(path) and not alive(path):
        remove(path)


def sweep():
    """Remove this user's directories whose process is gone."""
    uid = os.getuid()
    for base in _bases():
        try:
            names = [n for n in os.listdir(base) if n.startswith(PREFIX)]
        except OSError:
            continue
        for name in names:
            path = os.path.join(base, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_uid != uid or not os.path.isdir(path) or os.path.islink(path):
                continue
            # Only hotfix's own: with an owner file, or named as mkdtemp
            # names them (not the GDB adapter's hotfix-gdb-* folder).
            ours = os.path.exists(os.path.join(path, OWNER)) or len(name) == len(PREFIX) + 8
            if ours and not alive(path):
                remove(path)
