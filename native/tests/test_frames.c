/* Moving running frames: what an instruction does to registers and the
 * frame (x86_effect_of), a function's frame from its DWARF
 * (function_frame), where each point of an old body goes in a new one
 * (hf_frame_map_json), against objects and a linked program, from gcc and
 * clang at -O0, and a function laid out at an address (hf_place_json). */
#include "check.h"
#include "internal.h"

/* ----------------------------------------------------------- effects */

static x86_effect effect_of(const unsigned char *code, size_t len)
{
    x86_insn in;
    x86_effect e;
    memset(&e, 0, sizeof e);
    if (x86_decode(code, len, &in))
        x86_effect_of(&in, code, &e);
    return e;
}

void test_x86_effects(void)
{
    printf("x86 effects on registers and the frame\n");
    /* mov %eax,-0x14(%rbp): reads %eax (and %rbp), writes 4 bytes of a slot */
    x86_effect e = effect_of((const unsigned char *)"\x89\x45\xec", 3);
    CHECK(e.known && (e.use & X86_BIT(X86_RAX)) && (e.use & X86_BIT(X86_RBP)) && e.slot && e.slot_off == -0x14 &&
              e.write_size == 4 && !e.read_size,
          "mov %%eax,-0x14(%%rbp): known %d use %llx slot %d off %lld w %d r %d", e.known,
          (unsigned long long)e.use, e.slot, (long long)e.slot_off, e.write_size, e.read_size);
    /* mov -0x8(%rbp),%rax: reads 8 bytes, writes %rax whole */
    e = effect_of((const unsigned char *)"\x48\x8b\x45\xf8", 4);
    CHECK(e.known && (e.kill & X86_BIT(X86_RAX)) && e.slot_off == -8 && e.read_size == 8 && !e.write_size,
          "mov -8(%%rbp),%%rax");
    /* mov $0x0,%al: a part of %rax (read too) */
    e = effect_of((const unsigned char *)"\xb0\x00", 2);
    CHECK(e.known && (e.part & X86_BIT(X86_RAX)) && (e.use & X86_BIT(X86_RAX)) && !(e.kill & X86_BIT(X86_RAX)),
          "mov $0,%%al is a partial write");
    /* xor %eax,%eax: a write, not a read */
    e = effect_of((const unsigned char *)"\x31\xc0", 2);
    CHECK(e.known && (e.kill & X86_BIT(X86_RAX)) && !(e.use & X86_BIT(X86_RAX)), "xor %%eax,%%eax zeroes");
    /* add %edx,%eax: reads both, writes %eax and the flags */
    e = effect_of((const unsigned char *)"\x01\xd0", 2);
    CHECK(e.known && (e.use & X86_BIT(X86_RDX)) && (e.use & X86_BIT(X86_RAX)) && (e.kill & X86_BIT(X86_RAX)) &&
              (e.kill & X86_BIT(X86_FLAGS)),
          "add %%edx,%%eax");
    /* jl: reads the flags */
    e = effect_of((const unsigned char *)"\x7c\x10", 2);
    CHECK(e.known && e.jump == 2 && (e.use & X86_BIT(X86_FLAGS)), "jl reads the flags");
    /* call rel32: a call, clobbering the caller-saved registers */
    e = effect_of((const unsigned char *)"\xe8\x00\x00\x00\x00", 5);
    CHECK(e.known && e.call && (e.kill & X86_BIT(X86_RAX)) && !(e.kill & X86_BIT(X86_RBX)), "call");
    /* lea -0x20(%rbp),%rax: the address of a slot escapes */
    e = effect_of((const unsigned char *)"\x48\x8d\x45\xe0", 4);
    CHECK(e.known && e.address_taken && e.slot_off == -0x20, "lea of a slot takes its address");
    /* sub %rax,%rsp: stack allocated as the program runs */
    e = effect_of((const unsigned char *)"\x48\x29\xc4", 3);
    CHECK(e.known && e.stack && e.dynamic, "sub %%rax,%%rsp is dynamic");
    /* sub $0x20,%rsp: a fixed frame */
    e = effect_of((const unsigned char *)"\x48\x83\xec\x20", 4);
    CHECK(e.known && e.stack && !e.dynamic && e.stack_delta == -0x20, "sub $0x20,%%rsp");
    /* shl $2,%eax defines the flags; shl %cl,%eax may keep them */
    e = effect_of((const unsigned char *)"\xc1\xe0\x02", 3);
    CHECK(e.known && (e.kill & X86_BIT(X86_FLAGS)) && !(e.use & X86_BIT(X86_FLAGS)), "shl $2 sets the flags");
    e = effect_of((const unsigned char *)"\xd3\xe0", 2);
    CHECK(e.known && (e.use & X86_BIT(X86_FLAGS)) && (e.use & X86_BIT(X86_RCX)), "shl %%cl reads %%cl and the flags");
    /* movss -0x4(%rbp),%xmm0: a whole vector register from 4 bytes */
    e = effect_of((const unsigned char *)"\xf3\x0f\x10\x45\xfc", 5);
    CHECK(e.known && (e.kill & X86_BIT(X86_XMM0)) && e.read_size == 4, "movss from a slot");
    /* rdtsc: not modelled, so it reads everything */
    e = effect_of((const unsigned char *)"\x0f\x31", 2);
    CHECK(!e.known && e.use == ~0ull, "an instruction not modelled reads everything");
}

