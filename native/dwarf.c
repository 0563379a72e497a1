/* libhotfix: reading DWARF: cursors over a section, attribute forms and
 * values, unit headers, and the compile units of .debug_info
 * (hf_units_json).  lines.c and dies.c read with these. */
#include "internal.h"

static size_t section_index(const hf_image *img, const char *name);

const char *section_string(const hf_image *img, const char *name, uint64_t off)
{
    size_t i = !strcmp(name, ".debug_str") ? img->debug_str :
               !strcmp(name, ".debug_line_str") ? img->debug_line_str : section_index(img, name);
    const unsigned char *b = i ? section_bytes(img, i) : NULL;
    if (b && off < img->sec[i].sh.sh_size && memchr(b + off, 0, img->sec[i].sh.sh_size - off))
        return (const char *)b + off;
    return "";
}

/* ------------------------------------------- relocated fields (objects) */

/* In an object (ET_REL, RELA), a DWARF field that holds an address or an
 * offset into another DWARF section holds 0: the relocation at it says
 * what it is.  Each section's relocations are sorted once by the offset
 * they apply at. */
typedef struct {
    uint64_t off, value;
    size_t shndx;
} field_reloc;

struct field_relocs {
    size_t section;
    field_reloc *v;
    size_t n;
};

static int by_field(const void *a, const void *b)
{
    const field_reloc *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static const struct field_relocs *relocs_of(const hf_image *cimg, size_t idx)
{
    /* A cache on the image: reading does not change what it is. */
    hf_image *img = (hf_image *)cimg;
    for (size_t k = 0; k < img->nrelocs; k++)
        if (img->relocs[k].section == idx)
            return &img->relocs[k];
    size_t ri = img->sec[idx].rela;
    const section *rs = &img->sec[ri];
    size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24), m = 0;
    field_reloc *v = malloc((n ? n : 1) * sizeof *v);
    struct field_relocs *grown = realloc(img->relocs, (img->nrelocs + 1) * sizeof *grown);
    if (!v || !grown) {
        free(v);
        if (grown)
            img->relocs = grown;
        return NULL;
    }
    img->relocs = grown;
    for (size_t j = 0; j < n; j++) {
        GElf_Rela r;
        if (!gelf_getrela(rs->data, (int)j, &r) || GELF_R_SYM(r.r_info) >= img->nsym)
            continue;
        const symbol *s = &img->sym[GELF_R_SYM(r.r_info)];
        v[m++] = (field_reloc){r.r_offset, s->sym.st_value + (uint64_t)r.r_addend, s->sym.st_shndx};
    }
    qsort(v, m, sizeof *v, by_field);
    img->relocs[img->nrelocs] = (struct field_relocs){idx, v, m};
    return &img->relocs[img->nrelocs++];
}

void free_field_relocs(hf_image *img)
{
    for (size_t k = 0; k < img->nrelocs; k++)
        free(img->relocs[k].v);
    free(img->relocs);
    img->relocs = NULL;
    img->nrelocs = 0;
}

/* The value of the field at off of a DWARF section: raw in a linked
 * image; in an object, what its relocation gives (*shndx: the section it
 * points into; 0 in a linked image or without a relocation). */
uint64_t relocated_field(const hf_image *img, const char *name, uint64_t off, uint64_t raw, size_t *shndx)
{
    *shndx = 0;
    if (img->eh.e_type != ET_REL)
        return raw;
    size_t idx = 0;
    for (size_t i = 1; i < img->nsec && !idx; i++)
        if (!strcmp(img->sec[i].name, name))
            idx = i;
    const struct field_relocs *r = idx && img->sec[idx].rela ? relocs_of(img, idx) : NULL;
    if (!r)
        return raw;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->v[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->n || r->v[lo].off != off)
        return raw;
    *shndx = r->v[lo].shndx;
    return r->v[lo].value;
}

/* ------------------------------------------------ compile unit headers */

/* What hotfix needs of each compile unit: the attributes of its first DIE
 * (name, directory, producer, line table, address ranges).  pyelftools
 * builds every unit's abbreviation table in Python to get there (about 5 ms
 * a unit); this reads only the one abbreviation each unit's first DIE uses. */

static size_t section_index(const hf_image *img, const char *name)
{
    for (size_t i = 1; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, name))
            return i;
    return 0;
}

