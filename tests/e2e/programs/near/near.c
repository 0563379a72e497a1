#include <stdio.h>

static long total;

long report(int i)
{
    total += i;
    return total;
}
