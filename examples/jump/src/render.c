/* render.c: one line of text per frame. */
#include <stdio.h>
#include "jump.h"

void render(int frame, const struct player *p)
{
    printf("frame %d: y=%.2f vy=%.2f state=%s jumps=%d\n",
           frame, p->y, p->vy, jump_label(p), jump_count());
}
