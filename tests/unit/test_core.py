"""Unit tests of the core with a fake debugger: no process, no compiler."""
import json
import os
import time
from types import SimpleNamespace

import pytest

from hotfix import apply as applying
from hotfix import cli, compdb, plan
from hotfix.debugger import Frame, Thread
from hotfix.errors import HotfixError
from hotfix.program import read_link_map
from hotfix.session import Session

from fake import FakeDebugger


# --- compile commands --------------------------------------------------------

def test_clean_arguments_keeps_code_flags_and_drops_outputs_and_links():
    argv = ["cc", "-DNDEBUG", "-Iinclude", "-O2", "-g", "-MD", "-MF", "x.d", "-c", "src/a.c", "-o", "a.o",
            "src/b.c", "-lm", "-L/opt/lib", "-Wl,--as-needed", "-o", "prog", "-include", "cfg.h"]
    assert compdb.clean_arguments(argv, "src/a.c") == ["cc", "-DNDEBUG", "-Iinclude", "-O2", "-g",
                                                       "-include", "cfg.h"]


class FakeUnit:
    def __init__(self, name, comp_dir, producer="GNU C17 12.2.0 -mtune=generic -march=x86-64 -g -O2"):
        self.name, self.comp_dir, self.producer = name, comp_dir, producer
        self.is_cxx = False

    @property
    def path(self):
        return os.path.normpath(os.path.join(self.comp_dir, self.name))


def test_compile_command_from_a_database_near_the_executable(tmp_path):
    (tmp_path / "build").mkdir()
    db = [{"directory": str(tmp_path), "file": "src/a.c", "command": "gcc -O1 -DX=1 -c src/a.c -o build/a.o"}]
    (tmp_path / "build" / "compile_commands.json").write_text(json.dumps(db))
    unit = FakeUnit("src/a.c", str(tmp_path))
    cmd = compdb.find_compile_command(unit, str(tmp_path / "build" / "prog"))
    assert cmd.argv == ["gcc", "-O1", "-DX=1"] and cmd.source == "src/a.c" and cmd.directory == str(tmp_path)
    assert not cmd.warning


def test_compile_command_falls_back_to_the_producer_with_a_warning(tmp_path):
    unit = FakeUnit("a.c", str(tmp_path))
    cmd = compdb.find_compile_command(unit, str(tmp_path / "prog"))
    assert cmd.argv == ["gcc", "-g", "-O2"] and "-D and -I may be missing" in cmd.warning
    clang = FakeUnit("a.c", str(tmp_path), producer="Debian clang version 14.0.6")
    cmd = compdb.find_compile_command(clang, str(tmp_path / "prog"))
    assert cmd.argv == ["clang", "-g"] and "clang did not record its flags" in cmd.warning


# --- deciding what changed ---------------------------------------------------

def test_a_changed_clone_changes_its_callers():
    diff = {"functions": [
        {"name": "update", "status": "same", "why": "", "refs": ["step.constprop.0"]},
        {"name": "step.constprop.0", "status": "changed", "why": "code", "refs": []},
        {"name": "draw", "status": "same", "why": "", "refs": []},
        {"name": "fresh", "status": "new", "why": "", "refs": []},
    ], "removed": ["gone", "gone.part.0"]}
    p = plan.Plan(unit=None, command=None)
    changed = plan.decide_changes(diff, p)
    assert changed == {"update", "step.constprop.0"}
    assert p.changed == ["update"] and p.new == ["fresh"] and p.removed == ["gone"]
    assert p.why["update"] == "calls step.constprop.0, which changed"


def test_only_line_numbers_changed_is_left_alone_and_said():
    diff = {"functions": [
        {"name": "main", "status": "lines", "why": "only line numbers", "refs": ["step"]},
        {"name": "main.cold", "status": "lines", "why": "only line numbers", "refs": []},
        {"name": "report", "status": "lines", "why": "only line numbers", "refs": ["walk.part.0"]},
        {"name": "walk.part.0", "status": "changed", "why": "code", "refs": []},
        {"name": "step", "status": "changed", "why": "code", "refs": []},
    ], "removed": []}
    p = plan.Plan(unit=SimpleNamespace(name="a.c"), command=SimpleNamespace(origin="compile_commands.json"))
    plan.decide_changes(diff, p)
    assert p.changed == ["report", "step"] and p.lines_only == ["main"]
    assert "  only line numbers changed (left as they are: their __LINE__ values stay the old ones): main" \
        in plan.describe(p)
    p = plan.Plan(unit=None, command=None)
    plan.decide_changes({"functions": [diff["functions"][0]], "removed": []}, p)
    assert p.nothing_changed and p.lines_only == ["main"]


