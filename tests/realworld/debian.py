"""Debian source packages, fetched with apt-get under a private
configuration: a deb-src list, package lists and apt's cache of its own in
the cache folder, so the system's apt configuration is neither read nor
changed.  apt checks the suite's signature with the system's Debian
keyring and every file's hash against the signed lists; dpkg-source
unpacks the package and applies Debian's patches.

Nothing else is downloaded: a package is fetched once per version into
CACHE/sources/PACKAGE_VERSION/.
"""
import os
import shutil
import subprocess
import time

CACHE = os.environ.get("HOTFIX_REALWORLD_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hotfix-realworld")
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The lists are read again after a week: a point release may bring a new
# version of a package (its builds are then made anew, keyed by version).
LISTS_MAX_AGE = 7 * 24 * 3600


class FetchError(RuntimeError):
    pass


def _run(argv, cwd=None, env=None):
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
    if proc.returncode:
        raise FetchError("%s failed:\n%s" % (" ".join(argv), proc.stdout.decode(errors="replace")[-4000:]))
    return proc.stdout.decode(errors="replace")


def _let_apt_write(path):
    # As root apt downloads as its _apt user (its sandbox).
    if os.geteuid() == 0:
        try:
            shutil.chown(path, user="_apt")
        except (LookupError, PermissionError):
            os.chmod(path, 0o777)


class Apt:
    """apt-get and apt-cache with every configuration path in CACHE/apt."""

    def __init__(self, root=None):
        self.root = root or os.path.join(CACHE, "apt")
        self.lists = os.path.join(self.root, "lists")
        self.sources_list = os.path.join(self.root, "sources.list")

    def options(self):
        return ["-o", "Dir::Etc::SourceList=" + self.sources_list,
                "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", "Dir::State::Lists=" + self.lists,
                "-o", "Dir::Cache=" + os.path.join(self.root, "cache"),
                "-o", "APT::Get::Only-Source=true", "-o", "APT::Cache::Only-Source=true",
                "-qq"]

    def _fresh(self):
        stamp = os.path.join(self.root, "updated")
        return os.path.exists(stamp) and time.time() - os.path.getmtime(stamp) < LISTS_MAX_AGE

    def update(self):
        stamp = os.path.join(self.root, "updated")
        if self._fresh():
            return
        os.makedirs(os.path.join(self.lists, "partial"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "cache", "archives", "partial"), exist_ok=True)
        with open(self.sources_list, "w") as f:
            f.write("deb-src [signed-by=%s] %s %s main\n" % (KEYRING, MIRROR, SUITE))
        try:
            _run(["apt-get"] + self.options() + ["update"])
        except FetchError:
            if not os.path.exists(stamp):
                raise
            return          # offline: the lists of last time will do
        with open(stamp, "w"):
            pass

    def version(self, package):
        """The version of the source package the lists offer."""
        self.update()
        out = _run(["apt-cache"] + self.options() + ["showsrc", package])
        versions = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Version:")]
        if not versions:
            raise FetchError("%s: no source package in %s %s" % (package, MIRROR, SUITE))
        return versions[0]

    def source(self, package):
        """(version, folder of the unpacked source with Debian's patches)."""
        version = self.version(package)
        folder = os.path.join(CACHE, "sources", "%s_%s" % (package, version))
        done = os.path.join(folder, ".fetched")
        if not os.path.exists(done):
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            _let_apt_write(folder)
            _run(["apt-get"] + self.options() + ["source", "%s=%s" % (package, version)], cwd=folder)
            with open(done, "w") as f:
                f.write(version + "\n")
        trees = [d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d))]
        if len(trees) != 1:
            raise FetchError("%s: expected one unpacked tree, found %s" % (folder, trees))
        return version, os.path.join(folder, trees[0])
