long total; /* one live instance, updated by every thread */

int bump(void)
{
    __atomic_fetch_add(&total, 1, __ATOMIC_RELAXED);
    return 2;
}
