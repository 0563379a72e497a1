static int seen;

int lib_value(int i)
{
    seen++;
    return -(i + 1000 * seen);
}
