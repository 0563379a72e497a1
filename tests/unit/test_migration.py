"""Migrating a static whose type changed (migrate.py, plan.py): the member
mapping from structured types, the values converted, pointers into old
storage found and rewritten or refused, with a fake debugger."""
import pytest

from hotfix import migrate, plan
from hotfix.errors import HotfixError
from hotfix.program import Field, Shape

from fake import FakeDebugger

INT = Shape("int", 4, "int", True)
UINT = Shape("int", 4, "unsigned int", False)
SHORT = Shape("int", 2, "short", True)
CHAR = Shape("int", 1, "char", True)
LLONG = Shape("int", 8, "long long", True)
DOUBLE = Shape("float", 8, "double")
FLOAT = Shape("float", 4, "float")
PTR = Shape("pointer", 8, "pointer")


def struct(name, size, *fields):
    return Shape("struct", size, name, fields=tuple(fields))


def array(element, count):
    return Shape("array", element.size * count, element=element, count=count)


OLD_STATS = struct("stats", 8, Field("hits", 0, INT), Field("misses", 4, SHORT), Field("tag", 6, CHAR))
NEW_STATS = struct("stats", 24, Field("tag", 0, CHAR), Field("hits", 8, LLONG), Field("bonus", 16, INT))


def test_members_are_matched_by_name_moved_widened_dropped_and_added():
    m = migrate.map_shapes(OLD_STATS, NEW_STATS)
    assert [(c.path, c.conversion, c.old_offset, c.new_offset) for c in m.copies] == [
        ("tag", "bytes", 6, 0), ("hits", "int", 0, 8)]
    assert m.copies[1].old_bits == (0, 32) and m.copies[1].new_bits == (64, 64)
    assert m.dropped == ["misses"] and m.added == ["bonus"] and m.refusals == []
    old = (-3).to_bytes(4, "little", signed=True) + (7).to_bytes(2, "little") + b"a\0"
    initial = bytes(16) + (5).to_bytes(4, "little") + bytes(4)
    new, problems = migrate.new_value(old, initial, m.copies, migrate.Translator())
    assert problems == []
    assert new[0:1] == b"a" and int.from_bytes(new[8:16], "little", signed=True) == -3
    assert int.from_bytes(new[16:20], "little") == 5       # bonus: the new source's initial value


def test_arrays_go_element_by_element_up_to_the_shorter():
    grown = migrate.map_shapes(array(INT, 4), array(INT, 6))
    assert [(c.path, c.size) for c in grown.copies] == [("[0..3]", 16)] and grown.added == ["[4..5]"]
    shrunk = migrate.map_shapes(array(SHORT, 5), array(SHORT, 3))
    assert [(c.path, c.size) for c in shrunk.copies] == [("[0..2]", 6)] and shrunk.dropped == ["[3..4]"]
    # Elements whose type changed: each converted.
    widened = migrate.map_shapes(array(INT, 2), array(LLONG, 3))
    assert [(c.path, c.conversion, c.new_offset) for c in widened.copies] == [("[0]", "int", 0), ("[1]", "int", 8)]
    assert widened.added == ["[2]"]


def test_narrowing_only_when_the_value_fits_and_signs_are_kept():
    m = migrate.map_shapes(struct("s", 8, Field("n", 0, LLONG)), struct("s", 2, Field("n", 0, SHORT)))
    fits, problems = migrate.new_value((-200).to_bytes(8, "little", signed=True), bytes(2), m.copies,
                                       migrate.Translator())
    assert problems == [] and int.from_bytes(fits, "little", signed=True) == -200
    _, problems = migrate.new_value((70000).to_bytes(8, "little"), bytes(2), m.copies, migrate.Translator())
    assert problems == ["n holds 70000, which does not fit in signed 16 bits."]
    # Signed to unsigned: a negative value does not fit.
    m = migrate.map_shapes(INT, UINT)
    _, problems = migrate.new_value((-1).to_bytes(4, "little", signed=True), bytes(4), m.copies, migrate.Translator())
    assert problems == ["the value holds -1, which does not fit in unsigned 32 bits."]


def test_bit_fields_are_carried_by_value():
    old = struct("f", 4, Field("kind", 0, CHAR), Field("level", 1, INT, bit_offset=8, bit_size=5),
                 Field("ready", 1, UINT, bit_offset=13, bit_size=1))
    new = struct("f", 8, Field("level", 0, INT), Field("ready", 4, UINT, bit_offset=35, bit_size=1))
    m = migrate.map_shapes(old, new)
    assert m.dropped == ["kind"] and not m.refusals
    value = 7 | (((-3) & 0x1f) << 8) | (1 << 13)
    data, problems = migrate.new_value(value.to_bytes(4, "little"), bytes(8), m.copies, migrate.Translator())
    assert problems == []
    assert int.from_bytes(data[0:4], "little", signed=True) == -3 and (data[4] >> 3) & 1 == 1


