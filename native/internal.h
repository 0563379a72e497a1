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
void sb_append(strbuf *sb, const char *text, size_t n);
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
    size_t debug_str, debug_line_str; /* of those sections (0: none): every DIE's name is in one */
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
    /* In an object: the relocations of DWARF sections by the offset they
     * apply at (dwarf.c's relocated_field), built when first asked. */
    struct field_relocs *relocs;
    size_t nrelocs;
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

/* What an instruction of -O0 code does to registers and to the frame,
 * for the liveness frames.c computes.  Registers are bits of a mask:
 * 0-15 the general registers in encoding order (rax rcx rdx rbx rsp rbp
 * rsi rdi r8-r15), 16-31 xmm0-15, 32 the flags.  A write of part of a
 * register reads the rest: it is a use, not a kill. */
enum { X86_RAX = 0, X86_RCX = 1, X86_RDX = 2, X86_RBX = 3, X86_RSP = 4, X86_RBP = 5, X86_XMM0 = 16,
       X86_FLAGS = 32 };
#define X86_BIT(r) (1ull << (r))

typedef struct {
    int known;            /* 0: not modelled (read everything, write nothing) */
    uint64_t use, kill;   /* registers read; registers written whole */
    uint64_t part;        /* registers written in part (and so read) */
    int call, ret;        /* a call (of any kind), a return */
    int jump;             /* X86_JMP / X86_JCC of a relative branch, or -1: an indirect jump */
    int stack;            /* changes %rsp other than by push, pop, call or ret with */
    int64_t stack_delta;  /* an immediate (sub/add $N,%rsp): its change; else `dynamic` */
    int dynamic;          /* %rsp set from something unknown (alloca, a VLA) */
    /* A memory operand based on %rbp alone (a frame slot): */
    int slot;             /* 1: it is one */
    int64_t slot_off;     /* %rbp-relative */
    int read_size, write_size; /* bytes read, bytes written whole (0: none) */
    int address_taken;    /* lea of the slot: the address escapes */
    int store;            /* a register copied to memory, nothing else read */
} x86_effect;

void x86_effect_of(const x86_insn *in, const unsigned char *code, x86_effect *e);

/* --------------------------------------------------------------- diff.c */

/* One function's code as the function comparison sees it, for frames.c,
 * which compares pieces of two bodies the same way: an object's function
 * (its relocations known) or a linked image's code at an address.  The
 * new body of a comparison is always an object's. */
typedef struct code_body code_body;

hf_status body_open_object(hf_image *obj, const char *name, code_body **out);
hf_status body_open_image(hf_image *img, uint64_t addr, uint64_t size, code_body **out);
void body_close(code_body *b);
const x86_stream *body_insns(const code_body *b);
const unsigned char *body_code(const code_body *b);
hf_image *body_image(const code_body *b);
uint64_t body_start(const code_body *b);   /* its address, or its offset in its section */
size_t body_section(const code_body *b);   /* its section in an object, 0 in an image */
int body_same_insn(code_body *n, size_t j, code_body *o, size_t i);
int body_branch(code_body *b, size_t i, int *inside, uint64_t *off);
int body_same_callee(code_body *n, size_t j, code_body *o, size_t i);
const char *body_callee_name(code_body *b, size_t i);

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
void free_field_relocs(hf_image *img);
cursor section_cursor(const hf_image *img, const char *name, uint64_t off);
const char *attr_string(const hf_image *img, const unit_ctx *u, const attr_value *v);
uint64_t indexed_address(const hf_image *img, const unit_ctx *u, uint64_t index);
uint64_t relocated_field(const hf_image *img, const char *section, uint64_t off, uint64_t raw, size_t *shndx);
int next_attribute(const hf_image *img, const unit_ctx *u, cursor *spec, cursor *c, uint64_t *at,
                   attr_value *v);
int unit_header(cursor *all, unit_ctx *u, cursor *c, uint64_t *abbrev_offset);
hf_status line_rows(hf_image *img, const line_row **rows, size_t *n);
/* A function's frame as its DWARF describes it (dies.c, for frames.c):
 * its frame base, and every local and parameter with the frame slot it
 * lives in and the scope (lexical block) it belongs to.  Slots are
 * offsets from %rbp (the frame pointer -O0 code keeps), whatever the
 * frame base: GCC's DW_OP_call_frame_cfa is %rbp + 16, clang's %rbp.
 * Address ranges are offsets from the function's first byte. */
enum { FRAME_BASE_NONE, FRAME_BASE_CFA, FRAME_BASE_RBP, FRAME_BASE_OTHER };

typedef struct {
    uint64_t die, type;     /* offsets in .debug_info; type 0: none */
    const char *name;
    int64_t slot;           /* %rbp-relative offset of its first byte */
    uint64_t size;          /* bytes, 0 if its type does not say */
    int in_slot;            /* 0: somewhere else (a register, a location list: optimised code) */
    size_t scope;           /* its innermost scope (frame_facts.scopes; 0 is the function's body) */
} frame_var;

typedef struct {
    size_t parent;
    size_t first, n;        /* its ranges in frame_facts.ranges */
    int unknown;            /* DW_AT_ranges hotfix does not read: in scope nowhere */
} frame_scope;

typedef struct {
    uint64_t lo, hi;
} pc_range;

/* A function the unit declares or defines, and how its arguments are
 * passed (the registers a call of it reads). */
typedef struct {
    const char *name;       /* linkage name, or name */
    int prototyped;
    int variadic;
    int unknown;            /* a parameter this does not classify (a struct, long double) */
    int gpr, sse;           /* parameters in general and in vector registers */
    size_t first, nparams;
} frame_proto;

typedef struct {
    uint64_t die;
    int frame_base;
    int inlined;            /* another function's code is inlined into it */
    frame_proto *protos;    /* of the whole unit */
    size_t nprotos, capprotos;
    frame_var *vars;
    size_t nvars, capvars;
    frame_scope *scopes;
    size_t nscopes, capscopes;
    pc_range *ranges;
    size_t nranges, capranges;
} frame_facts;

hf_status function_frame(hf_image *img, int64_t cu_offset, const char *name, uint64_t address,
                         frame_facts *out);
void frame_facts_free(frame_facts *f);
int in_scope(const frame_facts *f, size_t scope, uint64_t off);

size_t line_rows_in(hf_image *img, size_t section, uint64_t lo, uint64_t hi, const line_row **first);

#pragma GCC visibility pop

#endif
