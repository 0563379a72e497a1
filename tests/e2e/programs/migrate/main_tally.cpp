// C++ statics whose types change: plain data with a method, an object
// with a destructor, an object with a vtable.
#include <cstdio>
#include <cstdlib>

int tally_step();

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? std::atoi(argv[1]) : 6;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        std::printf("frame %d: %d\n", i, tally_step());
    }
    return 0;
}
