"""The machine layer: everything hotfix does differently on x86-64 and on
AArch64, chosen from the program's ELF e_machine.  The rest of the core
asks an Arch and never names a machine.

  * jumps: the kinds that fit at an entry, largest first; the last one is
    small and reaches only a trampoline slot mapped near the code, which
    holds the far kind;
  * the landing pad kept at an entry (endbr64, bti), the gate (jump to self);
  * how a patch object is compiled so that every reference it makes to the
    unit's code and data can be pointed at the program's after loading:
    x86-64 loads it within 2 GiB of the program where it can (near.py:
    -fPIC, the small model's 32-bit PC-relative fields), else uses
    -mcmodel=large (64-bit GOT-relative immediates in the code);
    AArch64 GCC has no large PIC model, so the patch is compiled -fPIC and
    its assembly rewritten to reach the unit's data and function addresses
    through the GOT (see gotasm.py), whose slots hotfix fills;
  * the diff object's flags: on AArch64 -fdata-sections would turn off the
    section anchors -O2 code uses, and the code would not compare equal;
  * whether written code needs an instruction-cache flush in the process;
  * whether running frames may be moved to new bodies (x86-64 only).
"""
from dataclasses import dataclass
from typing import Optional, Tuple

from . import native
from .errors import HotfixError

EM_X86_64 = 62
EM_AARCH64 = 183


@dataclass(frozen=True)
class CallWrapper:
    """A function in the process that calls another one with its whole
    vector and floating-point state saved and restored around the call:
    wrapper(block), where block holds the function's address, then its
    arguments (8 bytes each), then at `area` the save area (64-byte
    aligned, its header zeroed before each call).  For a debugger that
    cannot write the extended register state (GDB 13 on a CPU with AMX:
    "Couldn't write extended state status"): through the wrapper, a call
    changes only general-purpose registers, which it can put back."""
    code: bytes
    max_args: int
    area: int           # offset of the save area in the block
    header: int         # offset of the save area's header (zero before a save)
    size: int           # bytes for the block and its save area


# XSAVE/XRSTOR with every component the OS enabled but AMX tiles (RFBM is
# XCR0 & EDX:EAX; tiles are large, and a thread without permission for
# them faults on restoring them); the libc functions hotfix calls never
# touch tiles.  %al = 0 tells a variadic callee "no vector arguments".
#    53               push   %rbx
#    41 54            push   %r12
#    41 55            push   %r13              (the callee's stack is 16-byte aligned)
#    48 89 fb         mov    %rdi,%rbx         (the block)
#    4c 8d 67 40      lea    0x40(%rdi),%r12   (its save area)
#    b8 ff ff f9 ff   mov    $0xfff9ffff,%eax
#    ba ff ff ff ff   mov    $0xffffffff,%edx
#    49 0f ae 24 24   xsave64 (%r12)
#    48 8b 7b 08      mov    0x8(%rbx),%rdi
#    48 8b 73 10      mov    0x10(%rbx),%rsi
#    48 8b 53 18      mov    0x18(%rbx),%rdx
#    48 8b 4b 20      mov    0x20(%rbx),%rcx
#    4c 8b 43 28      mov    0x28(%rbx),%r8
#    4c 8b 4b 30      mov    0x30(%rbx),%r9
#    31 c0            xor    %eax,%eax
#    ff 13            call   *(%rbx)
#    49 89 c5         mov    %rax,%r13
#    b8 ff ff f9 ff   mov    $0xfff9ffff,%eax
#    ba ff ff ff ff   mov    $0xffffffff,%edx
#    49 0f ae 2c 24   xrstor64 (%r12)
#    4c 89 e8         mov    %r13,%rax
#    41 5d            pop    %r13
#    41 5c            pop    %r12
#    5b               pop    %rbx
#    c3               ret
X86_64_CALL_WRAPPER = CallWrapper(
    code=bytes.fromhex("53" "4154" "4155" "4889fb" "4c8d6740" "b8fffff9ff" "baffffffff" "490fae2424"
                       "488b7b08" "488b7310" "488b5318" "488b4b20" "4c8b4328" "4c8b4b30" "31c0" "ff13"
                       "4989c5" "b8fffff9ff" "baffffffff" "490fae2c24" "4c89e8" "415d" "415c" "5b" "c3"),
    max_args=6, area=64, header=64 + 512, size=8192)


