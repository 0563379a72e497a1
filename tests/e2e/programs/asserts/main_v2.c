/* A loop that never returns until the end, with asserts (__FILE__), as
 * real programs have: only value() is edited. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) int value(int i)
{
    volatile int step = 10;
    return i * step;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        assert(i >= 0 && "the loop counter");
        checkpoint(i);
        printf("frame %d: value=%d\n", i, value(i));
    }
    printf("done\n");
    return 0;
}
