/* A global of one unit that another unit uses, widened under a running program. */
#include <stdio.h>
#include <stdlib.h>
#include "shared.h"

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 6;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        tick();
        printf("frame %d: ticks=%d report=%d\n", i, ticks_value(), report());
    }
    return 0;
}
