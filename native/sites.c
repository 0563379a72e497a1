/* libhotfix: the third question, where a linked patch refers to code or
 * data, so that those references can be bound to the program's live
 * storage after load (hf_sites_json, x86-64 and AArch64). */
#include "internal.h"

/* AArch64: the addresses the dynamic loader writes into the patch (GOT
 * and PLT slots, pointers in data), each an absolute 64-bit word. */
static hf_status a64_sites_json(hf_image *so, char **out)
{
    strbuf sb = {0};
    sb_printf(&sb, "[");
    int first = 1;
    for (size_t i = 0; i < so->ndyn; i++) {
        const dynrel *d = &so->dyn[i];
        uint64_t target = 0;
        switch (d->type) {
        case R_AARCH64_RELATIVE:
            target = (uint64_t)d->addend;
            break;
        case R_AARCH64_GLOB_DAT:
        case R_AARCH64_JUMP_SLOT:
        case R_AARCH64_ABS64:
            if (!d->sym)
                target = (uint64_t)d->addend;
            break;
        default:
            continue; /* TLS: the patch's own thread-local storage */
        }
        sb_printf(&sb, "%s{\"at\":%" PRIu64 ",\"kind\":\"abs64\",\"sym\":", first ? "" : ",", d->offset);
        sb_json_string(&sb, d->sym && d->type != R_AARCH64_RELATIVE ? d->sym : "");
        sb_printf(&sb, ",\"target\":%" PRIu64 ",\"addend\":%" PRId64 "}", target,
                  d->sym ? d->addend : (int64_t)0);
        first = 0;
    }
    sb_printf(&sb, "]");
    return sb_finish(&sb, out, so->path);
}

/* One static relocation of a linked x86-64 patch (--emit-relocs) in an
 * allocated section other than .eh_frame (which refers to every function,
 * and is read only for code that runs). */
typedef struct {
    uint64_t at;
    uint32_t type;
    int64_t addend;
    const symbol *s;
} patch_reloc;

static int by_place(const void *a, const void *b)
{
    const patch_reloc *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static hf_status patch_relocs(hf_image *so, patch_reloc **out, size_t *count)
{
    patch_reloc *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 1; i < so->nsec; i++) {
        const section *rs = &so->sec[i];
        if (rs->sh.sh_type != SHT_RELA || rs->sh.sh_link != so->symtab || rs->sh.sh_info >= so->nsec)
            continue;
        const section *target = &so->sec[rs->sh.sh_info];
        if (!(target->sh.sh_flags & SHF_ALLOC) || !strcmp(target->name, ".eh_frame"))
            continue;
        size_t m = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
        for (size_t j = 0; j < m; j++) {
            GElf_Rela r;
            if (!gelf_getrela(rs->data, (int)j, &r)) {
                free(v);
                return fail(HF_EELF, so->path, "%s", elf_errmsg(-1));
            }
            patch_reloc *w = grow(v, &cap, n, sizeof *v, 1024);
            if (!w) {
                free(v);
                return fail(HF_ENOMEM, so->path, NULL);
            }
            v = w;
            v[n++] = (patch_reloc){r.r_offset, GELF_R_TYPE(r.r_info), r.r_addend, &so->sym[GELF_R_SYM(r.r_info)]};
        }
    }
    /* A link writes each section's relocations in address order: sorted
     * already, mostly. */
    for (size_t i = 1; i < n; i++)
        if (v[i].at < v[i - 1].at) {
            qsort(v, n, sizeof *v, by_place);
            break;
        }
    *out = v;
    *count = n;
    return HF_OK;
}

/* The function of the patch whose code the last pc-relative field was in,
 * decoded: a 32-bit pc-relative field is relative to the end of its
 * instruction, which a trailing immediate puts past the field. */
typedef struct {
    const hf_image *so;
    const symbol *part;
    x86_stream s;
    int ok;
} decoder;

/* The link-time address of the end of the instruction of part whose
 * displacement or branch offset is the 4-byte field at `at`; 0 if none is.
 * *branch: it is a call or jump's. */
