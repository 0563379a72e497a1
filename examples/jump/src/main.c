/*
 * jump: a tiny game loop to try hotfix on.
 *
 * Each frame the player is stepped (src/jump.c: gravity, and a jump whenever
 * it has rested on the ground), one line is printed (src/render.c), e.g.
 *
 *     frame 12: y=3.50 vy=-1.00 state=falling jumps=2
 *
 * and checkpoint() is called, so debugger scripts can break once per frame.
 *
 * The point: run it under GDB or LLDB, edit src/jump.c while it runs (or
 * `cp patches/jump_v2.c src/jump.c`: higher jumps, "airborne!" on the way
 * up), type `hotfix src/jump.c` at the debugger prompt and continue. The new
 * physics takes effect at once, while the frame number, the global `player`
 * and the statics in jump.c (jumps=) carry on: the game never restarted.
 * `git checkout src/jump.c` undoes the edit.
 *
 * Usage: ./jump [FRAMES]    runs FRAMES frames, or forever without one;
 *                           one frame per 100 ms, no delay with JUMP_FAST=1.
 * Build: make (compile_commands.json included), or CMake.
 */
#define _POSIX_C_SOURCE 200809L  /* nanosleep, even with -std=c11 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "jump.h"

/* Global, so every unit and the debugger see the same player. */
struct player player;

/* Does nothing, but is a breakpoint site at any -O level: noinline keeps the
 * function, the asm keeps the call and its argument. */
__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    long frames = -1;  /* < 0: forever */
    if (argc > 1) {
        char *end;
        errno = 0;
        frames = strtol(argv[1], &end, 10);
        if (errno || end == argv[1] || *end || frames < 0 || frames > INT_MAX) {
            fprintf(stderr, "usage: %s [FRAMES]\n", argv[0]);
            return 2;
        }
    }
    const char *fast = getenv("JUMP_FAST");
    int delay = !(fast && strcmp(fast, "1") == 0);

    /* Line by line even into a pipe, so a driving script sees each frame
     * when it happens. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    for (int frame = 0; frames < 0 || frame < frames; frame++) {
        step_player(&player);
        render(frame, &player);
        checkpoint(frame);
        if (delay)
            nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
    }
    return 0;
}
