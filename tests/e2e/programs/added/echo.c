long echo(int i)
{
    volatile long room = 0;     /* room for a jump at -O2 */
    return i + room;
}