static uint64_t insn_end(decoder *d, const symbol *part, uint64_t at, int *branch)
{
    *branch = 0;
    if (!part || part->type != STT_FUNC)
        return 0;
    if (d->part != part) {
        x86_stream_free(&d->s);
        d->part = part;
        size_t avail;
        const unsigned char *code = bytes_at(d->so, part->sym.st_value, &avail);
        d->ok = code && avail >= part->sym.st_size &&
                x86_decode_all(code, part->sym.st_size, &d->s) == HF_OK && !d->s.bad;
    }
    if (!d->ok)
        return 0;
    uint64_t off = at - part->sym.st_value;
    const x86_insn *in = x86_insn_at(&d->s, off);
    if (!in)
        return 0;
    int disp = in->rip_relative && in->disp_size == 4 && in->at + in->disp_at == off;
    *branch = in->branch && in->len >= 4 && in->at + in->len - 4 == off;
    return disp || *branch ? part->sym.st_value + in->at + in->len : 0;
}

static void decoder_free(decoder *d)
{
    x86_stream_free(&d->s);
}

/* What a relocation makes of its place: a site of `kind` (NULL: none) and
 * the address it refers to (see hf_sites_json).  part: the sized function
 * or object the place is in (NULL: none). */
static const char *site_of(const hf_image *so, const patch_reloc *r, const symbol *part, decoder *d, uint64_t *tgt,
                           uint64_t *pc, int *branch)
{
    size_t avail;
    const unsigned char *field = bytes_at(so, r->at, &avail);
    int64_t v = field && avail >= 8 ? read_field(field, 8) : 0;
    *tgt = *pc = 0;
    *branch = 0;
    switch (r->type) {
    case R_X86_64_GOTOFF64:
        *tgt = (uint64_t)v + so->got;
        return "gotoff64";
    case R_X86_64_GOT64:
        *tgt = (uint64_t)v + so->got;
        return "got64";
    case R_X86_64_PLTOFF64:
        return "pltoff64";
    case R_X86_64_64:
        if (r->s->sym.st_shndx != SHN_UNDEF)
            *tgt = r->s->sym.st_value + (uint64_t)r->addend;
        return "abs64";
    case R_X86_64_PC32:
    case R_X86_64_PLT32:
    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX: {
        /* Code built for loading near the program (-fPIC, small model):
         * an operand or call the instruction's end plus the field
         * reaches (for a GOT load, the slot).  In data it is a label
         * difference (a jump table), not a reference. */
        uint64_t end = field && avail >= 4 ? insn_end(d, part, r->at, branch) : 0;
        if (end) {
            *pc = end;
            *tgt = end + (uint64_t)read_field(field, 4);
            return is_gotpcrel(r->type) ? "gotpcrel" : "pc32";
        }
        if (part && part->type == STT_FUNC && r->s->sym.st_shndx != SHN_UNDEF)
            return "unhandled";
        break;
    }
    default:
        break;
    }
    /* The program's own symbols are absolute in the patch (the link
     * script defines them): any other kind of reference to one was
     * computed for the patch's link-time address. */
    if (r->s->sym.st_shndx != SHN_ABS || r->s->type == STT_SECTION || r->type == R_X86_64_NONE)
        return NULL;
    return "unhandled";
}

static void emit_site(strbuf *sb, int *first, const patch_reloc *r, const char *kind, uint64_t tgt, uint64_t pc,
                      int branch, int unreached)
{
    sb_printf(sb, "%s{\"at\":%" PRIu64 ",\"kind\":\"%s\",\"sym\":", *first ? "" : ",", r->at, kind);
    sb_json_string(sb, r->s->type == STT_SECTION ? "" : r->s->name);
    sb_printf(sb, ",\"target\":%" PRIu64 ",\"type\":%u", tgt, r->type);
    if (pc)
        sb_printf(sb, ",\"pc\":%" PRIu64 "%s", pc, branch ? ",\"branch\":true" : "");
    sb_printf(sb, "%s}", unreached ? ",\"unreached\":true" : "");
    *first = 0;
}

/* The patch's parts (its sized functions and objects) by address, and for
 * each the furthest end of it and the parts before it: a place past that
 * is in none of them. */
typedef struct {
    const symbol **v;
    uint64_t *reach;
    size_t n;
} parts_index;

/* Every site of the patch, or (live) only those in its parts that can run or
 * be read: see hf_live_sites_json. */
static hf_status sites_json(hf_image *so, const unsigned char *live_part, const parts_index *parts,
                            const parts_index *objects, const patch_reloc *rel, size_t nrel, decoder *d, char **out);
static int collect_parts(const hf_image *so, parts_index *parts, int objects_only);
static void free_parts(parts_index *parts);

