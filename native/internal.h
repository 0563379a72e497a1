/* libhotfix's private header: what its files share.  The public interface
 * is hotfix.h; nothing declared here is exported from libhotfix.so.
 *
 * The library reads as a pipeline: open an image (image.c: sections,
 * symbols, dynamic relocations), then the three questions hotfix asks of
 * ELF files:
 *   1. what symbols does it define, and how much room has each function
 *      (image.c);
 *   2. which functions of a freshly compiled object differ from the code
 *      the program runs, another object or the linked image itself
 *      (diff.c, with the relocation facts of reloc.c);
 *   3. where does a linked patch refer to code or data, so that those
 *      references can be bound to the program's live storage after load
 *      (sites.c).
 * Besides: the jumps hotfix writes (jumps.c), x86-64 instructions (x86.c:
 * lengths, branch targets, what a memory operand reads), and the DWARF it
 * reads: units (dwarf.c), line tables (lines.c: files and rows) and DIEs
 * (dies.c).  Errors are status.c's, JSON text json.c's.
 */
#ifndef HOTFIX_INTERNAL_H
#define HOTFIX_INTERNAL_H

#define _GNU_SOURCE
#include "hotfix.h"

#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------- status.c */

hf_status fail(hf_status st, const char *path, const char *fmt, ...);

/* --------------------------------------------------------------- json.c */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} strbuf;

void sb_printf(strbuf *sb, const char *fmt, ...);
void sb_json_string(strbuf *sb, const char *s);
hf_status sb_finish(strbuf *sb, char **out, const char *path);

/* -------------------------------------------------------------- image.c */

typedef struct {
    const char *name;
    GElf_Shdr sh;
    Elf_Data *data;
    size_t rela; /* index of the static RELA section applying here, or 0 */
    uint64_t widest; /* the largest size of a symbol defined in it (at least 1) */
} section;

typedef struct {
    const char *name;
    GElf_Sym sym;
    unsigned char type, bind;
    const char *file; /* STT_FILE group of a local symbol */
} symbol;

typedef struct {
    uint64_t offset;
    uint32_t type;
    int64_t addend;
    const char *sym; /* name of the dynamic symbol, or NULL */
} dynrel;

/* One row of a DWARF line table (lines.c). */
typedef struct {
    uint64_t address; /* link-time address; in an object, the offset in `section` */
    size_t section;   /* in an object, the section the row's sequence is in; 0 in an image */
    uint32_t line, file;
    unsigned char is_stmt, end_sequence;
} line_row;

struct hf_image {
    char *path;
    int fd;
    Elf *elf;
    GElf_Ehdr eh;
    size_t nsec;
    section *sec;
    size_t symtab;   /* section index of .symtab (0: none) */
    symbol *sym;     /* indexed like .symtab */
    size_t nsym;
    symbol **byaddr; /* defined, non-section symbols sorted by (section, value) */
    size_t nbyaddr;
    dynrel *dyn;     /* dynamic relocations, sorted by offset */
    size_t ndyn;
    uint64_t got;
    line_row *rows;  /* every row of .debug_line, read when first asked (line_rows) */
    size_t nrows;
    int rows_read;
};

static inline int is_a64(const hf_image *img) { return img->eh.e_machine == EM_AARCH64; }

const unsigned char *section_bytes(const hf_image *img, size_t idx);
const unsigned char *bytes_at(const hf_image *img, uint64_t addr, size_t *avail);
size_t symbols_at(const hf_image *img, uint64_t addr, size_t *count);
const symbol *symbol_covering(const hf_image *img, size_t shndx, uint64_t off);

/* A growing array with room for one more element at index n: the array
 * (moved, if it had to grow: *cap says how many elements of `size` bytes
 * it holds, `first` when it starts empty), or NULL if out of memory (the
 * array unchanged). */
static inline void *grow(void *array, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return array;
    size_t want = *cap ? *cap * 2 : first;
    void *w = realloc(array, want * size);
    if (w)
        *cap = want;
    return w;
}

/* ------------------------------------------------------- bytes of fields */

