"""Carrying out a plan in the process: load, check, write — all or nothing.

Order matters (see DESIGN.md):
  1. dlopen the patch on a thread that holds no loader or malloc lock,
     letting the other threads run during the call so lock holders finish;
  2. with every thread stopped again: the stack check (no changed function
     active, no pc or return address inside bytes about to be overwritten);
  3. rebind the patch's references (the patch is not reachable yet), then
     write the jumps.  Every write is read back; any failure restores every
     byte written, in reverse order.
"""
import os
import time
from dataclasses import dataclass, field
from typing import List

from . import frames, native, near
from .arch import X86_64
from .debugger import Call, CallFailed
from .errors import HotfixError
from .names import demangle_text
from .program import load_segments, read_c_string, read_link_map

RTLD_NOW = 2
# Functions in which a thread may hold a lock dlopen takes: the dynamic
# loader's and the allocator's.  Names as debuggers show glibc's, with its
# debug information (__GI___libc_malloc, _int_free, _dl_open) or without
# (malloc, dlopen), after _loader_name() has taken __GI_ and __libc_ off.
LOCK_FUNCTIONS = ("malloc", "free", "calloc", "realloc", "memalign", "posix_memalign", "aligned_alloc",
                  "valloc", "pvalloc", "cfree")
LOCK_PREFIXES = ("_dl_", "__dl", "dl_", "dlopen", "dlclose", "dlsym", "dlerror", "_dlerror", "_int_", "tcache",
                 "__malloc", "malloc_", "arena_", "sysmalloc", "_mid_memalign")
# How long such a thread may run, alone, to leave them.
LOCK_WAIT = 2.0
CALL_TIMEOUT = 30.0
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
PROT_READ_EXEC = 5
PAGE = 4096
MAP_NEAR = 0x100022        # MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE
MMAP_PARAMS = ("void *", "unsigned long", "int", "int", "int", "long")
MPROTECT_PARAMS = ("void *", "unsigned long", "int")


class ActiveFunction(HotfixError):
    pass


@dataclass
class Write:
    address: int
    data: bytes
    what: str
    old: bytes = b""
    # Bytes no thread can reach yet (the new patch's own code and data):
    # neighbouring ones are written as one block.
    unreached: bool = False
    # What must be there before (a return address being moved): else the
    # write fails.
    expect: bytes = b""
    # A register of a thread's innermost frame instead of memory (a frame
    # 0 moved by its pc): data is its new value, 8 bytes little-endian.
    register: str = ""
    thread: int = 0


# Unreached writes this close together share one read, write and read-back
# (a patch has hundreds of rebinding sites; LLDB pays ~1 ms per access).
BLOCK_GAP = 512


def _blocks(writes):
    """The writes in order, with runs of unreached ones merged into blocks:
    (address, size, [parts]) for a block, or the Write itself."""
    out, run = [], []

    def flush():
        run.sort(key=lambda w: w.address)
        start = 0
        for i in range(1, len(run) + 1):
            if i == len(run) or run[i].address - (run[i - 1].address + len(run[i - 1].data)) > BLOCK_GAP \
                    or run[i].address < run[i - 1].address + len(run[i - 1].data):
                parts = run[start:i]
                lo, hi = parts[0].address, parts[-1].address + len(parts[-1].data)
                out.append(parts[0] if len(parts) == 1 else (lo, hi - lo, parts))
                start = i
        run.clear()

    for w in writes:
        if w.unreached and not w.register:
            run.append(w)
        else:
            flush()
            out.append(w)
    flush()
    return out


@dataclass
class Applied:
    writes: List[Write] = field(default_factory=list)
    disabled_locations: List[str] = field(default_factory=list)


