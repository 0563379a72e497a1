int work(int i)
{
    return i + 1;
}
