/* Padding after a string literal of a plain -O0 .rodata: a file-scope
 * constant moves out with -fdata-sections, and the padding before the next
 * constant changes (seen in an interpreter's unit). */
#include <stdio.h>
#include <stdlib.h>

static const int limit = 1000;

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) const char *name(int i) { return i < limit ? "small" : "large"; }
__attribute__((noinline)) double tenth(double x) { return x * 0.1; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: %s %g\n", i, name(i), tenth(i));
    }
    printf("done\n");
    return 0;
}
