/* The function diff (hf_diff_json): against an object, against a linked
 * program, and against an AArch64 PIE. */
#include "check.h"

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

void test_diff_objects(const char *opt)
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
void test_diff_inlined(void)
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

const char prog_a_c[] =
    "#include <stdio.h>\n"
    "int shared_counter = 1;\n"
    "int twice(int x);\n"
    "const char *greet(void);\n"
    "int bump(void);\n"
    "void say(void);\n"
    "int helper_in_a(int x) { return x + 1; }\n"
    "int main(void) { say(); printf(\"%d %d\\n\", twice(3), bump()); return 0; }\n";

const char prog_b_c[] =
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

void test_diff_program(void)
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

/* ---------------------------------------------------------------- AArch64 */

/* The diff against an AArch64 PIE, as hotfix compiles the diff object there
 * (-ffunction-sections only: -fdata-sections would turn off the section
 * anchors -O2 code addresses statics with).  adrp/:lo12: pairs, GOT loads,
 * calls through the PLT and anchors must all compare equal. */
void test_a64_program(const char *opt)
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

/* -------------------------------------------- no false "changed" (#18) */

/* cc -g OPT SRC -o PROG, the program's own build: no function sections. */
static int build_program(const char *cc, const char *src, const char *prog, const char *opt)
{
    char s[512], p[512];
    snprintf(s, sizeof s, "%s", tmp(src));
    snprintf(p, sizeof p, "%s", tmp(prog));
    char *argv[] = {(char *)cc, "-g", (char *)opt, s, "-o", p, NULL};
    return run(argv);
}

/* The rebuild hotfix compares with it: function and data sections. */
static int rebuild(const char *cc, const char *src, const char *obj, const char *opt)
{
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp(src));
    snprintf(o, sizeof o, "%s", tmp(obj));
    char *argv[] = {(char *)cc, "-g", (char *)opt, "-c", "-ffunction-sections", "-fdata-sections", s, "-o", o, NULL};
    return run(argv);
}

/* Diff src (rebuilt as obj) against prog built from base_src; checks the
 * status of each name in `want` ("name=status,..."). */
static void expect_diff(const char *what, const char *cc, const char *opt, const char *base_src, const char *src,
                        const char *want)
{
    char obj[128], prog[128];
    snprintf(obj, sizeof obj, "%s-%s%s.o", src, cc, opt);
    snprintf(prog, sizeof prog, "%s-%s%s.prog", base_src, cc, opt);
    if (!CHECK(build_program(cc, base_src, prog, opt) && rebuild(cc, src, obj, opt), "%s %s %s: build", what, cc,
               opt))
        return;
    int n = 0;
    char *funcs = base_funcs_for(obj, prog, &n);
    char *j = diff(obj, prog, funcs);
    char list[512];
    snprintf(list, sizeof list, "%s", want);
    for (char *save, *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        *eq = 0;
        CHECK(has_status(j, item, eq + 1), "%s %s %s: %s is %s, not %s", what, cc, opt, item, status_of(j, item),
              eq + 1);
    }
    hf_free(j);
    free(funcs);
}

static const char constants_c[] =
    "static const double k = 3.0;\n"
    "double a(double x) { return x * 2.5; }\n"
    "double b(double x) { return -x * k; }\n"
    "int main(int argc, char **argv) { (void)argv; return (int)(a(argc) + b(argc)); }\n";

static const char strings_c[] =
    "#include <stdio.h>\n"
    "static const int limit = 1000;\n"
    "const char *name(int i) { return i < limit ? \"small\" : \"large\"; }\n"
    "double tenth(double x) { return x * 0.1; }\n"
    "int main(int argc, char **argv) { (void)argv; printf(\"%s %g\\n\", name(argc), tenth(argc));\n"
    "                                  puts(\"done\"); return 0; }\n";

static const char vectors_c[] =
    "__attribute__((noinline)) void scale(double *v) { v[0] *= 0.5; v[1] *= 0.7; }\n"
    "__attribute__((noinline)) double half(double x) { return x * 0.5; }\n"
    "int main(int argc, char **argv) { double v[2] = {argc, argc}; (void)argv; scale(v);\n"
    "                                  return (int)(v[0] + v[1] + half(argc)); }\n";

