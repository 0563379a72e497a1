/* The program's internal API, hidden as interpreters declare theirs. */
#include "api.h"

int counter;
int table[4] = {1, 2, 3, 4};
static int bumps;

int helper(int n)
{
    bumps++;
    return n * 2 + table[n % 4] - table[n % 4];
}

int internal_value(void)
{
    return bumps;
}
