/* What a patch's new code reaches, and what it does not. */
#include "reach.h"

struct pair {
    int a;
    short b;
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

int reach_step(void)
{
    pair.a += 1;
    return pair.b;
}

int reach_same(void) { return 1; }

const char *reach_label(void) { return "v1"; }
