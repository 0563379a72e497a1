#include <stdio.h>
#include <stdlib.h>
#include "osr.h"

/* main's loop, with an automatic array of strings whose initializer GCC
 * copies from an anonymous block of .data (clang: .data.rel.ro): the new
 * body refers to it too, so it is laid out with the body. */
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *const names[] = {"n00", "n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09", "n10", "n11", "n12", "n13", "n14", "n15", "n16", "n17", "n18", "n19", "n20", "n21", "n22", "n23", "n24", "n25", "n26", "n27", "n28", "n29", "n30", "n31", "n32", "n33", "n34", "n35", "n36", "n37", "n38", "n39"};
    int frames = argc > 1 ? atoi(argv[1]) : 6;
    long total = 0;
    for (long frame = 0; frame < frames; frame++) {
        checkpoint(frame);
        total += frame * 10;
        printf("FRAME %ld: total=%ld name=%s\n", frame, total, names[(frame * 7) % 40]);
    }
    printf("done: total=%ld\n", total);
    return 0;
}
