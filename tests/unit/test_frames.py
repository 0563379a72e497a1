"""Moving running frames (frames.py, apply.py): which frames a map moves
and which it refuses, the writes of a move and their rollback."""
from types import SimpleNamespace

import pytest

from hotfix import apply as applying
from hotfix import frames, plan
from hotfix.debugger import Frame, Thread
from hotfix.errors import HotfixError

from fake import FakeDebugger


def _redirect(address=0x1000, size=0x40):
    e = plan.Entry("update", address, size, 0x40, "original", kind=1, kind_name="abs14")
    return plan.Redirect("update", 0x5000, [e])


def _map(refused="", points=None):
    body = frames.Body("update", "original", 0x1000, 0x40)
    return frames.FrameMap(body, "placed", refused, points or {
        (0x10, "return"): {"at": 0x10, "kind": "return", "line": 9, "to": 0x14, "to_line": 10, "locals": []},
        (0x20, "return"): {"at": 0x20, "kind": "return", "line": 11, "to": -1,
                           "why": "the code at line 11, where it stands, changed"},
        (0x08, "statement"): {"at": 0x08, "kind": "statement", "line": 8, "to": 0x08, "to_line": 8, "locals": []},
    })


def test_a_frame_at_a_mapped_return_address_moves_instead_of_being_refused():
    threads = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint", "main.c", 7),
                                  Frame(1, 0x1010, "update", "game.c", 9)])]
    moves = []
    problems = applying.check_stacks(FakeDebugger(threads=threads), [_redirect()], [], [_map()], moves)
    assert problems == []
    [m] = moves
    assert (m.function, m.thread, m.level, m.pc, m.to, m.to_line) == ("update", 1, 1, 0x1010, 0x14, 10)


def test_a_frame_that_cannot_move_is_refused_with_the_reason():
    threads = [Thread(2, "worker", [Frame(0, 0x9000, "printf"), Frame(1, 0x1020, "update", "game.c", 11)])]
    moves = []
    problems = applying.check_stacks(FakeDebugger(threads=threads), [_redirect()], [], [_map()], moves)
    assert problems == ["update is active in thread 2, frame #1: update (game.c:11) (cannot move it: the code at "
                        "line 11, where it stands, changed)"] and moves == []


def test_frame_zero_moves_only_from_the_first_instruction_of_a_statement():
    at_statement = [Thread(1, "main", [Frame(0, 0x1008, "update", "game.c", 8)])]
    moves = []
    assert applying.check_stacks(FakeDebugger(threads=at_statement), [_redirect()], [], [_map()], moves) == []
    assert moves[0].level == 0 and moves[0].to == 0x08
    inside = [Thread(1, "main", [Frame(0, 0x100b, "update", "game.c", 8)])]
    [problem] = applying.check_stacks(FakeDebugger(threads=inside), [_redirect()], [], [_map()], [])
    assert problem.endswith("(cannot move it: it is stopped inside a statement, not at its first instruction)")


def test_a_refused_map_refuses_every_frame_of_its_body():
    threads = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint"), Frame(1, 0x1010, "update", "game.c", 9)])]
    [problem] = applying.check_stacks(FakeDebugger(threads=threads), [_redirect()], [],
                                      [_map("its unit was built with -O2")], [])
    assert problem.endswith("(cannot move it: its unit was built with -O2)")


def test_maps_are_asked_for_only_when_a_changed_function_runs():
    asked = []

    def maps(threads):
        asked.append(len(threads))
        return [_map()]
    idle = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint"), Frame(1, 0x7000, "main")])]
    assert applying.check_stacks(FakeDebugger(threads=idle), [_redirect()], [], maps, []) == [] and asked == []
    busy = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint"), Frame(1, 0x1010, "update")])]
    assert applying.check_stacks(FakeDebugger(threads=busy), [_redirect()], [], maps, []) == [] and asked == [1]


def test_a_moved_frames_return_address_may_lie_in_the_jump_bytes():
    # At -O0 a call may end 9 bytes into a function: a moved frame no
    # longer returns there.
    threads = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint"), Frame(1, 0x1010, "update")])]
    ranges = [(0x1000, 0x1010 + 4, "update")]
    assert applying.check_stacks(FakeDebugger(threads=threads), [_redirect()], ranges, [_map()], []) == []
    assert applying.check_stacks(FakeDebugger(threads=threads), [], ranges, [], []) == [
        "thread 1, frame #1 has its return address inside the entry of update"]


def test_a_frame_in_a_body_an_earlier_patch_moved_frames_into_is_active():
    r = _redirect()
    r.moved.append(frames.Body("update", "moved 1", 0x4000, 0x40))
    threads = [Thread(1, "main", [Frame(0, 0x9000, "checkpoint"), Frame(1, 0x4010, "??")])]
    assert applying.check_stacks(FakeDebugger(threads=threads), [r], []) == [
        "update is active in thread 1, frame #1: ?? (0x4010)"]


def test_a_moved_return_address_must_be_where_the_unwinder_said():
    dbg = FakeDebugger()
    dbg.memory[0x100:0x108] = (0x1010).to_bytes(8, "little")
    before = bytes(dbg.memory)
    writes = [applying.Write(0x200, b"\xaa" * 8, "jump update"),
              applying.Write(0x100, (0x5014).to_bytes(8, "little"), "move update",
                             expect=(0x1234).to_bytes(8, "little"))]
    with pytest.raises(HotfixError, match="does not hold the return address"):
        applying.write_all(dbg, writes)
    assert bytes(dbg.memory) == before
    writes[1].expect = (0x1010).to_bytes(8, "little")
    applying.write_all(dbg, writes)
    assert dbg.memory[0x100:0x108] == (0x5014).to_bytes(8, "little")


def test_a_frame_zero_move_writes_the_pc_and_is_restored_on_failure():
    threads = [Thread(1, "main", [Frame(0, 0x1008, "update")])]
    dbg = FakeDebugger(threads=threads)
    move = applying.Write(0, (0x5008).to_bytes(8, "little"), "move update", expect=(0x1008).to_bytes(8, "little"),
                          register="pc", thread=1)
    dbg.fail_write_at = 0x300
    with pytest.raises(HotfixError, match="every byte written was restored"):
        applying.write_all(dbg, [move, applying.Write(0x300, b"\x01", "later")])
    assert dbg.read_register(1, "pc") == 0x1008
    done = applying.write_all(FakeDebugger(threads=threads), [move])
    assert done == [move] and move.old == (0x1008).to_bytes(8, "little")


@pytest.mark.parametrize("producer, argv, level", [
    ("GNU C17 12.2.0 -mtune=generic -march=x86-64 -g -O0", [], ""),
    ("GNU C17 12.2.0 -mtune=generic -march=x86-64 -g", [], ""),
    ("GNU C17 12.2.0 -mtune=generic -march=x86-64 -g -O2", [], "-O2"),
    ("GNU C17 12.2.0 -g -O2 -O0", [], ""),
    ("Debian clang version 14.0.6", ["clang", "-g", "-O1", "-c", "a.c"], "-O1"),
    ("Debian clang version 14.0.6", ["clang", "-g", "-c", "a.c"], ""),
])
def test_only_units_built_at_O0_move_frames(producer, argv, level):
    unit = SimpleNamespace(producer=producer)
    assert frames.optimisation(unit, SimpleNamespace(argv=argv)) == level
