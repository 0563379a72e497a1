"""C++ names as people read them: every mangled name in a line hotfix
prints is demangled (binutils' c++filt, one call per line that has any)."""
import re
import subprocess

_MANGLED = re.compile(r"\b_Z[\w$]+(?:\.[\w.]+)?")


def demangle_text(text):
    names = sorted(set(_MANGLED.findall(text)), key=len, reverse=True)
    if not names:
        return text
    try:
        out = subprocess.run(["c++filt"], input="\n".join(names).encode(), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode().splitlines()
    except OSError:
        return text
    for mangled, plain in zip(names, out):
        text = text.replace(mangled, plain)
    return text
