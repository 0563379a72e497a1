#include "tune.h"

int b_value(int i)
{
    return i + 100 * STEP;
}
