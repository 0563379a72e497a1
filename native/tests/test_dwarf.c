/* DWARF: compile units (hf_units_json), a unit's DIEs (hf_unit_dies_json)
 * and line table rows (line_rows), from gcc and clang, DWARF 4 and 5 (and
 * 2, and compressed, for rows). */
#include "check.h"
#include "internal.h"

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
        !CHECK(hf_unit_dies_json(img, offset, 0, &dies) == HF_OK && dies, "%s %s %s: hf_unit_dies_json: %s", cc,
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
    CHECK(!strstr(dies, "\"n\":\"x\"") && !strstr(dies, "\"t\":5,"), "%s %s %s: parameters are left out", cc,
          dwarf, opt);
    CHECK(!strncmp(dies, "[{\"o\":", 6) && strstr(dies, "\"t\":17,\"p\":-1"), "%s %s %s: the unit's DIE first",
          cc, dwarf, opt);
    hf_free(dies);
}

void test_units(void)
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

/* What migrating a static reads of its type: base types' encodings,
 * bit-fields' places, and parameters' types (a type with an instance
 * elsewhere), from gcc and clang, DWARF 4 and 5. */
static const char fields_c[] =
    "struct flags { unsigned char kind; signed int level : 5; unsigned ready : 1; short s; };\n"
    "static struct flags flags;\n"
    "int look(struct flags *f) { return f->level + flags.s; }\n"
    "int main(void) { return look(&flags); }\n";

static const char this_cpp[] =
    "struct counter { int n; int bump() { return ++n; } };\n"
    "static counter c;\n"
    "int main() { return c.bump(); }\n";

void test_field_dies(void)
{
    printf("DIEs of types: encodings, bit-fields, parameters\n");
    if (!CHECK(write_file("fields.c", fields_c), "write fields.c"))
        return;
    const char *ccs[] = {"gcc", "clang"};
    const char *dwarfs[] = {"-gdwarf-4", "-gdwarf-5"};
    for (size_t c = 0; c < 2; c++)
        for (size_t d = 0; d < 2; d++) {
            char src[512], prog[512];
            snprintf(src, sizeof src, "%s", tmp("fields.c"));
            snprintf(prog, sizeof prog, "%s", tmp("fields"));
            char *argv[] = {(char *)ccs[c], (char *)dwarfs[d], "-O0", src, "-o", prog, NULL};
            hf_image *img = NULL;
            char *units = NULL, *dies = NULL;
            unsigned long long offset = 0;
            const char *at;
            if (!CHECK(run(argv), "%s %s fields.c", ccs[c], dwarfs[d]) ||
                !CHECK(hf_open(prog, &img) == HF_OK && hf_units_json(img, &units) == HF_OK, "open fields") ||
                !CHECK((at = strstr(units, "\"offset\":")) && sscanf(at, "\"offset\":%llu", &offset) == 1,
                       "fields' unit: %s", units) ||
                !CHECK(hf_unit_dies_json(img, offset, HF_DIES_PARAMETERS, &dies) == HF_OK, "%s", hf_error_detail())) {
                hf_free(units);
                hf_close(img);
                continue;
            }
            /* DW_ATE_unsigned_char 8, DW_ATE_signed 5 */
            CHECK(strstr(dies, "\"n\":\"unsigned char\",\"s\":1,\"en\":8"), "%s %s: unsigned char's encoding: %s",
                  ccs[c], dwarfs[d], dies);
            CHECK(strstr(dies, "\"n\":\"int\",\"s\":4,\"en\":5"), "%s %s: int's encoding", ccs[c], dwarfs[d]);
            const char *level = strstr(dies, "\"n\":\"level\"");
            const char *end = level ? strchr(level, '}') : NULL;
            const char *bo = level ? strstr(level, "\"bo\":8") : NULL, *bx = level ? strstr(level, "\"bx\":") : NULL;
            CHECK(level && strstr(level, "\"b\":5") < end && ((bo && bo < end) || (bx && bx < end)),
                  "%s %s: level is a 5-bit field with its bit offset: %.200s", ccs[c], dwarfs[d], level ? level : dies);
            CHECK(strstr(dies, "\"t\":5,\"p\":") && !strstr(dies, "\"n\":\"f\""),
                  "%s %s: look's parameter is there, with its type only", ccs[c], dwarfs[d]);
            hf_free(dies);
            hf_free(units);
            hf_close(img);
        }
    /* C++'s `this' is an artificial parameter. */
    if (!CHECK(write_file("this.cpp", this_cpp), "write this.cpp"))
        return;
    for (size_t c = 0; c < 2; c++) {
        char src[512], prog[512];
        snprintf(src, sizeof src, "%s", tmp("this.cpp"));
        snprintf(prog, sizeof prog, "%s", tmp("this"));
        char *argv[] = {c ? "clang++" : "g++", "-g", "-O0", src, "-o", prog, NULL};
        hf_image *img = NULL;
        char *units = NULL, *dies = NULL;
        unsigned long long offset = 0;
        const char *at;
        if (CHECK(run(argv), "%s this.cpp", argv[0]) && CHECK(hf_open(prog, &img) == HF_OK, "open this") &&
            CHECK(hf_units_json(img, &units) == HF_OK && (at = strstr(units, "\"offset\":")) &&
                      sscanf(at, "\"offset\":%llu", &offset) == 1, "this' unit") &&
            CHECK(hf_unit_dies_json(img, offset, HF_DIES_PARAMETERS, &dies) == HF_OK, "%s", hf_error_detail()))
            CHECK(strstr(dies, "\"t\":5,") && strstr(dies, ",\"ar\":1}"), "%s: `this' is artificial: %s", argv[0],
                  dies);
        hf_free(dies);
        hf_free(units);
        hf_close(img);
    }
}