hf_status hf_sites_json(hf_image *so, char **out)
{
    if (is_a64(so))
        return a64_sites_json(so, out);
    patch_reloc *rel;
    size_t nrel;
    hf_status st = patch_relocs(so, &rel, &nrel);
    if (st)
        return st;
    parts_index parts;
    decoder d = {so, NULL, {0}, 0};
    st = collect_parts(so, &parts, 0) ? sites_json(so, NULL, &parts, NULL, rel, nrel, &d, out) : fail(HF_ENOMEM, so->path, NULL);
    decoder_free(&d);
    free_parts(&parts);
    free(rel);
    return st;
}

/* ------------------------------------------------- what the new code reaches */

/* The patch's parts: its sized functions and objects, by address. */
static int by_value(const void *a, const void *b)
{
    const symbol *x = *(const symbol *const *)a, *y = *(const symbol *const *)b;
    return x->sym.st_value < y->sym.st_value ? -1 : x->sym.st_value > y->sym.st_value;
}

static int is_part(const symbol *s)
{
    return s->sym.st_size && (s->type == STT_FUNC || s->type == STT_GNU_IFUNC || s->type == STT_OBJECT);
}

/* The part holding address a among the first `after` parts (those that
 * start at or before it), or -1. */
static long part_before(const parts_index *parts, size_t after, uint64_t a)
{
    for (size_t i = after; i-- > 0 && a < parts->reach[i];)
        if (a < parts->v[i]->sym.st_value + parts->v[i]->sym.st_size)
            return (long)i;
    return -1;
}

/* The part holding address a, or -1. */
static long part_at(const parts_index *parts, uint64_t a)
{
    size_t lo = 0, hi = parts->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (parts->v[mid]->sym.st_value <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return part_before(parts, lo, a);
}

/* part_at for places in increasing order (the sorted relocations): the
 * parts that start at or before the last place asked are passed once. */
typedef struct {
    const parts_index *parts;
    size_t next;
} part_walk;

static long part_along(part_walk *w, uint64_t a)
{
    const parts_index *parts = w->parts;
    while (w->next < parts->n && parts->v[w->next]->sym.st_value <= a)
        w->next++;
    return part_before(parts, w->next, a);
}

/* The patch's parts (or its objects only), by address (0: out of memory). */
static int collect_parts(const hf_image *so, parts_index *parts, int objects_only)
{
    parts->v = calloc(so->nbyaddr ? so->nbyaddr : 1, sizeof *parts->v);
    parts->reach = calloc(so->nbyaddr ? so->nbyaddr : 1, sizeof *parts->reach);
    parts->n = 0;
    if (!parts->v || !parts->reach)
        return 0;
    size_t n = 0;
    int sorted = 1;
    for (size_t i = 0; i < so->nbyaddr; i++)
        if (is_part(so->byaddr[i]) && (!objects_only || so->byaddr[i]->type == STT_OBJECT)) {
            parts->v[n] = so->byaddr[i];
            sorted &= !n || parts->v[n - 1]->sym.st_value <= parts->v[n]->sym.st_value;
            n++;
        }
    if (!sorted)
        qsort(parts->v, n, sizeof *parts->v, by_value);
    uint64_t furthest = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t end = parts->v[i]->sym.st_value + parts->v[i]->sym.st_size;
        furthest = end > furthest ? end : furthest;
        parts->reach[i] = furthest;
    }
    parts->n = n;
    return 1;
}

static void free_parts(parts_index *parts)
{
    free(parts->v);
    free(parts->reach);
}

/* The parts a pc-relative field may refer to, from its relocation alone
 * (its instruction not decoded): the symbol plus addend, plus the field's
 * 4 bytes and an immediate after it of 0, 1, 2 or 4 bytes; -1 for none. */
enum { GUESSES = 4 };

static void parts_guessed(const hf_image *so, const patch_reloc *r, const parts_index *parts, long out[GUESSES])
{
    static const int extra[GUESSES] = {0, 1, 2, 4};
    int64_t at = (int64_t)r->s->sym.st_value + r->addend + place_bias(so, r->type);
    for (size_t k = 0; k < GUESSES; k++)
        out[k] = at + extra[k] >= 0 ? part_at(parts, (uint64_t)(at + extra[k])) : -1;
}