# --- writing all or nothing --------------------------------------------------

def test_writes_are_read_back_and_all_restored_when_one_fails():
    dbg = FakeDebugger(memory=bytes(range(256)) * 16)
    before = bytes(dbg.memory)
    writes = [applying.Write(0x100, b"\xaa" * 8, "a"), applying.Write(0x200, b"\xbb" * 8, "b"),
              applying.Write(0x300, b"\xcc" * 8, "c")]
    dbg.fail_write_at = 0x300
    with pytest.raises(HotfixError, match="every byte written was restored"):
        applying.write_all(dbg, writes)
    assert bytes(dbg.memory) == before


def test_a_write_that_does_not_stick_is_an_error_and_restores():
    dbg = FakeDebugger()
    dbg.ignore_write_at = 0x200
    writes = [applying.Write(0x100, b"\x01" * 4, "a"), applying.Write(0x200, b"\x02" * 4, "jump f")]
    with pytest.raises(HotfixError, match="writing jump f at 0x200 did not stick"):
        applying.write_all(dbg, writes)
    assert dbg.memory[0x100:0x104] == b"\0\0\0\0"


def test_successful_writes_are_all_in_place():
    dbg = FakeDebugger()
    done = applying.write_all(dbg, [applying.Write(0x10, b"\x90" * 5, "x")])
    assert dbg.memory[0x10:0x15] == b"\x90" * 5 and done[0].old == b"\0" * 5


def test_unreached_writes_near_each_other_go_as_one_block_and_roll_back_as_one():
    dbg = FakeDebugger(memory=bytes(range(256)) * 16)
    before = bytes(dbg.memory)
    accesses = []
    real_write = dbg.write_memory
    dbg.write_memory = lambda a, d: (accesses.append((a, len(d))), real_write(a, d))
    rebinds = [applying.Write(a, bytes([i]) * 8, "site %d" % i, unreached=True)
               for i, a in enumerate([0x180, 0x100, 0x140, 0x900])]     # 0x900: too far to join
    jump = applying.Write(0x40, b"\xeb\xfe", "jump f")
    done = applying.write_all(dbg, rebinds + [jump])
    assert accesses == [(0x100, 0x88), (0x900, 8), (0x40, 2)]
    assert [w.what for w in done] == ["site 1", "site 2", "site 0", "site 3", "jump f"]
    assert done[0].old == before[0x100:0x108] and dbg.memory[0x140:0x148] == b"\x02" * 8
    assert dbg.memory[0x108:0x140] == before[0x108:0x140]     # bytes between sites untouched
    # The same writes failing at the jump: every block is restored.
    dbg.memory[:] = before
    dbg.fail_write_at = 0x40
    with pytest.raises(HotfixError, match="every byte written was restored"):
        applying.write_all(dbg, [applying.Write(w.address, w.data, w.what, unreached=True) for w in rebinds]
                           + [jump])
    assert bytes(dbg.memory) == before


# --- the stack check ---------------------------------------------------------

def _redirect(address=0x1000, size=0x40):
    e = plan.Entry("update", address, size, 0x40, "original", kind=1, kind_name="abs14")
    return plan.Redirect("update", 0x5000, [e])


def test_an_active_function_is_named_with_thread_frame_and_line():
    threads = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint", "main.c", 7),
                                  Frame(1, 0x1010, "update", "game.c", 15)])]
    problems = applying.check_stacks(FakeDebugger(threads=threads), [_redirect()], [])
    assert problems == ["update is active in thread 1, frame #1: update (game.c:15)"]


def test_a_return_address_inside_the_jump_bytes_is_found():
    threads = [Thread(3, "worker", [Frame(0, 0x9000, "sleep"), Frame(1, 0x2009, "tiny", "a.c", 3)])]
    problems = applying.check_stacks(FakeDebugger(threads=threads), [], [(0x2000, 0x200e, "tiny")])
    assert problems == ["thread 3, frame #1 has its return address inside the entry of tiny"]


def test_wait_gives_up_with_a_clear_sentence():
    class Busy(FakeDebugger):
        def resume_for(self, seconds):
            pass
    threads = [Thread(1, "main", [Frame(0, 0x1004, "update", "game.c", 9)])]
    with pytest.raises(applying.ActiveFunction, match=r"still so after waiting 0.05 s"):
        applying.wait_until_safe(Busy(threads=threads), [_redirect()], [], 0.05)


