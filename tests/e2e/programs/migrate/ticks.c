#include "shared.h"

int ticks;

void tick(void) { ticks += 1; }

int ticks_value(void) { return (int)ticks; }
