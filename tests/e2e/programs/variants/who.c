/* Built twice, as libtool builds a unit: once for the shared library
 * (-fPIC -DPIC) and once for the program. */
#ifdef PIC
#define BUILT_FOR "the library"
#else
#define BUILT_FOR "the program"
#endif

const char *who(void)
{
    return BUILT_FOR ", version 1";
}
