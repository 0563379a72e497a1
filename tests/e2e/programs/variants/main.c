#include <stdio.h>

const char *who(void);

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(void)
{
    for (int i = 0; i < 4; i++) {
        checkpoint(i);
        printf("frame %d: %s\n", i, who());
    }
    return 0;
}