/* ------------------------------------------------------------ frames */

static const char loop_c[] =
    "#include <stdio.h>\n"
    "void checkpoint(int);\n"
    "int work(int);\n"
    "static int total;\n"
    "void run(int n)\n"
    "{\n"
    "    int hits = 0;\n"
    "    for (int i = 0; i < n; i++) {\n"
    "        checkpoint(i);\n"                                     /* line 9 */
    "        total += work(i);\n"                                  /* line 10 */
    "        hits++;\n"
    "        printf(\"frame %d: hits=%d total=%d\\n\", i, hits, total);\n"
    "    }\n"
    "}\n";

static char *replaced(const char *text, const char *what, const char *with)
{
    static char buf[8][4096];
    static int k;
    char *out = buf[k++ % 8];
    const char *at = strstr(text, what);
    if (!at) {
        snprintf(out, 4096, "%s", text);
        return out;
    }
    snprintf(out, 4096, "%.*s%s%s", (int)(at - text), text, with, at + strlen(what));
    return out;
}

/* hf_frame_map_json of two files in tmpdir; NULL on failure (reported). */
static char *frame_map(const char *oldfile, const char *oldspec, const char *newfile, const char *newname)
{
    hf_image *o = NULL, *n = NULL;
    char *out = NULL;
    if (!CHECK(hf_open(tmp(oldfile), &o) == HF_OK && hf_open(tmp(newfile), &n) == HF_OK, "open %s, %s: %s", oldfile,
               newfile, hf_error_detail())) {
        hf_close(o);
        return NULL;
    }
    int st = hf_frame_map_json(o, -1, oldspec, n, -1, newname, &out);
    CHECK(st == HF_OK, "hf_frame_map_json %s %s: %s", oldfile, newfile, hf_error_detail());
    hf_close(o);
    hf_close(n);
    return st == HF_OK ? out : NULL;
}

/* The JSON of the return point after the call at `line`, or NULL. */
static const char *return_point(const char *json, int line, char *buf, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"kind\":\"return\",\"line\":%d,", line);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p)
        return NULL;
    const char *end = strstr(p, "}]}") ? strchr(p, '}') : NULL;
    /* up to the end of this point's object: its locals list closes first */
    const char *close = strstr(p, "]}");
    const char *why_end = strstr(p, "\"}");
    end = close && (!why_end || close < why_end) ? close + 2 : why_end ? why_end + 2 : end;
    snprintf(buf, cap, "%.*s", (int)(end ? end - p : 200), p);
    return buf;
}

static int moves(const char *point) { return point && !strstr(point, "\"to\":-1"); }

static void check_variant(const char *cc, const char *base_o, const char *name, const char *text, int line,
                          int want_move, const char *want_why)
{
    char src[64], obj[64], buf[2048];
    snprintf(src, sizeof src, "%s-%s.c", name, cc);
    snprintf(obj, sizeof obj, "%s-%s.o", name, cc);
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp(src));
    snprintf(o, sizeof o, "%s", tmp(obj));
    char *argv[] = {(char *)cc, "-g", "-O0", "-c", "-ffunction-sections", "-fdata-sections", s, "-o", o, NULL};
    if (!CHECK(write_file(src, text) && run(argv), "%s: compile %s", cc, name))
        return;
    char *j = frame_map(base_o, "run", obj, "run");
    const char *p = return_point(j, line, buf, sizeof buf);
    CHECK(p && moves(p) == want_move, "%s %s: the return at line %d %s: %s", cc, name, line,
          want_move ? "moves" : "is refused", p ? p : j ? j : "");
    if (want_why)
        CHECK(p && strstr(p, want_why), "%s %s: why: want \"%s\": %s", cc, name, want_why, p ? p : "");
    hf_free(j);
}

