/* libhotfix: every DIE of one compile unit, with the few attributes
 * hotfix reads (hf_unit_dies_json). */
#include "internal.h"

/* Every DIE of one compile unit, with the few attributes hotfix reads of
 * variables and types: what pyelftools would give, at a hundredth of the
 * cost (it builds each DIE in Python).  Labels, call sites and enumerators
 * are left out with everything below them, and so are parameters unless
 * asked for (HF_DIES_PARAMETERS: whether a changed type has instances
 * elsewhere); they are most of a unit's DIEs and come with their type only.
 * Unless parameters are asked for, so are a function's own variables that
 * live on its stack or in registers (most DIEs of a large unit): only its
 * statics have an address to share. */

typedef struct {
    uint64_t code, tag;
    int children;
    const unsigned char *specs; /* (attribute, form) pairs in .debug_abbrev */
} abbrev;

typedef struct {
    abbrev *items;
    size_t n, cap;
    abbrev **by_code; /* when the codes are small, else NULL */
    uint64_t max_code;
} abbrev_table;

static int read_abbrevs(const hf_image *img, uint64_t offset, abbrev_table *t)
{
    cursor ab = section_cursor(img, ".debug_abbrev", offset);
    memset(t, 0, sizeof *t);
    while (!ab.bad) {
        uint64_t code = uleb(&ab);
        if (ab.bad || code == 0)
            break;
        abbrev *items = grow(t->items, &t->cap, t->n, sizeof *items, 256);
        if (!items)
            return 0;
        t->items = items;
        abbrev *a = &t->items[t->n++];
        a->code = code;
        a->tag = uleb(&ab);
        a->children = (int)take(&ab, 1);
        a->specs = ab.p;
        if (code > t->max_code)
            t->max_code = code;
        for (;;) {
            uint64_t at = uleb(&ab), form = uleb(&ab);
            if (form == 0x21)
                sleb(&ab);
            if (ab.bad || (at == 0 && form == 0))
                break;
        }
    }
    if (ab.bad)
        return 0;
    if (t->max_code < (1u << 20)) {
        t->by_code = calloc((size_t)t->max_code + 1, sizeof *t->by_code);
        if (!t->by_code)
            return 0;
        for (size_t i = 0; i < t->n; i++)
            t->by_code[t->items[i].code] = &t->items[i];
    }
    return 1;
}

static const abbrev *find_abbrev(const abbrev_table *t, uint64_t code)
{
    if (t->by_code)
        return code <= t->max_code ? t->by_code[code] : NULL;
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].code == code)
            return &t->items[i];
    return NULL;
}

static int is_constant_form(uint64_t f)
{
    return f == 0x0b || f == 0x05 || f == 0x06 || f == 0x07 || f == 0x0f || f == 0x0d || f == 0x21;
}

/* A block holding one operation op with one ULEB operand, e.g.
 * DW_OP_plus_uconst N for a member's offset. */
static int block_uleb(const attr_value *v, unsigned op, uint64_t *out)
{
    if (!v->block || v->num < 2 || v->block[0] != op)
        return 0;
    cursor b = {v->block + 1, v->block + v->num, 0};
    *out = uleb(&b);
    return !b.bad && b.p == b.end;
}

/* A variable's fixed address: DW_OP_addr A, or DW_OP_addrx/GNU_addr_index I,
 * as the whole expression (not a TLS offset or a computed place). */
static int fixed_address(const hf_image *img, const unit_ctx *u, const attr_value *v, uint64_t *out)
{
    if (!v->block || v->num < 1)
        return 0;
    if (v->block[0] == 0x03 && v->num == 1 + (uint64_t)u->addr_size) {
        cursor b = {v->block + 1, v->block + v->num, 0};
        *out = take(&b, (size_t)u->addr_size);
        return !b.bad;
    }
    uint64_t index;
    if (block_uleb(v, 0xa1, &index) || block_uleb(v, 0xfb, &index)) {
        *out = indexed_address(img, u, index);
        return 1;
    }
    return 0;
}

static int left_out(uint64_t tag, unsigned flags)
{
    switch (tag) {
    case 0x05:
        return !(flags & HF_DIES_PARAMETERS); /* formal_parameter */
    case 0x0a: case 0x18: case 0x28: case 0x48: case 0x49: case 0x4109: case 0x410a:
        return 1; /* label, unspecified_parameters, enumerator, call sites */
    default:
        return 0;
    }
}

enum { DIE_NAME, DIE_LINKAGE, DIE_SIZE, DIE_LOCATION, DIE_EXTERNAL, DIE_DECLARATION, DIE_SPEC, DIE_ORIGIN,
       DIE_TYPE, DIE_MEMBER, DIE_BITS, DIE_VTABLE, DIE_COUNT, DIE_UPPER, DIE_ENCODING, DIE_DATA_BIT_OFFSET,
       DIE_BIT_OFFSET, DIE_ARTIFICIAL, DIE_NATTRS };

