/* Bad moments to patch at: a thread in the allocator, one in the dynamic
 * loader, one raising SIGUSR1 every millisecond (argv[2] picks: a, l, s). */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int work(int i);

static volatile int stop;
static volatile long signals;

static void on_usr1(int sig)
{
    (void)sig;
    signals++;
}

static void *allocator(void *arg)
{
    (void)arg;
    unsigned n = 0;
    while (!stop) {
        void *p = malloc(64 + (n++ * 977) % 8192);
        free(p);
    }
    return NULL;
}

static void *loader(void *arg)
{
    (void)arg;
    while (!stop) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        if (h)
            dlclose(h);
    }
    return NULL;
}

static void *signaller(void *arg)
{
    (void)arg;
    while (!stop) {
        kill(getpid(), SIGUSR1);
        usleep(1000);
    }
    return NULL;
}

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    const char *which = argc > 2 ? argv[2] : "";
    pthread_t t[3];
    int started = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);
    if (strchr(which, 'a'))
        pthread_create(&t[started++], NULL, allocator, NULL);
    if (strchr(which, 'l'))
        pthread_create(&t[started++], NULL, loader, NULL);
    if (strchr(which, 's'))
        pthread_create(&t[started++], NULL, signaller, NULL);
    for (int i = 0; i < n; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        checkpoint(i);
        printf("frame %d: work=%d\n", i, work(i));
    }
    stop = 1;
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    printf("done\n");
    return 0;
}
