#!/bin/sh
# The demo: the example game runs under GDB; at frame 10 its physics file is
# edited (patches/jump_v2.c: higher jumps, "airborne!") and hotfixed; the
# same process goes on with the new code and the same state.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$REPO/examples/jump" "$WORK/jump"
cd "$WORK/jump"
make -s clean && make -s
echo "== the game runs; at frame 10 src/jump.c is replaced by patches/jump_v2.c and hotfixed =="
gdb -nx -batch -q \
    -ex "set pagination off" -ex "set confirm off" \
    -ex "source $REPO/gdb/hotfix_gdb.py" \
    -ex "break checkpoint if frame == 10" \
    -ex "run 22" \
    -ex "echo \n== (gdb) shell cp patches/jump_v2.c src/jump.c\n" \
    -ex "shell cp patches/jump_v2.c src/jump.c" \
    -ex "echo == (gdb) hotfix src/jump.c\n" \
    -ex "hotfix src/jump.c" \
    -ex "echo == (gdb) continue\n\n" \
    -ex "delete" -ex "continue" \
    ./jump 2>&1 | grep -v -e '^\[Thread debugging' -e '^Using host libthread_db' -e '^Breakpoint 1 at'
