/* libhotfix: a function of an object laid out at a fixed address, as a
 * linker would (hf_place_json): the code moved frames go on in.
 *
 * A frame moved into the new body of a function must find the frame it
 * had: the same slots, the same saved registers.  The patch library's
 * copy is compiled for loading (-fPIC, or -mcmodel=large on x86-64 where
 * it cannot load within 2 GiB of the program), which may change the frame
 * (a GOT pointer kept in a callee-saved register or a slot), so moved
 * frames go on in the function as the program's own flags
 * compile it (the diff object), placed in memory hotfix maps within 2 GiB
 * of the program: its 32-bit PC-relative references reach the program's
 * functions and variables where they are.  With it go the read-only
 * sections it refers to (literals, jump tables); a call of something out
 * of reach goes through a slot (jmp *0(%rip)); a GOT reference gets a
 * slot of its own.
 *
 * The caller resolves names: it is asked first which symbols the code
 * refers to (every other function of the object, every variable, anything
 * undefined), then given their addresses and the base address.
 */
#include "internal.h"

enum { SLOT_SIZE = 16, GOT_SIZE = 8 };

typedef struct {
    const char *name;
    int function;        /* a function (reached by calls) or data */
    int required;        /* referred to by placed code */
    int got;             /* referred to through the GOT */
    uint64_t address;
    int known;
    uint64_t slot;       /* its jump slot (0: none yet) */
    uint64_t got_slot;
} wanted;

typedef struct {
    hf_image *img;
    size_t *placed;      /* sections, in layout order */
    uint64_t *offset;    /* of each placed section from the base */
    size_t nplaced;
    wanted *w;
    size_t nw, capw;
    uint64_t size;       /* code and read-only data */
    const char *error;
    char why[512];
} layout;

static long placed_index(const layout *l, size_t shndx)
{
    for (size_t k = 0; k < l->nplaced; k++)
        if (l->placed[k] == shndx)
            return (long)k;
    return -1;
}

static int read_only_data(const section *s)
{
    return (s->sh.sh_flags & SHF_ALLOC) && !(s->sh.sh_flags & (SHF_WRITE | SHF_EXECINSTR | SHF_TLS)) &&
           s->sh.sh_type == SHT_PROGBITS;
}

/* A read-only object of the object (a const table): placed with its section. */
static const char *placed_symbol(layout *l, const symbol *s, long *in, uint64_t *off)
{
    long k = placed_index(l, s->sym.st_shndx);
    *in = k >= 0 ? k : -2;
    *off = s->sym.st_value;
    return NULL;
}

static int is_label_symbol(const symbol *s)
{
    return s->bind == STB_LOCAL && s->type == STT_NOTYPE;
}

static wanted *want(layout *l, const char *name, int function)
{
    for (size_t k = 0; k < l->nw; k++)
        if (!strcmp(l->w[k].name, name))
            return &l->w[k];
    wanted *w = grow(l->w, &l->capw, l->nw, sizeof *w, 32);
    if (!w)
        return NULL;
    l->w = w;
    w = &l->w[l->nw++];
    memset(w, 0, sizeof *w);
    w->name = name;
    w->function = function;
    return w;
}

/* What relocation r of a placed section refers to: a placed section
 * (*in >= 0 with the offset in it), or a name. */