cursor section_cursor(const hf_image *img, const char *name, uint64_t off)
{
    size_t i = section_index(img, name);
    const unsigned char *b = i ? section_bytes(img, i) : NULL;
    cursor c = {b, b, 1};
    if (b && off <= img->sec[i].sh.sh_size) {
        c.p = b + off;
        c.end = b + img->sec[i].sh.sh_size;
        c.bad = 0;
    }
    return c;
}

static void skip(cursor *c, uint64_t n)
{
    if (c->bad || n > (uint64_t)(c->end - c->p))
        c->bad = 1;
    else
        c->p += n;
}

static void take_block(cursor *c, uint64_t n, attr_value *v)
{
    v->block = c->p;
    v->num = n;
    skip(c, n);
}

/* Read one attribute value; returns 0 for a form this reader does not know. */
static int read_form(const hf_image *img, cursor *c, uint64_t form, int offset_size, int addr_size,
                     int version, int64_t implicit, attr_value *v)
{
    v->form = form;
    v->num = 0;
    v->str = NULL;
    v->block = NULL;
    switch (form) {
    case 0x01: v->num = take(c, (size_t)addr_size); return 1;                 /* addr */
    case 0x03: take_block(c, take(c, 2), v); return 1;                         /* block2 */
    case 0x04: take_block(c, take(c, 4), v); return 1;                         /* block4 */
    case 0x09: case 0x18: take_block(c, uleb(c), v); return 1;                 /* block, exprloc */
    case 0x0a: take_block(c, take(c, 1), v); return 1;                         /* block1 */
    case 0x0d: v->num = (uint64_t)sleb(c); return 1;                           /* sdata */
    case 0x05: case 0x12: v->num = take(c, 2); return 1;
    case 0x06: case 0x13: v->num = take(c, 4); return 1;
    case 0x07: case 0x14: case 0x20: v->num = take(c, 8); return 1;
    case 0x08: v->str = cstr(c); return 1;
    case 0x0b: case 0x0c: case 0x11: v->num = take(c, 1); return 1;
    case 0x0f: case 0x15: case 0x1a: case 0x1b: case 0x22: case 0x23:
    case 0x1f01: case 0x1f02:
        v->num = uleb(c);
        return 1;
    case 0x0e: v->str = section_string(img, ".debug_str", take(c, (size_t)offset_size)); return 1;
    case 0x1f: v->str = section_string(img, ".debug_line_str", take(c, (size_t)offset_size)); return 1;
    case 0x10: v->num = take(c, (size_t)(version == 2 ? addr_size : offset_size)); return 1;
    case 0x17: case 0x1d: case 0x1f20: case 0x1f21: v->num = take(c, (size_t)offset_size); return 1;
    case 0x19: v->num = 1; return 1;                                            /* flag_present */
    case 0x1c: v->num = take(c, 4); return 1;
    case 0x24: v->num = take(c, 8); return 1;
    case 0x1e: take(c, 8); take(c, 8); return 1;
    case 0x21: v->num = (uint64_t)implicit; return 1;
    case 0x25: case 0x29: v->num = take(c, 1); return 1;
    case 0x26: case 0x2a: v->num = take(c, 2); return 1;
    case 0x27: case 0x2b: v->num = take(c, 3); return 1;
    case 0x28: case 0x2c: v->num = take(c, 4); return 1;
    case 0x16: return read_form(img, c, uleb(c), offset_size, addr_size, version, implicit, v);
    default: return 0;
    }
}

static int is_strx(uint64_t f) { return f == 0x1a || (f >= 0x25 && f <= 0x28) || f == 0x1f02; }
static int is_addrx(uint64_t f) { return f == 0x1b || (f >= 0x29 && f <= 0x2c) || f == 0x1f01; }

const char *attr_string(const hf_image *img, const unit_ctx *u, const attr_value *v)
{
    if (v->str)
        return v->str;
    if (is_strx(v->form)) {
        uint64_t at = u->str_offsets_base + v->num * (uint64_t)u->offset_size;
        cursor c = section_cursor(img, ".debug_str_offsets", at);
        size_t shndx;
        uint64_t off = relocated_field(img, ".debug_str_offsets", at, take(&c, (size_t)u->offset_size), &shndx);
        return c.bad ? "" : section_string(img, ".debug_str", off);
    }
    return "";
}

uint64_t indexed_address(const hf_image *img, const unit_ctx *u, uint64_t index)
{
    uint64_t at = u->addr_base + index * (uint64_t)u->addr_size;
    cursor c = section_cursor(img, ".debug_addr", at);
    size_t shndx;
    return relocated_field(img, ".debug_addr", at, take(&c, (size_t)u->addr_size), &shndx);
}

