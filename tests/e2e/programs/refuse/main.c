/* A program that refuses to load libraries: its own dlopen and dlerror
 * come first when the debugger calls them, as a loader failure would. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

int work(int i);

void *dlopen(const char *file, int mode)
{
    (void)file;
    (void)mode;
    return NULL;
}

char *dlerror(void)
{
    return "cannot open shared object: refused by the test program";
}

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: work=%d\n", i, work(i));
    }
    return 0;
}
