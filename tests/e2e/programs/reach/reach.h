int reach_peek(void);
int reach_step(void);
int reach_same(void);
const char *reach_label(void);
