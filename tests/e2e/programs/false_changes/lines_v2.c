/* An edit that moves lines: finish and main, below step, assert with
 * __LINE__. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) int step(int i)
{
    int r = i * 2;
    r += 1000;
    return r;
}

__attribute__((noinline)) void finish(int total)
{
    assert(total >= 0);
    printf("done\n");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    int total = 0;
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        int r = step(i);
        assert(r >= 0 && r < 1000000);
        total += r;
        printf("frame %d: step=%d total=%d\n", i, r, total);
    }
    finish(total);
    return 0;
}
