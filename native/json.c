/* libhotfix: JSON text, built in a growing buffer. */
#include "internal.h"

static void sb_grow(strbuf *sb, size_t more)
{
    if (sb->oom || sb->len + more + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap < sb->len + more + 1)
        cap *= 2;
    char *n = realloc(sb->buf, cap);
    if (!n) {
        sb->oom = 1;
        return;
    }
    sb->buf = n;
    sb->cap = cap;
}

void sb_printf(strbuf *sb, const char *fmt, ...)
{
    /* Written where it goes, and again only if it did not fit. */
    sb_grow(sb, 64);
    if (sb->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sb->cap - sb->len) {
        sb_grow(sb, (size_t)n);
        if (sb->oom)
            return;
        va_start(ap, fmt);
        vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
    }
    sb->len += (size_t)n;
}

void sb_append(strbuf *sb, const char *text, size_t n)
{
    sb_grow(sb, n);
    if (sb->oom)
        return;
    memcpy(sb->buf + sb->len, text, n);
    sb->len += n;
    sb->buf[sb->len] = 0;
}

void sb_json_string(strbuf *sb, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    sb_grow(sb, n * 6 + 2);
    if (sb->oom)
        return;
    char *o = sb->buf + sb->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = 0;
    sb->len = (size_t)(o - sb->buf);
}

hf_status sb_finish(strbuf *sb, char **out, const char *path)
{
    if (sb->oom) {
        free(sb->buf);
        return fail(HF_ENOMEM, path, NULL);
    }
    *out = sb->buf;
    return HF_OK;
}
