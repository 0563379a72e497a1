// entity.h after an edit that changes the layout of Entity.
#pragma once
#include <string>

struct Entity {
    explicit Entity(const char *n) : name(n) {}
    virtual ~Entity() {}
    virtual int update(int tick) = 0;
    std::string name;
    int hp = 100;
    int armor = 0;  // a new member: objects in the process do not have it
};

Entity *make_walker(const char *name);
Entity *make_jumper(const char *name);
int world_step(Entity **all, int n, int tick);
