extern int ticks; /* a global of ticks.c that report.c reads */
void tick(void);
int ticks_value(void);
int report(void);