static const char *referent(layout *l, const GElf_Rela *r, long *in, uint64_t *off, int *function)
{
    hf_image *img = l->img;
    const symbol *s = &img->sym[GELF_R_SYM(r->r_info)];
    *in = -1;
    *off = 0;
    *function = s->type == STT_FUNC;
    /* A function by its name, even this one: its program entry jumps to
     * its newest body (a recursive call must not stay in this copy). */
    if (s->sym.st_shndx == SHN_UNDEF || s->sym.st_shndx >= img->nsec || s->type == STT_FUNC ||
        s->type == STT_OBJECT)
        return s->sym.st_shndx < img->nsec && s->type == STT_OBJECT &&
                       read_only_data(&img->sec[s->sym.st_shndx]) ? placed_symbol(l, s, in, off) : s->name;
    const section *sec = &img->sec[s->sym.st_shndx];
    long k = placed_index(l, s->sym.st_shndx);
    if (k >= 0 || read_only_data(sec)) {
        *in = k >= 0 ? k : -2; /* -2: to be placed */
        *off = s->sym.st_value;
        return NULL;
    }
    /* A section symbol of code or data elsewhere: the symbol that covers
     * the place (a PC-relative field is 4 bytes, or more with an
     * immediate after it, before the end of its instruction). */
    static const int tails[] = {4, 5, 6, 8};
    int pcrel = is_pcrel(GELF_R_TYPE(r->r_info));
    for (size_t t = 0; t < (pcrel ? 4u : 1u); t++) {
        int64_t at = (int64_t)s->sym.st_value + r->r_addend + (pcrel ? tails[t] : 0);
        const symbol *c = at >= 0 ? symbol_covering(img, s->sym.st_shndx, (uint64_t)at) : NULL;
        if (c && c->type != STT_SECTION && !is_label_symbol(c)) {
            *function = c->type == STT_FUNC;
            return c->name;
        }
    }
    /* Writable data no symbol names: an automatic array's or struct's
     * initializer, which GCC puts in .data (clang in .data.rel.ro) because
     * its pointers are relocated.  Code only copies from it (state has a
     * name): laid out with the body, like read-only data. */
    if ((sec->sh.sh_flags & (SHF_ALLOC | SHF_WRITE)) == (SHF_ALLOC | SHF_WRITE) && sec->sh.sh_type == SHT_PROGBITS &&
        !(sec->sh.sh_flags & (SHF_TLS | SHF_EXECINSTR))) {
        *in = -2;
        *off = s->sym.st_value;
        return NULL;
    }
    snprintf(l->why, sizeof l->why, "the code refers to %s+%" PRId64 ", which no symbol names", sec->name,
             (int64_t)s->sym.st_value + r->r_addend);
    l->error = l->why;
    return NULL;
}

/* The relocations of section shndx: how many, and the j-th (0 if it names
 * no symbol of the object). */
static size_t relocations_of(const hf_image *img, size_t shndx)
{
    size_t ri = img->sec[shndx].rela;
    const section *rs = &img->sec[ri];
    return ri ? rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24) : 0;
}

static int relocation(const hf_image *img, size_t shndx, size_t j, GElf_Rela *r)
{
    return gelf_getrela(img->sec[img->sec[shndx].rela].data, (int)j, r) && GELF_R_SYM(r->r_info) < img->nsym;
}

static int is_got_reloc(uint32_t t)
{
    return t == R_X86_64_GOTPCREL || t == R_X86_64_GOTPCRELX || t == R_X86_64_REX_GOTPCRELX;
}

/* Which sections go, and which names are wanted. */
static hf_status collect(layout *l, size_t first)
{
    hf_image *img = l->img;
    l->placed = malloc(img->nsec * sizeof *l->placed);
    l->offset = malloc(img->nsec * sizeof *l->offset);
    if (!l->placed || !l->offset)
        return fail(HF_ENOMEM, img->path, NULL);
    l->placed[l->nplaced++] = first;
    for (size_t k = 0; k < l->nplaced && !l->error; k++) {
        size_t n = relocations_of(img, l->placed[k]);
        for (size_t j = 0; j < n && !l->error; j++) {
            GElf_Rela r;
            if (!relocation(img, l->placed[k], j, &r))
                continue;
            uint32_t type = GELF_R_TYPE(r.r_info);
            if (is_tls(type)) {
                l->error = "the code uses thread-local variables";
                break;
            }
            long in;
            uint64_t off;
            int function;
            const char *name = referent(l, &r, &in, &off, &function);
            if (in == -2)
                l->placed[l->nplaced++] = img->sym[GELF_R_SYM(r.r_info)].sym.st_shndx;
            if (!name)
                continue;
            wanted *w = want(l, name, function || type == R_X86_64_PLT32);
            if (!w)
                return fail(HF_ENOMEM, img->path, NULL);
            w->required = 1;
            w->got |= is_got_reloc(type);
        }
    }
    /* Every variable of the object, for the debugger (optional). */
    for (size_t i = 0; i < img->nbyaddr; i++) {
        const symbol *s = img->byaddr[i];
        if (s->type == STT_OBJECT && s->sym.st_shndx < img->nsec &&
            (img->sec[s->sym.st_shndx].sh.sh_flags & SHF_WRITE) && !want(l, s->name, 0))
            return fail(HF_ENOMEM, img->path, NULL);
    }
    uint64_t at = 0;
    for (size_t k = 0; k < l->nplaced; k++) {
        uint64_t align = img->sec[l->placed[k]].sh.sh_addralign;
        align = align < 16 ? 16 : align;
        at = (at + align - 1) / align * align;
        l->offset[k] = at;
        at += img->sec[l->placed[k]].sh.sh_size;
    }
    l->size = (at + 15) / 16 * 16;
    return HF_OK;
}

