struct Entity {
    virtual ~Entity() {}
    virtual int update(int tick) = 0;
};

namespace {
template <typename T> T scale(T v) { return v * 3; }
}

struct Jumper : Entity {
    int update(int tick) override
    {
        auto bonus = [](int t) { return t + 2; };
        return scale(bonus(tick));
    }
};

Entity *make_jumper() { return new Jumper(); }
