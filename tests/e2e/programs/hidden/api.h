#define INTERNAL __attribute__((visibility("hidden"))) extern
#define PRIVATE __attribute__((visibility("internal"))) extern

INTERNAL int helper(int n);
INTERNAL int counter;
INTERNAL int table[4];
PRIVATE int internal_value(void);
