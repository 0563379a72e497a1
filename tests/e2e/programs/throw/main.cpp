// Exceptions thrown by patched code, and through it, are caught by the
// program's own (unpatched) handlers.
#include <cstdio>
#include <stdexcept>
#include <cstdlib>

int risky(int frame);        // rules.cpp: throws on some frames
int guarded(int frame);      // rules.cpp: calls risky, lets its exceptions through

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int frames = argc > 1 ? atoi(argv[1]) : 6;
    for (int frame = 0; frame < frames; frame++) {
        checkpoint(frame);
        try {
            printf("frame %d: value %d\n", frame, guarded(frame));
        } catch (const std::runtime_error &e) {
            printf("frame %d: caught %s\n", frame, e.what());
        }
    }
    return 0;
}
