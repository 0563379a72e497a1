#include <stdio.h>
#include <stdlib.h>

int a_value(int i);
int b_value(int i);
int c_value(int i);
int d_value(void);

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: a=%d b=%d c=%d d=%d\n", i, a_value(i), b_value(i), c_value(i), d_value());
    }
    return 0;
}