def test_wait_lets_a_thread_leave_the_allocator_before_calling_dlopen():
    class Runs(FakeDebugger):
        resumed = 0

        def resume_for(self, seconds):
            self.resumed += 1
            if self.resumed == 2:       # main leaves free
                self._threads[0] = Thread(1, "main", [Frame(0, 0x9000, "checkpoint", "main.c", 7)])
    in_malloc = Thread(2, "alloc", [Frame(0, 0x7000, "__GI___libc_malloc"), Frame(1, 0x1000, "worker")])
    in_free = Thread(1, "main", [Frame(0, 0x7100, "_int_free"), Frame(1, 0x7200, "__GI___libc_free"),
                                 Frame(2, 0x1000, "main")])
    dbg = Runs(threads=[in_free, in_malloc])
    with pytest.raises(HotfixError, match=r"every thread is inside .*or use --wait"):
        applying.pick_calling_thread(dbg)
    applying.wait_for_calling_thread(dbg, 5.0)
    assert dbg.resumed == 2 and applying.pick_calling_thread(dbg) == 1
    class Stuck(FakeDebugger):
        def resume_for(self, seconds):
            pass
    stuck = Stuck(threads=[in_malloc])
    with pytest.raises(HotfixError, match=r"^every thread is inside .*\(thread 2: __GI___libc_malloc\) "
                                          r"\(still so after waiting 0.05 s\)$"):
        applying.wait_for_calling_thread(stuck, 0.05)


# --- the command's preconditions ---------------------------------------------

@pytest.mark.parametrize("state,argv,message", [
    ("none", ["a.c"], "the program is not running."),
    ("running", ["a.c"], "the program is running: interrupt it first (Ctrl-C), then hotfix."),
    ("stopped", [], "name the edited source file"),
    ("stopped", ["--frobnicate", "a.c"], "unrecognized arguments: --frobnicate"),
])
def test_preconditions_are_one_sentence(state, argv, message):
    with pytest.raises(HotfixError) as e:
        cli.run(FakeDebugger(state=state), argv)
    assert message in str(e.value)


def test_help_is_the_parser_text():
    dbg = FakeDebugger()
    cli.run(dbg, ["--help"])
    assert dbg.out[0].startswith("usage: hotfix [OPTIONS] FILE...") and "--dry-run" in dbg.out[0]


def test_no_dynamic_loader_means_a_static_program():
    with pytest.raises(HotfixError, match="statically linked"):
        read_link_map(FakeDebugger(symbols={}))


def test_link_map_is_walked_in_order():
    mem = bytearray(0x1000)
    def put(addr, *words):
        for i, w in enumerate(words):
            mem[addr + 8 * i:addr + 8 * i + 8] = w.to_bytes(8, "little")
    put(0x100, 1, 0x200)                         # r_debug: version, r_map
    put(0x200, 0x5555_0000, 0x400, 0, 0x300)     # main program: l_addr, l_name (""), l_ld, l_next
    put(0x300, 0x7fff_0000, 0x410, 0, 0)
    mem[0x410:0x41b] = b"/lib/x.so\0\0"
    assert read_link_map(FakeDebugger(memory=bytes(mem), symbols={"_r_debug": 0x100})) == [
        (0x5555_0000, "", 0), (0x7fff_0000, "/lib/x.so", 0)]


def test_r_debug_is_found_through_the_programs_dt_debug_without_a_symbol_lookup():
    mem = bytearray(0x1000)
    def put(addr, *words):
        for i, w in enumerate(words):
            mem[addr + 8 * i:addr + 8 * i + 8] = w.to_bytes(8, "little")
    # Loaded 0x800 above its link addresses: entry 0x40 -> 0x840, .dynamic 0x700 -> 0xf00.
    put(0xf00, 1, 0x10, 21, 0x100, 0, 0)                   # DT_NEEDED, DT_DEBUG -> r_debug, DT_NULL
    put(0x100, 1, 0x200)
    put(0x200, 0x800, 0x400, 0, 0)
    header = {"entry": 0x40, "dynamic_address": 0x700}

    class Aux(FakeDebugger):
        def auxv_entry(self, kind):
            return 0x840 if kind == 9 else None
    # No _r_debug symbol: the lookup would fail.
    assert read_link_map(Aux(memory=bytes(mem)), header) == [(0x800, "", 0)]
    # Without the auxiliary vector, or with a DT_DEBUG that is not an
    # r_debug (version 1 or 2), the symbol is looked up.
    assert read_link_map(FakeDebugger(memory=bytes(mem), symbols={"_r_debug": 0x100}), header) == [(0x800, "", 0)]
    put(0x100, 7, 0x200)
    with pytest.raises(HotfixError, match="statically linked"):
        read_link_map(Aux(memory=bytes(mem)), header)