/* The first relocation at or after address a. */
static size_t first_reloc(const patch_reloc *rel, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rel[mid].at < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A set of names given one per line: the text split in place (a copy),
 * sorted. */
typedef struct {
    char *text;
    char **names;
    size_t n;
} name_set;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_of(const char *list, name_set *set)
{
    memset(set, 0, sizeof *set);
    set->text = strdup(list ? list : "");
    if (!set->text)
        return 0;
    size_t cap = 0;
    for (char *p = set->text; *p;) {
        char *end = strchr(p, '\n');
        if (end)
            *end = 0;
        char **w = grow(set->names, &cap, set->n, sizeof *set->names, 64);
        if (!w)
            return 0;
        set->names = w;
        set->names[set->n++] = p;
        p = end ? end + 1 : p + strlen(p);
    }
    qsort(set->names, set->n, sizeof *set->names, by_name);
    return 1;
}

static int in_set(const name_set *set, const char *name)
{
    return set->n && bsearch(&name, set->names, set->n, sizeof *set->names, by_name) != NULL;
}

static void free_set(name_set *set)
{
    free(set->names);
    free(set->text);
}

typedef struct {
    const parts_index *parts;
    unsigned char *live, *bound;
    size_t *stack, nstack;
    decoder *d;
} reach;

static void reach_part(reach *w, long i)
{
    if (i >= 0 && !w->live[i]) {
        w->live[i] = 1;
        w->stack[w->nstack++] = (size_t)i;
    }
}

/* What one relocation of live code or data makes live: the part it refers
 * to, unless hotfix points the reference at the program's own copy (a
 * function the program has, through a 64-bit site: see plan_rebinds) or
 * it is the program's (an absolute symbol of the link script). */
/* A relocation that stores target minus place: a label difference in data. */
static int is_difference(uint32_t type)
{
    return type == R_X86_64_PC64 || type == R_X86_64_PC32 || type == R_X86_64_PC16 || type == R_X86_64_PC8;
}

static void reach_from(const hf_image *so, reach *w, const patch_reloc *r, const symbol *part)
{
    const symbol *s = r->s;
    int anonymous = part == NULL;
    if (s->sym.st_shndx == SHN_ABS || (s->sym.st_shndx == SHN_UNDEF && s->type != STT_SECTION))
        return;
    uint64_t tgt, pc;
    int branch;
    const char *kind = site_of(so, r, part, w->d, &tgt, &pc, &branch);
    if (kind && strcmp(kind, "unhandled")) {
        if (!strcmp(kind, "got64") || !strcmp(kind, "gotpcrel") || !strcmp(kind, "pltoff64"))
            tgt = s->type == STT_SECTION ? 0 : s->sym.st_value;     /* the slot holds the symbol */
        if (!tgt)
            return;
        long i = part_at(w->parts, tgt);
        if (i >= 0 && w->parts->v[i]->type != STT_OBJECT && w->bound[i])
            return;
        reach_part(w, i);
        return;
    }
    /* Any other reference (pc-relative, 32-bit) keeps the patch's own
     * target: whatever it reaches runs or is read.  An instruction with an
     * immediate after its displacement puts the place further back.  But a
     * pc-relative entry of a table in no part that points into code is a
     * switch's jump table (`.quad .L3-.L5`): only the function it points
     * into reads it, and that function is live or not by itself. */
    long guessed[GUESSES];
    parts_guessed(so, r, w->parts, guessed);
    for (size_t k = 0; k < GUESSES; k++) {
        long i = guessed[k];
        if (anonymous && i >= 0 && w->parts->v[i]->type != STT_OBJECT && is_difference(r->type))
            continue;
        reach_part(w, i);
    }
}

hf_status hf_live_sites_json(hf_image *so, const char *roots, const char *bound, char **out)
{
    if (is_a64(so))
        return a64_sites_json(so, out);
    patch_reloc *rel = NULL;
    size_t nrel = 0;
    hf_status st = patch_relocs(so, &rel, &nrel);
    if (st)
        return st;
    parts_index parts, objects;
    int have_parts = collect_parts(so, &parts, 0) & collect_parts(so, &objects, 1);
    size_t nparts = parts.n;
    decoder d = {so, NULL, {0}, 0};
    reach w = {&parts, calloc(nparts + 1, 1), calloc(nparts + 1, 1), calloc(nparts + 1, sizeof(size_t)), 0, &d};
    name_set root_set, bound_set;
    int sets = names_of(roots, &root_set) & names_of(bound, &bound_set);
    if (!have_parts || !w.live || !w.bound || !w.stack || !sets) {
        st = fail(HF_ENOMEM, so->path, NULL);
        goto out;
    }
    for (size_t i = 0; i < nparts; i++) {
        w.bound[i] = (unsigned char)in_set(&bound_set, parts.v[i]->name);
        if (in_set(&root_set, parts.v[i]->name))
            reach_part(&w, (long)i);
    }
    /* Places in no part (exception tables, jump tables, anonymous data)
     * may be read for live code: what they refer to is live too. */
    part_walk along = {&parts, 0};
    for (size_t j = 0; j < nrel; j++)
        if (part_along(&along, rel[j].at) < 0)
            reach_from(so, &w, &rel[j], NULL);
    while (w.nstack) {
        const symbol *p = parts.v[w.stack[--w.nstack]];
        uint64_t end = p->sym.st_value + p->sym.st_size;
        for (size_t j = first_reloc(rel, nrel, p->sym.st_value); j < nrel && rel[j].at < end; j++)
            reach_from(so, &w, &rel[j], p);
    }
    st = sites_json(so, w.live, &parts, &objects, rel, nrel, &d, out);
out:
    decoder_free(&d);
    free_set(&root_set);
    free_set(&bound_set);
    free(rel);
    free_parts(&parts);
    free_parts(&objects);
    free(w.live);
    free(w.bound);
    free(w.stack);
    return st;
}

/* Whether a 32-bit pc-relative operand in code no new code reaches may
 * name an object of the patch no earlier site named (what an unreached
 * site is listed for: named[] by symbol), by the places a trailing
 * immediate would put its target at, before its function is decoded: a
 * call, or an operand that reaches no object (a literal, a function, the
 * program's symbol, whose kind hotfix handles), is not. */
static int names_object(const hf_image *so, const patch_reloc *r, const parts_index *objects,
                        const unsigned char *named)
{
    if (r->type != R_X86_64_PC32)
        return r->type != R_X86_64_PLT32 && !is_gotpcrel(r->type);     /* a GOT slot is no object */
    if (r->s->sym.st_shndx == SHN_ABS || r->s->sym.st_shndx == SHN_UNDEF)
        return 0;
    long guessed[GUESSES];
    parts_guessed(so, r, objects, guessed);
    for (size_t k = 0; k < GUESSES; k++)
        if (guessed[k] >= 0 && !named[objects->v[guessed[k]] - so->sym])
            return 1;
    return 0;      /* or only objects an earlier site named: its instruction need not be decoded */
}

static hf_status sites_json(hf_image *so, const unsigned char *live_part, const parts_index *parts,
                            const parts_index *objects, const patch_reloc *rel, size_t nrel, decoder *d, char **out)
{
    /* Of the sites no new code reaches, one per object of the patch they
     * name (and one per program symbol referred to in a way hotfix cannot
     * rebind), "unreached": what the patch shares with the program (and
     * whether it can) is said of the whole unit. */
    unsigned char *named = live_part ? calloc(so->nsym + 1, 1) : NULL;
    if (live_part && !named)
        return fail(HF_ENOMEM, so->path, NULL);
    strbuf sb = {0};
    sb_printf(&sb, "[");
    int first = 1;
    part_walk along = {parts, 0};
    for (size_t j = 0; j < nrel; j++) {
        uint64_t tgt, pc;
        int branch;
        long i = part_along(&along, rel[j].at);
        if (live_part && i >= 0 && !live_part[i] && !names_object(so, &rel[j], objects, named))
            continue;
        const char *kind = site_of(so, &rel[j], i >= 0 ? parts->v[i] : NULL, d, &tgt, &pc, &branch);
        if (!kind)
            continue;
        if (live_part) {
            if (i >= 0 && !live_part[i]) {
                size_t key;
                if (rel[j].s->sym.st_shndx == SHN_ABS) {
                    /* The program's symbols: the caller knows them all (the
                     * link script's); only a kind it cannot rebind says more. */
                    if (strcmp(kind, "unhandled"))
                        continue;
                    key = (size_t)(rel[j].s - so->sym);
                } else {
                    long t = tgt ? part_at(parts, tgt) : -1;
                    if (t < 0 || parts->v[t]->type != STT_OBJECT)
                        continue;
                    key = (size_t)(parts->v[t] - so->sym);
                }
                if (named[key])
                    continue;
                named[key] = 1;
                emit_site(&sb, &first, &rel[j], kind, tgt, pc, branch, 1);
                continue;
            }
        }
        emit_site(&sb, &first, &rel[j], kind, tgt, pc, branch, 0);
    }
    sb_printf(&sb, "]");
    free(named);
    return sb_finish(&sb, out, so->path);
}
