#include <stdio.h>
#include <stdlib.h>
#include "osr.h"

/* At the deepest level, every level above is waiting for the call below
 * it to return: several frames of one function. */
long descend(long depth, long deepest)
{
    long here = depth + 1;
    if (depth < deepest)
        here += descend(depth + 1, deepest);
    else
        checkpoint((int)depth);
    printf("level %ld: %ld\n", depth, here);
    return here;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long deepest = argc > 1 ? atol(argv[1]) : 3;
    for (int round = 0; round < 2; round++)
        printf("round %d: %ld\n", round, descend(0, deepest));
    return 0;
}
