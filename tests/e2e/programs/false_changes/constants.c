/* The minimal form: a file-scope constant that -fdata-sections
 * moves out of .rodata, and -O0 literals after it. */
#include <stdio.h>
#include <stdlib.h>

static const double k = 3.0;

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) double a(double x) { return x * 2.5; }
__attribute__((noinline)) double b(double x) { return -x * k; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: a=%g b=%g\n", i, a(i), b(i));
    }
    printf("done\n");
    return 0;
}
