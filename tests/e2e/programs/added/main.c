/* Statics a patch adds: the next patch of the unit must use them, with
 * their values, as it uses the program's own. */
#include <stdio.h>
#include <stdlib.h>

long echo(int i);

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
        printf("frame %d: echo=%ld\n", i, echo(i));
    }
    return 0;
}
