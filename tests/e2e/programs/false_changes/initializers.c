/* An automatic array of pointers with an initializer: GCC copies it from
 * an anonymous block of writable .data (writable because its pointers are
 * relocated), which has no symbol in the program or the rebuild (seen in
 * memcached's main).  A function is also reached through it. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) int tick(int i) { return i + 1; }
__attribute__((noinline)) int twice(int i) { return i * 2; }

int main(int argc, char **argv)
{
    const char *const names[] = {
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "twenty-one",
        "twenty-two",
        "twenty-three",
        "twenty-four",
        "twenty-five",
        "twenty-six",
        "twenty-seven",
        "twenty-eight",
        "twenty-nine",
        "thirty",
        "thirty-one",
        "thirty-two",
        "thirty-three",
        "thirty-four",
        "thirty-five",
        "thirty-six",
        "thirty-seven",
        "thirty-eight",
        "thirty-nine",
    };
    int (*const steps[])(int) = {tick, twice, tick, twice, tick, twice, tick, twice,
                                 tick, twice, tick, twice, tick, twice, tick, twice};
    volatile int pick = 0;
    int n = argc > 1 ? atoi(argv[1]) : 4;
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: %s tick=%d step=%d\n", i, names[i % 40], tick(i), steps[pick](i));
    }
    printf("done\n");
    return 0;
}
