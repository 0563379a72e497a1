/* Rebinding sites of a linked patch (hf_sites_json), x86-64 and AArch64. */
#include "check.h"

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

void test_sites(void)
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