static uint64_t attr_address(const hf_image *img, const unit_ctx *u, const attr_value *v)
{
    return is_addrx(v->form) ? indexed_address(img, u, v->num) : v->num;
}

static void emit_range(strbuf *sb, int *first, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return;
    sb_printf(sb, "%s[%" PRIu64 ",%" PRIu64 "]", *first ? "" : ",", lo, hi);
    *first = 0;
}

static void emit_ranges(strbuf *sb, const hf_image *img, const unit_ctx *u, const attr_value *ranges,
                        uint64_t base)
{
    int first = 1;
    size_t a = (size_t)u->addr_size;
    uint64_t all_ones = a == 8 ? UINT64_MAX : 0xffffffffu;
    if (u->version < 5) {
        cursor c = section_cursor(img, ".debug_ranges", ranges->num);
        while (!c.bad) {
            uint64_t lo = take(&c, a), hi = take(&c, a);
            if (c.bad || (lo == 0 && hi == 0))
                break;
            if (lo == all_ones)
                base = hi;
            else
                emit_range(sb, &first, base + lo, base + hi);
        }
        return;
    }
    uint64_t off = ranges->num;
    if (ranges->form == 0x23) { /* rnglistx: an index into the offsets after the list header */
        uint64_t list_base = u->rnglists_base ? u->rnglists_base : 12;
        cursor c = section_cursor(img, ".debug_rnglists", list_base + off * (uint64_t)u->offset_size);
        off = list_base + take(&c, (size_t)u->offset_size);
        if (c.bad)
            return;
    }
    cursor c = section_cursor(img, ".debug_rnglists", off);
    while (!c.bad) {
        unsigned kind = (unsigned)take(&c, 1);
        uint64_t x, y;
        switch (kind) {
        case 0: return;                                                     /* end_of_list */
        case 1: base = indexed_address(img, u, uleb(&c)); break;            /* base_addressx */
        case 2: x = uleb(&c); y = uleb(&c);                                 /* startx_endx */
            emit_range(sb, &first, indexed_address(img, u, x), indexed_address(img, u, y)); break;
        case 3: x = indexed_address(img, u, uleb(&c)); y = uleb(&c);        /* startx_length */
            emit_range(sb, &first, x, x + y); break;
        case 4: x = uleb(&c); y = uleb(&c);                                 /* offset_pair */
            emit_range(sb, &first, base + x, base + y); break;
        case 5: base = take(&c, a); break;                                  /* base_address */
        case 6: x = take(&c, a); y = take(&c, a);                           /* start_end */
            emit_range(sb, &first, x, y); break;
        case 7: x = take(&c, a); y = uleb(&c);                              /* start_length */
            emit_range(sb, &first, x, x + y); break;
        default: return;
        }
    }
}

/* The next attribute of a DIE: its (attribute, form) from the abbreviation
 * at spec, its value from the DIE at c.  1: read; 0: the DIE's last was
 * read before; -1: a form this reader does not know, or data cut short. */
int next_attribute(const hf_image *img, const unit_ctx *u, cursor *spec, cursor *c, uint64_t *at,
                          attr_value *v)
{
    uint64_t form;
    *at = uleb(spec);
    form = uleb(spec);
    int64_t implicit = form == 0x21 ? sleb(spec) : 0;
    if (spec->bad || (*at == 0 && form == 0))
        return 0;
    if (!read_form(img, c, form, u->offset_size, u->addr_size, u->version, implicit, v) || c->bad)
        return -1;
    return 1;
}

/* The header of the unit at all's position: fills u, the cursor over its
 * DIEs and its abbreviation table's offset, and moves all past the unit.
 * Returns -1 when nothing more can be read, 0 for a unit to pass over (a
 * type unit, an unknown version), 1 for a compile unit. */
int unit_header(cursor *all, unit_ctx *u, cursor *c, uint64_t *abbrev_offset)
{
    unit_ctx fresh = {4, 8, 0, 8, 8, 0};
    *u = fresh;
    uint64_t length = take(all, 4);
    if (length == 0xffffffff) {
        length = take(all, 8);
        u->offset_size = 8;
    }
    if (all->bad || length > (uint64_t)(all->end - all->p))
        return -1;
    cursor in = {all->p, all->p + length, 0};
    all->p += length;
    u->version = (int)take(&in, 2);
    if (u->version >= 5) {
        unsigned unit_type = (unsigned)take(&in, 1);
        u->addr_size = (int)take(&in, 1);
        *abbrev_offset = take(&in, (size_t)u->offset_size);
        if (unit_type == 4 || unit_type == 5) /* skeleton, split_compile: dwo_id */
            take(&in, 8);
        else if (unit_type == 2 || unit_type == 6) /* type units */
            return 0;
    } else {
        *abbrev_offset = take(&in, (size_t)u->offset_size);
        u->addr_size = (int)take(&in, 1);
    }
    if (in.bad || u->version < 2 || u->version > 5 || (u->addr_size != 4 && u->addr_size != 8))
        return 0;
    *c = in;
    return 1;
}

