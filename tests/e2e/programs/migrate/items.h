void items_step(int i);
const char *items_line(void);
