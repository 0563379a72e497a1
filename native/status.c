/* libhotfix: the error table and the last failure of each thread. */
#include "internal.h"

static const char *const error_text[] = {
#define HF_TEXT(code, text) text,
    HF_ERRORS(HF_TEXT)
#undef HF_TEXT
};

static __thread char error_detail[1024];

const char *hf_strerror(int status)
{
    if (status < 0 || status >= HF_NERRORS)
        return "unknown error";
    return error_text[status];
}

const char *hf_error_detail(void) { return error_detail; }

hf_status fail(hf_status st, const char *path, const char *fmt, ...)
{
    char what[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
    }
    snprintf(error_detail, sizeof error_detail, "%s: %s%s%s", path ? path : "?",
             hf_strerror(st), what[0] ? ": " : "", what);
    return st;
}

int hf_abi_version(void) { return HF_ABI_VERSION; }
void hf_free(void *p) { free(p); }
