/* Unit tests for libhotfix (hotfix.h): jump encoding, error texts, opening
 * files, the function diff against an object and against a linked program,
 * symbols and room, and the rebinding sites of a linked patch.
 *
 * Built and run by `make -C native check`.  No framework: CHECK counts and
 * prints `file:line: what` for each failure; the last line printed is
 * `N passed, M failed`, and the exit status is non-zero if any failed.
 * The diff tests compile small C sources with `cc` (run through
 * posix_spawnp, no shell) in a temporary directory removed at the end.
 */
#define _GNU_SOURCE
#include "hotfix.h"

#include <elf.h>
#include <ftw.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int passed, failed;

#define CHECK(cond, ...) check_((cond) != 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

/* Print `file:line: what` (what = the message, or the condition's text). */
static int check_(int ok, const char *file, int line, const char *cond, const char *fmt, ...)
{
    if (ok) {
        passed++;
        return 1;
    }
    failed++;
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    printf("%s:%d: %s (%s)\n", file, line, what, cond);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------- helpers */

static char tmpdir[256];

static const char *tmp(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *p = bufs[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static int write_file(const char *name, const char *text)
{
    FILE *f = fopen(tmp(name), "w");
    if (!f)
        return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Run argv (argv[0] found on PATH) in tmpdir; true if it exited with 0. */
static int run(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* Paths below are absolute, so no chdir is needed. */
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        printf("cannot run %s: %s\n", argv[0], strerror(rc));
        return 0;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("command failed:");
        for (int i = 0; argv[i]; i++)
            printf(" %s", argv[i]);
        printf("\n");
        return 0;
    }
    return 1;
}

/* cc -g -OPT -c -ffunction-sections -fdata-sections SRC -o OBJ */
static int compile(const char *src, const char *obj, const char *opt)
{
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp(src));
    snprintf(o, sizeof o, "%s", tmp(obj));
    char *argv[] = {"cc", "-g", (char *)opt, "-c", "-ffunction-sections", "-fdata-sections",
                    s, "-o", o, NULL};
    return run(argv);
}

/* Diff of two files in tmpdir (base_funcs as for hf_diff_json); NULL on
 * failure, which is itself reported. */
static char *diff(const char *newname, const char *basename, const char *base_funcs)
{
    hf_image *n = NULL, *b = NULL;
    char *out = NULL;
    int st = hf_open(tmp(newname), &n);
    if (!CHECK(st == HF_OK, "hf_open %s: %s", newname, hf_error_detail()))
        return NULL;
    st = hf_open(tmp(basename), &b);
    if (CHECK(st == HF_OK, "hf_open %s: %s", basename, hf_error_detail())) {
        st = hf_diff_json(n, b, base_funcs, &out);
        CHECK(st == HF_OK && out, "hf_diff_json %s vs %s: %s", newname, basename, hf_error_detail());
    }
    hf_close(n);
    hf_close(b);
    return st == HF_OK ? out : NULL;
}

/* Does the diff list function `name` with status `status`? */
static int has_status(const char *json, const char *name, const char *status)
{
    char pat[256];
    snprintf(pat, sizeof pat, "{\"name\":\"%s\",\"status\":\"%s\"", name, status);
    return json && strstr(json, pat) != NULL;
}

/* The status of function `name` in a diff, for messages. */
static const char *status_of(const char *json, const char *name)
{
    static char st[32];
    char pat[256];
    snprintf(pat, sizeof pat, "{\"name\":\"%s\",\"status\":\"", name);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p)
        return "(absent)";
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    snprintf(st, sizeof st, "%.*s", (int)(n < 31 ? n : 31), p);
    return st;
}

static int count(const char *json, const char *what)
{
    int n = 0;
    for (const char *p = json; p && (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Is `name` in the "removed" list of a diff? */
static int is_removed(const char *json, const char *name)
{
    const char *p = json ? strstr(json, "\"removed\":[") : NULL;
    if (!p)
        return 0;
    const char *end = strchr(p, ']');
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\"", name);
    const char *q = strstr(p, pat);
    return q && end && q < end;
}

/* A symbol of hf_symbols_json's output, scanned minimally. */
typedef struct {
    char name[128];
    char type[16];
    unsigned long long value, size, room;
} jsym;

static int scan_u64(const char *obj, const char *end, const char *key, unsigned long long *v)
{
    const char *p = strstr(obj, key);
    if (!p || p > end)
        return 0;
    return sscanf(p + strlen(key), "%llu", v) == 1;
}

/* Parse the "symbols" array: returns how many (at most max). */
static size_t scan_symbols(const char *json, jsym *out, size_t max)
{
    size_t n = 0;
    const char *p = json ? strstr(json, "\"symbols\":[") : NULL;
    while (p && n < max && (p = strstr(p, "{\"name\":\""))) {
        p += strlen("{\"name\":\"");
        const char *end = strchr(p, '}');
        if (!end)
            break;
        jsym *s = &out[n];
        memset(s, 0, sizeof *s);
        size_t len = strcspn(p, "\"");
        snprintf(s->name, sizeof s->name, "%.*s", (int)(len < 127 ? len : 127), p);
        const char *t = strstr(p, "\"type\":\"");
        if (t && t < end) {
            t += strlen("\"type\":\"");
            size_t tl = strcspn(t, "\"");
            snprintf(s->type, sizeof s->type, "%.*s", (int)(tl < 15 ? tl : 15), t);
        }
        if (scan_u64(p, end, "\"value\":", &s->value) && scan_u64(p, end, "\"size\":", &s->size) &&
            scan_u64(p, end, "\"room\":", &s->room))
            n++;
        p = end;
    }
    return n;
}

static const jsym *find_sym(const jsym *v, size_t n, const char *name, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name) && (!type || !strcmp(v[i].type, type)))
            return &v[i];
    return NULL;
}

/* hf_symbols_json of a file in tmpdir, scanned; returns the count. */
static size_t symbols_of(const char *name, jsym *out, size_t max, char **json)
{
    hf_image *img = NULL;
    char *text = NULL;
    size_t n = 0;
    int st = hf_open(tmp(name), &img);
    if (!CHECK(st == HF_OK, "hf_open %s: %s", name, hf_error_detail()))
        return 0;
    st = hf_symbols_json(img, &text);
    if (CHECK(st == HF_OK && text, "hf_symbols_json %s: %s", name, hf_error_detail()))
        n = scan_symbols(text, out, max);
    hf_close(img);
    if (json)
        *json = text;
    else
        hf_free(text);
    return n;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* --------------------------------------------------------------- jumps */

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void test_jumps(void)
{
    unsigned char buf[32];
    size_t len = 0;
    const uint64_t target = 0x1122334455667788ull;

    CHECK(hf_jump_size(HF_JUMP_ABS14) == 14, "ABS14 size %zu", hf_jump_size(HF_JUMP_ABS14));
    CHECK(hf_jump_size(HF_JUMP_R11) == 13, "R11 size %zu", hf_jump_size(HF_JUMP_R11));
    CHECK(hf_jump_size(HF_JUMP_REL32) == 5, "REL32 size %zu", hf_jump_size(HF_JUMP_REL32));
    CHECK(hf_jump_size(HF_JUMP_SELF) == 2, "SELF size %zu", hf_jump_size(HF_JUMP_SELF));
    CHECK(hf_jump_size(0) == 0 && hf_jump_size(8) == 0 && hf_jump_size(-1) == 0,
          "unknown kinds have size 0");

    /* The gate: jmp . (eb fe), whatever the target. */
    memset(buf, 0xcc, sizeof buf);
    int gst = hf_encode_jump(HF_JUMP_SELF, 0x400000, 0x500000, buf, sizeof buf, &len);
    CHECK(gst == HF_OK && len == 2 && buf[0] == 0xeb && buf[1] == 0xfe && buf[2] == 0xcc,
          "SELF encodes jmp .: st %d len %zu", gst, len);

    /* Decoding gives back what encoding wrote. */
    int kinds[] = {HF_JUMP_ABS14, HF_JUMP_R11, HF_JUMP_REL32, HF_JUMP_SELF};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        uint64_t from = 0x400000, to = kinds[i] == HF_JUMP_SELF ? from : 0x410000;
        int kind = -1;
        uint64_t got = 0;
        hf_encode_jump(kinds[i], from, to, buf, sizeof buf, &len);
        hf_decode_jump(EM_X86_64, buf, len, from, &kind, &got);
        CHECK(kind == kinds[i] && got == to, "decode kind %d: got kind %d target %#llx", kinds[i], kind,
              (unsigned long long)got);
    }
    static const unsigned char nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    int nk = -1;
    uint64_t nt = 1;
    hf_decode_jump(EM_X86_64, nop5, sizeof nop5, 0x400000, &nk, &nt);
    CHECK(nk == 0 && nt == 0, "a nop is not a jump: kind %d", nk);

    memset(buf, 0xcc, sizeof buf);
    int st = hf_encode_jump(HF_JUMP_ABS14, 0x400000, target, buf, sizeof buf, &len);
    static const unsigned char abs14[] = {0xff, 0x25, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    CHECK(st == HF_OK && len == 14, "ABS14 encodes: st %d len %zu", st, len);
    CHECK(!memcmp(buf, abs14, 14), "ABS14 bytes are ff 25 00000000 + le64 target");
    CHECK(buf[14] == 0xcc, "ABS14 writes no more than 14 bytes");

    memset(buf, 0xcc, sizeof buf);
    st = hf_encode_jump(HF_JUMP_R11, 0x400000, target, buf, sizeof buf, &len);
    static const unsigned char r11[] = {0x49, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x41, 0xff, 0xe3};
    CHECK(st == HF_OK && len == 13, "R11 encodes: st %d len %zu", st, len);
    CHECK(!memcmp(buf, r11, 13), "R11 bytes are 49 bb imm64 41 ff e3");
    CHECK(le64(buf + 2) == target, "R11 immediate is the target");
    CHECK(buf[13] == 0xcc, "R11 writes no more than 13 bytes");

    /* REL32 forward, backward and at both ends of its reach. */
    struct {
        uint64_t from, to;
        int32_t rel;
    } rel[] = {
        {0x401000, 0x402000, 0x2000 - 0x1005},
        {0x402000, 0x401000, -0x1005},
        {0x10000000, 0x10000005, 0},
        {0x1000, 0x1000 + 5 + (uint64_t)INT32_MAX, INT32_MAX},
        {0x100000000ull, 0x100000000ull + 5 - 0x80000000ull, INT32_MIN},
    };
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        memset(buf, 0xcc, sizeof buf);
        len = 0;
        st = hf_encode_jump(HF_JUMP_REL32, rel[i].from, rel[i].to, buf, 5, &len);
        int32_t d;
        memcpy(&d, buf + 1, 4);
        CHECK(st == HF_OK && len == 5 && buf[0] == 0xe9 && d == rel[i].rel,
              "REL32 %#" PRIx64 " -> %#" PRIx64 ": st %d len %zu op %02x rel %d, want %d", rel[i].from,
              rel[i].to, st, len, buf[0], d, rel[i].rel);
    }
    st = hf_encode_jump(HF_JUMP_REL32, 0x1000, 0x1000 + 5 + (uint64_t)INT32_MAX + 1, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "REL32 one past +2 GiB is out of range: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0x100000000ull, 0x100000000ull + 5 - 0x80000001ull, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "REL32 one past -2 GiB is out of range: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0x400000, 0x7f0000000000ull, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "REL32 from the program to a library is out of range: st %d", st);
    CHECK(strlen(hf_error_detail()) > 0, "ERANGE has a detail");

    st = hf_encode_jump(HF_JUMP_ABS14, 0, target, buf, 13, &len);
    CHECK(st == HF_ESPACE, "ABS14 into 13 bytes: st %d", st);
    st = hf_encode_jump(HF_JUMP_R11, 0, target, buf, 12, &len);
    CHECK(st == HF_ESPACE, "R11 into 12 bytes: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0, 16, buf, 4, &len);
    CHECK(st == HF_ESPACE, "REL32 into 4 bytes: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0, 16, NULL, 0, &len);
    CHECK(st == HF_ESPACE, "REL32 into no buffer: st %d", st);

    st = hf_encode_jump(0, 0, 16, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "kind 0: st %d", st);
    st = hf_encode_jump(99, 0, 16, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "kind 99: st %d", st);
}

static uint32_t word(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_jumps_a64(void)
{
    unsigned char buf[32];
    size_t len = 0;
    const uint64_t target = 0x0000ffff12345678ull;

    CHECK(hf_jump_size(HF_JUMP_A64_LDR) == 16, "A64 LDR size %zu", hf_jump_size(HF_JUMP_A64_LDR));
    CHECK(hf_jump_size(HF_JUMP_A64_B) == 4, "A64 B size %zu", hf_jump_size(HF_JUMP_A64_B));
    CHECK(hf_jump_size(HF_JUMP_A64_SELF) == 4, "A64 SELF size %zu", hf_jump_size(HF_JUMP_A64_SELF));

    /* ldr x16, .+8; br x16; .quad target */
    memset(buf, 0xcc, sizeof buf);
    int st = hf_encode_jump(HF_JUMP_A64_LDR, 0x5500001000, target, buf, sizeof buf, &len);
    CHECK(st == HF_OK && len == 16, "A64 LDR encodes: st %d len %zu", st, len);
    CHECK(word(buf) == 0x58000050 && word(buf + 4) == 0xd61f0200, "A64 LDR is ldr x16, #8; br x16: %08x %08x",
          word(buf), word(buf + 4));
    CHECK(le64(buf + 8) == target && buf[16] == 0xcc, "A64 LDR literal is the target, 16 bytes in all");
    /* An entry that is not 8-byte aligned still gets the 16-byte jump. */
    st = hf_encode_jump(HF_JUMP_A64_LDR, 0x5500001004, target, buf, sizeof buf, &len);
    CHECK(st == HF_OK && le64(buf + 8) == target, "A64 LDR at a 4-byte aligned entry: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_LDR, 0x5500001002, target, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "A64 LDR from an unaligned address: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_LDR, 0, target, buf, 15, &len);
    CHECK(st == HF_ESPACE, "A64 LDR into 15 bytes: st %d", st);

    /* b imm26: forward, backward, both ends of +-128 MiB. */
    struct {
        uint64_t from, to;
        uint32_t insn;
    } b[] = {
        {0x400000, 0x400008, 0x14000002},
        {0x400008, 0x400000, 0x17fffffe},
        {0x10000000, 0x10000000 + (1u << 27) - 4, 0x15ffffff},
        {0x10000000, 0x10000000 - (1u << 27), 0x16000000},
    };
    for (size_t i = 0; i < sizeof b / sizeof *b; i++) {
        memset(buf, 0xcc, sizeof buf);
        st = hf_encode_jump(HF_JUMP_A64_B, b[i].from, b[i].to, buf, sizeof buf, &len);
        CHECK(st == HF_OK && len == 4 && word(buf) == b[i].insn && buf[4] == 0xcc,
              "A64 B %#" PRIx64 " -> %#" PRIx64 ": st %d insn %08x, want %08x", b[i].from, b[i].to, st, word(buf),
              b[i].insn);
    }
    st = hf_encode_jump(HF_JUMP_A64_B, 0x10000000, 0x10000000 + (1u << 27), buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "A64 B one past +128 MiB: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_B, 0x10000000, 0x10000000 - (1u << 27) - 4, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "A64 B one past -128 MiB: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_B, 0x5500000000, 0xffff00000000ull, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "A64 B from the program to a library: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_B, 0x400000, 0x400002, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "A64 B to an unaligned address: st %d", st);

    /* The gate: b . */
    st = hf_encode_jump(HF_JUMP_A64_SELF, 0x400010, 0x999990, buf, sizeof buf, &len);
    CHECK(st == HF_OK && len == 4 && word(buf) == 0x14000000, "A64 SELF is b .: %08x", word(buf));

    int kinds[] = {HF_JUMP_A64_LDR, HF_JUMP_A64_B, HF_JUMP_A64_SELF};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        uint64_t from = 0x5500000a20, to = kinds[i] == HF_JUMP_A64_SELF ? from : 0x5500100000;
        int kind = -1;
        uint64_t got = 0;
        hf_encode_jump(kinds[i], from, to, buf, sizeof buf, &len);
        hf_decode_jump(EM_AARCH64, buf, len, from, &kind, &got);
        CHECK(kind == kinds[i] && got == to, "A64 decode kind %d: got kind %d target %#llx", kinds[i], kind,
              (unsigned long long)got);
    }
    static const unsigned char nop[] = {0x1f, 0x20, 0x03, 0xd5}, bl[] = {0x02, 0x00, 0x00, 0x94};
    int nk = -1;
    uint64_t nt = 1;
    hf_decode_jump(EM_AARCH64, nop, sizeof nop, 0x400000, &nk, &nt);
    CHECK(nk == 0 && nt == 0, "an A64 nop is not a jump: kind %d", nk);
    hf_decode_jump(EM_AARCH64, bl, sizeof bl, 0x400000, &nk, &nt);
    CHECK(nk == 0, "an A64 bl is not a jump hotfix writes: kind %d", nk);
    /* x86-64's jmp . is not an AArch64 jump, and the reverse. */
    hf_encode_jump(HF_JUMP_SELF, 0x400000, 0x400000, buf, sizeof buf, &len);
    hf_decode_jump(EM_AARCH64, buf, len, 0x400000, &nk, &nt);
    CHECK(nk == 0, "x86 jmp . decoded as AArch64: kind %d", nk);
    hf_encode_jump(HF_JUMP_A64_LDR, 0x400000, target, buf, sizeof buf, &len);
    hf_decode_jump(EM_X86_64, buf, len, 0x400000, &nk, &nt);
    CHECK(nk == 0, "A64 jump decoded as x86-64: kind %d", nk);
    st = hf_decode_jump(EM_386, buf, len, 0x400000, &nk, &nt);
    CHECK(st == HF_EMACHINE, "decoding for i386: st %d", st);
}

/* --------------------------------------------------------------- errors */

static void test_errors(void)
{
    for (int i = 0; i < HF_NERRORS; i++) {
        const char *a = hf_strerror(i);
        CHECK(a && a[0], "hf_strerror(%d) is non-empty", i);
        CHECK(a && strcmp(a, "unknown error"), "hf_strerror(%d) is not 'unknown error'", i);
        for (int j = 0; j < i; j++)
            CHECK(a && strcmp(a, hf_strerror(j)), "hf_strerror(%d) and (%d) differ", i, j);
    }
    CHECK(!strcmp(hf_strerror(-1), "unknown error"), "hf_strerror(-1): %s", hf_strerror(-1));
    CHECK(!strcmp(hf_strerror(HF_NERRORS), "unknown error"), "hf_strerror(HF_NERRORS): %s",
          hf_strerror(HF_NERRORS));
    CHECK(!strcmp(hf_strerror(1000), "unknown error"), "hf_strerror(1000): %s", hf_strerror(1000));
    CHECK(hf_abi_version() == HF_ABI_VERSION, "ABI version %d", hf_abi_version());
}

/* ----------------------------------------------------------------- open */

static void test_open(void)
{
    hf_image *img = (hf_image *)1;
    const char *missing = tmp("no-such-file.o");
    int st = hf_open(missing, &img);
    CHECK(st == HF_EOPEN, "missing file: st %d", st);
    CHECK(img == NULL, "missing file: *out is NULL");
    CHECK(strstr(hf_error_detail(), missing) != NULL, "detail names the file: %s", hf_error_detail());
    CHECK(strstr(hf_error_detail(), hf_strerror(HF_EOPEN)) != NULL, "detail says what: %s",
          hf_error_detail());

    img = (hf_image *)1;
    st = hf_open(__FILE__, &img);
    CHECK(st == HF_EELF, "a C source is not ELF: st %d", st);
    CHECK(img == NULL, "non-ELF: *out is NULL");
    CHECK(strstr(hf_error_detail(), __FILE__) != NULL, "detail names the file: %s", hf_error_detail());
    CHECK(strstr(hf_error_detail(), hf_strerror(HF_EELF)) != NULL && !strstr(hf_error_detail(), "no error"),
          "detail says what, and no 'no error': %s", hf_error_detail());

    write_file("empty.o", "");
    st = hf_open(tmp("empty.o"), &img);
    CHECK(st == HF_EELF, "an empty file is not ELF: st %d", st);
}

/* ------------------------------------------------------- diff: objects */

static const char base_c[] =
    "int f(int x) { return x * 3 + 7; }\n"
    "int g(int x) { return x - 2; }\n"
    "const char *s1(void) { return \"hello\"; }\n"
    "const char *s2(void) { return \"world\"; }\n"
    "int h(int x) { return x ^ 0x55; }\n";

/* (b) one constant of f */
static const char const_c[] =
    "int f(int x) { return x * 3 + 9; }\n"
    "int g(int x) { return x - 2; }\n"
    "const char *s1(void) { return \"hello\"; }\n"
    "const char *s2(void) { return \"world\"; }\n"
    "int h(int x) { return x ^ 0x55; }\n";

/* (c) the string s1 returns; s2's string moves in .rodata.str1.1 */
static const char string_c[] =
    "int f(int x) { return x * 3 + 7; }\n"
    "int g(int x) { return x - 2; }\n"
    "const char *s1(void) { return \"hellO!\"; }\n"
    "const char *s2(void) { return \"world\"; }\n"
    "int h(int x) { return x ^ 0x55; }\n";

/* (d) h removed, k new */
static const char newfn_c[] =
    "int f(int x) { return x * 3 + 7; }\n"
    "int g(int x) { return x - 2; }\n"
    "const char *s1(void) { return \"hello\"; }\n"
    "const char *s2(void) { return \"world\"; }\n"
    "int k(int x) { return x | 0x40; }\n";

static const char *const base_funcs_list[] = {"f", "g", "s1", "s2", "h"};

static void test_diff_objects(const char *opt)
{
    char o[64];
    printf("diff against an object at %s\n", opt);
    if (!CHECK(write_file("base.c", base_c) && write_file("same.c", base_c) && write_file("const.c", const_c) &&
                   write_file("string.c", string_c) && write_file("newfn.c", newfn_c),
               "write sources"))
        return;
    const char *names[] = {"base", "same", "const", "string", "newfn"};
    for (size_t i = 0; i < 5; i++) {
        char c[64];
        snprintf(c, sizeof c, "%s.c", names[i]);
        snprintf(o, sizeof o, "%s.o", names[i]);
        if (!CHECK(compile(c, o, opt), "compile %s %s", c, opt))
            return;
    }

    /* (a) identical source: every function the same, nothing new or removed. */
    char *j = diff("same.o", "base.o", NULL);
    for (size_t i = 0; i < 5; i++)
        CHECK(has_status(j, base_funcs_list[i], "same"), "%s identical: %s is %s", opt, base_funcs_list[i],
              status_of(j, base_funcs_list[i]));
    CHECK(count(j, "\"status\":") == 5, "%s identical: 5 functions, got %d", opt, count(j, "\"status\":"));
    CHECK(j && strstr(j, "\"removed\":[]"), "%s identical: nothing removed", opt);
    hf_free(j);

    /* An object against itself. */
    j = diff("base.o", "base.o", NULL);
    CHECK(count(j, "\"status\":\"same\"") == 5, "%s itself: all same", opt);
    hf_free(j);

    /* (b) a changed constant: only f. */
    j = diff("const.o", "base.o", NULL);
    CHECK(has_status(j, "f", "changed"), "%s constant: f is %s", opt, status_of(j, "f"));
    for (size_t i = 1; i < 5; i++)
        CHECK(has_status(j, base_funcs_list[i], "same"), "%s constant: %s is %s", opt, base_funcs_list[i],
              status_of(j, base_funcs_list[i]));
    CHECK(count(j, "\"status\":\"changed\"") == 1, "%s constant: one change", opt);
    hf_free(j);

    /* (c) a changed string literal: s1, and not s2 whose string moved. */
    j = diff("string.o", "base.o", NULL);
    CHECK(has_status(j, "s1", "changed"), "%s string: s1 is %s", opt, status_of(j, "s1"));
    CHECK(has_status(j, "s2", "same"), "%s string: s2 is %s", opt, status_of(j, "s2"));
    CHECK(count(j, "\"status\":\"changed\"") == 1, "%s string: one change", opt);
    hf_free(j);
    /* And back: the same verdict the other way round. */
    j = diff("base.o", "string.o", NULL);
    CHECK(has_status(j, "s1", "changed"), "%s string (reverse): s1 is %s", opt, status_of(j, "s1"));
    CHECK(has_status(j, "s2", "same"), "%s string (reverse): s2 is %s", opt, status_of(j, "s2"));
    hf_free(j);

    /* (d) a new function and a removed one. */
    j = diff("newfn.o", "base.o", NULL);
    CHECK(has_status(j, "k", "new"), "%s new: k is %s", opt, status_of(j, "k"));
    CHECK(is_removed(j, "h"), "%s new: h is removed", opt);
    CHECK(!is_removed(j, "f") && !is_removed(j, "k"), "%s new: only h removed", opt);
    CHECK(!strstr(j ? j : "", "{\"name\":\"h\""), "%s new: h is not among the functions", opt);
    for (size_t i = 0; i < 4; i++)
        CHECK(has_status(j, base_funcs_list[i], "same"), "%s new: %s is %s", opt, base_funcs_list[i],
              status_of(j, base_funcs_list[i]));
    hf_free(j);
}

/* (e) at -O2 a static helper is inlined into its caller. */
static void test_diff_inlined(void)
{
    printf("diff of an inlined static helper at -O2\n");
    static const char a[] = "static int helper(int x) { return x * 5; }\n"
                            "int caller(int x) { return helper(x) + 1; }\n"
                            "int other(int x) { return x + 100; }\n";
    static const char b[] = "static int helper(int x) { return x * 6; }\n"
                            "int caller(int x) { return helper(x) + 1; }\n"
                            "int other(int x) { return x + 100; }\n";
    if (!CHECK(write_file("inl_a.c", a) && write_file("inl_b.c", b), "write sources"))
        return;
    if (!CHECK(compile("inl_a.c", "inl_a2.o", "-O2") && compile("inl_b.c", "inl_b2.o", "-O2") &&
                   compile("inl_a.c", "inl_a0.o", "-O0") && compile("inl_b.c", "inl_b0.o", "-O0"),
               "compile"))
        return;
    char *j = diff("inl_b2.o", "inl_a2.o", NULL);
    CHECK(has_status(j, "caller", "changed"), "-O2 inlined helper: caller is %s", status_of(j, "caller"));
    CHECK(has_status(j, "other", "same"), "-O2 inlined helper: other is %s", status_of(j, "other"));
    hf_free(j);
    /* At -O0 it is the helper that changes, and the caller calls it. */
    j = diff("inl_b0.o", "inl_a0.o", NULL);
    CHECK(has_status(j, "helper", "changed"), "-O0 helper: helper is %s", status_of(j, "helper"));
    CHECK(has_status(j, "caller", "same"), "-O0 helper: caller is %s", status_of(j, "caller"));
    CHECK(j && strstr(j, "\"name\":\"caller\"") &&
              strstr(strstr(j, "\"name\":\"caller\""), "\"refs\":[\"helper\"]"),
          "-O0 helper: caller refers to helper");
    hf_free(j);
}

/* ------------------------------------------------ diff: linked program */

static const char prog_a_c[] =
    "#include <stdio.h>\n"
    "int shared_counter = 1;\n"
    "int twice(int x);\n"
    "const char *greet(void);\n"
    "int bump(void);\n"
    "void say(void);\n"
    "int helper_in_a(int x) { return x + 1; }\n"
    "int main(void) { say(); printf(\"%d %d\\n\", twice(3), bump()); return 0; }\n";

static const char prog_b_c[] =
    "#include <stdio.h>\n"
    "extern int shared_counter;\n"
    "int helper_in_a(int x);\n"
    "static int local_total;\n"
    "static const int table[4] = {10, 20, 30, 40};\n"
    "int twice(int x) { return helper_in_a(x) * 2 + table[x & 3]; }\n"
    "const char *greet(void) { return \"hi there\"; }\n"
    "int bump(void) { static int calls; calls++; local_total += 3; shared_counter++;\n"
    "                 return local_total + shared_counter + calls; }\n"
    "void say(void) { printf(\"%s!\\n\", greet()); }\n";

/* bump adds 4 instead of 3 */
static const char prog_b_edit_c[] =
    "#include <stdio.h>\n"
    "extern int shared_counter;\n"
    "int helper_in_a(int x);\n"
    "static int local_total;\n"
    "static const int table[4] = {10, 20, 30, 40};\n"
    "int twice(int x) { return helper_in_a(x) * 2 + table[x & 3]; }\n"
    "const char *greet(void) { return \"hi there\"; }\n"
    "int bump(void) { static int calls; calls++; local_total += 4; shared_counter++;\n"
    "                 return local_total + shared_counter + calls; }\n"
    "void say(void) { printf(\"%s!\\n\", greet()); }\n";

/* greet's string grows: say's string moves in .rodata (at -O0). */
static const char prog_b_string_c[] =
    "#include <stdio.h>\n"
    "extern int shared_counter;\n"
    "int helper_in_a(int x);\n"
    "static int local_total;\n"
    "static const int table[4] = {10, 20, 30, 40};\n"
    "int twice(int x) { return helper_in_a(x) * 2 + table[x & 3]; }\n"
    "const char *greet(void) { return \"hi THERE!!\"; }\n"
    "int bump(void) { static int calls; calls++; local_total += 3; shared_counter++;\n"
    "                 return local_total + shared_counter + calls; }\n"
    "void say(void) { printf(\"%s!\\n\", greet()); }\n";

/* "NAME ADDR SIZE\n" for each function of object `obj` found in `prog`,
 * both read through hf_symbols_json. */
static char *base_funcs_for(const char *obj, const char *prog, int *nfuncs)
{
    static jsym os[512], ps[4096];
    size_t no = symbols_of(obj, os, 512, NULL);
    size_t np = symbols_of(prog, ps, 4096, NULL);
    size_t cap = 4096, len = 0;
    char *text = calloc(1, cap);
    *nfuncs = 0;
    for (size_t i = 0; text && i < no; i++) {
        if (strcmp(os[i].type, "func") || !os[i].size)
            continue;
        const jsym *p = find_sym(ps, np, os[i].name, "func");
        if (!CHECK(p != NULL, "%s: %s is in %s", obj, os[i].name, prog))
            continue;
        len += (size_t)snprintf(text + len, cap - len, "%s %llx %llx\n", p->name, p->value, p->size);
        (*nfuncs)++;
    }
    return text;
}

static void test_diff_program(void)
{
    printf("diff against a linked program\n");
    if (!CHECK(write_file("a.c", prog_a_c) && write_file("b.c", prog_b_c) && write_file("b_edit.c", prog_b_edit_c) &&
                   write_file("b_string.c", prog_b_string_c),
               "write sources"))
        return;
    char a[512], b[512], prog[512];
    snprintf(a, sizeof a, "%s", tmp("a.c"));
    snprintf(b, sizeof b, "%s", tmp("b.c"));
    snprintf(prog, sizeof prog, "%s", tmp("prog"));
    char *link[] = {"cc", "-g", "-O0", a, b, "-o", prog, NULL};
    if (!CHECK(run(link), "link prog") || !CHECK(compile("b.c", "b.o", "-O0"), "compile b.c") ||
        !CHECK(compile("b_edit.c", "b_edit.o", "-O0"), "compile b_edit.c") ||
        !CHECK(compile("b_string.c", "b_string.o", "-O0"), "compile b_string.c"))
        return;

    int n = 0;
    char *funcs = base_funcs_for("b.o", "prog", &n);
    CHECK(n == 4, "b.c has 4 functions in prog, found %d", n);
    const char *names[] = {"twice", "greet", "bump", "say"};

    int before = failed;
    char *j = diff("b.o", "prog", funcs);
    for (size_t i = 0; i < 4; i++)
        CHECK(has_status(j, names[i], "same"), "b.o vs prog: %s is %s", names[i], status_of(j, names[i]));
    CHECK(j && strstr(j, "\"removed\":[]"), "b.o vs prog: nothing removed");
    if (failed > before && j)
        printf("%s\n", j);
    hf_free(j);

    j = diff("b_edit.o", "prog", funcs);
    CHECK(has_status(j, "bump", "changed"), "edited b.c vs prog: bump is %s", status_of(j, "bump"));
    for (size_t i = 0; i < 4; i++)
        if (strcmp(names[i], "bump"))
            CHECK(has_status(j, names[i], "same"), "edited b.c vs prog: %s is %s", names[i], status_of(j, names[i]));
    hf_free(j);

    j = diff("b_string.o", "prog", funcs);
    CHECK(has_status(j, "greet", "changed"), "string of b.c vs prog: greet is %s", status_of(j, "greet"));
    for (size_t i = 0; i < 4; i++)
        if (strcmp(names[i], "greet"))
            CHECK(has_status(j, names[i], "same"), "string of b.c vs prog: %s is %s", names[i],
                  status_of(j, names[i]));
    hf_free(j);
    /* The same edit against the object b.c was compiled to. */
    j = diff("b_string.o", "b.o", NULL);
    CHECK(has_status(j, "greet", "changed"), "string of b.c vs b.o: greet is %s", status_of(j, "greet"));
    CHECK(has_status(j, "say", "same"), "string of b.c vs b.o: say is %s", status_of(j, "say"));
    hf_free(j);

    /* A function the program has but the new object lacks is removed. */
    if (funcs) {
        size_t l = strlen(funcs);
        char *more = malloc(l + 64);
        if (more) {
            snprintf(more, l + 64, "%sgone 1000 10\n", funcs);
            j = diff("b.o", "prog", more);
            CHECK(is_removed(j, "gone"), "a base function absent from the object is removed");
            hf_free(j);
            free(more);
        }
    }
    free(funcs);

    /* 5. symbols and room in the linked program. */
    static jsym ps[4096];
    char *json = NULL;
    size_t np = symbols_of("prog", ps, 4096, &json);
    const jsym *s = find_sym(ps, np, "bump", NULL);
    if (CHECK(s != NULL, "prog lists bump")) {
        CHECK(!strcmp(s->type, "func"), "bump is a func, not %s", s->type);
        CHECK(s->size > 0, "bump has a size");
        CHECK(s->room >= s->size, "bump's room %llu >= its size %llu", s->room, s->size);
        CHECK(s->value != 0, "bump has an address");
    }
    s = find_sym(ps, np, "shared_counter", NULL);
    if (CHECK(s != NULL, "prog lists shared_counter"))
        CHECK(!strcmp(s->type, "object") && s->room == 0, "shared_counter is an object without room");
    CHECK(json && !strncmp(json, "{\"type\":\"", 9), "symbols JSON starts with the image type");
    CHECK(json && strstr(json, "\"name\":\"bump\",") &&
              strstr(strstr(json, "\"name\":\"bump\","), "\"bind\":\"global\""),
          "bump is global");
    hf_free(json);

    /* In an object, room reaches the end of the function's own section. */
    static jsym os[512];
    size_t no = symbols_of("b.o", os, 512, NULL);
    s = find_sym(os, no, "say", "func");
    if (CHECK(s != NULL, "b.o lists say"))
        CHECK(s->room >= s->size && s->size > 0, "say's room %llu >= size %llu", s->room, s->size);
}

/* ------------------------------------------------------ rebinding sites */

typedef struct {
    unsigned long long at, target;
    char kind[16], sym[128];
} jsite;

static size_t scan_sites(const char *json, jsite *out, size_t max)
{
    size_t n = 0;
    const char *p = json;
    while (p && n < max && (p = strstr(p, "{\"at\":"))) {
        jsite *s = &out[n];
        memset(s, 0, sizeof *s);
        const char *end = strchr(p, '}');
        if (!end)
            break;
        if (sscanf(p, "{\"at\":%llu,\"kind\":\"%15[^\"]\",\"sym\":\"%127[^\"]\",\"target\":%llu", &s->at, s->kind,
                   s->sym, &s->target) == 4 ||
            sscanf(p, "{\"at\":%llu,\"kind\":\"%15[^\"]\",\"sym\":\"\",\"target\":%llu", &s->at, s->kind,
                   &s->target) == 3)
            n++;
        p = end;
    }
    return n;
}


/* hf_units_json on programs from gcc and clang, DWARF 4 and 5, with and
 * without function sections (so both DW_AT_high_pc and range lists): every
 * function of b.c lies in b.c's ranges and in no range of a.c. */
static int in_unit_ranges(const char *unit, unsigned long long addr)
{
    const char *r = strstr(unit, "\"ranges\":[");
    const char *end = r ? strstr(r, "]]") : NULL;
    if (!r || !end)
        return 0;
    for (const char *p = r + strlen("\"ranges\":["); p && p < end; p = strchr(p + 1, '[')) {
        unsigned long long lo, hi;
        if (sscanf(p, "[%llu,%llu]", &lo, &hi) == 2 && lo <= addr && addr < hi)
            return 1;
    }
    return 0;
}

/* b.c's DIEs: its statics with the addresses their symbols have, bump as a
 * subprogram, parameters left out. */
static void check_unit_dies(hf_image *img, const char *json, const char *unit, const jsym *syms, size_t n,
                            const char *cc, const char *dwarf, const char *opt)
{
    const char *at = NULL; /* the unit's offset comes before its name */
    for (const char *p = strstr(json, "\"offset\":"); p && p < unit; p = strstr(p + 1, "\"offset\":"))
        at = p;
    unsigned long long offset = 0;
    char *dies = NULL;
    if (!CHECK(at && sscanf(at, "\"offset\":%llu", &offset) == 1, "%s %s: b.c's offset", cc, dwarf) ||
        !CHECK(hf_unit_dies_json(img, offset, &dies) == HF_OK && dies, "%s %s %s: hf_unit_dies_json: %s", cc,
               dwarf, opt, hf_error_detail()))
        return;
    const jsym *total = find_sym(syms, n, "local_total", "object");
    char want[128];
    snprintf(want, sizeof want, "\"n\":\"local_total\",");
    const char *die = strstr(dies, want);
    unsigned long long addr = 0;
    const char *a = die ? strstr(die, "\"a\":") : NULL;
    CHECK(total && die && a && a < strchr(die, '}') && sscanf(a, "\"a\":%llu", &addr) == 1 && addr == total->value,
          "%s %s %s: local_total's DIE has its symbol's address 0x%llx: %.300s", cc, dwarf, opt,
          total ? total->value : 0, die ? die : dies);
    die = strstr(dies, "\"n\":\"calls\"");
    CHECK(die && strstr(die, "\"a\":") && strstr(die, "\"a\":") < strchr(die, '}'),
          "%s %s %s: the static local calls has a fixed address: %.200s", cc, dwarf, opt, die ? die : dies);
    CHECK(strstr(dies, "\"t\":46,\"p\":0,\"n\":\"bump\""), "%s %s %s: bump is a subprogram of the unit",
          cc, dwarf, opt);
    CHECK(!strstr(dies, "\"n\":\"x\""), "%s %s %s: parameters are left out", cc, dwarf, opt);
    CHECK(!strncmp(dies, "[{\"o\":", 6) && strstr(dies, "\"t\":17,\"p\":-1"), "%s %s %s: the unit's DIE first",
          cc, dwarf, opt);
    hf_free(dies);
}

static void test_units(void)
{
    printf("compile unit headers\n");
    if (!CHECK(write_file("a.c", prog_a_c) && write_file("b.c", prog_b_c), "write sources"))
        return;
    const char *ccs[] = {"gcc", "clang"};
    const char *opts[][2] = {{"-gdwarf-4", "-O0"}, {"-gdwarf-5", "-O0"}, {"-gdwarf-4", "-O2 -ffunction-sections"},
                             {"-gdwarf-5", "-O2 -ffunction-sections"}};
    for (size_t c = 0; c < 2; c++)
        for (size_t o = 0; o < 4; o++) {
            char a[512], b[512], prog[512];
            snprintf(a, sizeof a, "%s", tmp("a.c"));
            snprintf(b, sizeof b, "%s", tmp("b.c"));
            snprintf(prog, sizeof prog, "%s", tmp("uprog"));
            int fs = strstr(opts[o][1], "function-sections") != NULL;
            char *link[] = {(char *)ccs[c], "-g", (char *)opts[o][0], fs ? "-O2" : "-O0",
                            fs ? "-ffunction-sections" : "-fno-function-sections", a, b, "-o", prog, NULL};
            if (!CHECK(run(link), "%s %s %s", ccs[c], opts[o][0], opts[o][1]))
                continue;
            hf_image *img = NULL;
            char *json = NULL;
            if (!CHECK(hf_open(prog, &img) == HF_OK && hf_units_json(img, &json) == HF_OK && json,
                       "hf_units_json: %s", hf_error_detail())) {
                hf_close(img);
                continue;
            }
            jsym syms[64];
            size_t n = symbols_of("uprog", syms, 64, NULL);
            char pat_a[600], pat_b[600];
            snprintf(pat_a, sizeof pat_a, "\"name\":\"%s\"", a);
            snprintf(pat_b, sizeof pat_b, "\"name\":\"%s\"", b);
            const char *ua = strstr(json, pat_a), *ub = strstr(json, pat_b);
            CHECK(strstr(json, "\"debug_info\":true") && ua && ub && count(json, "\"offset\":") == 2,
                  "%s %s %s: two units a.c and b.c: %s", ccs[c], opts[o][0], opts[o][1], json);
            CHECK(!strstr(json, "\"stmt_list\":-1"), "%s %s: every unit has a line table", ccs[c], opts[o][0]);
            CHECK(ua && strstr(ua, ccs[c][0] == 'g' ? "\"producer\":\"GNU C" : "\"producer\":\"Debian clang"),
                  "%s %s: the producer is named", ccs[c], opts[o][0]);
            const char *funcs[] = {"twice", "greet", "bump", "say"};
            for (size_t i = 0; ua && ub && i < 4; i++) {
                const jsym *s = find_sym(syms, n, funcs[i], "func");
                if (!s)
                    continue; /* inlined away at -O2 */
                /* ub's object ends where ua's begins if b.c comes first; a.c is first. */
                CHECK(in_unit_ranges(ub, s->value) && !in_unit_ranges(ua, s->value),
                      "%s %s %s: %s (0x%llx) lies in b.c's ranges only: %s", ccs[c], opts[o][0], opts[o][1],
                      funcs[i], s->value, json);
            }
            if (ub)
                check_unit_dies(img, json, ub, syms, n, ccs[c], opts[o][0], opts[o][1]);
            char *header = NULL;
            unsigned long long entry = 0, dyn = 0;
            const char *e = NULL, *d = NULL;
            if (CHECK(hf_header_json(img, &header) == HF_OK && header, "hf_header_json")) {
                e = strstr(header, "\"entry\":");
                d = strstr(header, "\"dynamic_address\":");
                CHECK(strstr(header, "\"type\":\"dyn\",\"machine\":\"x86_64\",\"dynamic\":true") && e && d &&
                          sscanf(e, "\"entry\":%llu", &entry) == 1 && entry &&
                          sscanf(d, "\"dynamic_address\":%llu", &dyn) == 1 && dyn,
                      "%s: a PIE program's header: %s", ccs[c], header);
                const jsym *start = find_sym(syms, n, "_start", "func");
                CHECK(start && start->value == entry, "%s: the entry point is _start", ccs[c]);
            }
            hf_free(header);
            hf_close(img);
            hf_free(json);
        }
    hf_image *img = NULL;
    char *json = NULL;
    char a[512], b[512], nodebug[512];
    snprintf(a, sizeof a, "%s", tmp("a.c"));
    snprintf(b, sizeof b, "%s", tmp("b.c"));
    snprintf(nodebug, sizeof nodebug, "%s", tmp("nodebug"));
    char *strip[] = {"cc", "-O0", a, b, "-o", nodebug, NULL};
    if (CHECK(run(strip), "link without -g") && CHECK(hf_open(nodebug, &img) == HF_OK, "open nodebug") &&
        CHECK(hf_units_json(img, &json) == HF_OK && json, "hf_units_json nodebug"))
        CHECK(!strcmp(json, "{\"debug_info\":false,\"units\":[]}"), "no -g: %s", json);
    hf_free(json);
    hf_close(img);
}

static void test_sites(void)
{
    printf("rebinding sites of a patch .so\n");
    static const char u_c[] = "static int counter;\n"
                              "static int limit = 7;\n"
                              "extern int outside;\n"
                              "int step(void) { counter += limit; return counter + outside; }\n";
    if (!CHECK(write_file("u.c", u_c), "write u.c"))
        return;
    char src[512], obj[512], so[512];
    snprintf(src, sizeof src, "%s", tmp("u.c"));
    snprintf(obj, sizeof obj, "%s", tmp("u.o"));
    snprintf(so, sizeof so, "%s", tmp("p.so"));
    char *cc[] = {"cc", "-g", "-fPIC", "-mcmodel=large", "-fvisibility=hidden", "-ffunction-sections",
                  "-fdata-sections", "-c", src, "-o", obj, NULL};
    char *ld[] = {"cc", "-shared", "-Wl,--emit-relocs", "-o", so, obj, NULL};
    if (!CHECK(run(cc), "compile u.c") || !CHECK(run(ld), "link p.so"))
        return;

    static jsym syms[1024];
    size_t ns = symbols_of("p.so", syms, 1024, NULL);
    const jsym *counter = find_sym(syms, ns, "counter", "object");
    const jsym *limit = find_sym(syms, ns, "limit", "object");
    if (!CHECK(counter && limit, "p.so lists counter and limit"))
        return;

    hf_image *img = NULL;
    char *json = NULL;
    int st = hf_open(so, &img);
    if (!CHECK(st == HF_OK, "hf_open p.so: %s", hf_error_detail()))
        return;
    st = hf_sites_json(img, &json);
    CHECK(st == HF_OK && json, "hf_sites_json: %s", hf_error_detail());
    hf_close(img);
    if (!json)
        return;

    static jsite sites[1024];
    size_t n = scan_sites(json, sites, 1024);
    CHECK(n > 0, "p.so has sites");
    int counter_found = 0, limit_found = 0, outside_found = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(sites[i].kind, "gotoff64") && sites[i].target == counter->value)
            counter_found = 1;
        if (!strcmp(sites[i].kind, "gotoff64") && sites[i].target == limit->value)
            limit_found = 1;
        if (!strcmp(sites[i].kind, "got64") && !strcmp(sites[i].sym, "outside"))
            outside_found = 1;
    }
    CHECK(counter_found, "a gotoff64 site targets counter at %#llx", counter->value);
    CHECK(limit_found, "a gotoff64 site targets limit at %#llx", limit->value);
    CHECK(outside_found, "a got64 site names outside");
    if (!counter_found || !limit_found || !outside_found)
        printf("%s\n", json);
    hf_free(json);
}

/* ---------------------------------------------------------------- AArch64 */

#define A64_CC "aarch64-linux-gnu-gcc"

static int on_path(const char *name)
{
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, name);
        if (access(dir, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

/* The diff against an AArch64 PIE, as hotfix compiles the diff object there
 * (-ffunction-sections only: -fdata-sections would turn off the section
 * anchors -O2 code addresses statics with).  adrp/:lo12: pairs, GOT loads,
 * calls through the PLT and anchors must all compare equal. */
static void test_a64_program(const char *opt)
{
    printf("AArch64 diff against a linked program (%s)\n", opt);
    if (!CHECK(write_file("x_a.c", prog_a_c) && write_file("x_b.c", prog_b_c) &&
                   write_file("x_b_edit.c", prog_b_edit_c) && write_file("x_b_string.c", prog_b_string_c),
               "write sources"))
        return;
    char a[512], b[512], prog[512];
    snprintf(a, sizeof a, "%s", tmp("x_a.c"));
    snprintf(b, sizeof b, "%s", tmp("x_b.c"));
    snprintf(prog, sizeof prog, "%s", tmp("x_prog"));
    char *link[] = {A64_CC, "-g", (char *)opt, a, b, "-o", prog, NULL};
    if (!CHECK(run(link), "link x_prog"))
        return;
    const char *srcs[] = {"x_b.c", "x_b_edit.c", "x_b_string.c"}, *objs[] = {"x_b.o", "x_b_edit.o", "x_b_string.o"};
    for (int i = 0; i < 3; i++) {
        char s[512], o[512];
        snprintf(s, sizeof s, "%s", tmp(srcs[i]));
        snprintf(o, sizeof o, "%s", tmp(objs[i]));
        char *cc[] = {A64_CC, "-g", (char *)opt, "-c", "-ffunction-sections", s, "-o", o, NULL};
        if (!CHECK(run(cc), "compile %s", srcs[i]))
            return;
    }
    hf_image *img = NULL;
    char *json = NULL;
    if (CHECK(hf_open(prog, &img) == HF_OK, "hf_open x_prog: %s", hf_error_detail())) {
        CHECK(hf_symbols_json(img, &json) == HF_OK && json && strstr(json, "\"machine\":\"aarch64\""),
              "x_prog's machine is aarch64");
        hf_free(json);
        hf_close(img);
    }
    int n = 0;
    char *funcs = base_funcs_for("x_b.o", "x_prog", &n);
    CHECK(n == 4, "x_b.c has 4 functions in x_prog, found %d", n);
    const char *names[] = {"twice", "greet", "bump", "say"};
    struct {
        const char *obj, *changed, *changed_o2;
    } cases[] = {{"x_b.o", NULL, NULL}, {"x_b_edit.o", "bump", NULL},
                 /* at -O2 greet is inlined into say, which changes with it */
                 {"x_b_string.o", "greet", "say"}};
    for (size_t c = 0; c < 3; c++) {
        int before = failed;
        char *j = diff(cases[c].obj, "x_prog", funcs);
        for (size_t i = 0; i < 4; i++) {
            int o2 = !strcmp(opt, "-O2");
            const char *want = (cases[c].changed && !strcmp(names[i], cases[c].changed)) ||
                                       (o2 && cases[c].changed_o2 && !strcmp(names[i], cases[c].changed_o2))
                                   ? "changed"
                                   : "same";
            CHECK(has_status(j, names[i], want), "%s %s vs x_prog: %s is %s, not %s", opt, cases[c].obj, names[i],
                  status_of(j, names[i]), want);
        }
        if (failed > before && j)
            printf("%s\n", j);
        hf_free(j);
    }
    free(funcs);
}

/* The rebinding sites of an AArch64 patch: every address the loader
 * writes (GOT and PLT slots, pointers in data). */
static void test_a64_sites(void)
{
    printf("AArch64 rebinding sites\n");
    static const char u_c[] = "static int counter;\n"
                              "int *where = &counter;\n"
                              "extern int outside;\n"
                              "int helper(int);\n"
                              "int step(void) { *where += 1; return helper(counter) + outside; }\n";
    if (!CHECK(write_file("xu.c", u_c), "write xu.c"))
        return;
    char src[512], obj[512], so[512];
    snprintf(src, sizeof src, "%s", tmp("xu.c"));
    snprintf(obj, sizeof obj, "%s", tmp("xu.o"));
    snprintf(so, sizeof so, "%s", tmp("xp.so"));
    char *cc[] = {A64_CC, "-g", "-O2", "-fPIC", "-fvisibility=hidden", "-c", src, "-o", obj, NULL};
    char *ld[] = {A64_CC, "-shared", "-nostartfiles", "-Wl,-z,now", "-o", so, obj, NULL};
    if (!CHECK(run(cc), "compile xu.c") || !CHECK(run(ld), "link xp.so"))
        return;
    static jsym syms[256];
    size_t ns = symbols_of("xp.so", syms, 256, NULL);
    const jsym *counter = find_sym(syms, ns, "counter", "object");
    if (!CHECK(counter != NULL, "xp.so lists counter"))
        return;
    hf_image *img = NULL;
    char *json = NULL;
    if (!CHECK(hf_open(so, &img) == HF_OK, "hf_open xp.so: %s", hf_error_detail()))
        return;
    CHECK(hf_sites_json(img, &json) == HF_OK && json, "hf_sites_json: %s", hf_error_detail());
    hf_close(img);
    static jsite sites[256];
    size_t n = scan_sites(json, sites, 256);
    int where = 0, outside = 0, helper = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sites[i].kind, "abs64"))
            other++;
        else if (!sites[i].sym[0] && sites[i].target == counter->value)
            where = 1;
        else if (!strcmp(sites[i].sym, "outside") && !sites[i].target)
            outside = 1;
        else if (!strcmp(sites[i].sym, "helper") && !sites[i].target)
            helper = 1;
    }
    CHECK(where, "the pointer to counter in data is a site targeting %#llx", counter->value);
    CHECK(outside, "outside's GOT slot is a site naming it");
    CHECK(helper, "helper's PLT slot is a site naming it");
    CHECK(!other, "every AArch64 site is abs64");
    if (!where || !outside || !helper || other)
        printf("%s\n", json ? json : "(none)");
    hf_free(json);
}

/* ----------------------------------------------------------------- main */

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(tmpdir, sizeof tmpdir, "%s/hf-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        printf("0 passed, 1 failed\n");
        return 1;
    }

    test_jumps();
    test_errors();
    test_open();
    test_diff_objects("-O0");
    test_diff_objects("-O2");
    test_diff_inlined();
    test_diff_program();
    test_sites();
    test_units();
    test_jumps_a64();
    if (on_path(A64_CC)) {
        test_a64_program("-O0");
        test_a64_program("-O2");
        test_a64_sites();
    } else {
        printf("skipped: the AArch64 diff and sites tests need %s (Debian: gcc-aarch64-linux-gnu)\n", A64_CC);
    }

    if (getenv("HF_TEST_KEEP"))
        printf("kept %s\n", tmpdir);
    else
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
