#include "state.h"

long total;         /* a global of this unit, printed by main */
static long counter; /* a file-scope static, now long */

int *state_counter(void) { return (int *)&counter; }

int state_step(int i)
{
    static int calls; /* a function-local static */
    calls++;
    counter += 1;
    total += frames + i;
    return calls;
}

step_fn state_step_fn(void) { return state_step; }

int state_check(step_fn f) { return f == state_step; }

const char *state_label(void) { return "v1"; }
