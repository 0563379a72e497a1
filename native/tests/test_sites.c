/* Rebinding sites of a linked patch (hf_sites_json), x86-64 and AArch64. */
#include "check.h"

typedef struct {
    unsigned long long at, target;
    char kind[16], sym[128];
    int unreached;
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
                   &s->target) == 3) {
            const char *u = strstr(p, "\"unreached\":true");
            s->unreached = u && u < end;
            n++;
        }
        p = end;
    }
    return n;
}

/* Compile `source` (in the temporary folder as name.c) as a patch is, and
 * link it into `so` (there too) with --emit-relocs; so holds its path. */
static int build_patch(const char *name, const char *source, const char *so_name, char so[512])
{
    char file[64], src[512], obj[512];
    snprintf(file, sizeof file, "%s.c", name);
    if (!CHECK(write_file(file, source), "write %s", file))
        return 0;
    snprintf(src, sizeof src, "%s", tmp(file));
    snprintf(file, sizeof file, "%s.o", name);
    snprintf(obj, sizeof obj, "%s", tmp(file));
    snprintf(so, 512, "%s", tmp(so_name));
    char *cc[] = {"cc", "-g", "-O0", "-fPIC", "-mcmodel=large", "-fvisibility=hidden", "-ffunction-sections",
                  "-fdata-sections", "-c", src, "-o", obj, NULL};
    char *ld[] = {"cc", "-shared", "-Wl,--emit-relocs", "-o", so, obj, NULL};
    return CHECK(run(cc), "compile %s.c", name) && CHECK(run(ld), "link %s", so_name);
}

void test_sites(void)
{
    printf("rebinding sites of a patch .so\n");
    static const char u_c[] = "static int counter;\n"
                              "static int limit = 7;\n"
                              "extern int outside;\n"
                              "int step(void) { counter += limit; return counter + outside; }\n";
    char so[512];
    if (!build_patch("u", u_c, "p.so", so))
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

/* The rebinding sites of an AArch64 patch: every address the loader
 * writes (GOT and PLT slots, pointers in data). */
void test_a64_sites(void)
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

/* Only the sites the new code reaches (hf_live_sites_json): from the
 * changed function, through a new function and a table of pointers, but
 * not into an unchanged function the program has (its references are
 * pointed at the program's), nor from an unchanged function's jump table. */
void test_live_sites(void)
{
    printf("live rebinding sites of a patch .so\n");
    static const char u_c[] =
        "static int counter, limit = 7, other;\n"
        "int helper(int x) { return x + other; }\n"
        "static int fresh(int x) { return x * limit; }\n"
        "static int (*const ops[])(int) = {helper, fresh};\n"
        "int unchanged(int x) {\n"
        "    switch (x) { case 0: return other; case 1: return other + 1; case 2: return 5;\n"
        "                 case 3: return other * 3; case 4: return 9; case 5: return other - 1; default: return 0; }\n"
        "}\n"
        "int changed(int i) { counter += helper(i) + fresh(i); return ops[i & 1](counter); }\n";
    char so[512];
    if (!build_patch("live", u_c, "live.so", so))
        return;
    static jsym syms[1024];
    size_t ns = symbols_of("live.so", syms, 1024, NULL);
    const jsym *counter = find_sym(syms, ns, "counter", "object"), *limit = find_sym(syms, ns, "limit", "object");
    const jsym *other = find_sym(syms, ns, "other", "object"), *helper = find_sym(syms, ns, "helper", "func");
    const jsym *fresh = find_sym(syms, ns, "fresh", "func"), *unchanged = find_sym(syms, ns, "unchanged", "func");
    if (!CHECK(counter && limit && other && helper && fresh && unchanged, "live.so lists its symbols"))
        return;
    hf_image *img = NULL;
    char *all = NULL, *live = NULL;
    if (!CHECK(hf_open(so, &img) == HF_OK, "hf_open live.so: %s", hf_error_detail()))
        return;
    CHECK(hf_sites_json(img, &all) == HF_OK, "hf_sites_json: %s", hf_error_detail());
    CHECK(hf_live_sites_json(img, "changed", "changed\nhelper\nunchanged", &live) == HF_OK,
          "hf_live_sites_json: %s", hf_error_detail());
    hf_close(img);
    if (!all || !live)
        return;
    static jsite a[1024], l[1024];
    size_t na = scan_sites(all, a, 1024), nl = scan_sites(live, l, 1024);
    int to_counter = 0, to_limit = 0, to_other = 0, in_unchanged = 0, to_helper = 0, other_named = 0;
    for (size_t i = 0; i < nl; i++) {
        if (l[i].unreached) {       /* one per object no new code reaches: named, not rebound */
            other_named |= l[i].target == other->value;
            continue;
        }
        to_counter |= l[i].target == counter->value;
        to_limit |= l[i].target == limit->value;        /* through fresh, a new function */
        to_other |= l[i].target == other->value;
        to_helper |= l[i].target == helper->value;      /* ops[0], and the call: pointed at the program's */
        in_unchanged |= l[i].at >= unchanged->value && l[i].at < unchanged->value + unchanged->size;
    }
    CHECK(nl < na, "fewer live sites (%zu) than sites (%zu)", nl, na);
    CHECK(to_counter && to_limit && to_helper, "the changed code's references and the new function's are live");
    CHECK(!to_other && !in_unchanged, "the unchanged functions' references are not (helper's own, unchanged's)");
    CHECK(other_named, "the object only unchanged code uses is named once, unreached");
    if (!to_counter || !to_limit || !to_helper || to_other || in_unchanged)
        printf("all: %s\nlive: %s\n", all, live);
    hf_free(all);
    hf_free(live);
}