/* ---------------------------------------------------- line table rows */

/* The rows of function `name` (an object's section-relative rows, or an
 * image's by address): how many, and the lowest and highest line. */
static size_t rows_of(hf_image *img, const char *name, uint32_t *lo, uint32_t *hi, int *in_section)
{
    const symbol *f = NULL;
    for (size_t i = 0; i < img->nsym; i++)
        if (img->sym[i].type == STT_FUNC && !strcmp(img->sym[i].name, name))
            f = &img->sym[i];
    if (!f)
        return 0;
    size_t section = img->eh.e_type == ET_REL ? f->sym.st_shndx : 0;
    const line_row *rows;
    size_t n = line_rows_in(img, section, f->sym.st_value, f->sym.st_value + f->sym.st_size, &rows);
    *lo = UINT32_MAX;
    *hi = 0;
    for (size_t i = 0; i < n; i++) {
        *lo = rows[i].line < *lo ? rows[i].line : *lo;
        *hi = rows[i].line > *hi ? rows[i].line : *hi;
    }
    *in_section = img->eh.e_type == ET_REL && !strcmp(img->sec[section].name, name[0] == 'f' ? ".text.f" : ".text.g");
    return n;
}

void test_line_rows(void)
{
    printf("line table rows\n");
    static const char src[] = "int f(int x)\n"          /* 1 */
                              "{\n"                     /* 2 */
                              "    int y = x * 3;\n"    /* 3 */
                              "    return y + 1;\n"     /* 4 */
                              "}\n"                     /* 5 */
                              "\n"                      /* 6 */
                              "int g(int x) { return x - 1; }\n" /* 7 */
                              "int main(void) { return f(2) + g(1); }\n";
    if (!CHECK(write_file("rows.c", src), "write rows.c"))
        return;
    static const char *const ccs[] = {"gcc", "clang"}, *const dwarfs[] = {"-gdwarf-2", "-gdwarf-4", "-gdwarf-5", "-gz"};
    for (size_t c = 0; c < 2; c++)
        for (size_t d = 0; d < 4; d++) {
            char s[512], o[512], p[512];
            snprintf(s, sizeof s, "%s", tmp("rows.c"));
            snprintf(o, sizeof o, "%s", tmp("rows.o"));
            snprintf(p, sizeof p, "%s", tmp("rows"));
            char *cc_obj[] = {(char *)ccs[c], "-g", (char *)dwarfs[d], "-O0", "-ffunction-sections", "-c", s, "-o", o, NULL};
            char *cc_prog[] = {(char *)ccs[c], "-g", (char *)dwarfs[d], "-O0", s, "-o", p, NULL};
            if (!CHECK(run(cc_obj) && run(cc_prog), "%s %s: build", ccs[c], dwarfs[d]))
                continue;
            for (int k = 0; k < 2; k++) {
                hf_image *img = NULL;
                const char *what = k ? "program" : "object";
                if (!CHECK(hf_open(k ? p : o, &img) == HF_OK, "open the %s", what))
                    continue;
                uint32_t lo, hi;
                int in_section;
                size_t n = rows_of(img, "f", &lo, &hi, &in_section);
                CHECK(n >= 3 && lo >= 1 && lo <= 2 && hi >= 4 && hi <= 5, "%s %s %s: f has %zu rows, lines %u-%u",
                      ccs[c], dwarfs[d], what, n, lo, hi);
                CHECK(in_section == !k, "%s %s %s: f's rows are %s", ccs[c], dwarfs[d], what,
                      k ? "by address" : "in .text.f");
                n = rows_of(img, "g", &lo, &hi, &in_section);
                CHECK(n >= 1 && lo == 7 && hi == 7, "%s %s %s: g has %zu rows, lines %u-%u", ccs[c], dwarfs[d], what,
                      n, lo, hi);
                hf_close(img);
            }
        }
}