# --- dependency lists kept on disk --------------------------------------------

def test_a_kept_dependency_list_holds_until_one_of_its_files_changes(tmp_path):
    from hotfix import changes
    header, source = tmp_path / "tune.h", tmp_path / "a.c"
    header.write_text("#define X 1\n")
    source.write_text('#include "tune.h"\n')
    cache = changes.DepsCache(str(tmp_path / "cache" / "deps.json"))
    key = (str(source), ("cc", "-g"), str(tmp_path))
    when = os.stat(header).st_mtime + 1
    cache.put(key, {str(header), str(source)}, when)
    cache.save()
    again = changes.DepsCache(cache.path)          # as a new debugger session reads it
    assert again.get(key, changes.Mtimes()) == {str(header), str(source)}
    assert again.get(("other",), changes.Mtimes()) is None
    os.utime(header, (when + 5, when + 5))          # the header is saved after the list was made
    assert again.get(key, changes.Mtimes()) is None
    os.utime(header, (when - 5, when - 5))
    source.unlink()                                 # a file of the list is gone
    assert again.get(key, changes.Mtimes()) is None
    assert oct(os.stat(os.path.dirname(cache.path)).st_mode & 0o777) == "0o700"


def test_a_programs_kept_lists_are_those_of_its_units_now(tmp_path):
    from hotfix import changes
    cache = changes.DepsCache(str(tmp_path / "deps" / "p.json"))
    for n in range(3):
        cache.put(("u%d.c" % n,), {"/src/u%d.c" % n}, 100.0)
    cache.save(keep=[("u1.c",), ("u2.c",)])         # u0.c is no longer a unit of the program
    with open(cache.path) as f:
        kept = json.load(f)
    assert sorted(v["files"][0] for v in kept.values()) == ["/src/u1.c", "/src/u2.c"]
    assert changes.cache_path("/a/prog") != changes.cache_path("/b/prog")
    assert os.path.dirname(changes.cache_path("/a/prog")) == changes.cache_dir()


def test_the_cache_folder_loses_old_and_half_written_files(tmp_path):
    from hotfix import changes
    folder = tmp_path / "hotfix" / "deps"
    folder.mkdir(parents=True)
    now = time.time()
    files = {folder / "old.json": now - 31 * 86400, folder / "recent.json": now - 86400,
             folder / ".deps-killed": now - 2 * 3600, folder / ".deps-writing": now - 10,
             tmp_path / "hotfix" / "deps.json": now, tmp_path / "hotfix" / ".deps-legacy": now - 2 * 3600,
             tmp_path / "hotfix" / "other.txt": now - 40 * 86400}
    for path, when in files.items():
        path.write_text("{}")
        os.utime(path, (when, when))
    changes.sweep(str(folder))
    assert sorted(p.name for p in files if p.exists()) == [".deps-writing", "other.txt", "recent.json"]


# --- remote targets ------------------------------------------------------------

