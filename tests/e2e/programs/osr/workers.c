#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "osr.h"

#define WORKERS 3
#define ROUNDS 300

static volatile int finished;

/* A worker thread's body: it returns only when the program is done. */
static void *work(void *arg)
{
    long id = (long)arg;
    long sum = 0;
    for (long round = 1; round <= ROUNDS; round++) {
        rest((int)id);
        sum += round;
        printf("worker %ld: round %ld sum %ld\n", id, round, sum);
    }
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t threads[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&threads[i], NULL, work, (void *)i);
    for (int step = 0; __atomic_load_n(&finished, __ATOMIC_SEQ_CST) < WORKERS; step++)
        checkpoint(step);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(threads[i], NULL);
    printf("all %d workers done\n", WORKERS);
    return 0;
}
