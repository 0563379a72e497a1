"""Real programs built the way their own builds do it, and rebuilt with an
edit to judge a patch against.

Each program is a Debian source package (debian.py), built with the steps
of its debian/rules — its own Makefile, autoconf or CMake — and the flags
dpkg-buildflags gives (hardening included), at -O2 or, with Debian's
DEB_BUILD_OPTIONS=noopt, at -O0; always -g; with the reproducible-build
prefix maps (-ffile-prefix-map=DIR=.: the debug information names files
relative to "." — tests/e2e/test_prefix_map.py is the small form).  Each
program says below what of the package it leaves out.

Everything lives in the cache (debian.CACHE):
  builds/KEY/   the program as built (KEY: package, version, level, and the
                recipe and compiler versions).  Tests patch this very tree
                (its paths are in the program's debug information and in
                compile_commands.json) and put its files back afterwards.
  refs/KEY-EDIT/  the same program rebuilt normally with an edit applied.
A tree is used only once its build finished (a stamp file); a build that
was interrupted is made again.
"""
import contextlib
import hashlib
import os
import shutil
import subprocess
import time

from debian import CACHE, Apt

HERE = os.path.dirname(os.path.abspath(__file__))
JOBS = str(max(1, min(2, os.cpu_count() or 1)))
TRIPLET = "x86_64-linux-gnu"
STAMP = ".hotfix-realworld-built"
BACKUP = ".hotfix-realworld-backup"
LEVELS = ["-O0", "-O2"]


class BuildError(RuntimeError):
    pass


def run(argv, cwd, env=None, log=None):
    t0 = time.time()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
    text = proc.stdout.decode(errors="replace")
    if log is not None:
        log.write("$ %s\n%s(%.1f s)\n" % (" ".join(argv), text, time.time() - t0))
        log.flush()
    if proc.returncode:
        raise BuildError("%s failed in %s:\n%s" % (" ".join(argv), cwd, text[-6000:]))
    return text


def buildflags(opt):
    """The environment dpkg-buildflags reads: Debian's flags at -O2, or at
    -O0 with noopt; the prefix maps as Debian has them."""
    env = dict(os.environ, LC_ALL="C.UTF-8")
    env.pop("MAKEFLAGS", None)
    env["DEB_BUILD_OPTIONS"] = "noopt" if opt == "-O0" else ""
    env.pop("DEB_BUILD_MAINT_OPTIONS", None)   # Debian's defaults: reproducible's prefix maps
    return env


