/* The reach scenario: what the new code of a patch reaches is bound to
 * the program's storage and functions; the rest of the patch never runs. */
#include <stdio.h>
#include <stdlib.h>
#include "reach.h"

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 6;
    int (*peek)(void) = reach_peek;     /* taken before any patch */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        int step = reach_step();
        printf("frame %d: %s peek=%d step=%d same=%d\n", i, reach_label(), peek(), step,
               reach_same() && peek == reach_peek);
    }
    return 0;
}
