// The entities of the example: a virtual update() per kind.
#pragma once
#include <string>

struct Entity {
    explicit Entity(const char *n) : name(n) {}
    virtual ~Entity() {}
    virtual int update(int tick) = 0;
    std::string name;
    int hp = 100;
};

Entity *make_walker(const char *name);
Entity *make_jumper(const char *name);
int world_step(Entity **all, int n, int tick);
