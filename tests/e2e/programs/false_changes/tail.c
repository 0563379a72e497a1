/* At -O2 dispatch() ends in a tail call of its neighbour finish(): a
 * 2-byte jmp in the program, a 5-byte jmp with a relocation in a
 * -ffunction-sections rebuild.  dispatch is on the stack at checkpoint. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) int bonus(int i) { return i + 10; }

static __attribute__((noinline)) int finish(int x) { return x * 3 + 1; }

__attribute__((noinline)) int dispatch(int i)
{
    checkpoint(i);
    return finish(i + 1);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        int d = dispatch(i);
        int b = bonus(i);
        printf("frame %d: dispatch=%d bonus=%d\n", i, d, b);
    }
    printf("done\n");
    return 0;
}