static void frames_from(const char *cc)
{
    char base_o[64];
    snprintf(base_o, sizeof base_o, "loop-%s.o", cc);
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp("loop.c"));
    snprintf(o, sizeof o, "%s", tmp(base_o));
    char *argv[] = {(char *)cc, "-g", "-O0", "-c", "-ffunction-sections", "-fdata-sections", s, "-o", o, NULL};
    if (!CHECK(write_file("loop.c", loop_c) && run(argv), "%s: compile loop.c", cc))
        return;

    /* An object against itself: every return address moves, to itself. */
    char buf[2048];
    char *j = frame_map(base_o, "run", base_o, "run");
    CHECK(j && strstr(j, "\"refused\":\"\"") && !strstr(j, "\"to\":-1"), "%s: itself: every point maps: %s", cc,
          j ? j : "");
    const char *p = return_point(j, 9, buf, sizeof buf);
    CHECK(p && strstr(p, "{\"name\":\"i\"") && strstr(p, "{\"name\":\"n\""),
          "%s: after checkpoint, i and n are read: %s", cc, p ? p : "");
    hf_free(j);

    /* The loop's body edited after the point: the frame in checkpoint
     * moves; one in printf (whose statement changed) does not. */
    const char *body = replaced(loop_c, "        hits++;\n", "        hits += 2;\n");
    check_variant(cc, base_o, "body", body, 9, 1, NULL);
    check_variant(cc, base_o, "body2", replaced(loop_c, "frame %d:", "FRAME %d:"), 12, 0, "where it stands, changed");

    /* A new call after the point: the calls still align. */
    check_variant(cc, base_o, "call", replaced(loop_c, "        hits++;\n", "        hits++;\n        puts(\"hit\");\n"),
                  10, 1, NULL);
    /* ... but not when the new call is one more of the same function:
     * which of the two the old one is cannot be told. */
    check_variant(cc, base_o, "twice", replaced(loop_c, "        hits++;\n", "        hits++;\n        work(-1);\n"),
                  10, 0, "matches several calls");
    /* The statement of the call edited: no frame in that call moves. */
    check_variant(cc, base_o, "point", replaced(loop_c, "        checkpoint(i);\n", "        checkpoint(i + 1);\n"),
                  9, 0, "where it stands, changed");
    /* Stopped in work: its result is pending; the statement changed. */
    check_variant(cc, base_o, "pending", replaced(loop_c, "total += work(i);", "total += 2 * work(i);"), 10, 0,
                  NULL);
    /* A new local read before it is written: it would need a value. */
    check_variant(cc, base_o, "live",
                  replaced(replaced(loop_c, "    int hits = 0;\n", "    int hits = 0;\n    int level = 3;\n"),
                           "        hits++;\n", "        hits += level;\n"),
                  9, 0, NULL);
    /* A call of something else where checkpoint was. */
    check_variant(cc, base_o, "other", replaced(loop_c, "        checkpoint(i);\n", "        work(i);\n"), 9, 0,
                  "the new body has no such call");
    /* A frame that grew. */
    const char *big = replaced(loop_c, "    int hits = 0;\n", "    int hits = 0;\n    char pad[64];\n    pad[0] = 1;\n"
                                                              "    work(pad[0]);\n");
    char src[64], obj[64];
    snprintf(src, sizeof src, "big-%s.c", cc);
    snprintf(obj, sizeof obj, "big-%s.o", cc);
    snprintf(s, sizeof s, "%s", tmp(src));
    snprintf(o, sizeof o, "%s", tmp(obj));
    char *argv2[] = {(char *)cc, "-g", "-O0", "-c", "-ffunction-sections", s, "-o", o, NULL};
    if (CHECK(write_file(src, big) && run(argv2), "%s: compile big", cc)) {
        j = frame_map(base_o, "run", obj, "run");
        CHECK(j && strstr(j, "its frame is ") && strstr(j, "\"points\":[]"), "%s: a bigger frame is refused: %s", cc,
              j ? j : "");
        hf_free(j);
    }
}

