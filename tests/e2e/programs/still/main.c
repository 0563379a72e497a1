/* A worker thread the user stops at a breakpoint while the main thread
 * spins: hotfix must leave both where they are. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int work(int n);

volatile long spins;
volatile int finished;

__attribute__((noinline)) void tick(int n)
{
    printf("tick %d work=%d spins_moving=%d\n", n, work(n), spins > 0);
    fflush(stdout);
}

static void *worker(void *arg)
{
    int n = *(int *)arg;
    for (int i = 0; i < n; i++) {
        tick(i);
        usleep(20000);
    }
    finished = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    pthread_t t;
    pthread_create(&t, NULL, worker, &n);
    while (!finished)
        spins++;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
