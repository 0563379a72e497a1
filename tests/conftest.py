import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e"))


def pytest_addoption(parser):
    parser.addoption("--realworld", action="store_true",
                     help="also run tests/realworld: real programs from Debian's sources, downloaded and "
                          "built into ~/.cache/hotfix-realworld (make test-realworld)")


def pytest_ignore_collect(collection_path, config):
    # tests/realworld takes minutes and downloads: only `make test-realworld`.
    if collection_path.name == "realworld" and not config.getoption("--realworld"):
        return True
    return None