/* A recursive function: a frame waiting for the call of itself. */
static const char recurse_c[] =
    "#include <stdio.h>\n"
    "void checkpoint(int);\n"
    "long descend(long depth, long deepest)\n"
    "{\n"
    "    long here = depth + 1;\n"
    "    if (depth < deepest)\n"
    "        here += descend(depth + 1, deepest);\n"              /* line 7 */
    "    else\n"
    "        checkpoint((int)depth);\n"
    "    printf(\"level %ld: %ld\\n\", depth, here);\n"
    "    return here;\n"
    "}\n";

static void recursion_from(const char *cc)
{
    char s[512], o[512], s2[512], o2[512], buf[2048];
    snprintf(s, sizeof s, "%s", tmp("recurse.c"));
    snprintf(o, sizeof o, "%s", tmp("recurse.o"));
    snprintf(s2, sizeof s2, "%s", tmp("recurse2.c"));
    snprintf(o2, sizeof o2, "%s", tmp("recurse2.o"));
    char *a1[] = {(char *)cc, "-g", "-O0", "-c", "-ffunction-sections", s, "-o", o, NULL};
    char *a2[] = {(char *)cc, "-g", "-O0", "-c", "-ffunction-sections", s2, "-o", o2, NULL};
    if (!CHECK(write_file("recurse.c", recurse_c) &&
                   write_file("recurse2.c", replaced(recurse_c, "level %ld", "LEVEL %ld")) && run(a1) && run(a2),
               "%s: compile recurse", cc))
        return;
    char *j = frame_map("recurse.o", "descend", "recurse2.o", "descend");
    CHECK(moves(return_point(j, 7, buf, sizeof buf)), "%s: the frame waiting for itself moves: %s", cc, j ? j : "");
    CHECK(moves(return_point(j, 9, buf, sizeof buf)), "%s: the deepest frame moves: %s", cc, j ? j : "");
    hf_free(j);
}

/* The old body in a linked program, the new one in an object: the same
 * answer as from the object the program was built from. */
static void linked_from(const char *cc)
{
    static const char stubs_c[] =
        "void checkpoint(int i) { (void)i; }\n"
        "int work(int i) { return i; }\n"
        "void run(int n);\n"
        "int main(void) { run(3); return 0; }\n";
    char a[512], b[512], prog[512];
    snprintf(a, sizeof a, "%s", tmp("stubs.c"));
    snprintf(b, sizeof b, "%s", tmp("loop.c"));
    snprintf(prog, sizeof prog, "%s", tmp("fprog"));
    char *link[] = {(char *)cc, "-g", "-O0", a, b, "-o", prog, NULL};
    if (!CHECK(write_file("stubs.c", stubs_c) && run(link), "%s: link fprog", cc))
        return;
    jsym syms[64];
    size_t n = symbols_of("fprog", syms, 64, NULL);
    const jsym *run_sym = find_sym(syms, n, "run", "func");
    if (!CHECK(run_sym != NULL, "%s: run in fprog", cc))
        return;
    hf_image *img = NULL, *obj = NULL;
    char body_o[64], spec[128];
    snprintf(body_o, sizeof body_o, "body-%s.o", cc);
    snprintf(spec, sizeof spec, "run %llx %llx", run_sym->value, run_sym->size);
    if (!CHECK(hf_open(prog, &img) == HF_OK && hf_open(tmp(body_o), &obj) == HF_OK, "%s: open", cc))
        goto out;
    /* loop.c's unit: its offset comes before its name. */
    char *units = NULL;
    long long cu = -1;
    if (CHECK(hf_units_json(img, &units) == HF_OK, "units")) {
        for (const char *q = units; (q = strstr(q, "\"offset\":")); q++) {
            const char *name = strstr(q, "\"name\":\"");
            const char *end = name ? strchr(name + 8, '"') : NULL;
            if (end && end - (name + 8) >= 6 && !strncmp(end - 6, "loop.c", 6))
                sscanf(q, "\"offset\":%lld", &cu);
        }
        hf_free(units);
    }
    char *j = NULL, buf[2048];
    CHECK(cu >= 0 && hf_frame_map_json(img, cu, spec, obj, -1, "run", &j) == HF_OK, "%s: map from fprog: %s", cc,
          hf_error_detail());
    CHECK(moves(return_point(j, 9, buf, sizeof buf)), "%s: from the linked program, the frame in checkpoint moves: %s",
          cc, j ? j : "");
    hf_free(j);
out:
    hf_close(img);
    hf_close(obj);
}

