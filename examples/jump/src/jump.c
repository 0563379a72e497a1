/* jump.c: the player's physics, the unit to edit while the game runs.
 * patches/jump_v2.c is an edited copy of this file. */
#include "jump.h"

#define GRAVITY      0.5  /* velocity lost each frame */
#define JUMP_IMPULSE 2.0  /* upward velocity given by a jump */
#define REST_FRAMES  2    /* frames on the ground before the next jump */

/* File-scope state. A hotfix must keep using the running program's copy,
 * so jumps= keeps counting across a patch instead of restarting at 0. */
static int jumps_made;

void step_player(struct player *p)
{
    /* Function-local static: lives in the process too, and is kept too. */
    static int rested;

    if (p->y <= 0.0 && ++rested >= REST_FRAMES) {
        rested = 0;
        p->vy = JUMP_IMPULSE;
        jumps_made++;
    }
    p->y += p->vy;
    p->vy -= GRAVITY;
    if (p->y <= 0.0) {  /* landed */
        p->y = 0.0;
        p->vy = 0.0;
    }
}

const char *jump_label(const struct player *p)
{
    if (p->y <= 0.0)
        return "ground";
    return p->vy > 0.0 ? "rising" : "falling";
}

int jump_count(void)
{
    return jumps_made;
}
