/* As jemalloc's private_namespace.h: the library's names get a prefix,
 * except in the compile that lists them (-DNO_NS). */
#ifndef NO_NS
#define helper ns_helper
#define value ns_value
#endif