def _in_loader_or_allocator(function):
    name = function or ""
    for prefix in ("__GI_", "__libc_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name in LOCK_FUNCTIONS or name.startswith(LOCK_PREFIXES)


def _lock_frame(thread):
    """The outermost frame of a thread in which it may hold the loader's or
    the allocator's lock, or None.  (A thread in read(), a mutex or stdio
    holds no lock dlopen needs.)"""
    found = None
    for f in thread.frames:
        if _in_loader_or_allocator(f.function):
            found = f
    return found



def release_locks(dbg, calling, say):
    """Before dlopen runs on the calling thread with every other thread
    stopped: a stopped thread inside the loader or the allocator may hold a
    lock dlopen needs.  Let each such thread, alone, run to the end of those
    functions (and no further), and say so: it is the only thread hotfix
    moves.  Refuse if one cannot get out (it waits for something a stopped
    thread holds): dlopen would wait for ever."""
    moved = []
    for _ in range(3):          # a holder may wait for another holder
        holders = [(t, f) for t in dbg.threads() if t.id != calling for f in [_lock_frame(t)] if f is not None]
        if not holders:
            break
        for t, f in holders:
            dbg.finish_frame(t.id, f.level, LOCK_WAIT)
            if (t.id, f.function) not in moved:
                moved.append((t.id, f.function))
    else:
        holders = [(t, f) for t in dbg.threads() if t.id != calling for f in [_lock_frame(t)] if f is not None]
    for tid, function in moved:
        say("hotfix: thread %d ran to the end of %s first: it may have held a lock loading the patch needs."
            % (tid, function))
    if holders:
        t, f = holders[0]
        raise HotfixError("thread %d is inside %s (it may hold the loader's or the allocator's lock) and did "
                          "not leave it within %g s; nothing was changed. Continue the program a little and "
                          "try again." % (t.id, f.function, LOCK_WAIT))


def pick_calling_thread(dbg):
    """A thread whose stack holds no loader/malloc frame, preferring the
    selected one order the debugger gives."""
    threads = dbg.threads()
    for t in threads:
        if _lock_frame(t) is None:
            return t.id
    t = threads[0]
    raise HotfixError("every thread is inside the memory allocator or the dynamic loader "
                      "(thread %d: %s); continue the program a little and try again, or use --wait."
                      % (t.id, _lock_frame(t).function))


def wait_for_calling_thread(dbg, wait):
    """With --wait: while every thread is inside the allocator or the
    loader, let the program run a little and look again."""
    if wait is None:
        return
    deadline = time.monotonic() + wait
    delay = 0.002
    while True:
        try:
            pick_calling_thread(dbg)
            return
        except HotfixError as e:
            if time.monotonic() >= deadline:
                raise HotfixError("%s (still so after waiting %g s)" % (str(e).split(";")[0], wait)) from e
        _run_a_little(dbg, min(delay, max(deadline - time.monotonic(), 0.001)))
        delay = min(delay * 2, 0.2)


def _run_a_little(dbg, seconds):
    """One round of --wait: the program runs, then is stopped again."""
    dbg.resume_for(seconds)
    if dbg.process_state() != "stopped":
        raise HotfixError("the program ended while hotfix waited for a safe moment; nothing was patched.")


class Loader:
    """Inferior calls: one scratch page per process for strings (GDB would
    otherwise allocate string literals with the inferior's malloc)."""

    def __init__(self, session):
        self.session = session

    def _call(self, dbg, call, thread, others_run=True):
        try:
            return dbg.call(call, thread, CALL_TIMEOUT, others_run)
        except CallFailed as e:
            raise HotfixError("calling %s in the program failed: %s" % (call.name, e))

    def function(self, dbg, name):
        """The address of a function of the C library hotfix calls (None if
        there is none), looked up once per process: GDB takes milliseconds
        to find one (it searches the program's debug information first).
        It is used again while its first bytes are still there (an exec
        would have mapped other code)."""
        functions = self.session.process.functions
        if name in functions:
            address, first = functions[name]
            try:
                if dbg.read_memory(address, len(first)) == first:
                    return address
            except Exception:       # unmapped now: looked up again
                pass
            del functions[name]
        address = dbg.symbol_address(name)
        if address:
            try:
                functions[name] = (address, dbg.read_memory(address, 16))
            except Exception:       # not readable: looked up every time
                pass
        return address

    def scratch(self, dbg, thread):
        state = self.session.process
        if not state.scratch:
            if not self.function(dbg, "mmap"):
                raise HotfixError("the program has no mmap to call (is it statically linked?).")
            page = self._call(dbg, Call("mmap", (0, 4096, 3, 34, -1, 0), params=MMAP_PARAMS), thread)
            if page in (0, (1 << 64) - 1, -1):
                raise HotfixError("the program could not map a page for hotfix (mmap failed).")
            state.scratch = page
        return state.scratch

    def place(self, dbg, host_path):
        """The path the process loads a patch from: the file itself on this
        machine; on a remote target, a copy put into hotfix's private
        directory there.  A remote stub that cannot transfer files but
        whose process sees this machine's files (qemu-user's gdbstub) gets
        the file itself."""
        state = self.session.process
        if not dbg.is_remote() or state.shares_files:
            return host_path
        if not state.target_dir:
            state.target_dir = self._target_directory(dbg)
        target = state.target_dir + "/" + os.path.basename(host_path)
        try:
            dbg.put_file(host_path, target)
        except OSError as e:
            if not self._sees(dbg, host_path):
                raise HotfixError("copying the patch to %s on the target failed (%s)." % (target, e))
            try:        # the directory made for nothing
                self._call(dbg, Call("rmdir", (self._string(dbg, state.target_dir),), "int", ("char *",)),
                           pick_calling_thread(dbg))
            except HotfixError:
                pass
            state.target_dir, state.shares_files = "", True
            return host_path
        state.shipped[target] = host_path
        return target

    def _string(self, dbg, text):
        """text as a C string in the scratch page; its address."""
        page = self.scratch(dbg, pick_calling_thread(dbg))
        data = text.encode() + b"\0"
        if len(data) > 4096:
            raise HotfixError("the path %s is too long." % text)
        dbg.write_memory(page, data)
        return page

    def _sees(self, dbg, path):
        """Whether the process can read this machine's file at path (its
        name is unique: a private directory's random name)."""
        if not dbg.symbol_address("access"):
            return False
        return self._call(dbg, Call("access", (self._string(dbg, path), 4), "int", ("char *", "int")),
                          pick_calling_thread(dbg)) == 0

    def _target_directory(self, dbg):
        """A fresh 0700 directory on the target, made by the process itself
        (mkdtemp) under its $TMPDIR or /tmp: nobody else can write the
        patches it is about to load."""
        for name in ("mkdtemp", "getenv", "__errno_location"):
            if not dbg.symbol_address(name):
                raise HotfixError("the program has no %s to call (is it statically linked?)." % name)
        thread = pick_calling_thread(dbg)
        page = self.scratch(dbg, thread)
        dbg.write_memory(page, b"TMPDIR\0")
        value = self._call(dbg, Call("getenv", (page,), params=("char *",)), thread)
        base = read_c_string(dbg, value) if value else ""
        if not base.startswith("/") or len(base) > 3000:
            base = "/tmp"
        template = base.rstrip("/") + "/hotfix-XXXXXX"
        dbg.write_memory(page, template.encode() + b"\0")
        made = self._call(dbg, Call("mkdtemp", (page,), params=("char *",)), thread)
        if not made:
            errno = self._call(dbg, Call("__errno_location"), thread)
            code = int.from_bytes(dbg.read_memory(errno, 4), "little") if errno else 0
            raise HotfixError("the program could not create a private directory for the patch "
                              "on the target (mkdtemp %s: %s)." % (template, os.strerror(code)))
        return read_c_string(dbg, made)

    def dlopen(self, dbg, path, near_of=None):
        """(handle, bias) of the patch library at path, loaded.  near_of:
        (extent, the library's file here): within 2 GiB of every byte of
        extent (near.py), else OutOfReach, the library unloaded."""
        dlopen = self.function(dbg, "dlopen")
        if not dlopen:
            raise HotfixError("the program cannot load a patch: no dlopen in it (statically linked?).")
        thread = pick_calling_thread(dbg)
        page = self.scratch(dbg, thread)
        release_locks(dbg, thread, dbg.write)
        data = path.encode() + b"\0"
        if len(data) > 4096:
            raise HotfixError("the patch path is too long.")
        if near_of:
            extent, so_path = near_of
            lo, hi, size = near.library_span(so_path)
            handle = self._dlopen_near(dbg, thread, dlopen, data, extent, size, (lo, hi))
        else:
            dbg.write_memory(page, data)
            handle = self._call(dbg, Call("dlopen", (page, RTLD_NOW), params=("char *", "int")), thread)
        if not handle:
            err = self._call(dbg, Call("dlerror"), thread)
            text = read_c_string(dbg, err) if err else "unknown error"
            raise HotfixError("the program could not load the patch: %s" % text)
        bias = int.from_bytes(dbg.read_memory(handle, 8), "little")
        if near_of and not near.in_reach(lo + bias, hi + bias, extent):
            why = self.unload(dbg, handle, path)
            raise OutOfReach("the patch library landed at 0x%x, beyond 2 GiB of the program%s."
                             % (lo + bias, " (and stays in the process, unused: %s)" % why if why else ""))
        return handle, bias

    def _dlopen_near(self, dbg, thread, dlopen, data, extent, size, linked):
        """dlopen through near.NEAR_DLOPEN, every gap that would take the
        library above its place mapped for the call; the handle."""
        state = self.session.process
        if not state.near_call:
            block = self.map_anywhere(dbg, near.BLOCK_SIZE, PROT_READ | PROT_WRITE)
            code = self.map_anywhere(dbg, PAGE, PROT_READ_EXEC)
            dbg.write_memory(code, near.NEAR_DLOPEN)
            state.near_call = (code, block)
        code, block = state.near_call
        # Read after hotfix's own pages were mapped: they are in the map.
        placement = near.place(near.read_maps(state.pid), extent, size, near.stack_limit(state.pid), linked)
        if placement is None:
            raise OutOfReach("there is no room for the patch library within 2 GiB of the program.")
        dbg.write_memory(block + near.BLOCK_PATH, data)
        dbg.write_memory(block, near.block(dlopen, block + near.BLOCK_PATH, RTLD_NOW, placement.reserved))
        return self._call(dbg, Call(code, (block,)), thread)

    def trampolines(self, dbg, plan, arch=X86_64):
        """A 16-byte slot within reach of every small jump of the plan
        (x86-64 rel32, AArch64 b), from pages mapped near the code
        (MAP_FIXED_NOREPLACE at a hint: a plain hint silently lands far
        away)."""
        return self.slots(dbg, [e.jump_start for r in plan.redirects for e in r.entries
                                if e.kind == arch.near_kind], arch.near_reach)

    def slots(self, dbg, places, reach):
        """{place: a 16-byte slot within reach of it} from trampoline pages."""
        state = self.session.process
        slots = {}
        for at in places:
            page = next((p for p in state.trampoline_pages
                         if abs(p[0] - at) < reach and p[1] + 16 <= PAGE), None)
            if page is None:
                page = [self._map_near(dbg, at, reach), 0]
                state.trampoline_pages.append(page)
            slots[at] = page[0] + page[1]
            page[1] += 16
        return slots

    def _map_near(self, dbg, address, reach, size=PAGE, prot=PROT_READ_EXEC, what="a trampoline page"):
        """size bytes (page-rounded) mapped with prot within reach of
        address."""
        thread = pick_calling_thread(dbg)
        base = address & ~0xFFF
        size = (size + PAGE - 1) & ~(PAGE - 1)
        for step in (1, -1, 4, -4, 16, -16, 64, -64, 256, -256, 1024, -1024):
            hint = base + step * (1 << 20)
            if hint <= 0 or abs(hint - address) + size >= reach:
                continue
            got = self._call(dbg, Call("mmap", (hint, size, prot, MAP_NEAR, -1, 0), params=MMAP_PARAMS), thread)
            if got == hint:
                return got
            if got not in (0, (1 << 64) - 1) and got < (1 << 63):
                self._call(dbg, Call("munmap", (got, size), "int", ("void *", "unsigned long")), thread)
        raise HotfixError("no free memory within %d MiB of 0x%x for %s." % (reach >> 20, address, what))

    def map_near(self, dbg, address, size, what):
        """Code hotfix lays out itself (a new body frames move into), within
        2 GiB of address."""
        return self._map_near(dbg, address, 1 << 31, size, PROT_READ_EXEC, what)

    def map_anywhere(self, dbg, size, prot=PROT_READ):
        """Address space for the debugger's view of sections hotfix does
        not place (read-only, never run)."""
        thread = pick_calling_thread(dbg)
        size = (size + PAGE - 1) & ~(PAGE - 1)
        got = self._call(dbg, Call("mmap", (0, size, prot, 0x22, -1, 0), params=MMAP_PARAMS), thread)
        if got in (0, (1 << 64) - 1) or got >= (1 << 63):
            raise HotfixError("the program could not map %d bytes for hotfix (mmap failed)." % size)
        return got

    def make_writable(self, dbg, page, size, prot):
        """An inferior mprotect adding PROT_WRITE to [page, page+size); only
        the calling thread runs (mprotect takes no lock the others hold)."""
        thread = dbg.threads()[0].id
        if self._call(dbg, Call("mprotect", (page, size, prot | PROT_WRITE), "int", MPROTECT_PARAMS), thread, others_run=False):
            raise HotfixError("the program could not make 0x%x writable for hotfix (mprotect failed)." % page)

    def protect(self, dbg, page, size, prot):
        thread = dbg.threads()[0].id
        return self._call(dbg, Call("mprotect", (page, size, prot), "int", MPROTECT_PARAMS), thread, others_run=False) == 0

    def clear_cache(self, dbg, helper, lo, hi):
        """Run the patch's hotfix_clear_cache over code hotfix wrote (AArch64:
        the instruction cache does not see data writes by itself)."""
        thread = pick_calling_thread(dbg)
        self._call(dbg, Call(helper, (lo, hi), "int"), thread)

    def unload(self, dbg, handle, place):
        """dlclose a patch that was loaded but not applied; the reason it is
        still in the process ("" if it is not): nothing of it is used, but
        the user is told (a later breakpoint may find a second location)."""
        if dbg.process_state() != "stopped":
            return "the program is not stopped"
        try:
            thread = pick_calling_thread(dbg)
            release_locks(dbg, thread, dbg.write)
            if self._call(dbg, Call("dlclose", (handle,), "int", ("void *",)), thread):
                return "dlclose failed"
            if any(name == place for _, name, _ in read_link_map(dbg)):
                return "dlclose left it loaded"
        except HotfixError as e:
            return str(e)
        return ""


def check_stacks(dbg, redirects, jump_ranges, frame_maps=(), moves=None):
    """Refuse when a function to be replaced is running, or when a pc or
    return address lies in bytes a jump would overwrite.  A thread whose pc
    is at an entry (or right after its endbr64) has not begun the function:
    it will run whatever the entry holds when it resumes.  A frame that
    the frame maps (frames.FrameMap; or frame_maps(threads) giving them,
    asked only when a changed function is running) can move to the new
    body is no problem: its move goes into `moves`; one they cannot move is
    refused with the reason."""
    threads = dbg.threads()
    active = []
    for t in threads:
        for f in t.frames:
            for r in redirects:
                for lo, size, label in [(e.address, e.size, e.version) for e in r.entries] + \
                        [(b.address, b.size, b.label) for b in r.moved]:
                    if f.level == 0 and any(e.address <= f.pc <= e.jump_start for e in r.entries
                                            if e.address == lo):
                        continue
                    if lo <= f.pc < lo + size or (f.level and f.pc == lo + size):
                        active.append((t, f, r))
    moved, reasons = set(), {}
    if moves is not None:
        moves[:] = []
    if active and frame_maps:
        def cannot(t, f, why):
            reasons[(t.id, f.level)] = why
        found = frames.find_moves(threads, frame_maps(threads) if callable(frame_maps) else frame_maps, cannot)
        moved = {(m.thread, m.level) for m in found}
        if moves is not None:
            moves[:] = found
    problems = []
    for t, f, r in active:
        if (t.id, f.level) not in moved:
            why = reasons.get((t.id, f.level))
            problems.append("%s is active in thread %d, frame #%d: %s%s"
                            % (r.function, t.id, f.level, f.where(), " (cannot move it: %s)" % why if why else ""))
    for t in threads:
        for f in t.frames:
            if (t.id, f.level) in moved:
                continue
            for lo, hi, name in jump_ranges:
                if lo <= f.pc < hi and not (f.level == 0 and f.pc == lo):
                    problems.append("thread %d, frame #%d has its %s inside the entry of %s"
                                    % (t.id, f.level, "pc" if f.level == 0 else "return address", name))
    return sorted(set(problems), key=problems.index)


def _refusal(problems, wait):
    problems = [demangle_text(p) for p in problems]
    if wait is None:
        return ActiveFunction("cannot patch now: %s. Use --wait to retry until it returns."
                              % "; ".join(problems))
    return ActiveFunction("cannot patch now: %s (still so after waiting %g s)." % ("; ".join(problems), wait))


def wait_until_safe(dbg, redirects, jump_ranges, wait, gate=False, arch=X86_64, protections=None, frame_maps=()):
    """The stack check, retried while --wait allows.  With gate, each entry
    to be redirected holds the threads that call it (jmp .) while the
    threads already inside finish; the entries get their bytes back before
    this returns, whatever happens.  Returns the frames to move (see
    check_stacks), as they stand when it returns."""
    moves = []
    problems = check_stacks(dbg, redirects, jump_ranges, frame_maps, moves)
    if not problems:
        return moves
    if wait is None:
        raise _refusal(problems, wait)
    deadline = time.monotonic() + wait
    gates = []
    if gate:
        gates = [Write(e.jump_start, native.encode_jump(arch.gate_kind, e.jump_start, e.jump_start),
                       "gate at %s (%s)" % (r.function, e.version)) for r in redirects for e in r.entries]
        # A gate, like a jump, must not land on bytes a thread is executing.
        gate_ranges = [(g.address, g.address + len(g.data), g.what) for g in gates]
        while check_stacks(dbg, [], gate_ranges):
            if time.monotonic() >= deadline:
                raise _refusal(problems, wait)
            _run_a_little(dbg, 0.001)
        write_all(dbg, gates, protections=protections)
    try:
        delay = 0.002
        while problems:
            if time.monotonic() >= deadline:
                raise _refusal(problems, wait)
            _run_a_little(dbg, min(delay, max(deadline - time.monotonic(), 0.001)))
            delay = min(delay * 2, 0.05 if gates else 0.2)
            problems = check_stacks(dbg, redirects, jump_ranges, frame_maps, moves)
    finally:
        if gates and dbg.process_state() == "stopped":
            write_all(dbg, [Write(g.address, g.old, "remove " + g.what) for g in reversed(gates)],
                      protections=protections)
    return moves


def _write(dbg, address, data, protections):
    try:
        dbg.write_memory(address, data)
    except Exception:
        if protections is None or not protections.rescue(address, len(data)):
            raise
        dbg.write_memory(address, data)


def write_all(dbg, writes, verbose_out=None, protections=None):
    """Write every change, reading each back; on any failure restore every
    byte already written, newest first, and re-raise.  Returns the writes
    with their old bytes.  With protections, a refused write to a page made
    writable earlier is retried once."""
    done = []       # (address, old bytes) as written, for the rollback
    written = []
    try:
        for item in _blocks(writes):
            if isinstance(item, Write) and item.register:
                item.old = dbg.read_register(item.thread, item.register).to_bytes(8, "little")
                if item.expect and item.old != item.expect:
                    raise HotfixError("%s: the thread is not where it was checked." % item.what)
                dbg.write_register(item.thread, item.register, int.from_bytes(item.data, "little"))
                done.append(item)
                written.append(item)
                if dbg.read_register(item.thread, item.register).to_bytes(8, "little") != item.data:
                    raise HotfixError("writing %s did not stick." % item.what)
                if verbose_out:
                    verbose_out("  write %s of thread %d = 0x%x (%s)" % (item.register, item.thread,
                                                                       int.from_bytes(item.data, "little"),
                                                                       item.what))
                continue
            if isinstance(item, Write):
                address, parts = item.address, [item]
                item.old = dbg.read_memory(address, len(item.data))
                if item.expect and item.old != item.expect:
                    raise HotfixError("%s: 0x%x does not hold the return address the unwinder gave."
                                      % (item.what, address))
                data = item.data
            else:
                address, size, parts = item
                old = dbg.read_memory(address, size)
                block = bytearray(old)
                for w in parts:
                    at = w.address - address
                    w.old = bytes(old[at:at + len(w.data)])
                    block[at:at + len(w.data)] = w.data
                data = bytes(block)
                old_block = old
            _write(dbg, address, data, protections)
            done.append((address, parts[0].old if isinstance(item, Write) else old_block))
            written += parts
            if dbg.read_memory(address, len(data)) != data:
                raise HotfixError("writing %s at 0x%x did not stick." % (
                    parts[0].what if len(parts) == 1 else "%d rebinding sites" % len(parts), address))
            if verbose_out:
                for w in parts:
                    shown = w.data.hex() if len(w.data) <= 32 else "%s... (%d bytes)" % (w.data[:16].hex(), len(w.data))
                    verbose_out("  write 0x%x %s (%s)" % (w.address, shown, w.what))
    except Exception as e:
        failures = []
        for entry in reversed(done):
            try:
                if isinstance(entry, Write):
                    dbg.write_register(entry.thread, entry.register, int.from_bytes(entry.old, "little"))
                    continue
                address, old = entry
                _write(dbg, address, old, protections)
            except Exception as e2:       # report, keep restoring the rest
                failures.append("%s: %s" % (entry.what if isinstance(entry, Write) else "0x%x" % entry[0], e2))
        if failures:
            raise HotfixError("a write failed (%s) and restoring failed too at %s."
                              % (e, ", ".join(failures)))
        if isinstance(e, HotfixError):
            raise
        raise HotfixError("writing the patch failed (%s); every byte written was restored." % e)
    return written


class OutOfReach(HotfixError):
    """A patch built to load within 2 GiB of the program (near.py) landed
    farther: it is unloaded and built to load anywhere."""


def _fits32(value):
    return -(1 << 31) <= value < (1 << 31)


def far_branches(plan, so_bias):
    """The calls and jumps of the patch (runtime addresses of their fields)
    whose target is beyond 2 GiB: another image's functions, reached
    through a slot near the patch (Loader.slots)."""
    return [r.at + so_bias for r in plan.rebinds
            if r.kind == "pc32" and r.branch and not _fits32(r.target + r.offset - (r.pc + so_bias))]


def rebind_writes(plan, so_bias, moved=None, slots=None, arch=X86_64):
    """The patch's references bound to the program; moved: {symbol: new
    address} of globals migrated in this hotfix (bound to their new
    storage, another patch's copy); slots: {field: slot} for far_branches,
    each slot given a jump to the branch's target."""
    got = plan.got + so_bias
    out = []
    for r in plan.rebinds:
        at = r.at + so_bias
        value = (moved[r.symbol] if moved and r.symbol in moved else r.target) + r.offset
        if r.kind == "pc32":
            if slots and at in slots:
                out.append(Write(slots[at], native.encode_jump(arch.far_kind, slots[at], value),
                                 "slot for " + r.what, unreached=True))
                value = slots[at]
            value -= r.pc + so_bias
            if not _fits32(value):
                raise OutOfReach("the patch was loaded beyond 2 GiB of %s (0x%x), which it refers to."
                                 % (r.what, r.target))
            out.append(Write(at, (value & 0xFFFFFFFF).to_bytes(4, "little"), r.what, unreached=True))
            continue
        if r.kind in ("gotoff64", "pltoff64"):
            value -= got       # the code adds the GOT's runtime address back
        # Into the new patch: nothing runs its code before the jumps.
        out.append(Write(at, (value & (1 << 64) - 1).to_bytes(8, "little"), r.what, unreached=True))
    return out


def jump_writes(plan, so_bias, trampolines, arch=X86_64):
    """The jumps, each entry straight to the new body; a small jump goes
    through its trampoline slot, written first so it is never reached
    half-made."""
    out = []
    for r in plan.redirects:
        target = r.target + so_bias
        for e in r.entries:
            at = e.jump_start
            what = "jump %s (%s) -> new" % (r.function, e.version)
            if e.kind == arch.near_kind:
                slot = trampolines[at]
                out.append(Write(slot, native.encode_jump(arch.far_kind, slot, target),
                                 "trampoline for " + what))
                out.append(Write(at, native.encode_jump(e.kind, at, slot), what))
            else:
                out.append(Write(at, native.encode_jump(e.kind, at, target), what))
    return out


def jump_ranges(plan):
    return [(e.jump_start, e.jump_end, r.function) for r in plan.redirects for e in r.entries]


class Protections:
    """Some targets refuse debugger writes to pages the program cannot
    write (qemu-user's gdbstub: code, and the patch's GOT once the loader
    made it read-only).  Before anything is written, each place is probed
    by writing its own bytes back; a refused page is made writable by an
    inferior mprotect (calls let threads run, so this happens before the
    stack check and the writes), and restore() gives it its protection
    back.  protection_of(page) says what the page had (None: unknown)."""

    def __init__(self, dbg, loader, protection_of, say=None):
        self.dbg, self.loader, self.protection_of = dbg, loader, protection_of
        self.say = say
        self.changed = []           # (page, prot)
        self.probed = set()         # pages a write-back went through

    def rescue(self, address, size):
        """A write refused although the page was made writable: qemu-user
        takes the right away again when the program runs code from the page
        (it write-protects pages it has translated).  mprotect again (only
        the calling thread runs) so the write can be retried; False if
        the page is not one hotfix made writable."""
        pages = list(range(address & ~(PAGE - 1), address + size, PAGE))
        known = dict(self.changed)
        if not all(p in known for p in pages):
            return False
        for page in pages:
            self.loader.make_writable(self.dbg, page, PAGE, known[page])
        return True

    def prepare(self, places):
        """places: (address, size) pairs about to be written."""
        done = {p for p, _ in self.changed} | self.probed
        for address, size in places:
            pages = range(address & ~(PAGE - 1), address + size, PAGE)
            if all(p in done for p in pages):
                continue
            try:
                self.dbg.write_memory(address, self.dbg.read_memory(address, size))
                self.probed.update(pages)
                done.update(pages)
                continue
            except Exception:
                pass
            for page in pages:
                if page in done:
                    continue
                prot = self.protection_of(page)
                if prot is None:
                    raise HotfixError("the debugger cannot write at 0x%x and hotfix does not know what "
                                      "the page holds; nothing was changed." % address)
                self.loader.make_writable(self.dbg, page, PAGE, prot)
                self.changed.append((page, prot))
                if self.say:
                    self.say("  mprotect 0x%x writable: the debugger may not write there" % page)
                done.add(page)

    def restore(self):
        failed = []
        if self.dbg.process_state() != "stopped":
            return
        for page, prot in reversed(self.changed):
            try:
                if not self.loader.protect(self.dbg, page, PAGE, prot):
                    failed.append(page)
                elif self.say:
                    self.say("  mprotect 0x%x back to %s" % (page, "".join(
                        c if prot & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))))
            except HotfixError:
                failed.append(page)
        self.changed = []
        if failed:
            raise HotfixError("the patch is applied, but the protection of %s could not be restored."
                              % ", ".join("0x%x" % p for p in failed))


def clear_caches(dbg, loader, helper, writes, say=None):
    """One hotfix_clear_cache call per written range of code."""
    for w in writes:
        loader.clear_cache(dbg, helper, w.address, w.address + len(w.data))
        if say:
            say("  clear instruction cache 0x%x-0x%x (hotfix_clear_cache)" % (w.address, w.address + len(w.data)))


def protection_lookup(program, state, patches=lambda: []):
    """protection_of(page) for Protections: what a page of the program's
    images, of a patch (earlier ones, and patches() = [(path, bias)] loaded
    now) or of a trampoline page held."""
    regions = []

    def lookup(page):
        if not regions:
            for im in program.images():
                regions.extend(load_segments(im.path, im.bias))
            for versions in state.units.values():
                for v in versions:
                    regions.extend(load_segments(v.so_path, v.bias))
            for path, bias in patches():
                regions.extend(load_segments(path, bias))
            for address, _ in state.trampoline_pages:
                regions.append((address, address + PAGE, PROT_READ_EXEC))
        for lo, hi, prot in regions:        # each file's RELRO part comes first
            if lo <= page < hi:
                return prot
        return None

    return lookup
