#include "tune.h"

int a_value(int i)
{
    return i * STEP
}
