int work(int i)
{
    return i + 100;
}
