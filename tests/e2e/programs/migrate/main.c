/* The migrate scenario: statics whose types change under a running program. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "stats.h"

int *watch; /* a pointer DWARF shows, taken before any patch: rewritten */

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 6;
    int delay_ms = argc > 2 ? atoi(argv[2]) : 0; /* for a debugger that attaches later */
    setvbuf(stdout, NULL, _IOLBF, 0);
    watch = stats_counter();
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        int calls = stats_step(i);
        printf("frame %d: %s watch=%d calls=%d\n", i, stats_line(), *watch, calls);
        if (delay_ms)
            usleep(delay_ms * 1000);
    }
    return 0;
}
