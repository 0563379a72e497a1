int c_value(int i)
{
    return -10 * i;
}
