/* Eight threads call bump() in tight loops while the main thread ticks.
 * At the end: every update counted once, every thread ran the new code,
 * none went back to the old after it had seen the new. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 8

int bump(int id);
extern long total;

static volatile int stop;
static long calls[THREADS], newer[THREADS], back[THREADS];

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    while (!stop) {
        int version = bump(id);
        calls[id]++;
        if (version == 2)
            __atomic_fetch_add(&newer[id], 1, __ATOMIC_RELAXED);
        else if (newer[id])
            back[id]++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int ticks = argc > 1 ? atoi(argv[1]) : 6;
    pthread_t t[THREADS];
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < ticks; i++) {
        struct timespec ts = {0, 30 * 1000 * 1000};
        nanosleep(&ts, NULL);
        checkpoint(i);
        printf("tick %d\n", i);
    }
    /* The patch may land late (--wait lets the program run while it waits
     * for a safe moment, and the ticks may be over by then): give every
     * worker up to 5 s to reach the new code before stopping them. */
    for (int waited = 0; waited < 5000; waited++) {
        int all = 1;
        for (int i = 0; i < THREADS; i++)
            all &= __atomic_load_n(&newer[i], __ATOMIC_RELAXED) > 0;
        if (all)
            break;
        struct timespec ms = {0, 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    stop = 1;
    long sum = 0, switched = 0, went_back = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        sum += calls[i];
        switched += newer[i] > 0;
        went_back += back[i];
    }
    printf("threads=%d updates_lost=%ld switched=%ld went_back=%ld\n", THREADS, sum - total, switched,
           went_back);
    return 0;
}