def dpkg_flag(env, name, tree):
    """A flag as dpkg-buildflags gives it in the package's tree (its prefix
    map names the directory it runs in)."""
    # Its warnings (stderr) are not flags.
    return subprocess.run(["dpkg-buildflags", "--get", name], cwd=tree, env=env, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()


def patch_files(patch):
    """The files a unified diff changes, relative to the tree (-p1)."""
    files = []
    with open(patch) as f:
        for line in f:
            if line.startswith("+++ "):
                name = line[4:].split("\t")[0].strip()
                files.append(name.split("/", 1)[1])
    return files


def apply_patch(tree, patch, log=None):
    run(["patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-i", patch], cwd=tree, log=log)


class Recipe:
    """How one package is built.  Subclasses say how; `incremental` ones
    rebuild an edited copy of a built tree with their own make."""
    package = ""
    version = "1"           # of the recipe: a new one builds everything anew
    incremental = False

    def identity(self):
        """What, besides the package's version and the compilers, makes a
        build of it what it is."""
        return self.version

    def build(self, tree, opt, log):
        raise NotImplementedError

    def rebuild(self, tree, opt, log):
        raise NotImplementedError

    def program(self, tree):
        raise NotImplementedError

    def unit_files(self, patch):
        """The files of the program's units an edit changes (relative to
        the tree): the files the patch changes, unless a build step
        derives the unit from them."""
        return patch_files(patch)


class Build:
    """A built tree: the program, and the files an edit puts in."""

    def __init__(self, recipe, tree, opt, version, seconds=None):
        self.recipe, self.tree, self.opt, self.version = recipe, tree, opt, version
        self.seconds = seconds          # how long the build took (None: cached)

    @property
    def program(self):
        return self.recipe.program(self.tree)

    def path(self, rel):
        return os.path.join(self.tree, rel)

    @contextlib.contextmanager
    def editing(self, rels):
        """Keep a copy of each file (with its time) while a test overwrites
        it in this tree, and put it back afterwards."""
        self.restore()
        backup = os.path.join(self.tree, BACKUP)
        for rel in rels:
            dst = os.path.join(backup, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(self.path(rel), dst)
        try:
            yield
        finally:
            self.restore()

    def restore(self):
        """Put back the files a test (perhaps one that was interrupted)
        overwrote."""
        backup = os.path.join(self.tree, BACKUP)
        if not os.path.isdir(backup):
            return
        for folder, _dirs, files in os.walk(backup):
            for name in files:
                src = os.path.join(folder, name)
                shutil.copy2(src, os.path.join(self.tree, os.path.relpath(src, backup)))
        shutil.rmtree(backup)


def _compiler_versions():
    out = []
    for cc in ("gcc", "g++"):
        out.append(subprocess.run([cc, "--version"], stdout=subprocess.PIPE).stdout.decode().splitlines()[0])
    return "\n".join(out)


def _key(*parts):
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:10]


_BUILDS = {}
MADE = []       # (tree, seconds) of each build and rebuild this run made


def _made(tree, make):
    """Run make(tree, log) unless the tree is complete; returns the seconds
    it took, or None if it was there."""
    if os.path.exists(os.path.join(tree, STAMP)):
        return None
    shutil.rmtree(tree, ignore_errors=True)
    t0 = time.time()
    make()
    seconds = time.time() - t0
    with open(os.path.join(tree, STAMP), "w") as f:
        f.write("%.1f\n" % seconds)
    MADE.append((tree, seconds))
    return seconds


def _prune(package, opt, key):
    """Remove the builds (and their references) of this package and level
    that an older version or recipe made."""
    for folder in ("builds", "refs"):
        root = os.path.join(CACHE, folder)
        for name in os.listdir(root) if os.path.isdir(root) else []:
            stem = name if folder == "builds" else name.rsplit("-", 1)[0]
            if stem != key and stem.startswith(package + "_") and stem.rsplit("-", 1)[0].endswith(opt):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def build(recipe, opt):
    """The program built at opt (cached)."""
    if (recipe.package, opt) in _BUILDS:
        return _BUILDS[recipe.package, opt]
    version, source = Apt().source(recipe.package)
    flags = repr(sorted((k, v) for k, v in buildflags(opt).items() if k.startswith("DEB_")))
    key = "%s_%s%s-%s" % (recipe.package, version, opt, _key(recipe.identity(), _compiler_versions(), flags))
    tree = os.path.join(CACHE, "builds", key)

    def make():
        shutil.copytree(source, tree, symlinks=True)
        with open(os.path.join(tree, ".hotfix-realworld-build.log"), "w") as log:
            recipe.build(tree, opt, log)

    seconds = _made(tree, make)
    if seconds is not None:
        _prune(recipe.package, opt, key)
    result = Build(recipe, tree, opt, version, seconds)
    result.restore()
    _BUILDS[recipe.package, opt] = result
    return result


def reference(recipe, opt, patches):
    """The program rebuilt normally with the patches applied, in order
    (cached): an incremental recipe edits a copy of the built tree and runs
    its make again; another builds the edited source from scratch."""
    live = build(recipe, opt)
    digest = hashlib.sha1()
    for p in patches:
        with open(p, "rb") as f:
            digest.update(f.read())
    tree = os.path.join(CACHE, "refs", "%s-%s" % (os.path.basename(live.tree), digest.hexdigest()[:10]))

    def make():
        version, source = Apt().source(recipe.package)
        if recipe.incremental:
            live.restore()
            shutil.copytree(live.tree, tree, symlinks=True)
            os.unlink(os.path.join(tree, STAMP))
        else:
            shutil.copytree(source, tree, symlinks=True)
        with open(os.path.join(tree, ".hotfix-realworld-build.log"), "a") as log:
            for p in patches:
                apply_patch(tree, p, log)
            if recipe.incremental:
                recipe.rebuild(tree, opt, log)
            else:
                recipe.build(tree, opt, log)

    seconds = _made(tree, make)
    return Build(recipe, tree, opt, live.version, seconds)


# --- the programs ---------------------------------------------------------

class Lua(Recipe):
    """lua5.4: debian/rules' steps — a libtool made from debian/configure.ac,
    then the Makefile (Debian's, on libtool: the core and the standard
    library in liblua5.4 as C and as C++, each PIC and not, and lua5.4
    linked with the static library) under bear."""
    package = "lua5.4"
    version = "2"
    incremental = True

    def _make(self, tree, log, env, wrap=()):
        # The Makefile links both libraries with one two-target rule, which
        # make -j runs twice at once (ranlib then fails on the half-written
        # archive): the objects are made in parallel (its target `o`), the
        # rest with one job.
        args = ["linux-readline", "MYLIBS=", "LIBTOOL=" + os.path.join(tree, "debian", "libtool", "libtool"),
                "CC=%s-gcc -std=gnu99" % TRIPLET, "CXX=%s-g++" % TRIPLET]
        run(list(wrap) + ["make", "-j" + JOBS] + args + ["ALL=o"], cwd=tree, env=env, log=log)
        run(list(wrap) + ["make"] + args, cwd=tree, env=env, log=log)

    def build(self, tree, opt, log):
        env = buildflags(opt)
        libtool = os.path.join(tree, "debian", "libtool")
        os.makedirs(libtool)
        shutil.copy(os.path.join(tree, "debian", "configure.ac"), libtool)
        run(["autoreconf", "-f", "-i"], cwd=libtool, env=dict(env, LIBTOOLIZE="libtoolize -i"), log=log)
        run(["./configure"], cwd=libtool, env=env, log=log)
        with open(os.path.join(tree, "src", "lua5.4-deb-multiarch.h"), "w") as f:
            f.write('#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n'
                    '#define DEB_HOST_MULTIARCH "%s"\n#endif\n' % TRIPLET)
        bear = ["bear", "--append", "--output", os.path.join(tree, "compile_commands.json"), "--"]
        self._make(tree, log, env, bear)

    def rebuild(self, tree, opt, log):
        self._make(tree, log, buildflags(opt))

    def program(self, tree):
        return os.path.join(tree, "src", "lua5.4")


class Sqlite(Recipe):
    """sqlite3: debian/rules' autoreconf, configure and flags, but with the
    amalgamation (Debian builds from the separate sources, with
    --disable-amalgamation): sqlite3.c, some 250,000 lines made by the
    build from src/, in one unit.  --disable-shared: the shell is linked
    with the static library (one compile of sqlite3.c, and a program to
    run rather than libtool's wrapper script).  Only the shell is built."""
    package = "sqlite3"
    version = "1"
    incremental = True
    # debian/rules' CFLAGS after dpkg-buildflags' (its -O2 is the level).
    DEFINES = ("-fno-strict-aliasing -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA "
               "-DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_RTREE=1 "
               "-DSQLITE_SOUNDEX=1 -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_OMIT_LOOKASIDE=1 "
               "-DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ALLOW_ROWID_IN_VIEW "
               "-DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1 -DSQLITE_ENABLE_LOAD_EXTENSION "
               "-DSQLITE_ENABLE_JSON1 -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_THREADSAFE=1 "
               "-DSQLITE_ENABLE_FTS3_TOKENIZER=1 -DSQLITE_USE_URI=1 -DSQLITE_MAX_SCHEMA_RETRY=25 "
               "-DSQLITE_ENABLE_PREUPDATE_HOOK -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_STMTVTAB "
               "-DSQLITE_MAX_VARIABLE_NUMBER=250000")

    def _env(self, opt, tree):
        env = buildflags(opt)
        env["DEB_BUILD_MAINT_OPTIONS"] = (env.get("DEB_BUILD_MAINT_OPTIONS", "") + " hardening=+all future=+lfs").strip()
        env["CFLAGS"] = "%s %s %s" % (dpkg_flag(env, "CFLAGS", tree), opt, self.DEFINES)
        env["CPPFLAGS"] = dpkg_flag(env, "CPPFLAGS", tree)
        env["LDFLAGS"] = dpkg_flag(env, "LDFLAGS", tree) + " -Wl,--as-needed"
        return env

    def build(self, tree, opt, log):
        env = self._env(opt, tree)
        run(["autoreconf", "-f", "-i"], cwd=tree, env=env, log=log)
        run(["./configure", "--build", TRIPLET, "--with-tcl=/usr/lib/%s/tcl8.6" % TRIPLET,
             "--prefix=/usr", "--enable-threadsafe", "--enable-load-extension", "--enable-json",
             "--enable-fts4", "--enable-fts5", "--disable-shared", "SHELL=/bin/sh"],
            cwd=tree, env=env, log=log)
        run(["bear", "--output", os.path.join(tree, "compile_commands.json"), "--",
             "make", "-j" + JOBS, "sqlite3"], cwd=tree, env=env, log=log)

    def rebuild(self, tree, opt, log):
        # configure wrote the tree's absolute path (TOP) into the Makefile.
        run(["make", "-j" + JOBS, "TOP=" + tree, "sqlite3"], cwd=tree, env=self._env(opt, tree), log=log)

    def program(self, tree):
        return os.path.join(tree, "sqlite3")

    def unit_files(self, patch):
        # An edit of src/ reaches the program through `make sqlite3.c`.
        return ["sqlite3.c"]


class Leveldb(Recipe):
    """leveldb: debian/rules' shared build (CMake, BUILD_SHARED_LIBS=ON, so
    libleveldb.so with -fvisibility=hidden), without its tests and
    benchmarks; and our client of the library (leveldb/client.cc)."""
    package = "leveldb"
    version = "1"
    BUILD = os.path.join("obj-" + TRIPLET, "out-shared")
    CLIENT = os.path.join(HERE, "leveldb", "client.cc")

    def identity(self):
        with open(self.CLIENT, "rb") as f:
            return self.version + hashlib.sha1(f.read()).hexdigest()

    def build(self, tree, opt, log):
        env = buildflags(opt)
        cppflags = dpkg_flag(env, "CPPFLAGS", tree) + " -fPIC"
        env["CXXFLAGS"] = dpkg_flag(env, "CXXFLAGS", tree) + " " + cppflags
        env["CFLAGS"] = dpkg_flag(env, "CFLAGS", tree) + " " + cppflags
        env["LDFLAGS"] = dpkg_flag(env, "LDFLAGS", tree)
        out = os.path.join(tree, self.BUILD)
        run(["cmake", "-S", tree, "-B", out, "-DCMAKE_BUILD_TYPE=None", "-DBUILD_SHARED_LIBS=ON",
             "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", "-DLEVELDB_BUILD_TESTS=OFF",
             "-DLEVELDB_BUILD_BENCHMARKS=OFF"], cwd=tree, env=env, log=log)
        run(["cmake", "--build", out, "-j", JOBS], cwd=tree, env=env, log=log)
        run(["g++"] + env["CXXFLAGS"].split() + ["-I", os.path.join(tree, "include"),
             self.CLIENT, "-o", os.path.join(out, "leveldb-client"),
             "-L" + out, "-lleveldb", "-Wl,-rpath," + out, "-pthread"] + env["LDFLAGS"].split(),
            cwd=out, env=env, log=log)

    def program(self, tree):
        return os.path.join(tree, self.BUILD, "leveldb-client")


LUA, SQLITE, LEVELDB = Lua(), Sqlite(), Leveldb()
