"""The machine layer: AArch64 entries, jumps through the arch table, and
the assembly rewrite that routes a patch's data references through the GOT.
No compiler or process needed (the e2e test test_aarch64.py runs them)."""
from hotfix import arch, gotasm, native, plan

BTI_C = bytes.fromhex("5f2403d5")
PACIASP = bytes.fromhex("3f2303d5")
STP = bytes.fromhex("fd7bbfa9")      # stp x29, x30, [sp, #-16]!


def test_aarch64_keeps_bti_but_not_paciasp_at_an_entry():
    assert arch.AARCH64.entry_skip(BTI_C + STP) == 4
    assert arch.AARCH64.entry_skip(bytes.fromhex("9f2403d5")) == 4      # bti j
    assert arch.AARCH64.entry_skip(bytes.fromhex("df2403d5")) == 4      # bti jc
    # The new body signs the return address itself: paciasp is overwritten.
    assert arch.AARCH64.entry_skip(PACIASP + STP) == 0
    assert arch.AARCH64.entry_skip(STP) == 0
    assert arch.X86_64.entry_skip(bytes.fromhex("f30f1efa55")) == 4      # endbr64
    assert arch.X86_64.entry_skip(BTI_C) == 0


def _plan_one(machine_arch, room, first):
    p = plan.Plan(unit=None, command=None, changed=["f"])
    p.functions = {"f": {"value": 0x1000}}
    plan.plan_redirects(p, [{"name": "f", "value": 0x800, "size": room, "room": room}], 0x5500000000, [],
                        lambda address, n: first, machine_arch)
    return p


def test_aarch64_entries_get_the_16_byte_jump_or_a_b_to_a_trampoline_or_a_refusal():
    big = _plan_one(arch.AARCH64, 24, BTI_C)
    e = big.redirects[0].entries[0]
    assert (e.kind, e.kind_name, e.skip, e.jump_end - e.address) == (native.JUMP_A64_LDR, "ldr16", 4, 20)
    small = _plan_one(arch.AARCH64, 12, STP)
    assert small.redirects[0].entries[0].kind_name == "b26"
    # bti c and nothing else: no room for even a b after it.
    tiny = _plan_one(arch.AARCH64, 4, BTI_C)
    assert not tiny.redirects
    assert tiny.refusals == ["f is too small to patch: 0 bytes of room at its entry (original), 4 needed for a jump."]


def test_trampoline_slots_hold_the_far_jump_and_entries_the_near_one():
    from hotfix import apply as applying
    p = _plan_one(arch.AARCH64, 12, STP)
    entry = p.redirects[0].entries[0]
    slot = 0x5500100000
    writes = applying.jump_writes(p, 0x7f0000000000, {entry.jump_start: slot}, arch.AARCH64)
    assert [w.address for w in writes] == [slot, entry.jump_start]
    assert arch.AARCH64.decode_jump(writes[0].data, slot) == (native.JUMP_A64_LDR, 0x7f0000001000)
    assert arch.AARCH64.decode_jump(writes[1].data, entry.jump_start) == (native.JUMP_A64_B, slot)


ASM = """\
\t.arch armv8-a
\t.text
\t.section\t.text.step,"ax",@progbits
\t.global\tstep
\t.type\tstep, %function
step:
\tadrp\tx1, :got:frames
\tldr\tx1, [x1, :got_lo12:frames]
\tadrp\tx6, calls.0
\tadrp\tx4, table
\tldr\tw2, [x6, #:lo12:calls.0]
\tldr\tw3, [x4, #:lo12:table+8]
\tadd\tw0, w2, 1
\tstr\tw0, [x6, #:lo12:calls.0]
\tadrp\tx0, step
\tadd\tx0, x0, :lo12:step
\tadrp\tx2, .LC0
\tadd\tx2, x2, :lo12:.LC0
\tbl\thelper
\tret
\t.section\t.rodata.str1.8,"aMS",@progbits,1
.LC0:
\t.string\t"v1"
\t.section\t.bss.calls.0,"aw",@nobits
calls.0:
\t.zero\t4
\t.data
table:
\t.word\t1, 2, 3, 4
"""


def test_gotasm_routes_data_and_function_addresses_through_the_got():
    text, count = gotasm.rewrite(ASM)
    lines = [l.strip() for l in text.splitlines()]
    assert count == 3
    # statics in .bss and .data, and the function's own address
    for sym in ("calls.0", "table", "step"):
        reg = {"calls.0": "x6", "table": "x4", "step": "x0"}[sym]
        i = lines.index("adrp\t%s, :got:%s" % (reg, sym))
        assert lines[i + 1] == "ldr\t%s, [%s, #:got_lo12:%s]" % (reg, reg, sym)
    assert "ldr\tw2, [x6, #0]" in lines and "str\tw0, [x6, #0]" in lines
    assert "ldr\tw3, [x4, #8]" in lines
    assert "add\tx0, x0, #0" in lines
    # literals, external symbols (already through the GOT) and calls stay
    assert "adrp\tx2, .LC0" in lines and "add\tx2, x2, :lo12:.LC0" in lines
    assert "adrp\tx1, :got:frames" in lines and "bl\thelper" in lines
    assert "#:lo12:calls.0" not in text


def test_gotasm_leaves_thread_locals_and_read_only_data():
    asm = ("\t.section\t.tbss,\"awT\",@nobits\ntls:\n\t.zero 4\n"
           "\t.section\t.rodata\nconst_table:\n\t.word 1\n"
           "\t.text\nf:\n\tadrp\tx0, const_table\n\tldr\tw0, [x0, #:lo12:const_table]\n")
    text, count = gotasm.rewrite(asm)
    assert count == 0 and text == asm