class RemoteDebugger(FakeDebugger):
    """A process on another system: inferior calls to mmap, getenv and
    mkdtemp, files put there recorded; memory ends at 0x3000 (reading past
    it fails, as past the top of a stack)."""

    def __init__(self, tmpdir=None, mkdtemp_errno=0, put_error=None, sees_host_files=False):
        super().__init__(memory=bytes(0x3000), symbols={n: 1 for n in ("mmap", "getenv", "mkdtemp", "access",
                                                                        "__errno_location", "dlopen")})
        self.tmpdir, self.mkdtemp_errno = tmpdir, mkdtemp_errno
        self.put_error, self.sees_host_files = put_error, sees_host_files
        self.put, self.calls = [], []

    def is_remote(self):
        return True

    def read_memory(self, address, size):
        if address + size > len(self.memory):
            raise OSError("Cannot access memory at address 0x%x" % len(self.memory))
        return super().read_memory(address, size)

    def call(self, call, thread_id, timeout, others_run=True):
        name = call.function
        self.calls.append((name, self._c_string(0x1000) if 0x1000 in call.args else ""))
        if name == "access":
            return call.result(0 if self.sees_host_files else -1)
        if name == "rmdir":
            return 0
        if name == "mmap":
            return 0x1000
        if name == "getenv":
            if self.tmpdir is None:
                return 0
            at = len(self.memory) - len(self.tmpdir) - 1      # at the very end, like the environment
            self.write_memory(at, self.tmpdir.encode() + b"\0")
            return at
        if name == "mkdtemp":
            if self.mkdtemp_errno:
                self.write_memory(0x2000, self.mkdtemp_errno.to_bytes(4, "little"))
                return 0
            template = self.memory[0x1000:self.memory.index(b"\0", 0x1000)]
            self.write_memory(0x1000, template.replace(b"XXXXXX", b"a1B2c3"))
            return 0x1000
        if name == "__errno_location":
            return 0x2000
        raise AssertionError(call)

    def _c_string(self, address):
        return self.memory[address:self.memory.index(b"\0", address)].decode()

    def put_file(self, host_path, target_path):
        if self.put_error:
            raise OSError(self.put_error)
        self.put.append((host_path, target_path))


def _loader(dbg):
    s = Session()
    s.for_process(dbg.pid())
    return applying.Loader(s), s


class CountingDebugger(FakeDebugger):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.lookups = []

    def symbol_address(self, name):
        self.lookups.append(name)
        return super().symbol_address(name)


def test_a_library_function_is_looked_up_once_while_its_code_is_there():
    memory = bytearray(0x1000)
    memory[0x400:0x410] = bytes(range(1, 17))
    dbg = CountingDebugger(memory=bytes(memory), symbols={"dlopen": 0x400})
    loader, _ = _loader(dbg)
    assert [loader.function(dbg, "dlopen") for _ in range(3)] == [0x400] * 3
    assert dbg.lookups == ["dlopen"]
    dbg.memory[0x400:0x410] = bytes(16)         # other code there now (an exec): looked up again
    dbg.symbols["dlopen"] = 0x800
    assert loader.function(dbg, "dlopen") == 0x800
    assert dbg.lookups == ["dlopen", "dlopen"]
    assert loader.function(dbg, "mmap") is None and loader.function(dbg, "mmap") is None
    assert dbg.lookups == ["dlopen", "dlopen", "mmap", "mmap"]      # a missing one is not remembered


def test_a_library_function_whose_code_cannot_be_read_is_looked_up_each_time():
    dbg = CountingDebugger(memory=bytes(0x100), symbols={"dlopen": 0x400})     # beyond the memory
    dbg.read_memory = lambda address, size: (_ for _ in ()).throw(OSError("Cannot access memory"))
    loader, _ = _loader(dbg)
    assert [loader.function(dbg, "dlopen") for _ in range(2)] == [0x400] * 2
    assert dbg.lookups == ["dlopen", "dlopen"]


def test_a_local_patch_is_loaded_where_it_was_built():
    loader, s = _loader(FakeDebugger())
    assert loader.place(FakeDebugger(), "/host/work/p-1.so") == "/host/work/p-1.so"
    assert s.process.shipped == {} and not s.process.target_dir


def test_a_remote_patch_is_put_into_a_private_directory_the_process_makes():
    dbg = RemoteDebugger(tmpdir="/data/tmp/")
    loader, s = _loader(dbg)
    assert loader.place(dbg, "/host/work/p-1.so") == "/data/tmp/hotfix-a1B2c3/p-1.so"
    assert loader.place(dbg, "/host/work/p-2.so") == "/data/tmp/hotfix-a1B2c3/p-2.so"   # one directory
    assert dbg.put == [("/host/work/p-1.so", "/data/tmp/hotfix-a1B2c3/p-1.so"),
                       ("/host/work/p-2.so", "/data/tmp/hotfix-a1B2c3/p-2.so")]
    assert s.process.shipped["/data/tmp/hotfix-a1B2c3/p-2.so"] == "/host/work/p-2.so"


def test_without_tmpdir_the_target_directory_is_under_tmp():
    dbg = RemoteDebugger()
    loader, _ = _loader(dbg)
    assert loader.place(dbg, "/host/p.so") == "/tmp/hotfix-a1B2c3/p.so"


