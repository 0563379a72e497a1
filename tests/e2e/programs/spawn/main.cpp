// An entity made before the patch and one made after it both run the new
// update(), which uses a template and a lambda the patch also changes.
#include <cstdio>
#include <cstdlib>

struct Entity {
    virtual ~Entity() {}
    virtual int update(int tick) = 0;
};
Entity *make_jumper();

extern "C" __attribute__((noinline)) void checkpoint(int tick)
{
    __asm__ volatile("" : : "r"(tick) : "memory");
}

int main(int argc, char **argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    int ticks = argc > 1 ? std::atoi(argv[1]) : 5;
    Entity *all[2] = {make_jumper(), nullptr};
    for (int t = 0; t < ticks; t++) {
        checkpoint(t);
        if (t == 3)
            all[1] = make_jumper();
        std::printf("tick %d:", t);
        for (Entity *e : all)
            if (e)
                std::printf(" %d", e->update(t));
        std::printf("\n");
    }
    delete all[0];
    delete all[1];
    return 0;
}
