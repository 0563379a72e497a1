#include <stdio.h>
#include "stats.h"

struct stats {
    int hits;
    short misses;
    char tag;
};

static struct stats stats = {0, 0, 'a'};
static int table[4];        /* grows to 6 */
static short recent[5];     /* shrinks to 3 */
static int counter;         /* widened to long long */

int *stats_counter(void) { return &counter; }

int stats_step(int i)
{
    static int calls; /* a function-local static, widened to long */
    calls++;
    stats.hits += 1;
    stats.misses += 2;
    table[i % 4] += i + 1;
    recent[i % 5] = (short)(10 * i);
    counter += 1;
    /* Their addresses escape: clang -O2 would otherwise split a static
     * struct into one static per member (DWARF then gives it in pieces). */
    __asm__ volatile("" : : "r"(&stats), "r"(table), "r"(recent) : "memory");
    return (int)calls;
}

const char *stats_line(void)
{
    static char line[200];
    snprintf(line, sizeof line, "v1 hits=%d misses=%d tag=%c table=%d,%d,%d,%d recent=%d,%d,%d counter=%d",
             stats.hits, stats.misses, stats.tag, table[0], table[1], table[2], table[3], recent[0], recent[1],
             recent[2], counter);
    return line;
}
