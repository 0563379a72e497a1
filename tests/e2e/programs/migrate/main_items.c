/* A struct whose objects live on the heap too: its layout change is refused. */
#include <stdio.h>
#include <stdlib.h>
#include "items.h"

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
        items_step(i);
        printf("frame %d: %s\n", i, items_line());
    }
    return 0;
}
