/* Soak: eight threads call bump() while it is patched again and again.
 * At the end: updates lost, the version each thread saw last, and how much
 * the process's memory grew. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 8

int bump(void);
extern long total;

static volatile int stop;
volatile int finish; /* set from the debugger: end after the current tick */
static long calls[THREADS];
static volatile int last[THREADS];

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

__attribute__((noinline)) void checkpoint(int tick)
{
    __asm__ volatile("" : : "r"(tick) : "memory");
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    while (!stop) {
        last[id] = bump();
        calls[id]++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int ticks = argc > 1 ? atoi(argv[1]) : 10; /* 0: until finish is set */
    pthread_t t[THREADS];
    setvbuf(stdout, NULL, _IOLBF, 0);
    long start = rss_kb();
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; (ticks == 0 || i < ticks) && !finish; i++) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        checkpoint(i);
    }
    /* Let every thread run the final version for a while. */
    struct timespec settle = {0, 50 * 1000 * 1000};
    nanosleep(&settle, NULL);
    stop = 1;
    long sum = 0;
    int agree = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        sum += calls[i];
        agree &= last[i] == last[0];
    }
    printf("threads=%d updates_lost=%ld last_version=%d threads_agree=%d rss_growth_kb=%ld\n", THREADS,
           sum - total, last[0], agree, rss_kb() - start);
    return 0;
}
