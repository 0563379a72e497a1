"""Reading a unit's statics from its DWARF lists only what can hold one: a
function with no static and no type of its own is left out, unless a DIE
listed names it (a definition's declaration gives its statics' scope)."""
import shutil
import subprocess

import pytest

from hotfix.program import ImageInfo

pytestmark = pytest.mark.skipif(not shutil.which("g++"), reason="needs g++")

SOURCE = """
namespace game { int tick(); struct S { int f(); virtual int g(); }; int quiet(int); }
int game::tick() { static int n; return ++n; }
int game::S::f() { static int m; return ++m; }
int game::S::g() { return 2; }
int game::quiet(int x) { return x + 1; }
static int file_static;
int use() { return game::tick() + game::quiet(file_static++); }
int local_type() { struct P { int a, b; } p = {1, 2}; return p.a + p.b; }
"""


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("kind", ["object", "library"])
def test_statics_keep_their_scope_and_plain_functions_are_left_out(tmp_path, opt, kind):
    (tmp_path / "t.cc").write_text(SOURCE)
    out = str(tmp_path / ("t.o" if kind == "object" else "t.so"))
    flags = ["-c"] if kind == "object" else ["-shared", "-fPIC"]
    subprocess.run(["g++", "-g", opt, *flags, "t.cc", "-o", out], cwd=tmp_path, check=True)
    info = ImageInfo(out)
    unit = info.units()[0]
    assert sorted(info.variables(unit)) == [("", "file_static"), ("_ZN4game1S1fEv", "m"),
                                            ("_ZN4game4tickEv", "n")]
    names = {d.get("n") for d in info.native.unit_dies(unit.cu_offset)}
    # The declarations the definitions with statics refer to are there, and
    # the class's member functions (its virtual one gives a vtable slot).
    assert {"tick", "f", "g", "S"} <= names
    # A function that holds no static and no type of its own is not, nor
    # the namespace's declaration of it.
    assert not names & {"quiet", "use"}
    # A type local to a function keeps its function.
    assert {"P", "local_type"} <= names
    assert "virtual g in slot 0" in info.types(unit)["game::S"]
