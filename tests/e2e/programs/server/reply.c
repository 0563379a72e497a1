#include <stdio.h>

static int served;

const char *reply(const char *request)
{
    static char out[300];
    snprintf(out, sizeof out, "%d: hello %s", ++served, request);
    return out;
}
