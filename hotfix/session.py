"""What hotfix remembers between commands: per process, the patches
applied to each unit; per debugger, the images already read."""
import os
import shutil
from dataclasses import dataclass, field
from typing import Dict, List

from .build import private_directory
from .changes import Files
from .program import ImageCache


@dataclass
class Version:
    """One applied patch of a unit."""
    so_path: str
    handle: int
    bias: int
    baseline: str                    # its object built for loading: what the next patch is compared with
    functions: Dict[str, dict]       # name -> {"address", "size", "room"} at runtime
    redirected: List[str]
    writes: list                     # apply.Write, as written
    unit: str = ""                   # as the user named it
    when: float = 0.0
    statics_kept: List[str] = field(default_factory=list)
    globals_bound: List[str] = field(default_factory=list)
    entries: List[tuple] = field(default_factory=list)   # (function, runtime address, size) jumped from
    loaded_from: str = ""            # the path the process loaded it from, when that is not so_path


@dataclass
class ProcessState:
    pid: int
    scratch: int = 0
    # The program's own bytes at every entry hotfix overwrote, from before
    # the first write there: what --revert puts back.
    originals: Dict[int, bytes] = field(default_factory=dict)
    disabled_locations: List[int] = field(default_factory=list)   # breakpoint addresses hotfix disabled
    trampoline_pages: list = field(default_factory=list)   # [page address, bytes used]
    units: Dict[str, List[Version]] = field(default_factory=dict)   # unit path -> versions
    patches: int = 0
    # A remote target: hotfix's private directory there, and the patch
    # files put into it (path on the target -> the file on this machine).
    target_dir: str = ""
    shipped: Dict[str, str] = field(default_factory=dict)
    shares_files: bool = False       # a remote stub whose process sees this machine's files


class Session:
    def __init__(self):
        self.cache = ImageCache()
        self.files = Files(ignore=self.is_patch_file)
        self.process = None
        self._workdir = None

    def is_patch_file(self, path):
        """Whether a loaded image is one of this session's patches (they stay
        loaded after --revert)."""
        return bool(self._workdir) and path.startswith(self._workdir + os.sep)

    def for_process(self, pid):
        if self.process is None or self.process.pid != pid:
            self.process = ProcessState(pid)
        return self.process

    @property
    def workdir(self):
        if self._workdir is None or not os.path.isdir(self._workdir):
            self._workdir = private_directory()
        return self._workdir

    def history(self, unit):
        return self.process.units.setdefault(unit.path, [])

    def close(self):
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
