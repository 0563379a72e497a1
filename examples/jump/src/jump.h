/* jump: shared declarations for the example game loop (see main.c). */
#ifndef JUMP_H
#define JUMP_H

struct player {
    double y;   /* height above the ground */
    double vy;  /* vertical velocity, per frame; > 0 is up */
};

/* main.c */
extern struct player player;
void checkpoint(int frame);

/* jump.c: the physics, the unit to edit while the game runs */
void step_player(struct player *p);
const char *jump_label(const struct player *p);
int jump_count(void);

/* render.c */
void render(int frame, const struct player *p);

#endif
