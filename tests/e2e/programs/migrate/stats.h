int *stats_counter(void);
int stats_step(int i);
const char *stats_line(void);
