/* libhotfix: the second question, which functions of a freshly compiled
 * object differ from the code the program runs (another object, or the
 * linked image itself), on x86-64 and AArch64 (hf_diff_json). */
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
typedef enum { REF_SYM, REF_BYTES, REF_TABLE, REF_OTHER } ref_kind;

typedef struct {
    ref_kind kind;
    const symbol *sym;          /* REF_SYM */
    int64_t off;                /* addend relative to sym (REF_SYM), or section offset */
    const unsigned char *bytes; /* REF_BYTES, or the contents of a read-only REF_SYM */
    size_t nbytes;
    const char *section;        /* REF_OTHER */
} ref;

typedef struct {
    uint64_t offset; /* within the function */
    uint32_t type;
    int64_t addend;
    size_t symidx;
} reloc;

typedef struct {
    const hf_image *img;
    const symbol *sym;
    size_t shndx;
    const unsigned char *code;
    uint64_t size;
    reloc *rel;
    size_t nrel;
} function;

static int by_reloc_offset(const void *a, const void *b)
{
    const reloc *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static hf_status load_function(const hf_image *img, const symbol *s, function *f)
{
    memset(f, 0, sizeof *f);
    f->img = img;
    f->sym = s;
    f->shndx = s->sym.st_shndx;
    f->size = s->sym.st_size;
    const unsigned char *b = section_bytes(img, f->shndx);
    if (!b || s->sym.st_value + f->size > img->sec[f->shndx].sh.sh_size)
        return fail(HF_EELF, img->path, "no code for %s", s->name);
    f->code = b + s->sym.st_value;
    size_t ri = img->sec[f->shndx].rela;
    if (!ri)
        return HF_OK;
    const section *rs = &img->sec[ri];
    size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
    f->rel = calloc(n ? n : 1, sizeof *f->rel);
    if (!f->rel)
        return fail(HF_ENOMEM, img->path, NULL);
    for (size_t j = 0; j < n; j++) {
        GElf_Rela r;
        if (!gelf_getrela(rs->data, (int)j, &r))
            return fail(HF_EELF, img->path, "%s", elf_errmsg(-1));
        if (r.r_offset < s->sym.st_value || r.r_offset >= s->sym.st_value + f->size)
            continue;
        reloc *x = &f->rel[f->nrel++];
        x->offset = r.r_offset - s->sym.st_value;
        x->type = GELF_R_TYPE(r.r_info);
        x->addend = r.r_addend;
        x->symidx = GELF_R_SYM(r.r_info);
    }
    qsort(f->rel, f->nrel, sizeof *f->rel, by_reloc_offset);
    return HF_OK;
}

/* Does any relocation of section shndx fall into [off, off+len)? */
static int has_relocations_in(const hf_image *img, size_t shndx, uint64_t off, uint64_t len)
{
    size_t ri = img->sec[shndx].rela;
    if (!ri)
        return 0;
    const section *rs = &img->sec[ri];
    size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
    for (size_t j = 0; j < n; j++) {
        GElf_Rela r;
        if (gelf_getrela(rs->data, (int)j, &r) && r.r_offset >= off && r.r_offset < off + len)
            return 1;
    }
    return 0;
}

static int is_label(const symbol *s);

/* The size of an anonymous literal at off in a section: a string up to its
 * NUL, an entry of a merge section, or up to the next place anything in
 * the object refers to. */
static uint64_t literal_size(const hf_image *img, size_t shndx, uint64_t off)
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
    for (size_t i = 1; i < img->nsec; i++) {
        const section *rs = &img->sec[i];
        if (rs->sh.sh_type != SHT_RELA || rs->sh.sh_link != img->symtab)
            continue;
        size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
        for (size_t j = 0; j < n; j++) {
            GElf_Rela r;
            if (!gelf_getrela(rs->data, (int)j, &r))
                continue;
            const symbol *t = &img->sym[GELF_R_SYM(r.r_info)];
            if (!is_label(t) || t->sym.st_shndx != shndx)
                continue;
            int64_t at = (int64_t)t->sym.st_value + r.r_addend + place_bias(img, GELF_R_TYPE(r.r_info));
            if (at > (int64_t)off && (uint64_t)at < next)
                next = (uint64_t)at;
        }
    }
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

static ref object_ref(const hf_image *img, const reloc *r)
{
    ref x = {0};
    const symbol *s = &img->sym[r->symidx];
    int bias = place_bias(img, r->type);
    if (is_label(s) && s->sym.st_shndx != SHN_UNDEF && s->sym.st_shndx < img->nsec) {
        size_t shndx = s->sym.st_shndx;
        const section *sec = &img->sec[shndx];
        int64_t base = (int64_t)s->sym.st_value + r->addend;
        int64_t at = base + bias;
        /* An instruction with an immediate after its displacement puts the
         * place further back (addend -5, -6, -8): try those too. */
        static const int extra[] = {0, 1, 2, 4};
        const symbol *in = NULL;
        size_t nextra = is_a64(img) ? 1 : sizeof extra / sizeof *extra;
        for (size_t k = 0; !in && k < nextra; k++)
            if (at + extra[k] >= 0)
                in = symbol_covering(img, shndx, (uint64_t)(at + extra[k]));
        if (in && !is_label(in)) {
            s = in;
            x.off = base - (int64_t)in->sym.st_value;
        } else if ((sec->sh.sh_flags & SHF_ALLOC) && !(sec->sh.sh_flags & (SHF_EXECINSTR | SHF_WRITE)) &&
                   at >= 0) {
            uint64_t n = literal_size(img, shndx, (uint64_t)at);
            if (has_relocations_in(img, shndx, (uint64_t)at, n ? n : 1)) {
                x.kind = REF_TABLE;
                return x;
            }
            x.kind = REF_BYTES;
            x.off = at;
            x.bytes = section_bytes(img, shndx) + at;
            x.nbytes = n;
            return x;
        } else {
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
            !has_relocations_in(img, s->sym.st_shndx, s->sym.st_value, s->sym.st_size)) {
            x.bytes = b + s->sym.st_value;
            x.nbytes = s->sym.st_size;
        }
    }
    return x;
}

static int same_ref(const ref *a, const ref *b)
{
    /* An anonymous literal is known by its bytes alone: its offset moves
     * when an earlier literal of a plain .rodata (as at -O0) is edited. */
    if (a->kind != b->kind || (a->kind != REF_BYTES && a->off != b->off))
        return 0;
    switch (a->kind) {
    case REF_SYM:
        if (!same_name(a->sym, b->sym))
            return 0;
        break;
    case REF_OTHER:
        return !strcmp(a->section, b->section);
    default:
        break;
    }
    if (a->nbytes != b->nbytes || (a->nbytes && memcmp(a->bytes, b->bytes, a->nbytes)))
        return 0;
    return 1;
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
    if (want->kind == REF_BYTES) {
        size_t avail;
        const unsigned char *b = bytes_at(img, ref_addr + (is_pcrel(r->type) ? 4 : 0), &avail);
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
static int same_as_object(const function *n, const function *b, verdict *why)
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
        ref x = object_ref(n->img, &n->rel[i]);
        ref y = object_ref(b->img, &b->rel[i]);
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
static int same_as_image(const function *n, const hf_image *img, uint64_t addr, uint64_t size,
                         verdict *why)
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
        ref want = object_ref(n->img, r);
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

typedef struct {
    char *name;
    uint64_t addr, size;
    int seen;
} base_func;

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
                v[n].seen = 0;
                n++;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    *out = v;
    return n;
}

static const symbol *find_function(const hf_image *img, const char *name)
{
    for (size_t i = 0; i < img->nbyaddr; i++) {
        const symbol *s = img->byaddr[i];
        if (s->type == STT_FUNC && !strcmp(s->name, name))
            return s;
    }
    return NULL;
}

static void emit_refs(strbuf *sb, const function *f)
{
    sb_printf(sb, ",\"refs\":[");
    int first = 1;
    for (size_t i = 0; i < f->nrel; i++) {
        ref x = object_ref(f->img, &f->rel[i]);
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
    hf_status st = HF_OK;
    sb_printf(&sb, "{\"functions\":[");
    int first = 1;
    for (size_t i = 0; i < newobj->nbyaddr; i++) {
        const symbol *s = newobj->byaddr[i];
        if (s->type != STT_FUNC || !s->sym.st_size)
            continue;
        function f, b;
        if ((st = load_function(newobj, s, &f)))
            goto out;
        const char *status = "new";
        verdict why = {"", 0};
        if (base_funcs) {
            for (size_t j = 0; j < nbf; j++) {
                if (bf[j].seen || strcmp(bf[j].name, s->name))
                    continue;
                bf[j].seen = 1;
                status = same_as_image(&f, base, bf[j].addr, bf[j].size, &why) ? "same" : "changed";
                break;
            }
        } else {
            const symbol *bs = find_function(base, s->name);
            if (bs) {
                if ((st = load_function(base, bs, &b))) {
                    free(f.rel);
                    goto out;
                }
                status = same_as_object(&f, &b, &why) ? "same" : "changed";
                free(b.rel);
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
        free(f.rel);
    }
    sb_printf(&sb, "],\"removed\":[");
    first = 1;
    if (base_funcs) {
        for (size_t j = 0; j < nbf; j++)
            if (!bf[j].seen) {
                sb_printf(&sb, "%s", first ? "" : ",");
                sb_json_string(&sb, bf[j].name);
                first = 0;
            }
    } else {
        for (size_t j = 0; j < base->nbyaddr; j++) {
            const symbol *s = base->byaddr[j];
            if (s->type == STT_FUNC && s->sym.st_size && !find_function(newobj, s->name)) {
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
    if (st) {
        free(sb.buf);
        return st;
    }
    return sb_finish(&sb, out, newobj->path);
}
