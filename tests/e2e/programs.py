"""Build a scenario program the ordinary way: each unit compiled on its own
from the program's directory, linked as a PIE, with compile_commands.json."""
import json
import os
import shutil
import subprocess

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
COMPILERS = ["gcc", "clang"]
LEVELS = ["-O0", "-O2"]


def _run(argv, cwd):
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError("%s failed:\n%s" % (" ".join(argv), proc.stdout.decode()))


def build(scenario, dest, units, cc="gcc", opt="-O0", library=None, link_flags=(), database=True):
    """Copy programs/<scenario> to dest and build `prog` from units (file
    names); `library` (a unit) goes into libunit.so instead.  Returns the
    path of the program."""
    dest = str(dest)
    # A scenario here, or an example's folder (its src/ and patches/ flattened).
    sources = [os.path.join(HERE, scenario)] if not os.path.isabs(scenario) else \
        [os.path.join(scenario, d) for d in ("src", "patches")]
    for folder in sources:
        for name in os.listdir(folder):
            shutil.copy(os.path.join(folder, name), dest)
    entries, objects = [], []
    for unit in units + ([library] if library else []):
        obj = os.path.splitext(unit)[0] + ".o"
        argv = [cc, "-g"] + opt.split() + (["-fPIC"] if unit == library else []) + ["-c", unit, "-o", obj]
        _run(argv, dest)
        entries.append({"directory": dest, "file": unit, "arguments": argv, "output": obj})
        if unit != library:
            objects.append(obj)
    if library:
        _run([cc, "-shared", "-o", "libunit.so", os.path.splitext(library)[0] + ".o"], dest)
        link_flags = list(link_flags) + ["-L.", "-lunit", "-Wl,-rpath," + dest]
    _run([cc, "-o", "prog"] + objects + list(link_flags), dest)
    if database:
        with open(os.path.join(dest, "compile_commands.json"), "w") as f:
            json.dump(entries, f, indent=1)
    return os.path.join(dest, "prog")
