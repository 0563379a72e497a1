#include <stdio.h>
#include "stats.h"

struct stats {
    char tag;           /* moved first */
    long long hits;     /* moved, widened */
    int bonus;          /* new; misses is gone */
};

static struct stats stats = {'z', 0, 5};
static int table[6] = {0, 0, 0, 0, 100, 200};
static short recent[3];
static long long counter;

int *stats_counter(void) { return (int *)&counter; }

int stats_step(int i)
{
    static long calls;
    calls++;
    stats.hits += 1;
    stats.bonus += 10;
    table[i % 6] += i + 1;
    recent[i % 3] = (short)(10 * i);
    counter += 1;
    /* Their addresses escape: clang -O2 would otherwise split a static
     * struct into one static per member (DWARF then gives it in pieces). */
    __asm__ volatile("" : : "r"(&stats), "r"(table), "r"(recent) : "memory");
    return (int)calls;
}

const char *stats_line(void)
{
    static char line[200];
    snprintf(line, sizeof line, "v3 hits=%lld bonus=%d tag=%c table=%d,%d,%d,%d,%d,%d recent=%d,%d,%d counter=%lld",
             stats.hits, stats.bonus, stats.tag, table[0], table[1], table[2], table[3], table[4], table[5],
             recent[0], recent[1], recent[2], counter);
    return line;
}
