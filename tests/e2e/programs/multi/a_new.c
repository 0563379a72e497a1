#include "tune.h"

static int twice(int x)
{
    return 2 * x;
}

int a_value(int i)
{
    return twice(i * STEP) + 1000;
}
