/* libhotfix: the second question, which functions of a freshly compiled
 * object differ from the code the program runs (another object, or the
 * linked image itself), on x86-64 and AArch64 (hf_diff_json).
 *
 * Each function is first compared byte for byte, and every relocated field
 * by what it refers to: a symbol by name, an anonymous literal by the bytes
 * the instruction reads.  On x86-64 a function that differs is then
 * compared instruction by instruction (same_instructions): no-ops aside
 * (alignment padding moves with the code), opcodes and operands must be
 * equal, except that a relative branch may be short in one and near in the
 * other if both reach the same place, and a 32-bit immediate may differ if
 * the two values are the line numbers of the same place in the two line
 * tables (__LINE__ after an edit that moved lines).  Such a function is
 * "lines": the same code but for line numbers.
 */
#include "internal.h"

/* Names compared across two compiles: GCC numbers function-local statics
 * ("count.0") in an order that changes when the file is edited. */
static size_t normalized_length(const symbol *s)
{
    size_t n = strlen(s->name);
    if (s->type != STT_OBJECT || s->bind != STB_LOCAL)
        return n;
    size_t i = n;
    while (i > 0 && s->name[i - 1] >= '0' && s->name[i - 1] <= '9')
        i--;
    if (i < n && i > 0 && s->name[i - 1] == '.')
        return i - 1;
    return n;
}

static int same_name(const symbol *a, const symbol *b)
{
    size_t n = normalized_length(a);
    return n == normalized_length(b) && !strncmp(a->name, b->name, n);
}

/* What a relocation of the new object refers to, in terms that survive a
 * recompile and a link: a symbol by name (and, for read-only objects, its
 * contents), the bytes of an anonymous literal, a jump table, or something
 * only another object can match. */
typedef enum { REF_SYM, REF_BYTES, REF_TABLE, REF_BLOCK, REF_OTHER } ref_kind;

struct function;

typedef struct {
    ref_kind kind;
    const symbol *sym;          /* REF_SYM */
    int64_t off;                /* addend relative to sym (REF_SYM), or section offset */
    const unsigned char *bytes; /* REF_BYTES, or the contents of a read-only REF_SYM */
    size_t nbytes;
    const char *section;        /* REF_OTHER */
    const struct function *owner; /* REF_BLOCK: the function whose object holds the block */
    size_t shndx;               /* REF_BLOCK: its section (off: where it begins) */
    int tail;                   /* what is referred to is symbol + addend + tail: for an
                                   x86-64 PC-relative field, the bytes of its instruction
                                   from the field on (4, or more with an immediate after) */
} ref;

typedef struct {
    uint64_t offset; /* within the function */
    uint32_t type;
    int64_t addend;
    size_t symidx;
} reloc;

/* What the diff looks up in an object again and again, indexed once per
 * hf_diff_json: where each relocation applies, which places of a section
 * relocations refer to (where one anonymous literal ends and the next
 * begins), and the functions by name.  Scanning the relocations for each
 * literal took a minute on a unit of 10,000 functions. */
typedef struct {
    size_t shndx;
    uint64_t off;
} place;

typedef struct {
    place *fields;          /* offsets relocations apply at, by section */
    size_t nfields;
    place *referred;        /* label + addend places relocations refer to */
    size_t nreferred;
    symbol *const **funcs;  /* functions, by name (then where byaddr has them) */
    size_t nfuncs;
} object_index;

typedef struct function {
    hf_image *img; /* not const: its line rows are read when first needed */
    const object_index *ix;
    const symbol *sym;
    size_t shndx;
    const unsigned char *code;
    uint64_t size;
    reloc *rel;
    size_t nrel;
    x86_stream ins; /* x86-64: the decoded instructions, when first needed */
    int decoded;
    int data;       /* not code: the pointers of an anonymous block (REF_BLOCK) */
} function;

