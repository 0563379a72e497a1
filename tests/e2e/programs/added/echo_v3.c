static long seen;

long echo(int i)
{
    static long echoes;
    echoes += 1;
    seen += 10;
    return echoes * 100000 + seen;
}