void test_frame_maps(void)
{
    printf("frames moved to a new body\n");
    const char *ccs[] = {"gcc", "clang"};
    for (int c = 0; c < 2; c++) {
        frames_from(ccs[c]);
        recursion_from(ccs[c]);
        linked_from(ccs[c]);
    }
    /* Optimised code keeps no frame to move. */
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp("loop.c"));
    snprintf(o, sizeof o, "%s", tmp("loop-o2.o"));
    char *argv[] = {"gcc", "-g", "-O2", "-c", "-ffunction-sections", s, "-o", o, NULL};
    if (CHECK(run(argv), "compile loop.c -O2")) {
        char *j = frame_map("loop-o2.o", "run", "loop-o2.o", "run");
        CHECK(j && strstr(j, "\"points\":[]") && !strstr(j, "\"refused\":\"\""), "-O2 is refused: %s", j ? j : "");
        hf_free(j);
    }
    /* alloca: a frame whose size is not known. */
    static const char alloca_c[] =
        "#include <alloca.h>\n"
        "void checkpoint(int);\n"
        "void run(int n) { char *p = alloca(n); p[0] = 1; checkpoint(p[0]); }\n";
    snprintf(s, sizeof s, "%s", tmp("alloca.c"));
    snprintf(o, sizeof o, "%s", tmp("alloca.o"));
    char *argv2[] = {"gcc", "-g", "-O0", "-c", s, "-o", o, NULL};
    if (CHECK(write_file("alloca.c", alloca_c) && run(argv2), "compile alloca.c")) {
        char *j = frame_map("alloca.o", "run", "alloca.o", "run");
        CHECK(j && strstr(j, "allocates stack space"), "alloca is refused: %s", j ? j : "");
        hf_free(j);
    }
}

/* ------------------------------------------------------------ frame facts */

void test_function_frame(void)
{
    printf("a function's frame from its DWARF\n");
    const char *ccs[] = {"gcc", "clang"};
    for (int c = 0; c < 2; c++) {
        char o[64];
        snprintf(o, sizeof o, "loop-%s.o", ccs[c]);
        hf_image *img = NULL;
        if (!CHECK(hf_open(tmp(o), &img) == HF_OK, "open %s", o))
            continue;
        frame_facts f;
        if (CHECK(function_frame(img, -1, "run", 0, &f) == HF_OK, "%s: function_frame: %s", ccs[c],
                  hf_error_detail())) {
            CHECK(f.frame_base == (c ? FRAME_BASE_RBP : FRAME_BASE_CFA), "%s: frame base %d", ccs[c], f.frame_base);
            int seen = 0;
            for (size_t k = 0; k < f.nvars; k++) {
                const frame_var *v = &f.vars[k];
                CHECK(v->in_slot && v->slot < 0 && v->size == 4, "%s: %s in a slot of 4 bytes (%lld, %llu)", ccs[c],
                      v->name, (long long)v->slot, (unsigned long long)v->size);
                if (!strcmp(v->name, "i")) {
                    seen++;
                    CHECK(v->scope > 0 && f.scopes[v->scope].n == 1, "%s: i is in the loop's block", ccs[c]);
                }
                if (!strcmp(v->name, "hits") || !strcmp(v->name, "n"))
                    seen++, CHECK(v->scope == 0, "%s: %s is in the function's scope", ccs[c], v->name);
            }
            CHECK(seen == 3, "%s: n, hits and i found (%d)", ccs[c], seen);
            /* GCC declares the functions the unit calls (clang does not). */
            int work = c;
            for (size_t k = 0; k < f.nprotos; k++)
                if (!strcmp(f.protos[k].name, "work"))
                    work = f.protos[k].prototyped && f.protos[k].gpr == 1 && !f.protos[k].variadic;
            CHECK(work, "%s: work's prototype: one integer argument", ccs[c]);
            frame_facts_free(&f);
        }
        hf_close(img);
    }
}

/* ---------------------------------------------------------------- place */

