extern long long ticks; /* widened */
void tick(void);
int ticks_value(void);
int report(void);
