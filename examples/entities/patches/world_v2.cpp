// The world's rules after a live edit: jumpers hit harder and count triple.
#include <cstdio>
#include <vector>
#include "entity.h"

namespace {
struct Ledger {
    Ledger() : steps(1000) { std::puts("ledger constructed"); }
    ~Ledger() { std::puts("ledger destroyed"); }
    int steps;
};
Ledger ledger;  // namespace scope, with a constructor: must not run again

template <typename T> T clamp_to(T v, T lo, T hi) { return v < lo ? lo : v > hi ? hi : v; }
}  // namespace

struct Walker : Entity {
    explicit Walker(const char *n) : Entity(n) {}
    int update(int tick) override
    {
        hp = clamp_to(hp - 1, 0, 100);
        return tick;
    }
};

struct Jumper : Entity {
    explicit Jumper(const char *n) : Entity(n) {}
    int update(int tick) override
    {
        hp = clamp_to(hp - 5, 0, 100);
        return 3 * tick;
    }
};

Entity *make_walker(const char *name) { return new Walker(name); }
Entity *make_jumper(const char *name) { return new Jumper(name); }

static std::vector<int> &history()
{
    static std::vector<int> h;  // function-local static object (with a guard)
    return h;
}

int world_step(Entity **all, int n, int tick)
{
    int sum = 0;
    auto add = [&sum](int v) { sum += v; };
    for (int i = 0; i < n; i++)
        add(all[i]->update(tick));
    history().push_back(sum);
    ledger.steps++;
    std::printf("  history=%zu ledger=%d\n", history().size(), ledger.steps);
    return sum;
}