void test_place(void)
{
    printf("a function laid out at an address\n");
    static const char placed_c[] =
        "#include <stdio.h>\n"
        "static int counter;\n"
        "int far_away(int);\n"
        "int near_by(int);\n"
        "int placed(int x) { counter += near_by(x); printf(\"%d\\n\", counter); return far_away(counter); }\n";
    char s[512], o[512];
    snprintf(s, sizeof s, "%s", tmp("placed.c"));
    snprintf(o, sizeof o, "%s", tmp("placed.o"));
    char *argv[] = {"gcc", "-g", "-O0", "-c", "-ffunction-sections", "-fdata-sections", s, "-o", o, NULL};
    hf_image *img = NULL;
    if (!CHECK(write_file("placed.c", placed_c) && run(argv) && hf_open(o, &img) == HF_OK, "compile placed.c"))
        return;
    char *j = NULL;
    CHECK(hf_place_json(img, "placed", 0, NULL, &j) == HF_OK, "first question: %s", hf_error_detail());
    CHECK(j && strstr(j, "\"error\":\"\"") && strstr(j, "{\"name\":\"near_by\",\"function\":true,\"required\":true}") &&
              strstr(j, "{\"name\":\"counter\",\"function\":false,\"required\":true}") &&
              strstr(j, "{\"name\":\"printf\",\"function\":true,\"required\":true}"),
          "what it needs: %s", j ? j : "");
    hf_free(j);
    /* Missing an address: said. */
    j = NULL;
    CHECK(hf_place_json(img, "placed", 0x10000000, "near_by 10001000\n", &j) != HF_OK &&
              strstr(hf_error_detail(), "no address for"),
          "a missing address is an error: %s", hf_error_detail());
    /* Data out of reach: said. */
    CHECK(hf_place_json(img, "placed", 0x10000000,
                        "near_by 10001000\nfar_away 7f0000000000\nprintf 7f0000001000\ncounter 7f0000002000\n",
                        &j) != HF_OK && strstr(hf_error_detail(), "out of reach"),
          "a variable out of reach is an error: %s", hf_error_detail());
    j = NULL;
    const uint64_t base = 0x10000000, counter = 0x10400000, near_by = 0x10001000;
    if (CHECK(hf_place_json(img, "placed", base,
                            "near_by 10001000\nfar_away 7f0000000000\nprintf 7f0000001000\ncounter 10400000\n",
                            &j) == HF_OK,
              "placed: %s", hf_error_detail())) {
        const char *hex = strstr(j, "\"bytes\":\"");
        unsigned long long size = 0;
        sscanf(strstr(j, "\"size\":"), "\"size\":%llu", &size);
        unsigned char code[4096];
        size_t n = 0;
        for (const char *p = hex + 9; *p != '"' && n < sizeof code; p += 2) {
            unsigned v;
            sscanf(p, "%2x", &v);
            code[n++] = (unsigned char)v;
        }
        CHECK(n == size && n > 32, "the bytes: %zu of %llu", n, size);
        /* Every call: near_by directly, the far ones through a slot after
         * the code, which jumps to them. */
        int near_calls = 0, slot_calls = 0, counter_refs = 0;
        x86_stream st;
        if (CHECK(x86_decode_all(code, n, &st) == HF_OK, "decode")) { /* up to the literals after it */
            for (size_t k = 0; k < st.n; k++) {
                const x86_insn *in = &st.ins[k];
                uint64_t next = base + in->at + in->len;
                if (in->branch == X86_CALL) {
                    uint64_t to = next + (uint64_t)in->rel;
                    if (to == near_by)
                        near_calls++;
                    else if (to >= base && to + 14 <= base + n)
                        slot_calls += code[to - base] == 0xff && code[to - base + 1] == 0x25;
                }
                if (in->rip_relative && next + (uint64_t)read_field(code + in->at + in->disp_at, 4) == counter)
                    counter_refs++;
            }
            x86_stream_free(&st);
        }
        CHECK(near_calls == 1 && slot_calls == 2 && counter_refs >= 2,
              "calls near %d, through slots %d; references of counter %d", near_calls, slot_calls, counter_refs);
        CHECK(strstr(j, "{\"name\":\".text.placed\",\"size\":") && strstr(j, "\"address\":268435456}"),
              "the function's section lies at the base: %s", j);
        hf_free(j);
    }
    hf_close(img);
}
