"""What hotfix remembers between commands: per process, the patches
applied to each unit; per debugger, the images already read."""
import os
from dataclasses import dataclass, field
from typing import Dict, List

from . import workdirs
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
    unit: str = ""                   # as the user named it
    when: float = 0.0
    statics_kept: List[str] = field(default_factory=list)
    globals_bound: List[str] = field(default_factory=list)
    entries: List[tuple] = field(default_factory=list)   # (function, runtime address, size) jumped from
    loaded_from: str = ""            # the path the process loaded it from, when that is not so_path
    # Statics it migrated (their storage is its own copy from now on): each
    # {"scope", "name", "label", "symbol", "external", "address" (runtime),
    # "size", "type", "so_path" (whose DWARF describes it)}.
    migrated: List[dict] = field(default_factory=list)
    # Bodies frames were moved into (frames.manifest_entries): {"function",
    # "address", "size", "object"}.
    moved: List[dict] = field(default_factory=list)
    # Statics new in it (the next patch of the unit uses them, as it uses
    # the program's): each {"scope", "name", "address" (runtime), "size",
    # "type", "external", "so_path"}.
    added_statics: List[dict] = field(default_factory=list)
    near: bool = False               # built -fPIC with the small model, loaded within 2 GiB (near.py)


@dataclass
class ProcessState:
    pid: int
    local: bool = True
    workdir: str = ""                # see workdirs.py
    recovered: bool = False          # its earlier patches looked for (patches.recover)
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
    near_call: tuple = ()            # (code, block) of near.NEAR_DLOPEN in the process
    # Functions of the C library hotfix calls: name -> (address, its first
    # bytes), looked up once (apply.Loader.function).
    functions: Dict[str, tuple] = field(default_factory=dict)
    far_units: set = field(default_factory=set)    # units whose near patch landed out of reach


class Session:
    def __init__(self):
        self.cache = ImageCache()
        self.files = Files()
        self.process = None
        self.preparer = None        # prepare.Preparer of this process, while preparing is on
        workdirs.sweep()

    def for_process(self, pid, local=True):
        if self.process is None or self.process.pid != pid:
            self.stop_preparing()
            if self.process is not None:
                workdirs.remove_if_gone(self.process.workdir)
            self.process = ProcessState(pid, local)
        return self.process

    def stop_preparing(self):
        if self.preparer is not None:
            self.preparer.stop()
            self.preparer = None

    @property
    def workdir(self):
        state = self.process
        if not state.workdir or not os.path.isdir(state.workdir):
            state.workdir = workdirs.create(state.pid, state.local)
        return state.workdir

    def history(self, unit):
        return self.process.units.setdefault(unit.path, [])

    def process_gone(self):
        """The debugger let go of the process (GDB says so for a detach
        too): its files go if it is gone."""
        self.stop_preparing()
        if self.process is not None and self.process.workdir:
            workdirs.remove_if_gone(self.process.workdir)

    def close(self):
        """The debugger is leaving: the files of a process that is gone go;
        those of one still running stay for a later session (and are swept
        once it is gone).  A remote process's can never be found again."""
        self.stop_preparing()
        if self.process is not None and self.process.workdir:
            if not self.process.local:
                workdirs.remove(self.process.workdir)
            else:
                workdirs.remove_if_gone(self.process.workdir)
