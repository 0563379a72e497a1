#include <stdio.h>
#include <stdlib.h>
#include "items.h"

struct item {
    int id;
    int value;
};

static struct item first = {1, 10};
static struct item *made[4]; /* items on the heap, of the same type */

void items_step(int i)
{
    first.value += 1;
    if (i < 4) {
        made[i] = malloc(sizeof *made[i]);
        made[i]->id = i + 2;
        made[i]->value = 0;
    }
    made[i % 4]->value += 1;
}

const char *items_line(void)
{
    static char line[100];
    snprintf(line, sizeof line, "v1 first=%d made=%d", first.value, made[0]->value);
    return line;
}
