#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include "registry.h"

extern "C" __attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

__attribute__((noinline)) int run(int n)
{
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        Registry::instance().hits += 10;
        std::printf("frame %d: hits=%d\n", i, Registry::instance().hits);
        usleep(20000);
    }
    return 0;
}

int main(int argc, char **argv)
{
    return run(argc > 1 ? std::atoi(argv[1]) : 4);
}
