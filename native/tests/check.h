/* What the files of test_native share: CHECK, the helpers that compile
 * and read small programs in a temporary directory, the programs the diff
 * and DWARF tests both build, and the test of each stage (main.c runs
 * them). */
#ifndef HOTFIX_TEST_CHECK_H
#define HOTFIX_TEST_CHECK_H

#define _GNU_SOURCE
#include "hotfix.h"

#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...) check_((cond) != 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

/* CHECK's counts (a test compares `failed` before and after a step). */
extern int passed, failed;

int check_(int ok, const char *file, int line, const char *cond, const char *fmt, ...);

const char *tmp(const char *name);
int write_file(const char *name, const char *text);
int run(char *const argv[]);
int run_output(char *const argv[], const char *out);
int compile(const char *src, const char *obj, const char *opt);
int count(const char *json, const char *what);

/* A symbol of hf_symbols_json's output, scanned minimally. */
typedef struct {
    char name[128];
    char type[16];
    unsigned long long value, size, room;
} jsym;

const jsym *find_sym(const jsym *v, size_t n, const char *name, const char *type);
size_t symbols_of(const char *name, jsym *out, size_t max, char **json);

#define A64_CC "aarch64-linux-gnu-gcc"

/* a.c and b.c of a small linked program (test_diff.c). */
extern const char prog_a_c[], prog_b_c[];

void test_jumps(void);
void test_jumps_a64(void);
void test_x86_table(void);
void test_x86_compiled(void);
void test_errors(void);
void test_open(void);
void test_soname(void);
void test_diff_objects(const char *opt);
void test_diff_inlined(void);
void test_diff_program(void);
void test_diff_false_changes(void);
void test_diff_branches(void);
void test_a64_program(const char *opt);
void test_a64_shared_constant(void);
void test_sites(void);
void test_a64_sites(void);
void test_live_sites(void);
void test_units(void);
void test_field_dies(void);
void test_users(void);
void test_line_rows(void);
void test_x86_effects(void);
void test_frame_maps(void);
void test_function_frame(void);
void test_place(void);

#endif
