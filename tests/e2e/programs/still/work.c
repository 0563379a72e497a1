int work(int n)
{
    volatile int step = 1;      /* room for a jump at -O2 */
    return n + step;
}
