"""near.place: where a patch library goes within 2 GiB of its image, and
which gaps are mapped for the dlopen call so the kernel puts it there."""
from hotfix.near import MARGIN, REACH, Mapping, in_reach, place

GiB = 1 << 30
MiB = 1 << 20
STACK = 8 * MiB


def pie_process():
    # A PIE program, its heap, libraries with a gap among them, the stack.
    return [
        Mapping(0x555555554000, 0x555555559000, "/prog"),
        Mapping(0x555555559000, 0x55555557a000, "[heap]"),
        Mapping(0x7ffff7d00000, 0x7ffff7e00000, "/libc.so.6"),
        Mapping(0x7ffff7f00000, 0x7ffff7f10000, "/libm.so.6"),       # 1 MiB free below it
        Mapping(0x7ffff7fc0000, 0x7ffff7ffe000, "/ld.so"),
        Mapping(0x7ffffffde000, 0x7ffffffff000, "[stack]"),
    ]


def test_below_a_pie_program_and_every_gap_above_that_could_take_it_mapped():
    maps = pie_process()
    extent = (0x555555554000, 0x555555559000)
    p = place(maps, extent, 64 * 1024, STACK)
    assert p.base == 0x555555554000 - 64 * 1024
    assert in_reach(p.base, p.base + 64 * 1024, extent)
    # Above the heap brk keeps room smaller than the library; the 1 MiB gap
    # among the libraries is mapped; nothing near the stack.
    assert p.reserved[0] == (0x55555557a000 + 60 * 1024, 0x7ffff7d00000 - 0x55555557a000 - 60 * 1024)
    assert (0x7ffff7e00000, 0x7ffff7f00000 - 0x7ffff7e00000) in p.reserved
    top = max(a + n for a, n in p.reserved)
    assert top <= 0x7ffffffff000 - STACK - 16 * MiB


def test_above_the_heap_of_a_program_with_nothing_below_it():
    maps = [Mapping(0x400000, 0x405000, "/prog"), Mapping(0x405000, 0x426000, "[heap]"),
            Mapping(0x7ffff7d00000, 0x7ffff7e00000, "/libc.so.6"),
            Mapping(0x7ffffffde000, 0x7ffffffff000, "[stack]")]
    extent = (0x400000, 0x405000)
    # 4 MiB below the program: room for a small library, not this one.
    assert place(maps, extent, 2 * MiB, STACK).base == 0x200000
    p = place(maps, extent, 8 * MiB, STACK)
    # As high as reach allows: the heap keeps nearly 2 GiB to grow.
    assert p.base + 8 * MiB <= 0x400000 + REACH - MARGIN
    assert p.base > 0x400000 + REACH - MARGIN - 9 * MiB
    assert p.reserved[0][0] == p.base + 8 * MiB


def test_no_room_within_reach():
    extent = (0x555555554000, 0x555555559000)
    maps = [Mapping(extent[0] - 2 * GiB, extent[0], "filled"), Mapping(*extent, "/prog"),
            Mapping(extent[1], extent[1] + 2 * GiB, "filled"),
            Mapping(0x7ffffffde000, 0x7ffffffff000, "[stack]")]
    assert place(maps, extent, 64 * 1024, STACK) is None


def test_an_unlimited_stack_means_the_kernel_maps_bottom_up_so_no_place():
    assert place(pie_process(), (0x555555554000, 0x555555559000), 4096, None) is None


def test_the_place_the_library_is_linked_at_is_never_where_it_goes():
    # The loader asks for it; a load bias of 0 would hide the library from LLDB.
    maps = pie_process()
    extent = (0x555555554000, 0x555555559000)
    linked = (0x555555554000 - 64 * 1024, 0x555555554000)        # where it would go otherwise
    p = place(maps, extent, 64 * 1024, STACK, linked)
    assert p.reserved[0] == (linked[0], 64 * 1024)
    assert p.base + 64 * 1024 <= linked[0]


def test_symbols_beyond_reach_of_where_the_patch_is_linked_get_a_stand_in():
    from hotfix.near import stand_ins
    base = 0x555545500000
    bindings = {"counter": 0x555555558010, "far_add": 0x7ffff7fb7100}
    assert stand_ins(bindings, base) == {"far_add": base}
