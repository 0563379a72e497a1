#include "ns.h"

int helper(int x) { return x + 1; }
int value(int x) { return helper(x) * 3; }
