#include <cstdio>

__attribute__((visibility("default"))) int constructions_seen();

extern "C" __attribute__((noinline, visibility("default"))) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main()
{
    for (int i = 0; i < 4; i++) {
        checkpoint(i);
        std::printf("frame %d: constructions=%d\n", i, constructions_seen());
    }
    return 0;
}
