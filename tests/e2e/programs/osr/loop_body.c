#include <stdio.h>
#include <stdlib.h>
#include "osr.h"

/* main's own loop never returns until the program ends: it can only be
 * patched by moving its frame. */
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int frames = argc > 1 ? atoi(argv[1]) : 6;
    long total = 0;
    for (long frame = 0; frame < frames; frame++) {
        checkpoint(frame);
        total += frame * 10;
        printf("FRAME %ld: total=%ld\n", frame, total);
    }
    printf("done: total=%ld\n", total);
    return 0;
}
