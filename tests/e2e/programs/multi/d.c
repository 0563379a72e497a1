#include "tune.h"

int d_value(void)
{
    return OTHER;
}