def test_a_target_directory_that_cannot_be_made_is_one_sentence():
    dbg = RemoteDebugger(tmpdir="/ro", mkdtemp_errno=30)
    loader, s = _loader(dbg)
    with pytest.raises(HotfixError, match=r"^the program could not create a private directory for the patch "
                                          r"on the target \(mkdtemp /ro/hotfix-XXXXXX: Read-only file system\)\.$"):
        loader.place(dbg, "/host/p.so")
    assert dbg.put == [] and s.process.shipped == {}


def test_a_stub_without_file_transfer_whose_process_sees_our_files_loads_them_in_place():
    # qemu-user's gdbstub: no `remote put`, but the process runs on this machine.
    dbg = RemoteDebugger(put_error="Remote I/O error: Function not implemented", sees_host_files=True)
    loader, s = _loader(dbg)
    assert loader.place(dbg, "/host/work/p-1.so") == "/host/work/p-1.so"
    assert ("access", "/host/work/p-1.so") in dbg.calls and ("rmdir", "/tmp/hotfix-a1B2c3") in dbg.calls
    dbg.calls.clear()
    assert loader.place(dbg, "/host/work/p-2.so") == "/host/work/p-2.so" and dbg.calls == []
    assert s.process.shipped == {} and not s.process.target_dir


def test_a_patch_that_cannot_be_put_on_the_target_is_one_sentence():
    dbg = RemoteDebugger(put_error="Remote I/O error: Function not implemented")
    loader, s = _loader(dbg)
    with pytest.raises(HotfixError, match=r"^copying the patch to /tmp/hotfix-a1B2c3/p.so on the target failed "
                                          r"\(Remote I/O error: Function not implemented\)\.$"):
        loader.place(dbg, "/host/p.so")
    assert s.process.shipped == {}


# --- inferior calls ------------------------------------------------------------

def test_a_call_reads_as_a_c_expression_and_its_result_as_its_type():
    from hotfix.debugger import Call
    assert Call("dlopen", (0x1000, 2), params=("char *", "int")).expression() == \
        "(unsigned long)dlopen((char *)0x1000, (int)0x2)"
    assert Call("mmap", (0, 4096, 3, 0x22, -1, 0)).expression().endswith(
        "(unsigned long)0xffffffffffffffff, (unsigned long)0x0)")
    assert Call(0x4000, (1, 2), "int").expression() == \
        "((int (*)(unsigned long, unsigned long))0x4000)((unsigned long)0x1, (unsigned long)0x2)"
    assert Call("dlerror").expression() == "(unsigned long)dlerror()"
    # An int's upper half of the register is garbage; -1 reads as GDB's int() gives it.
    assert Call("mprotect", (), "int").result(0xdeadbeef00000000) == 0
    assert Call("mprotect", (), "int").result(0x12345678ffffffff) == (1 << 64) - 1
    assert Call("dlopen").result(0x7f0012345678) == 0x7f0012345678


# --- rebinding -----------------------------------------------------------------

def test_references_to_the_programs_hidden_symbols_are_rebound_and_others_refused():
    p = plan.Plan(None, None)
    bindings = {"helper": 0x555555551000, "counter": 0x555555558010}
    sites = [
        # GOT-relative fields the link computed from the program's address:
        # a hidden function and an element of a hidden array (fault 1 of #18).
        {"at": 0x1100, "kind": "gotoff64", "sym": "helper", "target": 0x555555551000, "type": 25},
        {"at": 0x1110, "kind": "gotoff64", "sym": "counter", "target": 0x555555558018, "type": 25},
        {"at": 0x1120, "kind": "unhandled", "sym": "counter", "target": 0, "type": 2},
    ]
    plan.plan_rebinds(p, sites, [], {}, {}, [], 0, bindings, "main.c", None)
    assert [(r.at, r.target, r.offset) for r in p.rebinds] == [(0x1100, 0x555555551000, 0),
                                                               (0x1110, 0x555555558010, 8)]
    assert p.globals_bound == ["counter", "helper"]
    assert p.refusals == ["the patch refers to counter through a kind of relocation hotfix cannot point at the "
                          "program's copy (type 2); nothing would reach it."]


