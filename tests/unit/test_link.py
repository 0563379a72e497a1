"""Linking a patch with ld alone gives the library the compiler driver's
link against every loaded library gives, byte for byte; a symbol no loaded
library exports is left to the driver."""
import filecmp
import os
import shutil
import subprocess

import pytest

from hotfix import build
from hotfix.arch import X86_64
from hotfix.program import LoadedImage, dynamic_names, exported_symbols, started_with

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
LIBM = "/lib/x86_64-linux-gnu/libm.so.6"

pytestmark = pytest.mark.skipif(not (shutil.which("gcc") and os.path.exists(LIBC)), reason="needs gcc and glibc")

SOURCE = """
#include <stdio.h>
#include <string.h>
extern int program_counter;            /* the program's: bound by the script */
int program_function(int);
static int hits;
int patched(const char *s, char *out)
{
    hits += program_function(program_counter);
    memcpy(out, s, strlen(s) + 1);      /* an IFUNC of libc */
    return printf("%s %d\\n", out, hits);
}
"""


def _object(tmp_path, source=SOURCE):
    (tmp_path / "patch.c").write_text(source)
    obj = str(tmp_path / "patch.o")
    subprocess.run(["gcc", "-g", "-O2", *X86_64.diff_flags, *X86_64.load_flags, "-c", "patch.c", "-o", obj],
                   cwd=tmp_path, check=True)
    return obj


def test_the_driver_options_that_shape_a_shared_object():
    options = build.driver_link_options("gcc")
    assert "-shared" in options and "--eh-frame-hdr" in options and "--hash-style=gnu" in options
    assert not any(o.startswith(("-L", "-l", "-plugin")) for o in options)
    assert build._shaping_options(["-plugin", "/x/lto.so", "-plugin-opt=-x", "--build-id", "-m", "elf_x86_64",
                                   "-z", "relro", "-o", "a.so", "-L/usr/lib", os.devnull, "--as-needed", "-lc"]) \
        == ("--build-id", "-m", "elf_x86_64", "-z", "relro")


def test_exported_symbols_are_the_defined_default_versions():
    names = exported_symbols(LIBC)
    assert {"memcpy", "printf", "strlen"} <= names
    assert "atexit" not in names        # libc_nonshared.a's, not libc.so.6's
    assert exported_symbols("/nonexistent") is None


def test_ld_alone_links_what_the_driver_links(tmp_path):
    obj = _object(tmp_path)
    bindings = {"program_counter": 0x555555558010, "program_function": 0x555555555140}
    direct = str(tmp_path / "direct.so")
    build.link_patch(obj, direct, bindings, [LIBM, LIBC], "gcc", providers=[LIBC])
    through_driver = str(tmp_path / "driver.so")
    build.link_patch(obj, through_driver, bindings, [LIBM, LIBC], "gcc", providers=None)
    assert filecmp.cmp(direct, through_driver, shallow=False)


HOST = """
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    void *patch = dlopen(argv[1], RTLD_NOW);
    if (!patch) { printf("%s\\n", dlerror()); return 1; }
    char out[16];
    int (*patched)(const char *, char *) = (int (*)(const char *, char *))dlsym(patch, "patched");
    return patched("hello", out) == 6 ? 0 : 2;
}
"""


def test_a_patch_linked_without_its_libraries_binds_to_them_when_loaded(tmp_path):
    obj = _object(tmp_path, "#include <stdio.h>\n#include <string.h>\n"
                            "__attribute__((visibility(\"default\"))) int patched(const char *s, char *out)\n"
                            "{ memcpy(out, s, strlen(s) + 1); return printf(\"%s\\n\", out); }\n")
    so = str(tmp_path / "started.so")
    build.link_patch(obj, so, {}, [LIBM, LIBC], "gcc", providers=[LIBC], started=True)
    assert dynamic_names(so) == (build.PATCH_SONAME, ())      # ld read no library
    (tmp_path / "host.c").write_text(HOST)
    subprocess.run(["gcc", "host.c", "-o", "host"], cwd=tmp_path, check=True)
    proc = subprocess.run([str(tmp_path / "host"), so], stdout=subprocess.PIPE, text=True)
    assert (proc.returncode, proc.stdout) == (0, "hello\n")


def test_the_libraries_a_program_started_with(tmp_path):
    def cc(*argv):
        subprocess.run(["gcc", *argv], cwd=tmp_path, check=True)
    (tmp_path / "b.c").write_text("int b(void) { return 2; }\n")
    (tmp_path / "a.c").write_text("int b(void); int a(void) { return b(); }\n")
    (tmp_path / "p.c").write_text("int p(void) { return 3; }\n")
    (tmp_path / "main.c").write_text("int a(void); int main(void) { return a(); }\n")
    cc("-shared", "-fPIC", "-Wl,-soname,libb.so.1", "b.c", "-o", "libb.so.1.0")
    os.symlink("libb.so.1.0", str(tmp_path / "libb.so"))
    os.symlink("libb.so.1.0", str(tmp_path / "libb.so.1"))
    cc("-shared", "-fPIC", "a.c", "-o", "liba.so", "-L.", "-lb")
    cc("-shared", "-fPIC", "p.c", "-o", "libp.so")
    cc("main.c", "-o", "prog", "-L.", "-la", "-Wl,-rpath," + str(tmp_path))
    at = str(tmp_path) + "/"
    images = [LoadedImage(at + "prog", 0, None), LoadedImage(at + "liba.so", 0, None, at + "liba.so"),
              LoadedImage(LIBC, 0, None, LIBC),
              LoadedImage(at + "libb.so.1.0", 0, None, at + "libb.so.1"),      # found by its soname
              LoadedImage(at + "libp.so", 0, None, at + "libp.so")]             # loaded later (dlopen)
    assert started_with(images) == {at + "liba.so", LIBC, at + "libb.so.1.0"}


def test_what_no_library_provides_is_the_drivers_error(tmp_path):
    obj = _object(tmp_path, "int nowhere(void); int patched(void) { return nowhere(); }\n")
    with pytest.raises(build.HotfixError, match=r"the patch refers to `nowhere', which the program does not "
                                                r"define and no loaded library provides\."):
        build.link_patch(obj, str(tmp_path / "p.so"), {}, [LIBC], "gcc", providers=None)


def test_the_compile_for_loading_drops_what_only_makes_the_compiler_talk():
    argv = ["gcc", "-g", "-O2", "-Wall", "-Wextra", "-Werror", "-Werror=format-security", "-Wp,-D_FORTIFY_SOURCE=2",
            "-fanalyzer", "-pedantic", "-pedantic-errors", "-Wno-unused", "-fstack-protector-strong",
            "-fdump-tree-all", "-DX=1"]
    assert build._code_flags(argv) == ["gcc", "-g", "-O2", "-Werror=format-security", "-Wp,-D_FORTIFY_SOURCE=2",
                                       "-pedantic-errors", "-fstack-protector-strong", "-DX=1"]