static int die_slot(uint64_t at)
{
    switch (at) {
    case 0x03: return DIE_NAME;
    case 0x6e: case 0x2007: return DIE_LINKAGE;
    case 0x0b: return DIE_SIZE;
    case 0x02: return DIE_LOCATION;
    case 0x3f: return DIE_EXTERNAL;
    case 0x3c: return DIE_DECLARATION;
    case 0x47: return DIE_SPEC;
    case 0x31: return DIE_ORIGIN;
    case 0x49: return DIE_TYPE;
    case 0x38: return DIE_MEMBER;
    case 0x0d: return DIE_BITS;
    case 0x4d: return DIE_VTABLE;
    case 0x37: return DIE_COUNT;
    case 0x2f: return DIE_UPPER;
    case 0x3e: return DIE_ENCODING;
    case 0x6b: return DIE_DATA_BIT_OFFSET;
    case 0x0c: return DIE_BIT_OFFSET;
    case 0x34: return DIE_ARTIFICIAL;
    default: return -1;
    }
}

static void emit_ref(strbuf *sb, const char *key, const attr_value *v, uint64_t cu_offset)
{
    if (v->form >= 0x11 && v->form <= 0x15)
        sb_printf(sb, ",\"%s\":%" PRIu64, key, cu_offset + v->num);
    else if (v->form == 0x10)
        sb_printf(sb, ",\"%s\":%" PRIu64, key, v->num);
    else /* ref_sig8 (a type unit), dwz's alternate file: there, but not followed */
        sb_printf(sb, ",\"%s\":-1", key);
}

/* A constant, or a block of the one operation op with its operand. */
static void emit_constant(strbuf *sb, const char *key, const attr_value *v, unsigned op)
{
    uint64_t x;
    if (is_constant_form(v->form))
        sb_printf(sb, ",\"%s\":%" PRIu64, key, v->num);
    else if (block_uleb(v, op, &x))
        sb_printf(sb, ",\"%s\":%" PRIu64, key, x);
}

static void emit_die(strbuf *sb, const hf_image *img, const unit_ctx *u, uint64_t cu_offset, uint64_t offset,
                     uint64_t tag, long parent, const attr_value *a, const int *has)
{
    uint64_t x;
    sb_printf(sb, "%s{\"o\":%" PRIu64 ",\"t\":%" PRIu64 ",\"p\":%ld", parent < 0 ? "" : ",", offset, tag, parent);
    if (tag == 0x05) { /* a formal parameter: its type, and whether it is C++'s `this' */
        if (has[DIE_TYPE])
            emit_ref(sb, "ty", &a[DIE_TYPE], cu_offset);
        if (has[DIE_ARTIFICIAL] && a[DIE_ARTIFICIAL].num)
            sb_printf(sb, ",\"ar\":1");
        sb_printf(sb, "}");
        return;
    }
    if (has[DIE_NAME]) {
        sb_printf(sb, ",\"n\":");
        sb_json_string(sb, attr_string(img, u, &a[DIE_NAME]));
    }
    if (has[DIE_LINKAGE]) {
        sb_printf(sb, ",\"l\":");
        sb_json_string(sb, attr_string(img, u, &a[DIE_LINKAGE]));
    }
    if (has[DIE_SIZE] && is_constant_form(a[DIE_SIZE].form))
        sb_printf(sb, ",\"s\":%" PRIu64, a[DIE_SIZE].num);
    if (has[DIE_LOCATION] && fixed_address(img, u, &a[DIE_LOCATION], &x))
        sb_printf(sb, ",\"a\":%" PRIu64, x);
    if (has[DIE_EXTERNAL] && a[DIE_EXTERNAL].num)
        sb_printf(sb, ",\"e\":1");
    if (has[DIE_DECLARATION] && a[DIE_DECLARATION].num)
        sb_printf(sb, ",\"d\":1");
    if (has[DIE_SPEC])
        emit_ref(sb, "sp", &a[DIE_SPEC], cu_offset);
    if (has[DIE_ORIGIN])
        emit_ref(sb, "ao", &a[DIE_ORIGIN], cu_offset);
    if (has[DIE_TYPE])
        emit_ref(sb, "ty", &a[DIE_TYPE], cu_offset);
    if (has[DIE_MEMBER])
        emit_constant(sb, "m", &a[DIE_MEMBER], 0x23); /* or DW_OP_plus_uconst N */
    if (has[DIE_BITS] && is_constant_form(a[DIE_BITS].form))
        sb_printf(sb, ",\"b\":%" PRIu64, a[DIE_BITS].num);
    if (has[DIE_VTABLE])
        emit_constant(sb, "v", &a[DIE_VTABLE], 0x10); /* or DW_OP_constu N */
    if (has[DIE_COUNT] && is_constant_form(a[DIE_COUNT].form))
        sb_printf(sb, ",\"c\":%" PRIu64, a[DIE_COUNT].num);
    if (has[DIE_UPPER] && is_constant_form(a[DIE_UPPER].form))
        sb_printf(sb, ",\"u\":%" PRId64, (int64_t)a[DIE_UPPER].num);
    if (has[DIE_ENCODING] && is_constant_form(a[DIE_ENCODING].form))
        sb_printf(sb, ",\"en\":%" PRIu64, a[DIE_ENCODING].num);
    if (has[DIE_DATA_BIT_OFFSET] && is_constant_form(a[DIE_DATA_BIT_OFFSET].form))
        sb_printf(sb, ",\"bo\":%" PRIu64, a[DIE_DATA_BIT_OFFSET].num);
    if (has[DIE_BIT_OFFSET] && is_constant_form(a[DIE_BIT_OFFSET].form))
        sb_printf(sb, ",\"bx\":%" PRIu64, a[DIE_BIT_OFFSET].num);
    sb_printf(sb, "}");
}

