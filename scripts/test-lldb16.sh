#!/bin/sh
# make test-lldb16: the LLDB end-to-end tests again under LLDB 16.
# Debian's python3-lldb-N packages conflict with each other, so LLDB 16 is
# not installed: its packages are downloaded (apt-get download) and unpacked
# into ~/.cache/hotfix/lldb-16, and the tests run it from there
# (HOTFIX_TEST_LLDB).  LLDB 19 stays the installed one.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make all
ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/hotfix/lldb-16
LLDB16=$ROOT/usr/lib/llvm-16/bin/lldb
if [ ! -x "$LLDB16" ]; then
    echo "test-lldb16: downloading and unpacking LLDB 16 into $ROOT"
    debs=$(mktemp -d)
    chown _apt "$debs" 2>/dev/null || chmod 777 "$debs"    # apt downloads as its _apt user
    get() { (cd "$debs" && apt-get download -qq lldb-16 liblldb-16 python3-lldb-16 libllvm16 libclang-cpp16); }
    if ! get; then          # package lists not there yet
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        get
    fi
    mkdir -p "$ROOT"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
    rm -rf "$debs"
fi
LD_LIBRARY_PATH=$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/usr/lib/llvm-16/lib
HOTFIX_TEST_LLDB=$LLDB16
export LD_LIBRARY_PATH HOTFIX_TEST_LLDB
"$LLDB16" --version
# The AArch64 tests use gdb-multiarch only; the VS Code adapter tests use
# lldb-dap-19.
exec /usr/bin/python3 -m pytest -q tests/e2e -k "lldb and not aarch64 and not vscode"
