/* At -O2 GCC keeps {0.5, 0.7} in one 16-byte .rodata.cst16 entry and
 * half() reads its 0.5 from there with mulsd (8 bytes). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) void scale(double *v) { v[0] *= 0.5; v[1] *= 0.9; }
__attribute__((noinline)) double half(double x) { return x * 0.5; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        double v[2] = {i, i};
        checkpoint(i);
        scale(v);
        printf("frame %d: half=%g scale=%g,%g\n", i, half(i), v[0], v[1]);
    }
    printf("done\n");
    return 0;
}
