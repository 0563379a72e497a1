#include <stdio.h>
#include <stdlib.h>

int ns_value(int);

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: value %d\n", i, ns_value(i));
    }
    return 0;
}