hf_status hf_unit_dies_json(hf_image *img, uint64_t cu_offset, unsigned flags, char **out)
{
    cursor all = section_cursor(img, ".debug_info", cu_offset);
    const unsigned char *info = section_cursor(img, ".debug_info", 0).p;
    unit_ctx u;
    cursor c;
    uint64_t abbrev_offset;
    if (all.bad || unit_header(&all, &u, &c, &abbrev_offset) != 1)
        return fail(HF_EDWARF, img->path, "no compile unit at that offset of .debug_info");
    abbrev_table table;
    if (!read_abbrevs(img, abbrev_offset, &table)) {
        free(table.items);
        free(table.by_code);
        return fail(HF_EDWARF, img->path, "unreadable abbreviations in .debug_abbrev");
    }
    const unsigned char *abbrev_end = section_cursor(img, ".debug_abbrev", 0).end;
    strbuf sb = {0};
    long parents[512];
    long emitted = 0;
    int depth = 0, skip_from = -1, ok = 1, in_function = -1;     /* depth of the function we are in */
    sb_printf(&sb, "[");
    while (!c.bad && c.p < c.end) {
        uint64_t offset = (uint64_t)(c.p - info);
        uint64_t code = uleb(&c);
        if (code == 0) { /* the end of a list of children */
            if (--depth < 0)
                break;
            if (depth <= skip_from)
                skip_from = -1;
            if (depth <= in_function)
                in_function = -1;
            continue;
        }
        const abbrev *ab = find_abbrev(&table, code);
        if (!ab) {
            ok = 0;
            break;
        }
        attr_value a[DIE_NATTRS];
        int has[DIE_NATTRS] = {0};
        cursor spec = {ab->specs, abbrev_end, 0};
        for (;;) {
            uint64_t at;
            attr_value v;
            int got = next_attribute(img, &u, &spec, &c, &at, &v);
            if (got <= 0) {
                ok = got == 0;
                break;
            }
            int slot = die_slot(at);
            if (slot >= 0) {
                a[slot] = v;
                has[slot] = 1;
            } else if (depth == 0) {
                if (at == 0x72) u.str_offsets_base = v.num;
                else if (at == 0x73) u.addr_base = v.num;
                else if (at == 0x74) u.rnglists_base = v.num;
            }
        }
        if (!ok)
            break;
        int skipping = skip_from >= 0 || left_out(ab->tag, flags) ||
                       (!(flags & HF_DIES_PARAMETERS) && ab->tag == 0x34 && in_function >= 0 &&
                        !has[DIE_DECLARATION] &&
                        !(has[DIE_LOCATION] && fixed_address(img, &u, &a[DIE_LOCATION], &(uint64_t){0})));
        if (ab->tag == 0x2e && in_function < 0 && ab->children)
            in_function = depth;
        if (skipping && skip_from < 0)
            skip_from = depth;
        if (!skipping) {
            emit_die(&sb, img, &u, cu_offset, offset, ab->tag, depth ? parents[depth - 1] : -1, a, has);
            if (depth < (int)(sizeof parents / sizeof *parents))
                parents[depth] = emitted;
            emitted++;
        }
        if (ab->children) {
            if (++depth >= (int)(sizeof parents / sizeof *parents)) {
                ok = 0;
                break;
            }
        } else if (skip_from == depth) {
            skip_from = -1; /* a left-out DIE without children */
        }
        if (depth == 0)
            break; /* a unit DIE without children */
    }
    sb_printf(&sb, "]");
    free(table.items);
    free(table.by_code);
    if (!ok || c.bad) {
        free(sb.buf);
        return fail(HF_EDWARF, img->path, "a DIE of the unit could not be read");
    }
    return sb_finish(&sb, out, img->path);
}
