"""A short soak in every test run; `make stress` runs 200 patches."""
import pytest

from driver import DEBUGGERS
from soak import soak


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_twenty_alternating_patches_under_eight_threads(tmp_path, debugger):
    r = soak(debugger, 20, tmp_path)
    assert r["applied"] == 20 and not r["errors"], r["result"].transcript
    assert r["threads"] == 8 and r["updates_lost"] == 0 and r["threads_agree"], r["result"].output
    assert r["last_version"] == 1, r["result"].output          # the 20th patch put version a back
    assert "all 20 entries jump straight to the newest code" in r["entries"], r["entries"]
    assert r["exited_normally"], r["result"].transcript