def test_floats_convert_and_kinds_do_not_mix():
    m = migrate.map_shapes(FLOAT, DOUBLE)
    import struct as st
    data, _ = migrate.new_value(st.pack("<f", 1.5), bytes(8), m.copies, migrate.Translator())
    assert st.unpack("<d", data)[0] == 1.5
    assert migrate.map_shapes(INT, DOUBLE).refusals == [
        "hotfix converts integers, enums, floats, pointers, arrays and structs, not one kind into another."]
    assert migrate.map_shapes(struct("s", 4, Field("n", 0, INT)), struct("s", 8, Field("n", 0, DOUBLE))).refusals \
        == ["n changed from `int' to `double': hotfix converts integers, enums, floats, pointers, arrays and "
            "structs, not one kind into another."]


def test_a_union_only_when_its_layout_is_the_same():
    u1 = Shape("union", 8, "u", fields=(Field("i", 0, INT), Field("p", 0, PTR)))
    u2 = Shape("union", 8, "u", fields=(Field("i", 0, LLONG), Field("p", 0, PTR)))
    same = migrate.map_shapes(struct("s", 8, Field("u", 0, u1)), struct("s", 16, Field("x", 0, INT), Field("u", 8, u1)))
    assert [(c.path, c.conversion, c.new_offset) for c in same.copies] == [("u", "bytes", 8)]
    assert migrate.map_shapes(u1, u2).refusals[0].startswith("the value is a union whose layout changed")


def test_a_record_with_a_vtable_is_refused():
    old = Shape("class", 16, "Counter", fields=(Field("_vptr.Counter", 0, PTR), Field("n", 8, INT)), virtual=True)
    new = Shape("class", 16, "Counter", fields=(Field("_vptr.Counter", 0, PTR), Field("n", 8, LLONG)), virtual=True)
    assert "virtual functions" in migrate.map_shapes(old, new).refusals[0]


def test_pointers_into_old_storage_move_to_the_same_member():
    t = migrate.Translator()
    m = migrate.map_shapes(OLD_STATS, NEW_STATS)
    t.add(0x1000, 8, 0x9000, m.copies)
    assert t.translate(0x1000) == 0x9000            # the static itself
    assert t.translate(0x1006) == 0x9000 + 0        # &stats.tag, moved first
    assert t.translate(0x1004) is None              # &stats.misses: dropped
    assert t.translate(0x2000) == 0x2000            # elsewhere: unchanged
    # A pointer member pointing into the static is translated as it is carried.
    self_ref = struct("s", 16, Field("buf", 0, array(CHAR, 8)), Field("cursor", 8, PTR))
    grown = struct("s", 24, Field("buf", 0, array(CHAR, 16)), Field("cursor", 16, PTR))
    m = migrate.map_shapes(self_ref, grown)
    t = migrate.Translator()
    t.add(0x1000, 16, 0x9000, m.copies)
    data, problems = migrate.new_value(b"abcdefgh" + (0x1003).to_bytes(8, "little"), bytes(24), m.copies, t)
    assert problems == [] and int.from_bytes(data[16:24], "little") == 0x9003


def test_the_word_scan_finds_aligned_pointers_into_a_range_only():
    base = 0x7000
    lo, hi = 0x5555_5555_fff0, 0x5555_5556_0010      # crosses a 64 KiB boundary
    data = bytearray(64)
    data[0:8] = (lo + 4).to_bytes(8, "little")
    data[16:24] = (hi - 1).to_bytes(8, "little")
    data[33:41] = (lo + 8).to_bytes(8, "little")     # not aligned
    data[48:56] = hi.to_bytes(8, "little")           # one past the end
    assert migrate.scan_block(bytes(data), base, [(lo, hi)]) == [(base, lo + 4), (base + 16, hi - 1)]


class FakeImage:
    """A program image with one DWARF-visible pointer at link address 0x40."""
    path, bias, patch = "/prog", 0x1000, False

    class info:
        @staticmethod
        def pointer_at(address):
            return "watch" if address == 0x40 else None

        @staticmethod
        def object_at(address):
            return {"name": "holder", "value": 0x80, "size": 8} if 0x80 <= address < 0x88 else None


class FakeProgram:
    def images(self):
        return [FakeImage()]


def migration(old_address, old_size, new_size, copies):
    return plan.Migration("counter", ("", "counter"), False, "counter", old_address, old_size, 0, new_size,
                          "int", "long long", copies)


@pytest.fixture
def no_segments(monkeypatch):
    # The fake image's segments: [0x1000, 0x1100).
    monkeypatch.setattr(migrate, "load_segments", lambda path, bias, relro_only=False:
                        [] if relro_only else [(0x1000, 0x1100, 3)])


