#!/bin/sh
# Install the Debian packages hotfix needs to build, run its demo and its
# tests, if any is missing.  Debian 12; needs root (or sudo) to install.
#   scripts/deps.sh          for make, make demo, make test
#   scripts/deps.sh vscode   also for make test-vscode: Chromium (headless
#                            browser), ripgrep and libkrb5-dev and g++ (to
#                            install code-server from npm); Node.js 20 and
#                            npm must be there already (Debian 12 has 18).
#   scripts/deps.sh realworld  also for make test-realworld: what fetching
#                            Debian's source packages (dpkg-dev) and
#                            building lua5.4, sqlite3 and leveldb as their
#                            own builds do (bear, autotools, Tcl, readline,
#                            g++) needs.
set -eu
PACKAGES="make gcc clang binutils libc6-dev libelf-dev gdb python3 python3-pyelftools python3-pytest
lldb-19 python3-lldb-19 cmake gnuplot-nox gdbserver
gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user gdb-multiarch"
# lldb-19 also ships lldb-dap-19 (the DAP adapter the VS Code tests drive).
if [ "${1-}" = vscode ]; then
    PACKAGES="$PACKAGES chromium ripgrep libkrb5-dev g++"
fi
if [ "${1-}" = realworld ]; then
    PACKAGES="$PACKAGES dpkg-dev debian-archive-keyring bear autoconf automake libtool libreadline-dev
tcl8.6-dev zlib1g-dev g++"
fi
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "hotfix: installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# python3-lldb-N packages conflict with each other: keep exactly one (19).
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
