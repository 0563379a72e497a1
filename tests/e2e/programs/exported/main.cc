#include <stdio.h>
#include <stdlib.h>

#include "status.h"

extern "C" __attribute__((noinline)) void checkpoint(int frame) { asm volatile("" : : "r"(frame) : "memory"); }

int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 6;
  for (int i = 0; i < frames; i++) {
    Status s = store_get(i % 3 - 1);
    printf("frame %d: key=%d code=%d why=%s calls=%d made=%d\n", i, i % 3 - 1, s.code(), s.why(), store_calls,
           statuses_made());
    fflush(stdout);
    checkpoint(i);
  }
  return 0;
}