def test_carry_rewrites_pointers_dwarf_shows_and_refuses_others(no_segments):
    from hotfix.debugger import Region
    dbg = FakeDebugger(memory=bytes(0x3000), registers=[(1, "rsp", 0x2800), (1, "rbx", 0x1010)],
                       regions=[Region(0x1000, 0x1100, True, True, False, "/prog"),
                                Region(0x1100, 0x1200, True, False, True, "/prog"),
                                Region(0x2700, 0x3000, True, True, False, "[stack]")])
    dbg.memory[0x1010:0x1014] = (41).to_bytes(4, "little")            # counter (old storage)
    dbg.memory[0x1040:0x1048] = (0x1010).to_bytes(8, "little")        # watch = &counter
    dbg.memory[0x2900:0x2908] = (0x1010).to_bytes(8, "little")        # on thread 1's stack
    m = migration(0x1010, 4, 8, migrate.map_shapes(INT, LLONG).copies)
    move = migrate.Move(m, 0x2000)
    with pytest.raises(HotfixError) as refused:
        migrate.carry(dbg, FakeProgram(), [move], force=False)
    assert str(refused.value) == (
        "nothing was changed: the type of counter changed from `int' to `long long' and hotfix cannot migrate it: "
        "pointers into its old storage are at thread 1 register rbx, thread 1's stack 0x2900, which hotfix cannot "
        "tell are pointers (--force-migrate goes ahead and leaves them pointing at the old storage).")
    carried = migrate.carry(dbg, FakeProgram(), [move], force=True)
    assert [(w.address, w.data, w.what) for w in carried.writes] == [
        (0x2000, (41).to_bytes(8, "little"), "migrate counter"),
        (0x1040, (0x2000).to_bytes(8, "little"), "pointer prog: watch to counter")]
    assert carried.rewritten == ["prog: watch -> counter"]
    assert carried.stray == ["thread 1 register rbx -> counter", "thread 1's stack 0x2900 -> counter"]
    assert carried.scan.bytes == 0x100 + 0x3000 - (0x2800 - migrate.RED_ZONE)


def test_a_value_that_does_not_fit_refuses_by_member(no_segments):
    dbg = FakeDebugger(memory=bytes(0x100))
    dbg.memory[0x10:0x18] = (1 << 40).to_bytes(8, "little")
    m = migration(0x10, 8, 4, migrate.map_shapes(LLONG, INT).copies)
    with pytest.raises(HotfixError) as refused:
        migrate.carry(dbg, FakeProgram(), [migrate.Move(m, 0x80)], force=True)
    assert "the value holds 1099511627776, which does not fit in signed 32 bits" in str(refused.value)


def test_a_changed_type_is_migrated_only_when_the_migrated_statics_are_its_only_instances():
    instances = {
        "stats": [("stats.c", "variable", ("", "stats"), "the variable stats")],
        "inner": [("stats.c", "member", "stats", "a member of stats")],
        "item": [("stats.c", "variable", ("", "first"), "the variable first"),
                 ("stats.c", "other", None, "a pointer to it")],
        "shared": [("stats.c", "declaration", "level", "the declaration of level"),
                   ("other.c", "variable", ("", "mine"), "the variable mine")],
    }
    allowed, why = plan.migratable_types(["stats", "inner", "item", "shared"], instances,
                                         {("", "stats"), ("", "first")}, {"level"}, "stats.c")
    assert allowed == {"stats", "inner"}
    assert why == {"item": "a pointer to it (stats.c)", "shared": "the variable mine (other.c)"}


def test_a_static_whose_type_changed_becomes_a_migration_used_by_each_function_that_refers_to_it():
    from hotfix.program import Variable
    p = plan.Plan(None, None)
    so_symbols = [{"name": "step", "value": 0x1000, "size": 0x40, "type": "func"},
                  {"name": "peek", "value": 0x1040, "size": 0x20, "type": "func"},
                  {"name": "counter", "value": 0x4000, "size": 8, "type": "object", "writable": True}]
    sites = [{"at": 0x1010, "kind": "gotoff64", "sym": "", "target": 0x4000, "type": 25},
             {"at": 0x1050, "kind": "gotoff64", "sym": "", "target": 0x4004, "type": 25}]
    so_vars = {("", "counter"): Variable("", "counter", 0x4000, 8, "long long", False)}
    exe_vars = {("", "counter"): Variable("", "counter", 0x3010, 4, "int", False)}
    plan.plan_rebinds(p, sites, so_symbols, so_vars, exe_vars, [], 0x555555554000, {}, "c.c", None)
    [m] = p.migrations
    assert (m.label, m.old_address, m.old_size, m.new_at, m.new_size, m.users) == (
        "counter", 0x555555557010, 4, 0x4000, 8, {"step", "peek"})
    assert p.rebinds == [] and p.refusals == [] and p.statics_kept == []
    p.refs = {"step": [], "peek": [], "other": []}
    p.changed = ["step"]
    plan.redirect_users(p, m.users, "uses counter, which is migrated")
    assert p.changed == ["peek", "step"] and p.why["peek"] == "uses counter, which is migrated"
