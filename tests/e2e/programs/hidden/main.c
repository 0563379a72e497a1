#include <stdio.h>
#include <stdlib.h>
#include "api.h"

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) int step(int i)
{
    counter += 1;
    table[i % 4] += 1;
    return helper(i) + internal_value() * 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        int r = step(i);
        printf("frame %d: r=%d counter=%d table=%d,%d,%d,%d bumps=%d\n", i, r, counter,
               table[0], table[1], table[2], table[3], internal_value());
    }
    printf("done\n");
    return 0;
}