static int by_reloc_offset(const void *a, const void *b)
{
    const reloc *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The relocations that apply in [at, at + n) of section shndx, with
 * offsets from at, sorted; *out is freed by the caller. */
static hf_status relocs_in(const hf_image *img, size_t shndx, uint64_t at, uint64_t n, reloc **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t ri = img->sec[shndx].rela;
    if (!ri)
        return HF_OK;
    const section *rs = &img->sec[ri];
    size_t total = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
    reloc *v = calloc(total ? total : 1, sizeof *v);
    if (!v)
        return fail(HF_ENOMEM, img->path, NULL);
    size_t k = 0;
    for (size_t j = 0; j < total; j++) {
        GElf_Rela r;
        if (!gelf_getrela(rs->data, (int)j, &r)) {
            free(v);
            return fail(HF_EELF, img->path, "%s", elf_errmsg(-1));
        }
        if (r.r_offset < at || r.r_offset >= at + n)
            continue;
        v[k++] = (reloc){r.r_offset - at, GELF_R_TYPE(r.r_info), r.r_addend, GELF_R_SYM(r.r_info)};
    }
    qsort(v, k, sizeof *v, by_reloc_offset);
    *out = v;
    *count = k;
    return HF_OK;
}

static hf_status load_function(hf_image *img, const object_index *ix, const symbol *s, function *f)
{
    memset(f, 0, sizeof *f);
    f->img = img;
    f->ix = ix;
    f->sym = s;
    f->shndx = s->sym.st_shndx;
    f->size = s->sym.st_size;
    const unsigned char *b = section_bytes(img, f->shndx);
    if (!b || s->sym.st_value + f->size > img->sec[f->shndx].sh.sh_size)
        return fail(HF_EELF, img->path, "no code for %s", s->name);
    f->code = b + s->sym.st_value;
    return relocs_in(img, f->shndx, s->sym.st_value, f->size, &f->rel, &f->nrel);
}

static void free_function(function *f)
{
    free(f->rel);
    x86_stream_free(&f->ins);
}

/* An x86-64 function's instructions, decoded on first use; NULL on
 * AArch64 or if some bytes could not be decoded. */
static const x86_stream *function_insns(function *f)
{
    if (is_a64(f->img))
        return NULL;
    if (!f->decoded) {
        f->decoded = 1;
        if (x86_decode_all(f->code, f->size, &f->ins) != HF_OK)
            f->ins.bad = 1;
    }
    return f->ins.bad ? NULL : &f->ins;
}

/* The relocation of f at offset off, or NULL. */
static const reloc *reloc_at(const function *f, uint64_t off)
{
    size_t lo = 0, hi = f->nrel;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->rel[mid].offset < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->nrel && f->rel[lo].offset == off ? &f->rel[lo] : NULL;
}

static int place_order(const void *a, const void *b)
{
    const place *x = a, *y = b;
    if (x->shndx != y->shndx)
        return x->shndx < y->shndx ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The first place at or after (shndx, off) in a sorted array. */
static size_t first_place(const place *v, size_t n, size_t shndx, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].shndx < shndx || (v[mid].shndx == shndx && v[mid].off < off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Does any relocation of section shndx fall into [off, off+len)? */
static int has_relocations_in(const object_index *ix, size_t shndx, uint64_t off, uint64_t len)
{
    size_t k = first_place(ix->fields, ix->nfields, shndx, off);
    return k < ix->nfields && ix->fields[k].shndx == shndx && ix->fields[k].off < off + len;
}

static int is_label(const symbol *s);

/* The size of an anonymous literal at off in a section: a string up to its
 * NUL, an entry of a merge section, or up to the next place anything in
 * the object refers to. */
static uint64_t literal_size(const hf_image *img, const object_index *ix, size_t shndx, uint64_t off)
{
    const section *s = &img->sec[shndx];
    const unsigned char *b = section_bytes(img, shndx);
    if (!b || off >= s->sh.sh_size)
        return 0;
    uint64_t left = s->sh.sh_size - off;
    if (s->sh.sh_flags & SHF_STRINGS) {
        const unsigned char *z = memchr(b + off, 0, left);
        return z ? (uint64_t)(z - (b + off)) + 1 : left;
    }
    if ((s->sh.sh_flags & SHF_MERGE) && s->sh.sh_entsize)
        return s->sh.sh_entsize < left ? s->sh.sh_entsize : left;
    uint64_t next = s->sh.sh_size;
    size_t k = first_place(ix->referred, ix->nreferred, shndx, off + 1);
    if (k < ix->nreferred && ix->referred[k].shndx == shndx && ix->referred[k].off < next)
        next = ix->referred[k].off;
    /* A trailing string in a plain .rodata: stop at its NUL. */
    const unsigned char *z = memchr(b + off, 0, next - off);
    if (z && (uint64_t)(z - b) + 1 < next && next - off > 16)
        next = (uint64_t)(z - b) + 1;
    return next - off;
}

/* Is this symbol a label the assembler kept (.LC0 in a per-function
 * string section) rather than an object of its own? */
static int is_label(const symbol *s)
{
    if (s->type == STT_SECTION)
        return 1;
    if (s->bind != STB_LOCAL)
        return 0;
    /* gas keeps .LC0 as a sized-0 label; clang keeps .L.str.2 as a sized
     * object: both are anonymous literals, compared by content. */
    return (s->type == STT_NOTYPE && !s->sym.st_size) || !strncmp(s->name, ".L", 2);
}

/* ------------------------------------------- what an instruction reads */

/* The instruction of an x86-64 function holding a relocation's field, if
 * the field is its displacement or immediate. */
static int by_name(const void *a, const void *b)
{
    symbol *const *x = *(symbol *const *const *)a, *const *y = *(symbol *const *const *)b;
    int c = strcmp((*x)->name, (*y)->name);
    return c ? c : (x < y ? -1 : x > y);
}

static hf_status index_object(const hf_image *img, object_index *ix)
{
    memset(ix, 0, sizeof *ix);
    size_t total = 0;
    for (size_t i = 1; i < img->nsec; i++)
        if (img->sec[i].sh.sh_type == SHT_RELA && img->sec[i].sh.sh_link == img->symtab)
            total += img->sec[i].sh.sh_size / (img->sec[i].sh.sh_entsize ? img->sec[i].sh.sh_entsize : 24);
    ix->fields = malloc((total ? total : 1) * sizeof *ix->fields);
    ix->referred = malloc((total ? total : 1) * sizeof *ix->referred);
    ix->funcs = malloc((img->nbyaddr ? img->nbyaddr : 1) * sizeof *ix->funcs);
    if (!ix->fields || !ix->referred || !ix->funcs)
        return fail(HF_ENOMEM, img->path, NULL);
    for (size_t i = 1; i < img->nsec; i++) {
        const section *rs = &img->sec[i];
        if (rs->sh.sh_type != SHT_RELA || rs->sh.sh_link != img->symtab)
            continue;
        size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
        for (size_t j = 0; j < n; j++) {
            GElf_Rela r;
            if (!gelf_getrela(rs->data, (int)j, &r))
                continue;
            ix->fields[ix->nfields++] = (place){rs->sh.sh_info, r.r_offset};
            if (GELF_R_SYM(r.r_info) >= img->nsym)
                continue;
            const symbol *t = &img->sym[GELF_R_SYM(r.r_info)];
            int64_t at = (int64_t)t->sym.st_value + r.r_addend + place_bias(img, GELF_R_TYPE(r.r_info));
            if (is_label(t) && t->sym.st_shndx != SHN_UNDEF && at >= 0)
                ix->referred[ix->nreferred++] = (place){t->sym.st_shndx, (uint64_t)at};
        }
    }
    qsort(ix->fields, ix->nfields, sizeof *ix->fields, place_order);
    qsort(ix->referred, ix->nreferred, sizeof *ix->referred, place_order);
    for (size_t i = 0; i < img->nbyaddr; i++)
        if (img->byaddr[i]->type == STT_FUNC)
            ix->funcs[ix->nfuncs++] = &img->byaddr[i];
    qsort(ix->funcs, ix->nfuncs, sizeof *ix->funcs, by_name);
    return HF_OK;
}

static void free_index(object_index *ix)
{
    free(ix->fields);
    free(ix->referred);
    free(ix->funcs);
}

/* The function of that name (the first byaddr lists), or NULL. */
static const symbol *find_function(const object_index *ix, const char *name)
{
    size_t lo = 0, hi = ix->nfuncs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp((*ix->funcs[mid])->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->nfuncs && !strcmp((*ix->funcs[lo])->name, name) ? *ix->funcs[lo] : NULL;
}

static const x86_insn *instruction_of(function *f, const reloc *r)
{
    const x86_stream *s = function_insns(f);
    const x86_insn *in = s ? x86_insn_at(s, r->offset) : NULL;
    if (!in)
        return NULL;
    uint64_t k = r->offset - in->at;
    if ((in->disp_size && k == in->disp_at) || (in->imm_size && k == in->imm_at))
        return in;
    return NULL;
}

/* How many bytes the instruction with relocation r reads through it: a
 * width, WIDTH_ADDRESS when it only takes the address (lea, an address
 * as an immediate, AArch64's add :lo12:), or WIDTH_UNKNOWN. */
static int width_read(function *f, const reloc *r)
{
    if (f->data)
        return WIDTH_ADDRESS; /* a pointer: to the whole of what it points at */
    if (!is_a64(f->img)) {
        const x86_insn *in = instruction_of(f, r);
        if (!in)
            return WIDTH_UNKNOWN;
        if (r->offset - in->at == in->imm_at && in->imm_size >= 4 && !in->branch)
            return WIDTH_ADDRESS;
        return r->offset - in->at == in->disp_at && in->disp_size == 4 ? x86_read_width(in) : WIDTH_UNKNOWN;
    }
    switch (r->type) {
    case R_AARCH64_LDST8_ABS_LO12_NC: return 1;
    case R_AARCH64_LDST16_ABS_LO12_NC: return 2;
    case R_AARCH64_LDST32_ABS_LO12_NC: return 4;
    case R_AARCH64_LDST64_ABS_LO12_NC: return 8;
    case R_AARCH64_LDST128_ABS_LO12_NC: return 16;
    case R_AARCH64_ADD_ABS_LO12_NC:
    case R_AARCH64_ADR_PREL_LO21:
        return WIDTH_ADDRESS;
    case R_AARCH64_LD_PREL_LO19: {
        /* ldr (literal): opc 00 w/s, 01 x/d, 10 ldrsw (4) or q (16) */
        uint32_t insn = r->offset + 4 <= f->size ? le32(f->code + r->offset) : 0;
        unsigned opc = insn >> 30, vector = (insn >> 26) & 1;
        return opc == 0 ? 4 : opc == 1 ? 8 : opc == 2 ? (vector ? 16 : 4) : WIDTH_UNKNOWN;
    }
    case R_AARCH64_ADR_PREL_PG_HI21:
    case R_AARCH64_ADR_PREL_PG_HI21_NC: {
        /* An adrp reads nothing itself: the :lo12: instructions paired with
         * it do, if they agree. */
        int w = WIDTH_UNKNOWN;
        for (size_t j = 0; j < f->nrel; j++) {
            const reloc *p = &f->rel[j];
            if (!a64_is_lo12(p->type) || p->symidx != r->symidx || p->addend != r->addend ||
                p->type == R_AARCH64_LD64_GOT_LO12_NC)
                continue;
            int pw = width_read(f, p);
            if (w != WIDTH_UNKNOWN && pw != w)
                return WIDTH_UNKNOWN;
            w = pw;
        }
        return w;
    }
    default:
        return WIDTH_UNKNOWN;
    }
}

static int is_text(unsigned char c)
{
    return (c >= 0x20 && c < 0x7f) || (c >= '\a' && c <= '\r') || c == 0x1b || c >= 0x80;
}

/* A literal whose address is taken, of `extent` bytes up to the next
 * referenced place: if it is text whose NUL is followed by nothing but
 * zeros (the padding before the next literal, which the program's layout
 * may not have), the string up to its NUL; else all of it. */
static uint64_t string_size(const unsigned char *b, uint64_t extent)
{
    const unsigned char *z = memchr(b, 0, extent);
    if (!z)
        return extent;
    uint64_t n = (uint64_t)(z - b) + 1;
    for (uint64_t i = 0; i + 1 < n; i++)
        if (!is_text(b[i]))
            return extent;
    if (extent - n >= 16) /* more than alignment padding: data, not a string */
        return extent;
    for (uint64_t i = n; i < extent; i++)
        if (b[i])
            return extent;
    return n;
}

/* x86-64: where a PC-relative field's target lies after symbol + addend:
 * the rest of its instruction from the field on (see ref.tail); *exact
 * says whether the instruction was decoded. */
static int field_tail(function *f, const reloc *r, int *exact)
{
    int bias = place_bias(f->img, r->type);
    const x86_insn *in = bias ? instruction_of(f, r) : NULL;
    *exact = in != NULL || !bias;
    return in ? (int)(in->at + in->len - r->offset) : bias;
}

/* An anonymous block of writable data a function refers to -- an automatic
 * array's or struct's initializer, which GCC puts in .data (clang in
 * .data.rel.ro under a .L name) because its pointers are relocated, and no
 * symbol names in the program or the rebuild: its size (up to the next
 * place anything refers to or the next symbol; a sized label's own size),
 * or 0 when it has no bytes in the file. */
static uint64_t block_size(const hf_image *img, const object_index *ix, const symbol *label, size_t shndx,
                           uint64_t at)
{
    const section *sec = &img->sec[shndx];
    if (!section_bytes(img, shndx) || at >= sec->sh.sh_size)
        return 0;
    if (label->type != STT_SECTION && label->sym.st_size && label->sym.st_value <= at &&
        at < label->sym.st_value + label->sym.st_size)
        return label->sym.st_value + label->sym.st_size - at;
    uint64_t end = sec->sh.sh_size;
    size_t k = first_place(ix->referred, ix->nreferred, shndx, at + 1);
    if (k < ix->nreferred && ix->referred[k].shndx == shndx && ix->referred[k].off < end)
        end = ix->referred[k].off;
    for (size_t i = 1; i < img->nsym; i++) {
        const symbol *t = &img->sym[i];
        if (t->sym.st_shndx == shndx && t->type != STT_SECTION && t->sym.st_value > at && t->sym.st_value < end)
            end = t->sym.st_value;
    }
    return end - at;
}

/* A block seen as a function without code: its relocations, for
 * object_ref.  0 when they cannot be read. */
static int open_block(const ref *b, function *blk)
{
    memset(blk, 0, sizeof *blk);
    blk->img = b->owner->img;
    blk->ix = b->owner->ix;
    blk->sym = b->owner->sym;
    blk->shndx = b->shndx;
    blk->code = b->bytes;
    blk->size = b->nbytes;
    blk->data = 1;
    return relocs_in(blk->img, b->shndx, (uint64_t)b->off, b->nbytes, &blk->rel, &blk->nrel) == HF_OK;
}

/* Are two blocks' bytes the same outside the fields their relocations
 * (rel, one block's; the other must have its fields at the same places)
 * fill?  The fields themselves are compared by what they refer to. */
static int same_outside_fields(const unsigned char *a, const unsigned char *b, uint64_t n, const reloc *rel,
                               size_t nrel)
{
    uint64_t k = 0;
    for (size_t i = 0; i < nrel; i++) {
        uint64_t end = rel[i].offset + (uint64_t)field_width(rel[i].type);
        if (rel[i].offset < k || end > n || memcmp(a + k, b + k, rel[i].offset - k))
            return 0;
        k = end;
    }
    return !memcmp(a + k, b + k, n - k);
}

static ref object_ref(function *f, const reloc *r)
{
    const hf_image *img = f->img;
    ref x = {0};
    const symbol *s = &img->sym[r->symidx];
    int exact;
    x.tail = field_tail(f, r, &exact);
    if (is_label(s) && s->sym.st_shndx != SHN_UNDEF && s->sym.st_shndx < img->nsec) {
        size_t shndx = s->sym.st_shndx;
        const section *sec = &img->sec[shndx];
        int64_t base = (int64_t)s->sym.st_value + r->addend;
        int64_t at = base + x.tail;
        /* Undecoded, an instruction with an immediate after its
         * displacement puts the place further back (addend -5, -6, -8):
         * try those too. */
        static const int extra[] = {0, 1, 2, 4};
        const symbol *in = NULL;
        size_t nextra = exact ? 1 : sizeof extra / sizeof *extra;
        for (size_t k = 0; !in && k < nextra; k++)
            if (at + extra[k] >= 0)
                in = symbol_covering(img, shndx, (uint64_t)(at + extra[k]));
        if (in && !is_label(in)) {
            s = in;
            x.off = base - (int64_t)in->sym.st_value;
        } else if ((sec->sh.sh_flags & SHF_ALLOC) && !(sec->sh.sh_flags & (SHF_EXECINSTR | SHF_WRITE)) &&
                   at >= 0) {
            uint64_t n = literal_size(img, f->ix, shndx, (uint64_t)at);
            if (has_relocations_in(f->ix, shndx, (uint64_t)at, n ? n : 1)) {
                x.kind = REF_TABLE;
                return x;
            }
            /* Compared over what the instruction reads: the padding up to
             * the next literal differs between the program's layout and a
             * -fdata-sections rebuild, and a scalar may be read from a
             * wider constant another function shares. */
            const unsigned char *b = section_bytes(img, shndx) + at;
            uint64_t left = sec->sh.sh_size - (uint64_t)at;
            int w = width_read(f, r);
            if (w > 0)
                n = (uint64_t)w < left ? (uint64_t)w : left;
            else if (w == WIDTH_ADDRESS && !(sec->sh.sh_flags & (SHF_STRINGS | SHF_MERGE)))
                n = string_size(b, n); /* (a merge section's entry has no padding) */
            x.kind = REF_BYTES;
            x.off = at;
            x.bytes = b;
            x.nbytes = n;
            return x;
        } else {
            uint64_t n = at >= 0 && !is_a64(img) ? block_size(img, f->ix, s, shndx, (uint64_t)at) : 0;
            if (n) {
                x.kind = REF_BLOCK;
                x.owner = f;
                x.shndx = shndx;
                x.off = at;
                x.bytes = section_bytes(img, shndx) + at;
                x.nbytes = n;
                return x;
            }
            x.kind = REF_OTHER;
            x.section = sec->name;
            x.off = base;
            return x;
        }
    } else {
        x.off = r->addend;
    }
    x.kind = REF_SYM;
    x.sym = s;
    /* A read-only object is code in all but name: its contents count. */
    if (s->type == STT_OBJECT && s->sym.st_shndx != SHN_UNDEF && s->sym.st_shndx < img->nsec) {
        const section *sec = &img->sec[s->sym.st_shndx];
        const unsigned char *b = section_bytes(img, s->sym.st_shndx);
        if (b && !(sec->sh.sh_flags & SHF_WRITE) &&
            !has_relocations_in(f->ix, s->sym.st_shndx, s->sym.st_value, s->sym.st_size)) {
            x.bytes = b + s->sym.st_value;
            x.nbytes = s->sym.st_size;
        }
    }
    return x;
}

static int same_block(const ref *a, const ref *b);

static int same_ref(const ref *a, const ref *b)
{
    /* An anonymous literal is known by its bytes alone: its offset moves
     * when an earlier literal of a plain .rodata (as at -O0) is edited. */
    if (a->kind != b->kind || (a->kind != REF_BYTES && a->kind != REF_BLOCK && a->off != b->off))
        return 0;
    switch (a->kind) {
    case REF_SYM:
        if (!same_name(a->sym, b->sym))
            return 0;
        break;
    case REF_OTHER:
        return !strcmp(a->section, b->section);
    case REF_BLOCK:
        return same_block(a, b);
    default:
        break;
    }
    if (a->nbytes != b->nbytes || (a->nbytes && memcmp(a->bytes, b->bytes, a->nbytes)))
        return 0;
    return 1;
}

/* Blocks nest (an initializer pointing at another): not without end.  Per
 * thread: the core compares several units at once. */
static __thread int block_depth;

/* Two blocks: the same bytes but for their relocations, which refer to the
 * same things. */
static int same_block(const ref *a, const ref *b)
{
    if (a->nbytes != b->nbytes || block_depth > 4)
        return 0;
    function x, y;
    int same = open_block(a, &x) & open_block(b, &y);
    same = same && x.nrel == y.nrel && same_outside_fields(a->bytes, b->bytes, a->nbytes, x.rel, x.nrel);
    block_depth++;
    for (size_t i = 0; same && i < x.nrel; i++) {
        const reloc *p = &x.rel[i], *q = &y.rel[i];
        ref rx = object_ref(&x, p), ry = object_ref(&y, q);
        same = p->offset == q->offset && p->type == q->type && same_ref(&rx, &ry);
    }
    block_depth--;
    free(x.rel);
    free(y.rel);
    return same;
}

/* The address a GOT slot of a linked image will hold, from its dynamic
 * relocation; 0 with *name set when it names a symbol instead. */
static uint64_t got_slot_target(const hf_image *img, uint64_t slot, const char **name)
{
    *name = NULL;
    size_t lo = 0, hi = img->ndyn;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (img->dyn[mid].offset < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < img->ndyn && img->dyn[lo].offset == slot) {
        const dynrel *d = &img->dyn[lo];
        if (d->type == (is_a64(img) ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE))
            return (uint64_t)d->addend;
        *name = d->sym;
        return 0;
    }
    size_t avail;
    const unsigned char *b = bytes_at(img, slot, &avail);
    return b && avail >= 8 ? (uint64_t)read_field(b, 8) : 0;
}

/* The symbol (or address) a GOT slot of a linked image holds, as a name. */
static const char *slot_name(const hf_image *img, uint64_t slot)
{
    const char *name;
    uint64_t t = got_slot_target(img, slot, &name);
    if (name)
        return name;
    size_t n;
    size_t k = symbols_at(img, t, &n);
    return n ? img->byaddr[k]->name : NULL;
}

/* An AArch64 PLT stub: [bti c;] adrp x16, slot; ldr x17, [x16, :lo12:slot];
 * add x16, x16, :lo12:slot; br x17. */
static const char *a64_plt_target(const hf_image *img, const unsigned char *b, const section *s,
                                  uint64_t addr)
{
    for (uint64_t p = addr; p + 8 <= s->sh.sh_addr + s->sh.sh_size && p <= addr + 4; p += 4) {
        uint32_t insn = le32(b + (p - s->sh.sh_addr));
        if (insn == 0xd503245f) /* bti c */
            continue;
        uint32_t ldr = le32(b + (p + 4 - s->sh.sh_addr));
        if ((insn & 0x9f00001f) != 0x90000010 || (ldr & 0xffc003ff) != 0xf9400211)
            return NULL;
        return slot_name(img, a64_adrp_page(insn, p) + ((ldr >> 10) & 0xfff) * 8);
    }
    return NULL;
}

/* The symbol a PLT stub of a linked image calls, or NULL. */
static const char *plt_target(const hf_image *img, uint64_t addr)
{
    for (size_t i = 1; i < img->nsec; i++) {
        const section *s = &img->sec[i];
        if (addr < s->sh.sh_addr || addr >= s->sh.sh_addr + s->sh.sh_size)
            continue;
        const unsigned char *b = section_bytes(img, i);
        if (!b)
            return NULL;
        if (is_a64(img))
            return a64_plt_target(img, b, s, addr);
        /* Every stub style has an indirect jmp through its GOT slot:
         * ff 25 disp32 (possibly after endbr64 / bnd prefix). */
        uint64_t base = addr - (addr - s->sh.sh_addr) % 16;
        for (uint64_t p = base; p + 6 <= base + 16 && p + 6 <= s->sh.sh_addr + s->sh.sh_size; p++) {
            const unsigned char *q = b + (p - s->sh.sh_addr);
            if (q[0] == 0xff && q[1] == 0x25) {
                uint64_t slot = p + 6 + (uint64_t)read_field(q + 2, 4);
                const char *name;
                uint64_t t = got_slot_target(img, slot, &name);
                if (name)
                    return name;
                size_t n;
                size_t k = symbols_at(img, t, &n);
                return n ? img->byaddr[k]->name : NULL;
            }
        }
        return NULL;
    }
    return NULL;
}

static int name_is(const char *linked, const symbol *s)
{
    /* Undefined symbols of an object may carry a version in the image
     * (printf@GLIBC_2.2.5 in .symtab, printf in .dynsym). */
    size_t n = normalized_length(s);
    return !strncmp(linked, s->name, n) && (linked[n] == 0 || linked[n] == '@');
}

static int symbol_matches(const hf_image *img, uint64_t target, const ref *want);
static int block_matches(const hf_image *img, uint64_t addr, const ref *want);

/* Does a field of the linked image refer to what the object's relocation
 * refers to? */
static int image_matches(const hf_image *img, uint64_t place, const unsigned char *field,
                         const reloc *r, const ref *want, const unsigned char *objcode)
{
    int width = field_width(r->type);
    int64_t v = read_field(field, width);
    if (is_tls(r->type) || width == 0)
        return 1; /* the thread pointer model may be relaxed: masked only */
    if (want->kind == REF_TABLE)
        return 1; /* a jump table of code already compared byte for byte */
    if (want->kind == REF_OTHER)
        return 0;
    uint64_t ref_addr;
    if (is_pcrel(r->type))
        ref_addr = (uint64_t)v + place;
    else if (r->type == R_X86_64_GOTOFF64)
        ref_addr = (uint64_t)v + img->got;
    else
        ref_addr = (uint64_t)v;
    if (want->kind == REF_BLOCK)
        return block_matches(img, ref_addr + (uint64_t)want->tail, want);
    if (want->kind == REF_BYTES) {
        size_t avail;
        const unsigned char *b = bytes_at(img, ref_addr + (uint64_t)want->tail, &avail);
        return b && avail >= want->nbytes && !memcmp(b, want->bytes, want->nbytes);
    }
    /* REF_SYM: the symbol's address in the image is ref_addr - off. */
    uint64_t target = ref_addr - (uint64_t)want->off;
    if (is_gotpcrel(r->type)) {
        int prefix = rewritable_prefix(r->type);
        int relaxed = prefix && memcmp(field - 2, objcode - 2, 2) != 0;
        if (!relaxed) {
            const char *name;
            target = got_slot_target(img, target, &name);
            if (name)
                return name_is(name, want->sym);
        }
    }
    return symbol_matches(img, target, want);
}

/* Is the block at addr of the linked image the object's?  The same bytes
 * but for its pointers (64-bit absolute relocations: the image's dynamic
 * relocations, or its bytes when it has none there), which must point at
 * what the object's point at. */
static int block_matches(const hf_image *img, uint64_t addr, const ref *want)
{
    size_t avail;
    const unsigned char *b = bytes_at(img, addr, &avail);
    if (!b || avail < want->nbytes || block_depth > 4)
        return 0;
    function blk;
    int same = open_block(want, &blk) && same_outside_fields(b, want->bytes, want->nbytes, blk.rel, blk.nrel);
    block_depth++;
    for (size_t i = 0; same && i < blk.nrel; i++) {
        const reloc *p = &blk.rel[i];
        if (p->type != R_X86_64_64) {
            same = 0;
            break;
        }
        ref x = object_ref(&blk, p);
        const char *name;
        uint64_t t = got_slot_target(img, addr + p->offset, &name);
        if (name) {
            same = x.kind == REF_SYM && name_is(name, x.sym);
        } else {
            unsigned char field[8];
            for (int j = 0; j < 8; j++)
                field[j] = (unsigned char)(t >> (8 * j));
            same = image_matches(img, addr + p->offset, field, p, &x, NULL);
        }
    }
    block_depth--;
    free(blk.rel);
    return same;
}

/* Is the wanted symbol (by name, and by contents for a read-only object)
 * at address target of the image, or a PLT stub calling it? */
static int symbol_matches(const hf_image *img, uint64_t target, const ref *want)
{
    size_t n;
    size_t k = symbols_at(img, target, &n);
    for (size_t i = 0; i < n; i++) {
        const symbol *s = img->byaddr[k + i];
        if (name_is(s->name, want->sym) || same_name(s, want->sym)) {
            if (want->nbytes) {
                size_t avail;
                const unsigned char *b = bytes_at(img, target, &avail);
                return b && avail >= want->nbytes && !memcmp(b, want->bytes, want->nbytes);
            }
            return 1;
        }
    }
    const char *plt = plt_target(img, target);
    return plt && name_is(plt, want->sym);
}

/* AArch64: the address relocation i of function n refers to in the image,
 * whose copy of the function is `code` at `addr`.  An adrp gives a page and
 * a :lo12: instruction the low bits: a :lo12: relocation is resolved with
 * an adrp of the same symbol in the function (GCC pairs them; with section
 * anchors the two addends may differ, which moves the page by their
 * difference).  Returns 1 with *out (and *got for a GOT slot), 2 for an
 * adrp (checked with its :lo12: partners), 0 when it cannot be told. */
static int a64_referenced(const function *n, size_t i, uint64_t addr, const unsigned char *code, uint64_t *out,
                          int *got)
{
    const reloc *r = &n->rel[i];
    uint64_t place = addr + r->offset;
    const unsigned char *field = code + r->offset;
    uint32_t insn = le32(field);
    *got = 0;
    if (a64_is_page(r->type))
        return 2;
    if (a64_is_lo12(r->type)) {
        int want_got = r->type == R_AARCH64_LD64_GOT_LO12_NC;
        const reloc *pair = NULL;
        for (size_t j = 0; j < n->nrel; j++) {
            const reloc *p = &n->rel[j];
            if (!a64_is_page(p->type) || p->symidx != r->symidx ||
                (p->type == R_AARCH64_ADR_GOT_PAGE) != want_got)
                continue;
            if (!pair || (p->addend == r->addend && pair->addend != r->addend) ||
                (p->addend == pair->addend && p->offset < r->offset))
                pair = p;
        }
        if (!pair)
            return 0;
        uint64_t page = a64_adrp_page(le32(code + pair->offset), addr + pair->offset);
        uint64_t base = page + (uint64_t)(r->addend - pair->addend);
        *out = base + ((a64_lo12(r->type, insn) - base) & 0xfff);
        *got = want_got;
        return 1;
    }
    switch (r->type) {
    case R_AARCH64_CALL26:
    case R_AARCH64_JUMP26:
        *out = place + (uint64_t)(sext(insn, 26) * 4);
        return 1;
    case R_AARCH64_CONDBR19:
    case R_AARCH64_LD_PREL_LO19:
        *out = place + (uint64_t)(sext(insn >> 5, 19) * 4);
        return 1;
    case R_AARCH64_TSTBR14:
        *out = place + (uint64_t)(sext(insn >> 5, 14) * 4);
        return 1;
    case R_AARCH64_ADR_PREL_LO21:
        *out = place + (uint64_t)sext(((insn >> 5) & 0x7ffff) << 2 | ((insn >> 29) & 3), 21);
        return 1;
    case R_AARCH64_ABS64:
        *out = (uint64_t)read_field(field, 8);
        return 1;
    case R_AARCH64_PREL64:
        *out = place + (uint64_t)read_field(field, 8);
        return 1;
    case R_AARCH64_PREL32:
        *out = place + (uint64_t)read_field(field, 4);
        return 1;
    default:
        return 0;
    }
}

static int image_matches_a64(const hf_image *img, const function *n, size_t i, uint64_t addr,
                             const unsigned char *code, const ref *want)
{
    const reloc *r = &n->rel[i];
    if (tls_of(img, r->type) || r->type == R_AARCH64_NONE)
        return 1; /* the TLS model may be relaxed: masked only */
    if (want->kind == REF_TABLE)
        return 1;
    if (want->kind == REF_OTHER)
        return 0;
    uint64_t x;
    int got;
    int rc = a64_referenced(n, i, addr, code, &x, &got);
    if (rc != 1)
        return rc == 2;
    if (want->kind == REF_BYTES) {
        size_t avail;
        const unsigned char *b = bytes_at(img, x, &avail);
        return b && avail >= want->nbytes && !memcmp(b, want->bytes, want->nbytes);
    }
    if (got) {
        const char *name;
        x = got_slot_target(img, x, &name);
        if (name)
            return name_is(name, want->sym);
    }
    return symbol_matches(img, x - (uint64_t)want->off, want);
}

typedef struct {
    const char *why;
    uint64_t at;
} verdict;

/* Compare a function of the new object with the same function of a
 * baseline object. */
static int same_as_object(function *n, function *b, verdict *why)
{
    if (n->size != b->size) {
        why->why = "size";
        return 0;
    }
    if (n->nrel != b->nrel) {
        why->why = "references";
        return 0;
    }
    uint64_t pos = 0;
    for (size_t i = 0; i <= n->nrel; i++) {
        uint64_t upto = i < n->nrel ? n->rel[i].offset : n->size;
        if (i < n->nrel && (n->rel[i].offset != b->rel[i].offset || n->rel[i].type != b->rel[i].type)) {
            why->why = "references";
            why->at = n->rel[i].offset;
            return 0;
        }
        if (upto > pos && memcmp(n->code + pos, b->code + pos, upto - pos)) {
            why->why = "code";
            why->at = pos;
            return 0;
        }
        if (i == n->nrel)
            break;
        ref x = object_ref(n, &n->rel[i]);
        ref y = object_ref(b, &b->rel[i]);
        if (!same_ref(&x, &y)) {
            why->why = "reference target";
            why->at = n->rel[i].offset;
            return 0;
        }
        uint64_t end = n->rel[i].offset + (uint64_t)width_of(n->img, n->rel[i].type);
        pos = end > pos ? end : pos;
    }
    return 1;
}

/* Compare a function of the new object with its linked counterpart at
 * link-time address addr of the image. */
static int same_as_image(function *n, const hf_image *img, uint64_t addr, uint64_t size, verdict *why)
{
    if (n->size != size) {
        why->why = "size";
        return 0;
    }
    size_t avail;
    const unsigned char *code = bytes_at(img, addr, &avail);
    if (!code || avail < size) {
        why->why = "no code in the program";
        return 0;
    }
    uint64_t pos = 0;
    int a64 = is_a64(n->img);
    for (size_t i = 0; i <= n->nrel; i++) {
        uint64_t upto = i < n->nrel ? n->rel[i].offset : n->size;
        if (i < n->nrel) {
            uint64_t pre = (uint64_t)prefix_of(n->img, n->rel[i].type);
            if (upto >= pre)
                upto -= pre;
        }
        if (upto > pos && memcmp(n->code + pos, code + pos, upto - pos)) {
            why->why = "code";
            why->at = pos;
            return 0;
        }
        if (i == n->nrel)
            break;
        const reloc *r = &n->rel[i];
        /* An AArch64 instruction keeps its opcode and registers: compare
         * every bit the relocation does not fill. */
        if (a64 && !a64_is_data(r->type) && r->offset + 4 <= n->size && r->offset >= pos) {
            uint32_t keep = ~a64_field_bits(r->type);
            if ((le32(n->code + r->offset) & keep) != (le32(code + r->offset) & keep)) {
                why->why = "code";
                why->at = r->offset;
                return 0;
            }
        }
        ref want = object_ref(n, r);
        int same = a64 ? image_matches_a64(img, n, i, addr, code, &want)
                       : image_matches(img, addr + r->offset, code + r->offset, r, &want, n->code + r->offset);
        if (!same) {
            why->why = "reference target";
            why->at = r->offset;
            return 0;
        }
        uint64_t end = r->offset + (uint64_t)width_of(n->img, r->type);
        pos = end > pos ? end : pos;
    }
    return 1;
}

/* ------------------------------------------ instruction by instruction */

/* One function as the instruction comparison sees it: an object's (its
 * relocations known), or the linked image's code at addr. */
typedef struct {
    function *f;     /* NULL for the image */
    hf_image *img;   /* the image, when f is NULL */
    uint64_t addr;
    const unsigned char *code;
    uint64_t size;
    const x86_stream *ins;
    size_t *real;    /* indices in ins of the instructions that are not no-ops */
    size_t nreal;
} side;

/* A 32-bit immediate that differs: a line number, if the line tables say so. */
typedef struct {
    int64_t old, new;
    uint64_t at; /* offset in the new function */
} immediate;

typedef struct {
    immediate *v;
    size_t n, cap;
} immediates;

static int side_init(side *s, x86_stream *own)
{
    if (s->f) {
        s->ins = function_insns(s->f);
    } else {
        s->ins = NULL;
        if (x86_decode_all(s->code, s->size, own) == HF_OK && !own->bad)
            s->ins = own;
    }
    if (!s->ins)
        return 0;
    s->real = malloc((s->ins->n ? s->ins->n : 1) * sizeof *s->real);
    if (!s->real)
        return 0;
    s->nreal = 0;
    for (size_t i = 0; i < s->ins->n; i++)
        if (!x86_is_nop(&s->ins->ins[i]))
            s->real[s->nreal++] = i;
    return 1;
}

/* The position among the function's real instructions of the one at
 * offset off (the first after it, if off is a no-op), or -1 if no
 * instruction starts at off. */
static ptrdiff_t position_of(const side *s, uint64_t off)
{
    const x86_insn *in = x86_insn_at(s->ins, off);
    if (!in || in->at != off)
        return off == s->size ? (ptrdiff_t)s->nreal : -1;
    size_t i = (size_t)(in - s->ins->ins);
    size_t lo = 0, hi = s->nreal;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->real[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo;
}

/* Where a relative branch goes: an instruction of the function (by its
 * position, which does not move when an earlier jump gets shorter), or
 * outside it: what the object's relocation names, or the image's address. */
typedef struct {
    int inside;
    ptrdiff_t position;
    int named;       /* outside, in an object: `to` */
    ref to;
    int rest;        /* bytes of the instruction from the field on */
    uint64_t address; /* outside, in the image */
} target;

static int branch_target(side *s, const x86_insn *in, target *t)
{
    memset(t, 0, sizeof *t);
    uint64_t field = in->at + in->imm_at;
    t->rest = (int)(in->len - in->imm_at);
    const reloc *r = s->f ? reloc_at(s->f, field) : NULL;
    int64_t off;
    if (r) {
        t->to = object_ref(s->f, r);
        if (t->to.kind != REF_SYM)
            return 0;
        if (t->to.sym != s->f->sym) {
            t->named = 1;
            return 1;
        }
        off = t->to.off + t->rest; /* the function itself (a recursive call) */
    } else {
        off = (int64_t)(in->at + in->len) + in->rel;
        if (off < 0 || (uint64_t)off >= s->size) {
            if (s->f)
                return 0; /* out of its own section without a relocation */
            t->address = s->addr + (uint64_t)off;
            return 1;
        }
    }
    t->inside = 1;
    t->position = position_of(s, (uint64_t)off);
    return t->position >= 0;
}

static int same_target(const target *a, const side *b, const target *c)
{
    if (a->inside || c->inside)
        return a->inside && c->inside && a->position == c->position;
    if (!a->named)
        return 0;
    if (c->named)
        return same_ref(&a->to, &c->to);
    /* The image: is what the object names at the address reached?  The
     * object's field holds symbol + addend, reaching symbol + addend + rest. */
    return symbol_matches(b->img, c->address - (uint64_t)a->rest - (uint64_t)a->to.off, &a->to);
}

static int note_immediate(immediates *v, int64_t old, int64_t new, uint64_t at)
{
    immediate *w = grow(v->v, &v->cap, v->n, sizeof *w, 8);
    if (!w)
        return 0;
    v->v = w;
    v->v[v->n++] = (immediate){old, new, at};
    return 1;
}

/* Two instructions that are not branches: the same bytes but for what
 * relocations fill (compared by what they refer to) and a 32-bit
 * immediate, noted in *imm when it differs. */
static int same_instruction(side *n, const x86_insn *a, side *b, const x86_insn *c, immediates *imm)
{
    if (a->len != c->len)
        return 0;
    const unsigned char *pa = n->code + a->at, *pc = b->code + c->at;
    unsigned char skip[16] = {0}; /* 1: filled by a relocation; 2: the immediate */
    size_t nrel_a = 0, nrel_c = 0;
    for (size_t i = 0; i < n->f->nrel; i++) {
        const reloc *r = &n->f->rel[i];
        if (r->offset < a->at || r->offset >= a->at + a->len)
            continue;
        uint64_t k = r->offset - a->at;
        int width = width_of(n->img, r->type);
        /* The linker may have rewritten the bytes before the field (a GOT
         * load relaxed to lea): image_matches tells. */
        int pre = b->f ? 0 : prefix_of(n->img, r->type);
        for (int j = -pre; j < width; j++)
            if ((int64_t)k + j >= 0 && k + (uint64_t)j < a->len)
                skip[k + (uint64_t)j] = 1;
        ref want = object_ref(n->f, r);
        if (b->f) {
            const reloc *rb = reloc_at(b->f, c->at + k);
            if (!rb || rb->type != r->type)
                return 0;
            ref have = object_ref(b->f, rb);
            if (!same_ref(&want, &have))
                return 0;
        } else if (!image_matches(b->img, b->addr + c->at + k, pc + k, r, &want, pa + k)) {
            return 0;
        }
        nrel_a++;
    }
    if (b->f) /* no relocation of the baseline's left uncompared */
        for (size_t i = 0; i < b->f->nrel; i++)
            if (b->f->rel[i].offset >= c->at && b->f->rel[i].offset < c->at + c->len)
                nrel_c++;
    if (nrel_a != nrel_c && b->f)
        return 0;
    int line_candidate = a->imm_size == 4 && c->imm_size == 4 && a->imm_at == c->imm_at && !skip[a->imm_at];
    if (line_candidate)
        for (int j = 0; j < 4; j++)
            skip[a->imm_at + j] = 2;
    for (unsigned j = 0; j < a->len; j++)
        if (!skip[j] && pa[j] != pc[j])
            return 0;
    if (line_candidate && memcmp(pa + a->imm_at, pc + a->imm_at, 4))
        return note_immediate(imm, read_field(pc + a->imm_at, 4), read_field(pa + a->imm_at, 4), a->at);
    return 1;
}

/* Compare two functions instruction by instruction (see the top of this
 * file).  1: the same but for the immediates noted; 0: changed. */
static int same_instructions(side *n, side *b, immediates *imm, verdict *why)
{
    if (n->nreal != b->nreal) {
        why->why = "instructions";
        return 0;
    }
    for (size_t k = 0; k < n->nreal; k++) {
        const x86_insn *a = &n->ins->ins[n->real[k]], *c = &b->ins->ins[b->real[k]];
        why->at = a->at;
        if (a->branch) {
            /* Short in one, near in the other: the same kind (and
             * condition), the same prefixes, and the same place reached. */
            target ta, tc;
            if (c->branch != a->branch || c->cond != a->cond || a->prefixes != c->prefixes ||
                memcmp(n->code + a->at, b->code + c->at, a->prefixes) || !branch_target(n, a, &ta) ||
                !branch_target(b, c, &tc) || !same_target(&ta, b, &tc)) {
                why->why = "branch";
                return 0;
            }
        } else if (!same_instruction(n, a, b, c, imm)) {
            why->why = "code";
            return 0;
        }
    }
    return 1;
}

/* The lines of a function's rows, by the position of the instruction each
 * row starts at. */
typedef struct {
    ptrdiff_t position;
    uint32_t line;
} placed_line;

static size_t function_lines(side *s, placed_line **out)
{
    const line_row *rows;
    size_t n;
    if (s->f)
        n = line_rows_in(s->f->img, s->f->shndx, s->f->sym->sym.st_value, s->f->sym->sym.st_value + s->size, &rows);
    else
        n = line_rows_in(s->img, 0, s->addr, s->addr + s->size, &rows);
    uint64_t start = s->f ? s->f->sym->sym.st_value : s->addr;
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t pos = rows[i].end_sequence ? -1 : position_of(s, rows[i].address - start);
        if (pos >= 0)
            (*out)[k++] = (placed_line){pos, rows[i].line};
    }
    return k;
}

/* Is every immediate that differs a pair (old line, new line) of rows at
 * the same place of the two functions?  Rows at one place are paired in
 * order when both tables have as many there, else every one with every
 * one. */
static int only_line_numbers(side *n, side *b, const immediates *imm)
{
    /* Rows come by address, so by position too. */
    placed_line *ln = NULL, *lb = NULL;
    size_t nn = function_lines(n, &ln), nb = function_lines(b, &lb);
    unsigned char *found = calloc(imm->n ? imm->n : 1, 1);
    int ok = found != NULL;
    for (size_t i = 0, j = 0; ok && i < nn && j < nb;) {
        if (ln[i].position != lb[j].position) {
            if (ln[i].position < lb[j].position)
                i++;
            else
                j++;
            continue;
        }
        size_t ie = i, je = j;
        while (ie < nn && ln[ie].position == ln[i].position)
            ie++;
        while (je < nb && lb[je].position == lb[j].position)
            je++;
        for (size_t x = i; x < ie; x++)
            for (size_t y = j; y < je; y++) {
                if (ie - i == je - j && x - i != y - j)
                    continue;
                for (size_t m = 0; m < imm->n; m++)
                    if (imm->v[m].old == lb[y].line && imm->v[m].new == ln[x].line)
                        found[m] = 1;
            }
        i = ie;
        j = je;
    }
    for (size_t m = 0; ok && m < imm->n; m++)
        ok = found[m];
    free(found);
    free(ln);
    free(lb);
    return ok;
}

typedef enum { SAME, LINES, CHANGED } verdict_kind;

/* After the byte comparison found a difference (x86-64): the same code
 * instruction by instruction?  Only line numbers? */
static verdict_kind compare_instructions(side *n, side *b, verdict *why)
{
    x86_stream own = {0};
    immediates imm = {0};
    verdict_kind v = CHANGED;
    if (side_init(n, NULL) && side_init(b, &own) && same_instructions(n, b, &imm, why)) {
        if (!imm.n) {
            v = SAME;
        } else if (only_line_numbers(n, b, &imm)) {
            v = LINES;
            why->why = "only line numbers";
            why->at = imm.v[0].at;
        } else {
            why->why = "code";
            why->at = imm.v[0].at;
        }
    }
    free(n->real);
    free(b->real);
    free(imm.v);
    x86_stream_free(&own);
    return v;
}

static const char *const verdict_names[] = {"same", "lines", "changed"};

static verdict_kind against_image(function *n, hf_image *img, uint64_t addr, uint64_t size, verdict *why)
{
    if (same_as_image(n, img, addr, size, why))
        return SAME;
    size_t avail;
    const unsigned char *code = bytes_at(img, addr, &avail);
    if (is_a64(n->img) || !code || avail < size)
        return CHANGED;
    side sn = {.f = n, .img = n->img, .code = n->code, .size = n->size};
    side sb = {.img = img, .addr = addr, .code = code, .size = size};
    return compare_instructions(&sn, &sb, why);
}

static verdict_kind against_object(function *n, function *b, verdict *why)
{
    if (same_as_object(n, b, why))
        return SAME;
    if (is_a64(n->img))
        return CHANGED;
    side sn = {.f = n, .img = n->img, .code = n->code, .size = n->size};
    side sb = {.f = b, .img = b->img, .code = b->code, .size = b->size};
    return compare_instructions(&sn, &sb, why);
}

typedef struct {
    char *name;
    uint64_t addr, size;
    size_t order; /* in the list given */
    int seen;
} base_func;

static int base_by_name(const void *a, const void *b)
{
    const base_func *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The first of the baseline's functions of that name not yet compared
 * (bf sorted by name, then order). */
static base_func *next_base_func(base_func *bf, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(bf[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && !strcmp(bf[lo].name, name); lo++)
        if (!bf[lo].seen)
            return &bf[lo];
    return NULL;
}

static size_t parse_base_funcs(const char *text, base_func **out)
{
    size_t cap = 64, n = 0;
    base_func *v = calloc(cap, sizeof *v);
    const char *p = text;
    while (v && p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = 0;
            char name[1000];
            unsigned long long a, s;
            if (sscanf(line, "%999s %llx %llx", name, &a, &s) == 3) {
                if (n == cap) {
                    base_func *w = realloc(v, (cap *= 2) * sizeof *v);
                    if (!w)
                        break;
                    v = w;
                }
                v[n].name = strdup(name);
                v[n].addr = a;
                v[n].size = s;
                v[n].order = n;
                v[n].seen = 0;
                n++;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    if (v)
        qsort(v, n, sizeof *v, base_by_name);
    *out = v;
    return n;
}

static void emit_refs(strbuf *sb, function *f)
{
    sb_printf(sb, ",\"refs\":[");
    int first = 1;
    for (size_t i = 0; i < f->nrel; i++) {
        ref x = object_ref(f, &f->rel[i]);
        if (x.kind != REF_SYM || x.sym->type != STT_FUNC || x.sym == f->sym)
            continue;
        sb_printf(sb, "%s", first ? "" : ",");
        sb_json_string(sb, x.sym->name);
        first = 0;
    }
    sb_printf(sb, "]");
}

hf_status hf_diff_json(hf_image *newobj, hf_image *base, const char *base_funcs, char **out)
{
    if (!newobj || !base || newobj->eh.e_type != ET_REL)
        return fail(HF_EARG, newobj ? newobj->path : NULL, "the new file must be an object");
    base_func *bf = NULL;
    size_t nbf = base_funcs ? parse_base_funcs(base_funcs, &bf) : 0;
    strbuf sb = {0};
    object_index nix, bix = {0};
    hf_status st = index_object(newobj, &nix);
    if (!st && !base_funcs)
        st = index_object(base, &bix);
    if (st)
        goto out;
    sb_printf(&sb, "{\"functions\":[");
    int first = 1;
    for (size_t i = 0; i < newobj->nbyaddr; i++) {
        const symbol *s = newobj->byaddr[i];
        if (s->type != STT_FUNC || !s->sym.st_size)
            continue;
        function f, b;
        if ((st = load_function(newobj, &nix, s, &f)))
            goto out;
        const char *status = "new";
        verdict why = {"", 0};
        if (base_funcs) {
            base_func *match = next_base_func(bf, nbf, s->name);
            if (match) {
                match->seen = 1;
                status = verdict_names[against_image(&f, base, match->addr, match->size, &why)];
            }
        } else {
            const symbol *bs = find_function(&bix, s->name);
            if (bs) {
                if ((st = load_function(base, &bix, bs, &b))) {
                    free_function(&f);
                    goto out;
                }
                status = verdict_names[against_object(&f, &b, &why)];
                free_function(&b);
            }
        }
        sb_printf(&sb, "%s{\"name\":", first ? "" : ",");
        sb_json_string(&sb, s->name);
        sb_printf(&sb, ",\"status\":\"%s\",\"why\":", status);
        sb_json_string(&sb, why.why);
        sb_printf(&sb, ",\"at\":%" PRIu64 ",\"size\":%" PRIu64, why.at, f.size);
        emit_refs(&sb, &f);
        sb_printf(&sb, "}");
        first = 0;
        free_function(&f);
    }
    sb_printf(&sb, "],\"removed\":[");
    first = 1;
    if (base_funcs) {
        /* In the order given. */
        const base_func **given = calloc(nbf ? nbf : 1, sizeof *given);
        if (!given) {
            st = fail(HF_ENOMEM, newobj->path, NULL);
            goto out;
        }
        for (size_t j = 0; j < nbf; j++)
            given[bf[j].order] = &bf[j];
        for (size_t k = 0; k < nbf; k++)
            if (!given[k]->seen) {
                sb_printf(&sb, "%s", first ? "" : ",");
                sb_json_string(&sb, given[k]->name);
                first = 0;
            }
        free(given);
    } else {
        for (size_t j = 0; j < base->nbyaddr; j++) {
            const symbol *s = base->byaddr[j];
            if (s->type == STT_FUNC && s->sym.st_size && !find_function(&nix, s->name)) {
                sb_printf(&sb, "%s", first ? "" : ",");
                sb_json_string(&sb, s->name);
                first = 0;
            }
        }
    }
    sb_printf(&sb, "]}");
out:
    for (size_t j = 0; j < nbf; j++)
        free(bf[j].name);
    free(bf);
    free_index(&nix);
    free_index(&bix);
    if (st) {
        free(sb.buf);
        return st;
    }
    return sb_finish(&sb, out, newobj->path);
}

/* ------------------------------------------- bodies, for frames.c */

/* One function's code, opened once and compared piece by piece with
 * another's by frames.c: an object's function (its relocations known) or
 * a linked image's code at an address. */
struct code_body {
    int is_object;
    object_index ix;
    function f;
    side s;
    x86_stream own; /* the image's instructions */
};

static hf_status body_finish(code_body *b)
{
    if (is_a64(b->s.img))
        return fail(HF_EMACHINE, b->s.img->path, "frames are only moved on x86-64");
    if (!side_init(&b->s, &b->own))
        return fail(HF_EARG, b->s.img->path, "instructions hotfix cannot decode");
    return HF_OK;
}

hf_status body_open_object(hf_image *obj, const char *name, code_body **out)
{
    *out = NULL;
    code_body *b = calloc(1, sizeof *b);
    if (!b)
        return fail(HF_ENOMEM, obj->path, NULL);
    b->is_object = 1;
    hf_status st = index_object(obj, &b->ix);
    const symbol *s = st ? NULL : find_function(&b->ix, name);
    if (!st && !s)
        st = fail(HF_EARG, obj->path, "no function %s", name);
    if (!st)
        st = load_function(obj, &b->ix, s, &b->f);
    if (!st) {
        b->s = (side){.f = &b->f, .img = obj, .code = b->f.code, .size = b->f.size};
        st = body_finish(b);
    }
    if (st) {
        body_close(b);
        return st;
    }
    *out = b;
    return HF_OK;
}

hf_status body_open_image(hf_image *img, uint64_t addr, uint64_t size, code_body **out)
{
    *out = NULL;
    size_t avail;
    const unsigned char *code = bytes_at(img, addr, &avail);
    if (!code || avail < size)
        return fail(HF_EARG, img->path, "no code at 0x%" PRIx64, addr);
    code_body *b = calloc(1, sizeof *b);
    if (!b)
        return fail(HF_ENOMEM, img->path, NULL);
    b->s = (side){.img = img, .addr = addr, .code = code, .size = size};
    hf_status st = body_finish(b);
    if (st) {
        body_close(b);
        return st;
    }
    *out = b;
    return HF_OK;
}

void body_close(code_body *b)
{
    if (!b)
        return;
    free(b->s.real);
    if (b->is_object) {
        free_function(&b->f);
        free_index(&b->ix);
    }
    x86_stream_free(&b->own);
    free(b);
}

const x86_stream *body_insns(const code_body *b) { return b->s.ins; }
const unsigned char *body_code(const code_body *b) { return b->s.code; }
hf_image *body_image(const code_body *b) { return b->s.img; }
uint64_t body_start(const code_body *b) { return b->is_object ? b->f.sym->sym.st_value : b->s.addr; }
size_t body_section(const code_body *b) { return b->is_object ? b->f.shndx : 0; }

/* Instruction j of the new body n against instruction i of the old body
 * o, neither a relative branch: the same as the function comparison
 * finds them (relocated fields by what they refer to), and no immediate
 * differs (not even a line number). */
int body_same_insn(code_body *n, size_t j, code_body *o, size_t i)
{
    immediates imm = {0};
    int same = same_instruction(&n->s, &n->s.ins->ins[j], &o->s, &o->s.ins->ins[i], &imm) && imm.n == 0;
    free(imm.v);
    return same;
}

/* A relative branch (jump or call) of a body: inside the function (*off,
 * the offset of the instruction it reaches) or not. 0: cannot tell. */
int body_branch(code_body *b, size_t i, int *inside, uint64_t *off)
{
    target t;
    if (!branch_target(&b->s, &b->s.ins->ins[i], &t))
        return 0;
    *inside = t.inside;
    if (t.inside) {
        size_t k = (size_t)t.position;
        *off = k < b->s.nreal ? b->s.ins->ins[b->s.real[k]].at : b->s.size;
    }
    return 1;
}

/* Do relative branch j of the new body and i of the old one, both leaving
 * their functions, reach the same function (a call of the same callee)? */
int body_same_callee(code_body *n, size_t j, code_body *o, size_t i)
{
    target tn, to;
    if (!branch_target(&n->s, &n->s.ins->ins[j], &tn) || !branch_target(&o->s, &o->s.ins->ins[i], &to))
        return 0;
    if (tn.inside || to.inside)
        return tn.inside && to.inside; /* a recursive call */
    return same_target(&tn, &o->s, &to);
}

/* The name of the function relative call i of a body calls (its own for
 * a recursive call: NULL), or NULL when it cannot be told. */
const char *body_callee_name(code_body *b, size_t i)
{
    target t;
    if (!branch_target(&b->s, &b->s.ins->ins[i], &t) || t.inside)
        return NULL;
    if (t.named)
        return t.to.kind == REF_SYM ? t.to.sym->name : NULL;
    size_t n;
    size_t k = symbols_at(b->s.img, t.address, &n);
    if (n)
        return b->s.img->byaddr[k]->name;
    return plt_target(b->s.img, t.address);
}
