"""Python's cyclic garbage collector held off while hotfix works.

The session keeps large tables (every symbol and DIE hotfix read), and a
full collection walks all of them: 10-20 ms each, several times in one
command on a large unit, and nothing to collect (the measure that found
it: a unit of 6,000 functions).  While a command or a background build
runs, collections wait; they run again when the last one is done.
Memory freed by reference counting is freed as always."""

import contextlib
import gc
import threading

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextlib.contextmanager
def paused():
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
