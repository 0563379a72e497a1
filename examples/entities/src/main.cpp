// entities: a C++ example for hotfix.  Two entities are updated each tick
// through a virtual update(); edit src/world.cpp while it runs and
// `hotfix src/world.cpp`: objects made before the patch run the new code,
// statics (a function-local std::vector, a namespace-scope object) keep
// their state, and no constructor runs twice.
#include <cstdio>
#include <cstdlib>
#include "entity.h"

extern "C" __attribute__((noinline)) void checkpoint(int tick)
{
    __asm__ volatile("" : : "r"(tick) : "memory");
}

int main(int argc, char **argv)
{
    int ticks = argc > 1 ? std::atoi(argv[1]) : 6;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Entity *all[2] = {make_walker("walker"), make_jumper("jumper")};
    for (int t = 0; t < ticks; t++) {
        checkpoint(t);
        int sum = world_step(all, 2, t);
        std::printf("tick %d: sum=%d hp=%d,%d\n", t, sum, all[0]->hp, all[1]->hp);
    }
    for (Entity *e : all)
        delete e;
    return 0;
}
