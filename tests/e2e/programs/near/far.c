/* A shared library of the program's, with symbols: hotfix binds the patch's
 * calls of its functions to their addresses, beyond 2 GiB of the program. */
int far_add(int i)
{
    return 1000 + i;
}
