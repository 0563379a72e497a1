static long seen;       /* new in this patch: a file static */

long echo(int i)
{
    static long echoes; /* new in this patch: a function-local static */
    echoes += 1;
    seen += 10;
    return echoes * 1000 + seen;
}
