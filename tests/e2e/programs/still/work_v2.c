int work(int n)
{
    volatile int step = 100;
    return n + step;
}
