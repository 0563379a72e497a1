#include "shared.h"

long long ticks;

void tick(void) { ticks += 1000; }

int ticks_value(void) { return (int)ticks; }
