/* The edit adds a constructor that would crash if it ran again. */
__attribute__((constructor)) static void crash_if_run(void)
{
    *(volatile int *)0 = 1;
}

int work(int i)
{
    return i + 100;
}