def test_the_patchs_own_exported_function_in_a_got_slot_is_the_programs_even_after_an_unreached_site():
    # An exported inline function of the unit, whose GOT slot two sites
    # load: the place native lists as unreached must not keep the reached
    # one from filling the slot with the program's copy.
    p = plan.Plan(None, None)
    so_symbols = [{"name": "Status_Invalid", "value": 0x2000, "size": 0x40, "type": "func", "bind": "weak",
                   "writable": False}]
    originals = [{"name": "Status_Invalid", "value": 0x3000, "size": 0x40}]
    sites = [
        {"at": 0x1100, "kind": "got64", "sym": "Status_Invalid", "target": 0x8000, "type": 27, "unreached": True},
        {"at": 0x1200, "kind": "got64", "sym": "Status_Invalid", "target": 0x8000, "type": 27},
    ]
    plan.plan_rebinds(p, sites, so_symbols, {}, {}, originals, 0x555555554000, {}, "main.c", None)
    assert [(r.at, r.kind, r.target) for r in p.rebinds] == [(0x8000, "abs64", 0x555555557000)]


def test_pc_relative_fields_of_a_near_patch_are_pointed_at_the_program_and_written_as_displacements():
    p = plan.Plan(None, None)
    bias = 0x555555554000
    bindings = {"other": 0x555555560000}
    so_symbols = [{"name": "helper", "value": 0x2000, "size": 0x40, "type": "func", "bind": "local",
                   "writable": False}]
    originals = [{"name": "helper", "value": 0x3000, "size": 0x40}]
    sites = [
        # A call of the unit's unchanged helper, and a lea of another unit's
        # variable the linker made of a GOT load (target: the instruction's
        # end plus the field).
        {"at": 0x1101, "kind": "pc32", "sym": "", "target": 0x2000, "pc": 0x1105, "type": 4},
        {"at": 0x1203, "kind": "pc32", "sym": "other", "target": 0x555555560008, "pc": 0x1208, "type": 2},
    ]
    plan.plan_rebinds(p, sites, so_symbols, {}, {}, originals, bias, bindings, "main.c", None)
    assert [(r.at, r.kind, r.target, r.offset, r.pc) for r in p.rebinds] == [
        (0x1101, "pc32", bias + 0x3000, 0, 0x1105), (0x1203, "pc32", 0x555555560000, 8, 0x1208)]
    so_bias = 0x555545500000
    writes = applying.rebind_writes(p, so_bias)
    assert [(w.address, int.from_bytes(w.data, "little", signed=True)) for w in writes] == [
        (so_bias + 0x1101, bias + 0x3000 - (so_bias + 0x1105)),
        (so_bias + 0x1203, 0x555555560008 - (so_bias + 0x1208))]
    with pytest.raises(applying.OutOfReach):
        applying.rebind_writes(p, 0x7ffff7d00000)


def test_pc_relative_fields_of_a_patch_built_to_load_anywhere_keep_their_targets():
    p = plan.Plan(None, None)
    sites = [{"at": 0x1101, "kind": "pc32", "sym": "", "target": 0x4000, "pc": 0x1105, "type": 2},
             {"at": 0x1203, "kind": "pc32", "sym": "other", "target": 0x555555560008, "pc": 0x1208, "type": 2}]
    plan.plan_rebinds(p, sites, [], {}, {}, [], 0, {"other": 0x555555560000}, "main.c", None, near=False)
    assert p.rebinds == [] and not p.far
    assert p.refusals == ["the patch refers to other through a kind of relocation hotfix cannot point at the "
                          "program's copy (type 2); nothing would reach it."]


def test_a_field_of_a_near_patch_hotfix_cannot_read_builds_it_again_to_load_anywhere():
    p = plan.Plan(None, None)
    sites = [{"at": 0x1101, "kind": "unhandled", "sym": "", "target": 0, "type": 2}]
    plan.plan_rebinds(p, sites, [], {}, {}, [], 0, {}, "main.c", None)
    assert p.far


def test_the_source_is_compiled_as_the_recorded_arguments_name_it(tmp_path):
    # bear: "file" absolute, the compiler given a relative name (__FILE__).
    src = tmp_path / "src"
    src.mkdir()
    db = [{"directory": str(src), "file": str(src / "lvm.c"),
           "arguments": ["cc", "-O2", "-c", "-o", "lvm.o", "lvm.c"]}]
    (tmp_path / "compile_commands.json").write_text(json.dumps(db))
    cmd = compdb.find_compile_command(FakeUnit("lvm.c", str(src)), str(tmp_path / "lua"))
    assert cmd.source == "lvm.c" and cmd.argv == ["cc", "-O2"]


