/* A worker parked in read() until the main thread, in an inferior call,
 * writes to its pipe and sleeps: it runs on only if the debugger lets the
 * other threads run during the call, into moved(), where it parks again. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];

__attribute__((noinline)) void moved(void)
{
    char c;
    while (read(fds[0], &c, 1) == 1)
        ;
}

__attribute__((noinline)) void parked(void)
{
    char c;
    if (read(fds[0], &c, 1) == 1)
        moved();
}

static void *worker(void *arg)
{
    (void)arg;
    parked();
    return NULL;
}

/* Called by the test from the debugger. */
int release_and_wait(void)
{
    if (write(fds[1], "x", 1) != 1)
        perror("write");
    return usleep(600000);
}

__attribute__((noinline)) void checkpoint(void)
{
    __asm__ volatile("" ::: "memory");
}

int main(void)
{
    pthread_t t;
    if (pipe(fds) || pthread_create(&t, NULL, worker, NULL))
        return 1;
    usleep(200000);         /* the worker is in read() by now */
    checkpoint();
    puts("done");
    return 0;
}
