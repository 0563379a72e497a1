#include <stdio.h>
#include "game.h"

int leaf(int i)
{
    return i * 2;
}

void tiny(void) {}

/* Always on the stack while the game runs. */
void run_game(int n)
{
    for (int i = 0; i < n; i++) {
        checkpoint(i + 1);
        tiny();
        printf("FRAME %d: leaf=%d\n", i, leaf(i));
    }
}