static int fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Apply the relocations of placed section k into buf (the whole layout,
 * at base). */
static void relocate(layout *l, size_t k, unsigned char *buf, uint64_t base, uint64_t *slots_end)
{
    hf_image *img = l->img;
    size_t n = relocations_of(img, l->placed[k]);
    for (size_t j = 0; j < n && !l->error; j++) {
        GElf_Rela r;
        if (!relocation(img, l->placed[k], j, &r))
            continue;
        uint32_t type = GELF_R_TYPE(r.r_info);
        uint64_t place = base + l->offset[k] + r.r_offset;
        unsigned char *field = buf + l->offset[k] + r.r_offset;
        long in;
        uint64_t off;
        int function;
        const char *name = referent(l, &r, &in, &off, &function);
        uint64_t S;
        wanted *w = NULL;
        if (name) {
            w = want(l, name, function);
            if (!w || !w->known) {
                snprintf(l->why, sizeof l->why, "no address for %s", name);
                l->error = l->why;
                return;
            }
            S = w->address;
        } else if (!l->error) {
            S = base + l->offset[placed_index(l, img->sym[GELF_R_SYM(r.r_info)].sym.st_shndx)] + off;
        } else {
            return;
        }
        int64_t A = r.r_addend, v;
        switch (type) {
        case R_X86_64_64:
            v = (int64_t)(S + (uint64_t)A);
            memcpy(field, &v, 8);
            continue;
        case R_X86_64_PC64:
            v = (int64_t)(S + (uint64_t)A - place);
            memcpy(field, &v, 8);
            continue;
        case R_X86_64_GOTPCREL: case R_X86_64_GOTPCRELX: case R_X86_64_REX_GOTPCRELX:
            if (!w) {
                l->error = "a GOT reference to a placed section";
                return;
            }
            if (!w->got_slot) {
                w->got_slot = *slots_end;
                *slots_end += GOT_SIZE;
                memcpy(buf + (w->got_slot - base), &w->address, 8);
            }
            S = w->got_slot;
            break;
        case R_X86_64_PC32: case R_X86_64_PLT32: case R_X86_64_32: case R_X86_64_32S:
            break;
        default:
            snprintf(l->why, sizeof l->why, "a relocation of type %u", type);
            l->error = l->why;
            return;
        }
        int pcrel = type != R_X86_64_32 && type != R_X86_64_32S;
        v = (int64_t)(S + (uint64_t)A - (pcrel ? place : 0));
        if (pcrel && !fits32(v) && w && w->function && !is_got_reloc(type)) {
            /* A call of something far away: through a slot. */
            if (!w->slot) {
                w->slot = *slots_end;
                *slots_end += SLOT_SIZE;
                unsigned char *p = buf + (w->slot - base);
                size_t len;
                if (hf_encode_jump(HF_JUMP_ABS14, w->slot, w->address, p, SLOT_SIZE, &len) != HF_OK) {
                    l->error = "a jump slot";
                    return;
                }
            }
            v = (int64_t)(w->slot + (uint64_t)A - place);
        }
        if (type == R_X86_64_32 ? (uint64_t)v > UINT32_MAX : !fits32(v)) {
            snprintf(l->why, sizeof l->why, "%s is out of reach of code placed near the program (a %s new in the patch?)",
                     name ? name : "a literal", w && w->function ? "function" : "static");
            l->error = l->why;
            return;
        }
        int32_t v32 = (int32_t)v;
        memcpy(field, &v32, 4);
    }
}

/* Every allocated section of the object: where it lies (placed, or a data
 * section whose variable the caller gave: the live one), else -1. */
static void emit_sections(strbuf *sb, const layout *l, uint64_t base)
{
    hf_image *img = l->img;
    sb_printf(sb, "\"sections\":[");
    int first = 1;
    for (size_t i = 1; i < img->nsec; i++) {
        const section *s = &img->sec[i];
        if (!(s->sh.sh_flags & SHF_ALLOC) || !s->sh.sh_size)
            continue;
        int64_t address = -1;
        long k = placed_index(l, i);
        if (k >= 0) {
            address = (int64_t)(base + l->offset[k]);
        } else if (s->sh.sh_flags & SHF_WRITE) {
            for (size_t j = 0; j < img->nbyaddr && address < 0; j++) {
                const symbol *y = img->byaddr[j];
                if (y->sym.st_shndx != i || y->type != STT_OBJECT)
                    continue;
                for (size_t w = 0; w < l->nw; w++)
                    if (l->w[w].known && !strcmp(l->w[w].name, y->name))
                        address = (int64_t)(l->w[w].address - y->sym.st_value);
            }
        }
        sb_printf(sb, "%s{\"name\":", first ? "" : ",");
        sb_json_string(sb, s->name);
        sb_printf(sb, ",\"size\":%" PRIu64 ",\"address\":%" PRId64 "}", s->sh.sh_size, address);
        first = 0;
    }
    sb_printf(sb, "]");
}

