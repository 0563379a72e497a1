typedef int (*step_fn)(int);
extern long total;
extern int frames;
int *state_counter(void);
int state_step(int i);
step_fn state_step_fn(void);
int state_check(step_fn f);
const char *state_label(void);
