/* Unit tests for libhotfix (hotfix.h): jump encoding, error texts, opening
 * files, the function diff against an object and against a linked program,
 * symbols and room, and the rebinding sites of a linked patch.
 *
 * Built and run by `make -C native check`.  No framework: CHECK counts and
 * prints `file:line: what` for each failure; the last line printed is
 * `N passed, M failed`, and the exit status is non-zero if any failed.
 * The diff tests compile small C sources with `cc` (run through
 * posix_spawnp, no shell) in a temporary directory removed at the end.
 *
 * One file per stage of libhotfix, as in native/: test_status.c,
 * test_image.c, test_jumps.c, test_x86.c, test_diff.c, test_sites.c,
 * test_dwarf.c, test_frames.c;
 * this file holds CHECK's counter, the helpers they share (check.h) and
 * main, which runs them in order.
 */
#include "check.h"

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int passed, failed;

/* Print `file:line: what` (what = the message, or the condition's text). */
int check_(int ok, const char *file, int line, const char *cond, const char *fmt, ...)
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

const char *tmp(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *p = bufs[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

int write_file(const char *name, const char *text)
{
    FILE *f = fopen(tmp(name), "w");
    if (!f)
        return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Run argv (argv[0] found on PATH), its standard output into file out (a
 * path) unless out is NULL; true if it exited with 0. */
int run_output(char *const argv[], const char *out)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out)
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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

int run(char *const argv[]) { return run_output(argv, NULL); }

/* cc -g -OPT -c -ffunction-sections -fdata-sections SRC -o OBJ */
int compile(const char *src, const char *obj, const char *opt)
{
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp(src));
    snprintf(o, sizeof o, "%s", tmp(obj));
    char *argv[] = {"cc", "-g", (char *)opt, "-c", "-ffunction-sections", "-fdata-sections",
                    s, "-o", o, NULL};
    return run(argv);
}

int count(const char *json, const char *what)
{
    int n = 0;
    for (const char *p = json; p && (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

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

const jsym *find_sym(const jsym *v, size_t n, const char *name, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name) && (!type || !strcmp(v[i].type, type)))
            return &v[i];
    return NULL;
}

/* hf_symbols_json of a file in tmpdir, scanned; returns the count. */
size_t symbols_of(const char *name, jsym *out, size_t max, char **json)
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
    test_x86_table();
    test_x86_compiled();
    test_errors();
    test_open();
    test_soname();
    test_diff_objects("-O0");
    test_diff_objects("-O2");
    test_diff_inlined();
    test_diff_program();
    test_diff_false_changes();
    test_diff_branches();
    test_sites();
    test_live_sites();
    test_users();
    test_units();
    test_field_dies();
    test_line_rows();
    test_x86_effects();
    test_frame_maps();
    test_function_frame();
    test_place();
    test_jumps_a64();
    if (on_path(A64_CC)) {
        test_a64_program("-O0");
        test_a64_program("-O2");
        test_a64_shared_constant();
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