hf_status hf_place_json(hf_image *obj, const char *function, uint64_t base, const char *addresses, char **out)
{
    if (!obj || obj->eh.e_type != ET_REL || is_a64(obj))
        return fail(HF_EARG, obj ? obj->path : NULL, "an x86-64 object is needed");
    const symbol *f = NULL;
    for (size_t i = 0; i < obj->nbyaddr && !f; i++)
        if (obj->byaddr[i]->type == STT_FUNC && !strcmp(obj->byaddr[i]->name, function))
            f = obj->byaddr[i];
    if (!f || f->sym.st_shndx >= obj->nsec)
        return fail(HF_EARG, obj->path, "no function %s", function);
    layout l;
    memset(&l, 0, sizeof l);
    l.img = obj;
    strbuf sb = {0};
    unsigned char *buf = NULL;
    hf_status st = collect(&l, f->sym.st_shndx);
    if (st)
        goto out;
    size_t nfunctions = 0, ngot = 0;
    for (size_t k = 0; k < l.nw; k++) {
        nfunctions += l.w[k].function && l.w[k].required;
        ngot += l.w[k].got;
    }
    uint64_t total = l.size + nfunctions * SLOT_SIZE + ngot * GOT_SIZE;
    if (!addresses || l.error) {
        /* The first question: what it needs. */
        sb_printf(&sb, "{\"size\":%" PRIu64 ",\"entry\":%" PRIu64 ",\"error\":", total, f->sym.st_value);
        sb_json_string(&sb, l.error ? l.error : "");
        sb_printf(&sb, ",\"needs\":[");
        for (size_t k = 0; k < l.nw; k++) {
            sb_printf(&sb, "%s{\"name\":", k ? "," : "");
            sb_json_string(&sb, l.w[k].name);
            sb_printf(&sb, ",\"function\":%s,\"required\":%s}", l.w[k].function ? "true" : "false",
                      l.w[k].required ? "true" : "false");
        }
        sb_printf(&sb, "],");
        emit_sections(&sb, &l, base);
        sb_printf(&sb, "}");
        goto out;
    }
    for (const char *p = addresses; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1100], name[1024];
        unsigned long long a;
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = 0;
            if (sscanf(line, "%1023s %llx", name, &a) == 2)
                for (size_t k = 0; k < l.nw; k++)
                    if (!strcmp(l.w[k].name, name)) {
                        l.w[k].address = a;
                        l.w[k].known = 1;
                    }
        }
        p = eol ? eol + 1 : p + len;
    }
    buf = calloc(total ? total : 1, 1);
    if (!buf) {
        st = fail(HF_ENOMEM, obj->path, NULL);
        goto out;
    }
    for (size_t k = 0; k < l.nplaced; k++) {
        const unsigned char *b = section_bytes(obj, l.placed[k]);
        if (b)
            memcpy(buf + l.offset[k], b, obj->sec[l.placed[k]].sh.sh_size);
    }
    uint64_t slots_end = base + l.size;
    for (size_t k = 0; k < l.nplaced && !l.error; k++)
        relocate(&l, k, buf, base, &slots_end);
    if (l.error) {
        st = fail(HF_EARG, obj->path, "%s cannot be placed: %s", function, l.error);
        goto out;
    }
    sb_printf(&sb, "{\"size\":%" PRIu64 ",\"entry\":%" PRIu64 ",\"bytes\":\"", slots_end - base, f->sym.st_value);
    for (uint64_t i = 0; i < slots_end - base; i++)
        sb_printf(&sb, "%02x", buf[i]);
    sb_printf(&sb, "\",");
    emit_sections(&sb, &l, base);
    sb_printf(&sb, "}");
out:
    free(buf);
    free(l.placed);
    free(l.offset);
    free(l.w);
    if (st) {
        free(sb.buf);
        return st;
    }
    return sb_finish(&sb, out, obj->path);
}
