int c_value(int i)
{
    return -i;
}
