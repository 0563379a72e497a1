#include <stdio.h>

int far_add(int i);     /* in libunit.so */

static long total;

long report(int i)
{
    total += i;
    return total + far_add(0) - 1000;
}
