#include <time.h>

/* The stop every scenario breaks at: one step of the program every 20 ms. */
__attribute__((noinline)) void checkpoint(int step)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __asm__ volatile("" : : "r"(step) : "memory");
}

/* Where the worker threads wait between two rounds. */
__attribute__((noinline)) void rest(int id)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __asm__ volatile("" : : "r"(id) : "memory");
}