static const char tail_c[] =
    "static __attribute__((noinline)) int finish(int x) { return x * 3 + 1; }\n"
    "static __attribute__((noinline)) int other(int x) { return x * 5 + 2; }\n"
    "__attribute__((noinline)) int dispatch(int i) { return finish(i + 1); }\n"
    "int main(int argc, char **argv) { (void)argv; return dispatch(argc) + other(argc); }\n";

/* __LINE__ without __FILE__ (the edited files have other names here). */
static const char lines_c[] =
    "__attribute__((noinline)) int step(int i)\n"
    "{\n"
    "    return i * 2;\n"
    "}\n"
    "__attribute__((noinline)) int answer(int x) { return x ^ 123456; }\n"
    "__attribute__((noinline)) int fail(int line) { return -line; }\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    (void)argv;\n"
    "    int r = step(argc);\n"
    "    if (r > 1000000)\n"
    "        return fail(__LINE__);\n"
    "    return answer(r);\n"
    "}\n";

static char *edited(const char *text, const char *from, const char *to)
{
    static char out[8][4096];
    static int k;
    char *o = out[k++ % 8];
    const char *at = strstr(text, from);
    if (!at) {
        snprintf(o, 4096, "%s", text);
        return o;
    }
    snprintf(o, 4096, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return o;
}

void test_diff_false_changes(void)
{
    printf("diff: literals compared over what is read, branch forms, line numbers\n");
    if (!CHECK(write_file("constants.c", constants_c) &&
                   write_file("constants_a.c", edited(constants_c, "2.5", "2.75")) &&
                   write_file("strings.c", strings_c) && write_file("vectors.c", vectors_c) &&
                   write_file("vectors_v2.c", edited(vectors_c, "0.7", "0.9")) && write_file("tail.c", tail_c) &&
                   write_file("tail_other.c", edited(tail_c, "return finish(i + 1)", "return other(i + 1)")) &&
                   write_file("lines.c", lines_c) &&
                   write_file("lines_v2.c", edited(lines_c, "    return i * 2;\n", "    int r = i * 2;\n\n    return r;\n")) &&
                   write_file("lines_answer.c", edited(edited(lines_c, "    return i * 2;\n",
                                                              "    int r = i * 2;\n\n    return r;\n"),
                                                       "123456", "123457")),
               "write sources"))
        return;
    static const char *const ccs[] = {"gcc", "clang"};
    for (size_t c = 0; c < 2; c++) {
        const char *cc = ccs[c];
        for (int o = 0; o < 2; o++) {
            const char *opt = o ? "-O2" : "-O0";
            /* A file-scope constant moves out of .rodata in the rebuild, and
             * the padding after a -O0 literal or string changes with it. */
            expect_diff("unedited constants", cc, opt, "constants.c", "constants.c", "a=same,b=same,main=same");
            expect_diff("a literal edited", cc, opt, "constants.c", "constants_a.c", "a=changed,b=same");
            expect_diff("unedited strings", cc, opt, "strings.c", "strings.c", "name=same,tenth=same,main=same");
            /* A scalar read from a 16-byte constant another function shares. */
            expect_diff("the shared constant edited", cc, opt, "vectors.c", "vectors_v2.c", "scale=changed,half=same");
            /* A tail call: short in the program, near in the rebuild. */
            expect_diff("unedited tail call", cc, opt, "tail.c", "tail.c", "dispatch=same,finish=same,main=same");
            expect_diff("a tail call elsewhere", cc, opt, "tail.c", "tail_other.c", "dispatch=changed");
            /* __LINE__ after an edit that moved lines. */
            expect_diff("lines moved", cc, opt, "lines.c", "lines_v2.c", "main=lines,answer=same");
            expect_diff("lines moved and a constant edited", cc, opt, "lines.c", "lines_answer.c",
                        "main=lines,answer=changed");
        }
    }
    /* Two rebuilds, as later patches compare them. */
    if (CHECK(rebuild("gcc", "vectors.c", "vec1.o", "-O2") && rebuild("gcc", "vectors_v2.c", "vec2.o", "-O2") &&
                  rebuild("gcc", "lines.c", "lines1.o", "-O0") && rebuild("gcc", "lines_v2.c", "lines2.o", "-O0") &&
                  rebuild("gcc", "lines_answer.c", "lines3.o", "-O0"),
              "rebuild objects")) {
        char *j = diff("vec2.o", "vec1.o", NULL);
        CHECK(has_status(j, "half", "same"), "objects, the shared constant edited: half is %s", status_of(j, "half"));
        CHECK(has_status(j, "scale", "changed"), "objects, the shared constant edited: scale is %s",
              status_of(j, "scale"));
        hf_free(j);
        j = diff("lines2.o", "lines1.o", NULL);
        CHECK(has_status(j, "main", "lines"), "objects, lines moved: main is %s", status_of(j, "main"));
        CHECK(has_status(j, "answer", "same"), "objects, lines moved: answer is %s", status_of(j, "answer"));
        hf_free(j);
        j = diff("lines3.o", "lines1.o", NULL);
        CHECK(has_status(j, "main", "lines"), "objects, a constant edited: main is %s", status_of(j, "main"));
        CHECK(has_status(j, "answer", "changed"), "objects, a constant edited: answer is %s", status_of(j, "answer"));
        hf_free(j);
    }
}

/* Objects of hand-written instructions: what the instruction comparison
 * tolerates (a short or near branch to the same instruction, alignment
 * no-ops) and what it does not (a branch to another instruction, an edit
 * of a constant after what looks like a string's NUL). */
static const char branch_base_s[] =
    "  .section .text.f,\"ax\",@progbits\n  .globl f\n  .type f,@function\n"
    "f:\n  cmp $1, %edi\n  jne 1f\n  mov $5, %eax\n  ret\n"
    "1: mov $7, %eax\n  ret\n  .size f, .-f\n";
static const char branch_near_s[] =
    "  .section .text.f,\"ax\",@progbits\n  .globl f\n  .type f,@function\n"
    "f:\n  cmp $1, %edi\n  .byte 0x0f, 0x85\n  .long 1f - 2f\n2:\n  mov $5, %eax\n  ret\n"
    "  .p2align 4\n1: mov $7, %eax\n  ret\n  .size f, .-f\n";
static const char branch_elsewhere_s[] =
    "  .section .text.f,\"ax\",@progbits\n  .globl f\n  .type f,@function\n"
    "f:\n  cmp $1, %edi\n  .byte 0x0f, 0x85\n  .long 1f - 2f\n2:\n  mov $5, %eax\n1: ret\n"
    "  mov $7, %eax\n  ret\n  .size f, .-f\n";

/* A 16-byte constant whose address is taken and which reads as "A" and
 * zeros: compared whole (a merge section's entry has no padding). */
static const char table_s[] =
    "  .section .rodata.cst16,\"aM\",@progbits,16\n  .p2align 4\n.LC0:\n  .byte 65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0\n"
    "  .section .text.t,\"ax\",@progbits\n  .globl t\n  .type t,@function\n"
    "t:\n  lea .LC0(%rip), %rax\n  ret\n  .size t, .-t\n"
    "  .section .text.main,\"ax\",@progbits\n  .globl main\n  .type main,@function\n"
    "main:\n  call t\n  xor %eax, %eax\n  ret\n  .size main, .-main\n"
    "  .section .note.GNU-stack,\"\",@progbits\n";

void test_diff_branches(void)
{
    printf("diff: branches compared by where they go\n");
    const char *names[] = {"br_base", "br_near", "br_elsewhere", "table", "table_edit"};
    const char *texts[] = {branch_base_s, branch_near_s, branch_elsewhere_s, table_s,
                           edited(table_s, "0, 5, 0", "0, 0, 0")};
    for (int i = 0; i < 5; i++) {
        char s[64], path[512], o[512];
        snprintf(s, sizeof s, "%s.s", names[i]);
        snprintf(path, sizeof path, "%s", tmp(s));
        snprintf(s, sizeof s, "%s.o", names[i]);
        snprintf(o, sizeof o, "%s", tmp(s));
        char *argv[] = {"cc", "-c", path, "-o", o, NULL};
        if (!CHECK(write_file(strrchr(path, '/') + 1, texts[i]) && run(argv), "assemble %s", names[i]))
            return;
    }
    char *j = diff("br_near.o", "br_base.o", NULL);
    CHECK(has_status(j, "f", "same"), "jne near and padded vs jne short: f is %s", status_of(j, "f"));
    hf_free(j);
    j = diff("br_base.o", "br_near.o", NULL);
    CHECK(has_status(j, "f", "same"), "jne short vs near and padded: f is %s", status_of(j, "f"));
    hf_free(j);
    j = diff("br_elsewhere.o", "br_base.o", NULL);
    CHECK(has_status(j, "f", "changed"), "jne to another instruction: f is %s", status_of(j, "f"));
    hf_free(j);
    j = diff("table_edit.o", "table.o", NULL);
    CHECK(has_status(j, "t", "changed"), "lea of an edited 16-byte constant: t is %s", status_of(j, "t"));
    hf_free(j);
    int n = 0;
    char *funcs = build_program("cc", "table.s", "table.prog", "-O0") ? base_funcs_for("table_edit.o", "table.prog", &n)
                                                                       : NULL;
    j = funcs ? diff("table_edit.o", "table.prog", funcs) : NULL;
    CHECK(has_status(j, "t", "changed"), "lea of an edited 16-byte constant, against the program: t is %s",
          status_of(j, "t"));
    hf_free(j);
    free(funcs);
}

/* AArch64: a scalar read from a 16-byte constant another function shares
 * (adrp; ldr d, [:lo12:]) is compared over the 8 bytes the ldr reads. */
void test_a64_shared_constant(void)
{
    printf("AArch64 diff: a scalar read from a shared 16-byte constant\n");
    static const char v1[] =
        "__attribute__((noinline)) void scale(double *v) { v[0] *= 0.1; v[1] *= 0.7; }\n"
        "__attribute__((noinline)) double tenth(double x) { return x * 0.1; }\n"
        "int main(int argc, char **argv) { double v[2] = {argc, argc}; (void)argv; scale(v);\n"
        "                                  return (int)(v[0] + v[1] + tenth(argc)); }\n";
    if (!CHECK(write_file("a64v1.c", v1) && write_file("a64v2.c", edited(v1, "0.7", "0.9")), "write sources"))
        return;
    char s1[512], s2[512], o1[512], o2[512], p[512];
    snprintf(s1, sizeof s1, "%s", tmp("a64v1.c"));
    snprintf(s2, sizeof s2, "%s", tmp("a64v2.c"));
    snprintf(o1, sizeof o1, "%s", tmp("a64v1.o"));
    snprintf(o2, sizeof o2, "%s", tmp("a64v2.o"));
    snprintf(p, sizeof p, "%s", tmp("a64v1"));
    char *c1[] = {A64_CC, "-g", "-O2", "-c", "-ffunction-sections", s1, "-o", o1, NULL};
    char *c2[] = {A64_CC, "-g", "-O2", "-c", "-ffunction-sections", s2, "-o", o2, NULL};
    char *l1[] = {A64_CC, "-g", "-O2", s1, "-o", p, NULL};
    if (!CHECK(run(c1) && run(c2) && run(l1), "build"))
        return;
    char *j = diff("a64v2.o", "a64v1.o", NULL);
    CHECK(has_status(j, "tenth", "same"), "objects: tenth is %s", status_of(j, "tenth"));
    CHECK(has_status(j, "scale", "changed"), "objects: scale is %s", status_of(j, "scale"));
    hf_free(j);
    int n = 0;
    char *funcs = base_funcs_for("a64v2.o", "a64v1", &n);
    j = diff("a64v2.o", "a64v1", funcs);
    CHECK(has_status(j, "tenth", "same"), "program: tenth is %s", status_of(j, "tenth"));
    CHECK(has_status(j, "scale", "changed"), "program: scale is %s", status_of(j, "scale"));
    hf_free(j);
    free(funcs);
}
