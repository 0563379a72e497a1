#include <stdio.h>
#include <stdlib.h>

extern char *program_start;

static long total;
static long fresh;      /* new: lives in the patch library */

long report(int i)
{
    long distance = labs((char *)&fresh - program_start);
    total += i;
    fresh++;
    printf("v2 %s fresh=%ld\n", distance < (1L << 31) ? "near" : "far", fresh);
    return total * 10;
}
