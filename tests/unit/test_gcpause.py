"""The cyclic garbage collector waits while a command or a background
build runs, and runs again when the last of them ends (and only if it
ran before)."""
import gc
import threading

import pytest

from hotfix import gcpause


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_collections_wait_while_a_command_runs():
    with gcpause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_last_of_overlapping_holders_lets_it_run_again():
    inside, leave = threading.Event(), threading.Event()

    def build():
        with gcpause.paused():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=build)
    t.start()
    inside.wait(5)
    with gcpause.paused():
        pass
    assert not gc.isenabled()           # the background build still holds it
    leave.set()
    t.join()
    assert gc.isenabled()


def test_an_error_lets_it_run_again():
    with pytest.raises(RuntimeError):
        with gcpause.paused():
            raise RuntimeError("compile error")
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    with gcpause.paused():
        pass
    assert not gc.isenabled()