static inline int64_t read_field(const unsigned char *p, int width)
{
    switch (width) {
    case 8: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    case 4: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case 2: {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 1:
        return (int8_t)p[0];
    default:
        return 0;
    }
}

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline int64_t sext(uint64_t v, int bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

/* -------------------------------------------------------------- reloc.c */

int field_width(uint32_t type);
int is_pcrel(uint32_t type);
int is_gotpcrel(uint32_t type);
int rewritable_prefix(uint32_t type);
int is_tls(uint32_t type);
uint32_t a64_field_bits(uint32_t type);
int a64_is_data(uint32_t type);
int width_of(const hf_image *img, uint32_t type);
int place_bias(const hf_image *img, uint32_t type);
int tls_of(const hf_image *img, uint32_t type);
int prefix_of(const hf_image *img, uint32_t type);
uint64_t a64_adrp_page(uint32_t insn, uint64_t place);
uint64_t a64_lo12(uint32_t type, uint32_t insn);
int a64_is_page(uint32_t type);
int a64_is_lo12(uint32_t type);

/* ---------------------------------------------------------------- x86.c */

enum { X86_LEGACY, X86_VEX, X86_EVEX, X86_XOP };           /* encodings */
enum { X86_JMP = 1, X86_JCC, X86_CALL, X86_LOOP };        /* relative branches */
/* What an instruction reads through a memory operand, besides a width in
 * bytes (x86_read_width; diff.c says the same of AArch64 relocations). */
enum { WIDTH_UNKNOWN = 0, WIDTH_ADDRESS = -1 };

/* One decoded instruction: where its parts are (offsets from its first
 * byte) and what the comparisons need of its encoding. */
typedef struct {
    uint32_t at;                  /* offset in its stream (x86_decode_all) */
    unsigned char len;            /* 0: not decoded */
    unsigned char prefixes;       /* legacy prefix bytes */
    unsigned char rex, w, opsize16, addr32, rep;
    unsigned char mandatory;      /* 0x66, 0xf3, 0xf2 (legacy or implied by VEX/EVEX), or 0 */
    unsigned char encoding, map;  /* map: 0 one-byte, 1 0F, 2 0F38, 3 0F3A (or VEX/EVEX/XOP map) */
    unsigned char opcode, opcode_at;
    unsigned char vl, broadcast;  /* VEX.L / EVEX.L'L; EVEX.b */
    unsigned char has_modrm, modrm, modrm_at;
    unsigned char disp_at, disp_size, rip_relative;
    unsigned char imm_at, imm_size;
    unsigned char branch, cond;   /* X86_JMP...; jcc's condition (loop's opcode) */
    int64_t rel;                  /* a relative branch's displacement */
} x86_insn;

typedef struct {
    x86_insn *ins;
    size_t n;
    int bad; /* stopped at bytes it could not decode */
} x86_stream;

int x86_decode(const unsigned char *code, size_t avail, x86_insn *in);
int x86_is_nop(const x86_insn *in);
int x86_read_width(const x86_insn *in);
hf_status x86_decode_all(const unsigned char *code, size_t size, x86_stream *out);
const x86_insn *x86_insn_at(const x86_stream *s, uint64_t off);
void x86_stream_free(x86_stream *s);

/* ---------------------------------------------- DWARF (dwarf.c, lines.c, dies.c) */

typedef struct {
    const unsigned char *p, *end;
    int bad;
} cursor;

static inline uint64_t take(cursor *c, size_t n)
{
    uint64_t v = 0;
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += n;
    return v;
}

static inline uint64_t uleb(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; !c->bad; shift += 7) {
        uint64_t b = take(c, 1);
        if (shift < 64)
            v |= (b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static inline const char *cstr(cursor *c)
{
    const unsigned char *z = c->bad ? NULL : memchr(c->p, 0, (size_t)(c->end - c->p));
    if (!z) {
        c->bad = 1;
        return "";
    }
    const char *s = (const char *)c->p;
    c->p = z + 1;
    return s;
}

static inline int64_t sleb(cursor *c)
{
    uint64_t v = 0;
    int shift = 0;
    unsigned b;
    do {
        b = (unsigned)take(c, 1);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !c->bad);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

typedef struct {
    uint64_t form, num;   /* num: the value, an index for strx/addrx/rnglistx, a block's length */
    const char *str;      /* for string forms read in place */
    const unsigned char *block; /* for block and exprloc forms */
} attr_value;

typedef struct {
    int offset_size, addr_size, version;
    uint64_t str_offsets_base, addr_base, rnglists_base;
} unit_ctx;

const char *section_string(const hf_image *img, const char *name, uint64_t off);
cursor section_cursor(const hf_image *img, const char *name, uint64_t off);
const char *attr_string(const hf_image *img, const unit_ctx *u, const attr_value *v);
uint64_t indexed_address(const hf_image *img, const unit_ctx *u, uint64_t index);
int next_attribute(const hf_image *img, const unit_ctx *u, cursor *spec, cursor *c, uint64_t *at,
                   attr_value *v);
int unit_header(cursor *all, unit_ctx *u, cursor *c, uint64_t *abbrev_offset);
hf_status line_rows(hf_image *img, const line_row **rows, size_t *n);
size_t line_rows_in(hf_image *img, size_t section, uint64_t lo, uint64_t hi, const line_row **first);

#pragma GCC visibility pop

#endif
