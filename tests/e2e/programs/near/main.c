/* Where a patch library lands: within 2 GiB of the program where there is
 * room (its references to the program's statics are 32-bit), else anywhere
 * (built again for that).  "crowded" fills the address space within 2 GiB
 * of the program, but for its own heap's first page; "hint" fills where the
 * patch is linked, so that dlopen's wish is not granted and hotfix must
 * steer the kernel to the room left next to the program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GiB (1UL << 30)
#define MiB (1UL << 20)

long report(int i);
extern char __executable_start[];
char *program_start = __executable_start;      /* where the patch says how far it is */

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

static void fill(unsigned long lo, unsigned long hi)
{
    lo &= ~4095UL;
    hi &= ~4095UL;
    if (hi > lo && mmap((void *)lo, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                        MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED)
        perror("mmap");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 6;
    const char *mode = argc > 2 ? argv[2] : "";
    unsigned long start = (unsigned long)__executable_start;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "crowded")) {
        fill(start - 2 * GiB - 64 * MiB, start);
        fill((unsigned long)sbrk(0) + 4096, start + 2 * GiB + 64 * MiB);
    } else if (!strcmp(mode, "hint")) {
        fill(start - 512 * MiB, start - 2 * MiB);
    }
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: %ld\n", i, report(i));
    }
    return 0;
}
