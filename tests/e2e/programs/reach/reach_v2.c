/* What a patch's new code reaches, and what it does not. */
#include "reach.h"

struct pair {
    int a;
    long b;                          /* widened: pair is migrated */
};

static struct pair pair = {1, 2};   /* its type changes: migrated */
static int kept;                     /* kept: the program's own, always */

/* Unchanged by the edit, but it uses pair: it runs the patch's code from
 * then on, and that code must use the program's kept. */
int reach_peek(void)
{
    kept += 1;
    return pair.a + kept;
}

/* A new table of pointers only new code reads: it must hold the
 * program's functions (the same addresses the program has). */
static int (*const calls[])(void) = {reach_peek};

int reach_step(void)
{
    pair.a += 1;
    return (int)pair.b + (calls[0] == reach_peek);
}

int reach_same(void) { return calls[0] == reach_peek; }

const char *reach_label(void) { return "v2"; }