@dataclass(frozen=True)
class Arch:
    name: str
    machine: int
    jump_kinds: Tuple[Tuple[int, str], ...]    # largest first; the last goes through a trampoline
    far_kind: int                             # what a trampoline slot holds (and reaches anywhere)
    near_kind: int                            # the small jump to a slot
    near_reach: int                           # bytes the near kind reaches, with a margin
    gate_kind: int                            # a jump to itself
    landing_pads: Tuple[bytes, ...]           # kept at an entry: the jump goes after it
    diff_flags: Tuple[str, ...]
    load_flags: Tuple[str, ...]
    link_flags: Tuple[str, ...]
    got_rewrite: bool                         # compile the patch via gotasm
    flush_icache: bool
    call_wrapper: Optional[CallWrapper] = None   # for debuggers that cannot write every register
    moves_frames: bool = False                # running frames of -O0 code may move to new bodies (frames.py)
    # How a patch loaded within 2 GiB of its image is compiled (near.py);
    # None: every patch is built to load anywhere (load_flags).
    near_load_flags: Optional[Tuple[str, ...]] = None

    def entry_skip(self, first_bytes):
        """Bytes of a landing pad at an entry that the jump keeps."""
        for pad in self.landing_pads:
            if first_bytes[:len(pad)] == pad:
                return len(pad)
        return 0

    def jump_size(self, kind):
        return native.jump_size(kind)

    def decode_jump(self, data, at):
        return native.decode_jump(self.machine, data, at)


X86_64 = Arch(
    name="x86-64",
    machine=EM_X86_64,
    jump_kinds=((native.JUMP_ABS14, "abs14"), (native.JUMP_R11, "r11"), (native.JUMP_REL32, "rel32")),
    far_kind=native.JUMP_ABS14,
    near_kind=native.JUMP_REL32,
    near_reach=(1 << 31) - 4096,
    gate_kind=native.JUMP_SELF,
    landing_pads=(b"\xf3\x0f\x1e\xfa",),       # endbr64
    diff_flags=("-ffunction-sections", "-fdata-sections"),
    load_flags=("-fPIC", "-mcmodel=large", "-fvisibility=hidden", "-falign-functions=16",
                "-fno-semantic-interposition"),
    link_flags=("-Wl,-Bsymbolic",),
    got_rewrite=False,
    flush_icache=False,
    call_wrapper=X86_64_CALL_WRAPPER,
    moves_frames=True,
    near_load_flags=("-fPIC", "-fvisibility=hidden", "-falign-functions=16", "-fno-semantic-interposition"),
)

# bti c / bti j / bti jc are kept (the new body starts with its own landing
# pad; br x16 may land on bti c).  paciasp is not: the jump replaces it, and
# the new body signs the return address itself.
AARCH64 = Arch(
    name="AArch64",
    machine=EM_AARCH64,
    jump_kinds=((native.JUMP_A64_LDR, "ldr16"), (native.JUMP_A64_B, "b26")),
    far_kind=native.JUMP_A64_LDR,
    near_kind=native.JUMP_A64_B,
    near_reach=(1 << 27) - 4096,
    gate_kind=native.JUMP_A64_SELF,
    landing_pads=(b"\x5f\x24\x03\xd5", b"\x9f\x24\x03\xd5", b"\xdf\x24\x03\xd5"),
    diff_flags=("-ffunction-sections",),
    load_flags=("-fPIC", "-fno-section-anchors", "-fdata-sections", "-fvisibility=hidden",
                "-falign-functions=16", "-fno-semantic-interposition"),
    # Without -Bsymbolic the program's functions (absolute symbols of the
    # link) are called through PLT slots, which hotfix fills after loading;
    # with it, ld would branch to them through veneers computed for the
    # link-time address.
    link_flags=(),
    got_rewrite=True,
    flush_icache=True,
)

_BY_MACHINE = {"x86_64": X86_64, "aarch64": AARCH64}


def of_image(info):
    """The Arch of an ImageInfo (the program's main executable)."""
    machine = info.native.header().get("machine", "x86_64")
    try:
        return _BY_MACHINE[machine]
    except KeyError:
        raise HotfixError("%s is for %s, which hotfix does not support." % (info.path, machine))


def of_program(program):
    main = program.main_image()
    return of_image(main.info) if main.info is not None else X86_64