def test_wait_before_a_file_takes_the_default_wait():
    assert cli._wait_value_given(["--wait", "src/x.c"]) == ["--wait=5", "src/x.c"]
    assert cli._wait_value_given(["--wait", "2.5", "x.c"]) == ["--wait", "2.5", "x.c"]
    args = cli.PARSER.parse_args(cli._wait_value_given(["--wait", "src/x.c"]))
    assert args.wait == 5.0 and args.files == ["src/x.c"]
    assert cli.PARSER.parse_args(cli._wait_value_given(["x.c", "--wait"])).wait == 5.0


# --- private directories --------------------------------------------------------

def test_a_sweep_removes_the_folders_of_processes_that_are_gone(tmp_path, monkeypatch):
    from hotfix import workdirs
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    mine = workdirs.create(os.getpid(), True)                 # this process lives
    gone = workdirs.create(os.getpid(), True)
    with open(os.path.join(gone, workdirs.OWNER), "w") as f:
        f.write("local %d 1\n" % os.getpid())                 # same pid, another start: gone
    remote = workdirs.create(1, False)
    old = tmp_path / "hotfix-abcd1234"                          # an earlier version's, untouched for long
    old.mkdir()
    os.utime(old, (0, 0))
    other = tmp_path / "hotfix-gdb-abcd1234"                    # the GDB adapter's fetch folder
    other.mkdir()
    os.utime(other, (0, 0))
    assert oct(os.stat(mine).st_mode & 0o777) == "0o700"
    workdirs.sweep()
    assert os.path.isdir(mine) and os.path.isdir(remote) and other.is_dir()
    assert not os.path.exists(gone) and not old.exists()


def test_a_thread_in_read_or_a_mutex_may_load_the_patch_and_one_in_malloc_may_not():
    def thread(*functions):
        return Thread(1, "", [Frame(i, 0x1000 + i, f) for i, f in enumerate(functions)])
    # A single-threaded server blocked in read() (glibc's debug names).
    assert applying._lock_frame(thread("__GI___libc_read", "serve", "main")) is None
    assert applying._lock_frame(thread("__lll_lock_wait", "__GI___pthread_mutex_lock", "work")) is None
    assert applying._lock_frame(thread("_IO_new_file_xsputn", "printf", "main")) is None
    held = thread("__lll_lock_wait_private", "_int_malloc", "__GI___libc_malloc", "make", "main")
    assert applying._lock_frame(held).function == "__GI___libc_malloc"
    assert applying._lock_frame(thread("_dl_debug_state", "dl_open_worker", "_dl_catch_exception",
                                       "__dlopen", "main")).function == "__dlopen"


def test_a_file_compiled_twice_takes_the_command_that_built_the_unit(tmp_path):
    # libtool: once for the shared library (-fPIC -DPIC), once for the program.
    db = [{"directory": str(tmp_path), "file": "who.c", "arguments": ["gcc", "-O2", "-g", "-fPIC", "-DPIC",
                                                                       "-c", "who.c", "-o", ".libs/who.o"]},
          {"directory": str(tmp_path), "file": "who.c", "arguments": ["gcc", "-O2", "-g", "-c", "who.c", "-o",
                                                                       "who.o"]}]
    (tmp_path / "compile_commands.json").write_text(json.dumps(db))
    prog = str(tmp_path / "prog")
    gcc = "GNU C17 12.2.0 -mtune=generic -march=x86-64 -g -O2"
    assert compdb.find_compile_command(FakeUnit("who.c", str(tmp_path), gcc), prog).argv == ["gcc", "-O2", "-g"]
    assert "-DPIC" in compdb.find_compile_command(FakeUnit("who.c", str(tmp_path), gcc + " -fPIC"), prog).argv
    # clang records no flags: the image tells (a shared library's unit).
    unit = FakeUnit("who.c", str(tmp_path), "Debian clang version 14.0.6")
    assert compdb.find_compile_command(unit, prog).argv == ["gcc", "-O2", "-g"]
    unit.image = type("Image", (), {"path": str(tmp_path / "liblua.so")})()
    assert "-DPIC" in compdb.find_compile_command(unit, prog).argv


def test_a_missing_native_library_is_not_taken_for_a_stripped_program(monkeypatch, tmp_path):
    # make test-realworld's helper saw "has no symbol table (it is stripped)".
    from hotfix import native
    from hotfix.program import ImageCache
    monkeypatch.setattr(native, "_lib", None)
    monkeypatch.setattr(native, "_PLACES", [str(tmp_path / "libhotfix.so")])
    with pytest.raises(native.NotBuilt, match="libhotfix.so is not built: run `make`"):
        ImageCache().image("/bin/true")
