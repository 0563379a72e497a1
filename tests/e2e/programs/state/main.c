/* The state scenario: every kind of storage a patch must keep live. */
#include <stdio.h>
#include <stdlib.h>
#include "state.h"

int frames; /* a global of the program, read by the patched unit */

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 6;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int *counter = state_counter();   /* a pointer to a static, taken before any patch */
    step_fn step = state_step_fn();   /* a function pointer, taken before any patch */
    for (int i = 0; i < n; i++) {
        frames = i;
        checkpoint(i);
        int calls = step(i);
        printf("frame %d: %s calls=%d counter=%d total=%ld same_fn=%d\n", i, state_label(), calls,
               *counter, total, state_check(step));
    }
    return 0;
}