hf_status hf_units_json(hf_image *img, char **out)
{
    strbuf sb = {0};
    cursor all = section_cursor(img, ".debug_info", 0);
    const unsigned char *base = all.p;
    sb_printf(&sb, "{\"debug_info\":%s,\"units\":[", all.bad ? "false" : "true");
    int first_unit = 1;
    while (!all.bad && all.p < all.end) {
        uint64_t offset = (uint64_t)(all.p - base);
        unit_ctx u;
        cursor c;
        uint64_t abbrev_offset;
        int kind = unit_header(&all, &u, &c, &abbrev_offset);
        if (kind < 0)
            break;
        if (kind == 0)
            continue;
        uint64_t code = uleb(&c);
        /* Find that abbreviation. */
        cursor ab = section_cursor(img, ".debug_abbrev", abbrev_offset);
        int found = 0;
        while (!ab.bad && !found) {
            uint64_t acode = uleb(&ab);
            if (ab.bad || acode == 0)
                break;
            uleb(&ab);    /* tag */
            take(&ab, 1); /* children */
            if (acode == code) {
                found = 1;
                break;
            }
            for (;;) {
                uint64_t at = uleb(&ab), form = uleb(&ab);
                if (form == 0x21)
                    uleb(&ab); /* implicit_const (signed; only skipped) */
                if (ab.bad || (at == 0 && form == 0))
                    break;
            }
        }
        if (!found)
            continue;
        attr_value name = {0}, comp_dir = {0}, producer = {0}, low = {0}, high = {0}, ranges = {0};
        int64_t stmt_list = -1;
        int has_low = 0, has_high = 0, has_ranges = 0, has_name = 0, split = 0, ok = 1;
        for (;;) {
            uint64_t at;
            attr_value v;
            int got = next_attribute(img, &u, &ab, &c, &at, &v);
            if (got <= 0) {
                ok = got == 0;
                break;
            }
            switch (at) {
            case 0x03: name = v; has_name = 1; break;
            case 0x76: case 0x2130: split = 1; break; /* dwo_name, GNU_dwo_name: -gsplit-dwarf */
            case 0x1b: comp_dir = v; break;
            case 0x25: producer = v; break;
            case 0x10: stmt_list = (int64_t)v.num; break;
            case 0x11: low = v; has_low = 1; break;
            case 0x12: high = v; has_high = 1; break;
            case 0x55: ranges = v; has_ranges = 1; break;
            case 0x72: u.str_offsets_base = v.num; break;
            case 0x73: u.addr_base = v.num; break;
            case 0x74: u.rnglists_base = v.num; break;
            default: break;
            }
        }
        if (!ok || (!has_name && !split))
            continue;
        sb_printf(&sb, "%s{\"offset\":%" PRIu64 ",\"split\":%s,\"name\":", first_unit ? "" : ",", offset,
                  split ? "true" : "false");
        first_unit = 0;
        sb_json_string(&sb, has_name ? attr_string(img, &u, &name) : "");
        sb_printf(&sb, ",\"comp_dir\":");
        sb_json_string(&sb, attr_string(img, &u, &comp_dir));
        sb_printf(&sb, ",\"producer\":");
        sb_json_string(&sb, attr_string(img, &u, &producer));
        sb_printf(&sb, ",\"stmt_list\":%" PRId64 ",\"ranges\":[", stmt_list);
        uint64_t lo = has_low ? attr_address(img, &u, &low) : 0;
        if (has_ranges) {
            emit_ranges(&sb, img, &u, &ranges, lo);
        } else if (has_low && has_high) {
            int f = 1;
            uint64_t hi = high.form == 0x01 || is_addrx(high.form) ? attr_address(img, &u, &high) : lo + high.num;
            emit_range(&sb, &f, lo, hi);
        }
        sb_printf(&sb, "]}");
    }
    sb_printf(&sb, "]}");
    return sb_finish(&sb, out, img->path);
}
