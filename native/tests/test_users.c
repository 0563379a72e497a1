/* Which functions of a linked program refer to some data (hf_users_json):
 * gcc and clang, -O0 and -O2, PIE (RIP-relative) and not (absolute). */
#include "check.h"

static const char users_c[] =
    "static int counter;\n"
    "static int table[4];\n"
    "__attribute__((noinline)) int peek(void) { return counter; }\n"
    "__attribute__((noinline)) int *where(void) { return &counter; }\n"
    "__attribute__((noinline)) int sum(int i) { return table[i & 3]; }\n"
    "__attribute__((noinline)) int none(int x) { return x * 3; }\n"
    "int main(int argc, char **argv) { (void)argv; table[1] = argc; return peek() + *where() + sum(argc) + none(argc); }\n";

static int listed(const char *json, const char *name)
{
    char want[64];
    snprintf(want, sizeof want, "{\"name\":\"%s\",", name);
    return strstr(json, want) != NULL;
}

void test_users(void)
{
    printf("the functions that refer to some data\n");
    if (!CHECK(write_file("users.c", users_c), "write users.c"))
        return;
    const char *ccs[] = {"gcc", "clang"}, *opts[] = {"-O0", "-O2"}, *pies[] = {"-pie", "-no-pie"};
    for (size_t c = 0; c < 2; c++)
        for (size_t o = 0; o < 2; o++)
            for (size_t k = 0; k < 2; k++) {
                char src[512], prog[512];
                snprintf(src, sizeof src, "%s", tmp("users.c"));
                snprintf(prog, sizeof prog, "%s", tmp("users"));
                char *argv[] = {(char *)ccs[c], "-g", (char *)opts[o], k ? "-fno-pie" : "-fpie", (char *)pies[k],
                                src, "-o", prog, NULL};
                if (!CHECK(run(argv), "%s %s %s users.c", ccs[c], opts[o], pies[k]))
                    continue;
                jsym syms[64];
                size_t n = symbols_of("users", syms, 64, NULL);
                const jsym *counter = find_sym(syms, n, "counter", "object");
                const jsym *table = find_sym(syms, n, "table", "object");
                hf_image *img = NULL;
                char *of_counter = NULL, *of_table = NULL;
                if (CHECK(counter && table, "%s %s %s: counter and table", ccs[c], opts[o], pies[k]) &&
                    CHECK(hf_open(prog, &img) == HF_OK, "open users") &&
                    CHECK(hf_users_json(img, counter->value, counter->value + 4, &of_counter) == HF_OK &&
                              hf_users_json(img, table->value, table->value + 16, &of_table) == HF_OK,
                          "hf_users_json: %s", hf_error_detail())) {
                    CHECK(listed(of_counter, "peek") && listed(of_counter, "where") && !listed(of_counter, "sum") &&
                              !listed(of_counter, "none"),
                          "%s %s %s: peek and where use counter: %s", ccs[c], opts[o], pies[k], of_counter);
                    CHECK(listed(of_table, "sum") && listed(of_table, "main") && !listed(of_table, "peek") &&
                              !listed(of_table, "none"),
                          "%s %s %s: sum and main use table: %s", ccs[c], opts[o], pies[k], of_table);
                }
                hf_free(of_counter);
                hf_free(of_table);
                hf_close(img);
            }
}
