#include <stdio.h>
#include <stdlib.h>

extern char *program_start;
int far_add(int i);     /* in libunit.so: called through a slot near the patch */

static long total;
static long fresh;      /* new: lives in the patch library */

long report(int i)
{
    long distance = labs((char *)&fresh - program_start);
    total += i;
    fresh++;
    printf("v2 %s fresh=%ld far=%d\n", distance < (1L << 31) ? "near" : "far", fresh, far_add(i));
    return total * 10;
}
