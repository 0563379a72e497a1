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
 * statics have an address to share; its blocks and the functions inlined
 * into it (their statics are given as the function's) and its declarations
 * of other functions.  And so is a function with none of these (see
 * held_die). */

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

/* ------------------------------------------------------------ the walk */

/* The attributes a DIE is read for, each in its slot. */
enum { DIE_NAME, DIE_LINKAGE, DIE_SIZE, DIE_LOCATION, DIE_EXTERNAL, DIE_DECLARATION, DIE_SPEC, DIE_ORIGIN,
       DIE_TYPE, DIE_MEMBER, DIE_BITS, DIE_VTABLE, DIE_COUNT, DIE_UPPER, DIE_ENCODING, DIE_DATA_BIT_OFFSET,
       DIE_BIT_OFFSET, DIE_ARTIFICIAL, DIE_LOW, DIE_HIGH, DIE_RANGES, DIE_FRAME_BASE, DIE_PROTOTYPED, DIE_NATTRS };

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
    case 0x11: return DIE_LOW;
    case 0x12: return DIE_HIGH;
    case 0x55: return DIE_RANGES;
    case 0x40: return DIE_FRAME_BASE;
    case 0x27: return DIE_PROTOTYPED;
    default: return -1;
    }
}

/* One DIE as the walk gives it to its visitor. */
typedef struct {
    uint64_t offset, tag;
    int depth;                           /* 0: the unit's DIE */
    int children;
    attr_value a[DIE_NATTRS];
    int has[DIE_NATTRS];
    uint64_t field[DIE_NATTRS];          /* where each value is in .debug_info (relocated addresses) */
} die_entry;

/* What a visitor returns: go on, pass over the DIE's children, or stop. */
enum { WALK_ON, WALK_SKIP, WALK_STOP };

typedef int (*die_visitor)(void *ctx, const hf_image *img, const unit_ctx *u, const die_entry *d);

/* Every DIE of the compile unit whose header is at cu_offset, in order;
 * *u gets the unit's context (its bases once the unit's DIE is read). */
static hf_status walk_dies(hf_image *img, uint64_t cu_offset, unit_ctx *u, die_visitor visit, void *ctx)
{
    cursor all = section_cursor(img, ".debug_info", cu_offset);
    const unsigned char *info = section_cursor(img, ".debug_info", 0).p;
    cursor c;
    uint64_t abbrev_offset;
    if (all.bad || unit_header(&all, u, &c, &abbrev_offset) != 1)
        return fail(HF_EDWARF, img->path, "no compile unit at that offset of .debug_info");
    abbrev_table table;
    if (!read_abbrevs(img, abbrev_offset, &table)) {
        free(table.items);
        free(table.by_code);
        return fail(HF_EDWARF, img->path, "unreadable abbreviations in .debug_abbrev");
    }
    const unsigned char *abbrev_end = section_cursor(img, ".debug_abbrev", 0).end;
    int depth = 0, skip_from = -1, ok = 1;
    while (!c.bad && c.p < c.end) {
        uint64_t offset = (uint64_t)(c.p - info);
        uint64_t code = uleb(&c);
        if (code == 0) { /* the end of a list of children */
            if (--depth < 0)
                break;
            if (depth <= skip_from)
                skip_from = -1;
            continue;
        }
        const abbrev *ab = find_abbrev(&table, code);
        if (!ab) {
            ok = 0;
            break;
        }
        die_entry d;
        d.offset = offset;
        d.tag = ab->tag;
        d.depth = depth;
        d.children = ab->children;
        memset(d.has, 0, sizeof d.has);
        cursor spec = {ab->specs, abbrev_end, 0};
        for (;;) {
            uint64_t at, field = (uint64_t)(c.p - info);
            attr_value v;
            int got = next_attribute(img, u, &spec, &c, &at, &v);
            if (got <= 0) {
                ok = got == 0;
                break;
            }
            if (v.form == 0x17 && img->eh.e_type == ET_REL) {
                size_t shndx; /* an object's offsets into other sections are relocations */
                v.num = relocated_field(img, ".debug_info", field, v.num, &shndx);
            }
            if ((v.form == 0x0e || v.form == 0x1f) && img->eh.e_type == ET_REL) {
                size_t shndx;
                uint64_t off = relocated_field(img, ".debug_info", field, UINT64_MAX, &shndx);
                if (off != UINT64_MAX)
                    v.str = section_string(img, v.form == 0x0e ? ".debug_str" : ".debug_line_str", off);
            }
            int slot = die_slot(at);
            if (slot >= 0) {
                d.a[slot] = v;
                d.has[slot] = 1;
                d.field[slot] = field;
            } else if (depth == 0) {
                if (at == 0x72) u->str_offsets_base = v.num;
                else if (at == 0x73) u->addr_base = v.num;
                else if (at == 0x74) u->rnglists_base = v.num;
            }
        }
        if (!ok)
            break;
        int what = WALK_ON;
        if (skip_from < 0) {
            what = visit(ctx, img, u, &d);
            if (what == WALK_STOP)
                break;
            if (what == WALK_SKIP)
                skip_from = depth;
        }
        if (ab->children) {
            if (++depth >= 512) {
                ok = 0;
                break;
            }
        } else if (skip_from == depth) {
            skip_from = -1; /* a passed-over DIE without children */
        }
        if (depth == 0)
            break; /* a unit DIE without children */
    }
    free(table.items);
    free(table.by_code);
    if (!ok || c.bad)
        return fail(HF_EDWARF, img->path, "a DIE of the unit could not be read");
    return HF_OK;
}

/* The .debug_info offset a reference attribute gives, or UINT64_MAX
 * (ref_sig8: a type unit; dwz's alternate file: there, but not followed). */
static uint64_t ref_target(const attr_value *v, uint64_t cu_offset)
{
    if (v->form >= 0x11 && v->form <= 0x15)
        return cu_offset + v->num;
    return v->form == 0x10 ? v->num : UINT64_MAX;
}

static void emit_ref(strbuf *sb, const char *key, const attr_value *v, uint64_t cu_offset)
{
    uint64_t target = ref_target(v, cu_offset);
    if (target == UINT64_MAX)
        sb_printf(sb, ",\"%s\":-1", key);
    else
        sb_printf(sb, ",\"%s\":%" PRIu64, key, target);
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

/* A function with nothing kept below it (no static, no type of its own)
 * is listed only if a DIE listed refers to it (DW_AT_specification,
 * DW_AT_abstract_origin: a definition's declaration, whose name is its
 * statics' scope): a unit of 6,000 functions has 6,000 such, and their
 * declarations of the other units' functions as many.  Each is held,
 * written, until the walk knows. */
typedef struct {
    size_t at, len;                      /* its text in held_text */
    uint64_t offset;
    uint64_t refs[2];                    /* what it refers to (UINT64_MAX: nothing) */
    int listed;
} held_die;

/* hf_unit_dies_json's visitor: each DIE kept, with its parent's index in
 * the list. */
enum { PARENT_HELD = -2 };
typedef struct {
    strbuf sb;
    long parents[512];
    uint64_t tags[512];
    long emitted;
    uint64_t cu_offset;
    unsigned flags;
    int in_function;                     /* the depth of the function the walk is in, or -1 */
    int holding;                         /* the depth of the function held now, or -1 */
    strbuf held_text;
    held_die *held;
    size_t nheld, capheld;
    uint64_t *refs;                      /* every DIE listed refers to these (unsorted) */
    size_t nrefs, caprefs;
    int oom;
} dies_list;

static void note_refs(dies_list *l, const uint64_t refs[2])
{
    for (int k = 0; k < 2; k++) {
        if (refs[k] == UINT64_MAX)
            continue;
        uint64_t *r = grow(l->refs, &l->caprefs, l->nrefs, sizeof *l->refs, 256);
        if (!r) {
            l->oom = 1;
            return;
        }
        l->refs = r;
        l->refs[l->nrefs++] = refs[k];
    }
}

/* The held function is listed: its children are. */
static void list_held(dies_list *l, int below)
{
    held_die *h = &l->held[l->nheld - 1];
    sb_append(&l->sb, l->held_text.buf + h->at, h->len);
    l->held_text.len = h->at;
    note_refs(l, h->refs);
    l->nheld--;
    for (int k = l->holding; k < below; k++)
        if (l->parents[k] == PARENT_HELD)
            l->parents[k] = l->emitted;
    l->emitted++;
    l->holding = -1;
}

static int list_die(void *ctx, const hf_image *img, const unit_ctx *u, const die_entry *d)
{
    dies_list *l = ctx;
    uint64_t address;
    if (d->depth <= l->in_function)
        l->in_function = -1;
    if (d->depth <= l->holding)
        l->holding = -1;                 /* nothing below it was kept: it stays held */
    l->tags[d->depth] = d->tag;
    if (left_out(d->tag, l->flags))
        return WALK_SKIP;
    if (!(l->flags & HF_DIES_PARAMETERS) && d->tag == 0x34 && l->in_function >= 0 && !d->has[DIE_DECLARATION] &&
        !(d->has[DIE_LOCATION] && fixed_address(img, u, &d->a[DIE_LOCATION], &address)))
        return WALK_SKIP; /* on the stack or in a register: nothing to share */
    if (d->tag == 0x2e && l->in_function < 0 && d->children)
        l->in_function = d->depth;
    if (!(l->flags & HF_DIES_PARAMETERS) && l->in_function >= 0 && d->depth > l->in_function) {
        /* Inside a function: a declaration of another function (a local
         * extern) is nothing to share; a block, or a function inlined
         * there, only holds the function's statics and types, which are
         * listed as the function's own. */
        if (d->tag == 0x2e && d->has[DIE_DECLARATION])
            return WALK_SKIP;
        if (d->tag == 0x0b || d->tag == 0x1d) {
            l->parents[d->depth] = l->parents[d->depth - 1];
            return WALK_ON;
        }
    }
    if (l->holding >= 0)
        list_held(l, d->depth);
    long parent = d->depth ? l->parents[d->depth - 1] : -1;
    uint64_t refs[2] = {d->has[DIE_SPEC] ? ref_target(&d->a[DIE_SPEC], l->cu_offset) : UINT64_MAX,
                        d->has[DIE_ORIGIN] ? ref_target(&d->a[DIE_ORIGIN], l->cu_offset) : UINT64_MAX};
    if (!(l->flags & HF_DIES_PARAMETERS) && d->tag == 0x2e && d->depth &&
        (l->tags[d->depth - 1] == 0x11 || l->tags[d->depth - 1] == 0x39)) {
        held_die *h = grow(l->held, &l->capheld, l->nheld, sizeof *l->held, 256);
        if (!h) {
            l->oom = 1;
            return WALK_STOP;
        }
        l->held = h;
        h = &l->held[l->nheld++];
        h->at = l->held_text.len;
        emit_die(&l->held_text, img, u, l->cu_offset, d->offset, d->tag, parent, d->a, d->has);
        h->len = l->held_text.len - h->at;
        h->offset = d->offset;
        h->refs[0] = refs[0];
        h->refs[1] = refs[1];
        h->listed = 0;
        l->holding = d->depth;
        l->parents[d->depth] = PARENT_HELD;
        return WALK_ON;
    }
    emit_die(&l->sb, img, u, l->cu_offset, d->offset, d->tag, parent, d->a, d->has);
    note_refs(l, refs);
    l->parents[d->depth] = l->emitted++;
    return WALK_ON;
}

static int by_offset(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The held functions a DIE listed refers to, after the others (their
 * parents were listed before them), until none is left. */
static void list_referred(dies_list *l)
{
    for (int more = 1; more && !l->oom;) {
        more = 0;
        qsort(l->refs, l->nrefs, sizeof *l->refs, by_offset);
        size_t n = l->nrefs;
        for (size_t i = 0; i < l->nheld; i++) {
            held_die *h = &l->held[i];
            if (h->listed || !bsearch(&h->offset, l->refs, n, sizeof *l->refs, by_offset))
                continue;
            sb_append(&l->sb, l->held_text.buf + h->at, h->len);
            h->listed = 1;
            l->emitted++;
            note_refs(l, h->refs);
            more = 1;
        }
    }
}

hf_status hf_unit_dies_json(hf_image *img, uint64_t cu_offset, unsigned flags, char **out)
{
    dies_list l = {.cu_offset = cu_offset, .flags = flags, .in_function = -1, .holding = -1};
    unit_ctx u;
    sb_printf(&l.sb, "[");
    hf_status st = walk_dies(img, cu_offset, &u, list_die, &l);
    list_referred(&l);
    sb_printf(&l.sb, "]");
    int oom = l.oom || l.held_text.oom;
    free(l.held_text.buf);
    free(l.held);
    free(l.refs);
    if (st || oom) {
        free(l.sb.buf);
        return st ? st : fail(HF_ENOMEM, img->path, NULL);
    }
    return sb_finish(&l.sb, out, img->path);
}

/* ------------------------------------------------- a function's frame */

static int is_addrx_form(uint64_t f) { return f == 0x1b || (f >= 0x29 && f <= 0x2c) || f == 0x1f01; }

/* The address an attribute (DW_AT_low_pc, DW_AT_high_pc as an address)
 * gives, with the section it is in (0 in a linked image). */
static uint64_t die_address(const hf_image *img, const unit_ctx *u, const die_entry *d, int slot, size_t *shndx)
{
    const attr_value *v = &d->a[slot];
    if (is_addrx_form(v->form)) {
        uint64_t at = u->addr_base + v->num * (uint64_t)u->addr_size;
        cursor c = section_cursor(img, ".debug_addr", at);
        return relocated_field(img, ".debug_addr", at, take(&c, (size_t)u->addr_size), shndx);
    }
    return relocated_field(img, ".debug_info", d->field[slot], v->num, shndx);
}

/* A type the walk met: enough to know the size of a variable of it. */
typedef struct {
    uint64_t offset, tag, size, ref;
    int sized;            /* DW_AT_byte_size given */
    int64_t count;        /* arrays: elements (product of the subranges), -1 unknown */
    uint64_t encoding;    /* base types: DW_ATE_* */
} type_entry;

typedef struct {
    frame_facts *f;
    const char *name;
    uint64_t address;     /* linked image: the function's address (0: by name) */
    uint64_t cu_offset;
    int depth;            /* of the function's DIE, -1 before it */
    size_t func_shndx;
    uint64_t func_lo;
    size_t scope_at[512];
    long type_at[512];    /* the type entry of the DIE at each depth, or -1 */
    type_entry *types;
    size_t ntypes, captypes;
    struct { uint64_t offset; const char *name; } *decls; /* subprograms, for DW_AT_specification */
    size_t ndecls, capdecls;
    int proto_depth;      /* of the subprogram whose parameters are being read, or -1 */
    uint64_t *param_types; /* of every prototype's parameters (frame_proto.first) */
    size_t nparams, capparams;
    int oom;
} frame_walk;

static int is_type_tag(uint64_t t)
{
    switch (t) {
    case 0x01: case 0x02: case 0x04: case 0x0f: case 0x10: case 0x13: case 0x15: case 0x16: case 0x17:
    case 0x1f: case 0x24: case 0x26: case 0x35: case 0x37: case 0x3b: case 0x42: case 0x47:
        return 1;
    default:
        return 0;
    }
}

static const char *decl_name(const frame_walk *w, uint64_t offset)
{
    for (size_t i = 0; i < w->ndecls; i++)
        if (w->decls[i].offset == offset)
            return w->decls[i].name;
    return NULL;
}

static uint64_t ref_offset(const attr_value *v, uint64_t cu_offset)
{
    if (v->form >= 0x11 && v->form <= 0x15)
        return cu_offset + v->num;
    return v->form == 0x10 ? v->num : 0;
}

static size_t add_scope(frame_walk *w, size_t parent)
{
    frame_facts *f = w->f;
    frame_scope *s = grow(f->scopes, &f->capscopes, f->nscopes, sizeof *s, 16);
    if (!s) {
        w->oom = 1;
        return 0;
    }
    f->scopes = s;
    f->scopes[f->nscopes] = (frame_scope){parent, f->nranges, 0, 0};
    return f->nscopes++;
}

static void add_range(frame_walk *w, size_t scope, uint64_t lo, uint64_t hi)
{
    frame_facts *f = w->f;
    pc_range *r = grow(f->ranges, &f->capranges, f->nranges, sizeof *r, 16);
    if (!r) {
        w->oom = 1;
        return;
    }
    f->ranges = r;
    f->ranges[f->nranges++] = (pc_range){lo, hi};
    f->scopes[scope].n++;
}

/* A scope's range from DW_AT_low_pc and DW_AT_high_pc, relative to the
 * function; anything else (DW_AT_ranges, another section) is unknown. */
static void scope_ranges(frame_walk *w, const hf_image *img, const unit_ctx *u, const die_entry *d, size_t scope)
{
    size_t s;
    if (!d->has[DIE_LOW] || !d->has[DIE_HIGH]) {
        w->f->scopes[scope].unknown = 1;
        return;
    }
    uint64_t lo = die_address(img, u, d, DIE_LOW, &s), hi;
    if (s != w->func_shndx || lo < w->func_lo) {
        w->f->scopes[scope].unknown = 1;
        return;
    }
    if (d->a[DIE_HIGH].form == 0x01 || is_addrx_form(d->a[DIE_HIGH].form)) {
        size_t s2;
        hi = die_address(img, u, d, DIE_HIGH, &s2);
        if (s2 != s) {
            w->f->scopes[scope].unknown = 1;
            return;
        }
    } else {
        hi = lo + d->a[DIE_HIGH].num;
    }
    add_range(w, scope, lo - w->func_lo, hi - w->func_lo);
}

static int is_function(frame_walk *w, const hf_image *img, const unit_ctx *u, const die_entry *d,
                       uint64_t cu_offset)
{
    if (d->tag != 0x2e || !d->has[DIE_LOW] || (d->has[DIE_DECLARATION] && d->a[DIE_DECLARATION].num))
        return 0;
    size_t s;
    uint64_t lo = die_address(img, u, d, DIE_LOW, &s);
    if (w->address)
        return img->eh.e_type != ET_REL && lo == w->address;
    const char *linkage = d->has[DIE_LINKAGE] ? attr_string(img, u, &d->a[DIE_LINKAGE]) : NULL;
    const char *name = d->has[DIE_NAME] ? attr_string(img, u, &d->a[DIE_NAME]) : NULL;
    if (!linkage && !name && d->has[DIE_SPEC])
        name = decl_name(w, ref_offset(&d->a[DIE_SPEC], cu_offset));
    return (linkage && !strcmp(linkage, w->name)) || (!linkage && name && !strcmp(name, w->name));
}

/* A location that is one DW_OP_fbreg: its offset. */
static int fbreg_offset(const attr_value *v, int64_t *out)
{
    if (!v->block || v->num < 2 || v->block[0] != 0x91)
        return 0;
    cursor b = {v->block + 1, v->block + v->num, 0};
    *out = sleb(&b);
    return !b.bad && b.p == b.end;
}

static int is_static_location(const attr_value *v)
{
    return v->block && v->num >= 1 && (v->block[0] == 0x03 || v->block[0] == 0xa1 || v->block[0] == 0xfb);
}

static void note_type(frame_walk *w, const die_entry *d, uint64_t cu_offset)
{
    type_entry *t = grow(w->types, &w->captypes, w->ntypes, sizeof *t, 64);
    if (!t) {
        w->oom = 1;
        return;
    }
    w->types = t;
    type_entry *e = &w->types[w->ntypes];
    e->offset = d->offset;
    e->tag = d->tag;
    e->sized = d->has[DIE_SIZE] && is_constant_form(d->a[DIE_SIZE].form);
    e->size = e->sized ? d->a[DIE_SIZE].num : 0;
    e->ref = d->has[DIE_TYPE] ? ref_offset(&d->a[DIE_TYPE], cu_offset) : 0;
    e->count = 1;
    e->encoding = d->has[DIE_ENCODING] ? d->a[DIE_ENCODING].num : 0;
    w->type_at[d->depth] = (long)w->ntypes++;
}

/* The parameters of every function the unit declares or defines, for the
 * calls of the function whose frame is read (which argument registers a
 * call reads). */
static void note_prototype(frame_walk *w, const hf_image *img, const unit_ctx *u, const die_entry *d,
                           uint64_t cu_offset)
{
    frame_facts *f = w->f;
    if (w->proto_depth >= 0 && d->depth <= w->proto_depth)
        w->proto_depth = -1;
    if (w->proto_depth >= 0 && d->depth == w->proto_depth + 1) {
        frame_proto *pr = &f->protos[f->nprotos - 1];
        if (d->tag == 0x18) { /* unspecified_parameters: variadic */
            pr->variadic = 1;
        } else if (d->tag == 0x05) {
            uint64_t *t = grow(w->param_types, &w->capparams, w->nparams, sizeof *t, 64);
            if (!t) {
                w->oom = 1;
                return;
            }
            w->param_types = t;
            w->param_types[w->nparams++] = d->has[DIE_TYPE] ? ref_offset(&d->a[DIE_TYPE], cu_offset) : 0;
            pr->nparams++;
        }
        return;
    }
    if (d->tag != 0x2e || w->proto_depth >= 0 || !(d->has[DIE_NAME] || d->has[DIE_LINKAGE]))
        return;
    frame_proto *pr = grow(f->protos, &f->capprotos, f->nprotos, sizeof *pr, 32);
    if (!pr) {
        w->oom = 1;
        return;
    }
    f->protos = pr;
    pr = &f->protos[f->nprotos++];
    memset(pr, 0, sizeof *pr);
    pr->name = attr_string(img, u, &d->a[d->has[DIE_LINKAGE] ? DIE_LINKAGE : DIE_NAME]);
    pr->prototyped = (d->has[DIE_PROTOTYPED] && d->a[DIE_PROTOTYPED].num) || d->has[DIE_LINKAGE];
    pr->first = w->nparams;
    if (d->children)
        w->proto_depth = d->depth;
}

static int visit_frame(void *ctx, const hf_image *img, const unit_ctx *u, const die_entry *d)
{
    frame_walk *w = ctx;
    uint64_t cu_offset = w->cu_offset;
    if (w->oom)
        return WALK_STOP;
    w->type_at[d->depth] = -1;
    if (d->tag == 0x21 && d->depth && w->type_at[d->depth - 1] >= 0) {
        /* A subrange of an array: its element count. */
        type_entry *a = &w->types[w->type_at[d->depth - 1]];
        if (d->has[DIE_COUNT] && is_constant_form(d->a[DIE_COUNT].form))
            a->count = a->count < 0 ? -1 : a->count * (int64_t)d->a[DIE_COUNT].num;
        else if (d->has[DIE_UPPER] && is_constant_form(d->a[DIE_UPPER].form))
            a->count = a->count < 0 ? -1 : a->count * ((int64_t)d->a[DIE_UPPER].num + 1);
        else
            a->count = -1;
        return WALK_ON;
    }
    if (is_type_tag(d->tag))
        note_type(w, d, cu_offset);
    note_prototype(w, img, u, d, cu_offset);
    if (w->depth >= 0 && d->depth <= w->depth)
        w->depth = -2; /* past the function: only types are still wanted */
    if (w->depth == -1 && d->tag == 0x2e && (d->has[DIE_NAME] || d->has[DIE_LINKAGE])) {
        void *g = grow(w->decls, &w->capdecls, w->ndecls, sizeof *w->decls, 64);
        if (!g) {
            w->oom = 1;
            return WALK_STOP;
        }
        w->decls = g;
        w->decls[w->ndecls].offset = d->offset;
        w->decls[w->ndecls++].name = attr_string(img, u, &d->a[d->has[DIE_LINKAGE] ? DIE_LINKAGE : DIE_NAME]);
    }
    if (w->depth == -1) {
        if (!is_function(w, img, u, d, cu_offset))
            return WALK_ON;
        frame_facts *f = w->f;
        f->die = d->offset;
        w->depth = d->depth;
        w->func_lo = die_address(img, u, d, DIE_LOW, &w->func_shndx);
        if (d->has[DIE_FRAME_BASE]) {
            const attr_value *fb = &d->a[DIE_FRAME_BASE];
            if (fb->block && fb->num == 1 && fb->block[0] == 0x9c)
                f->frame_base = FRAME_BASE_CFA;
            else if (fb->block && ((fb->num == 1 && fb->block[0] == 0x56) ||
                                   (fb->num == 2 && fb->block[0] == 0x76 && fb->block[1] == 0)))
                f->frame_base = FRAME_BASE_RBP;
            else
                f->frame_base = FRAME_BASE_OTHER;
        }
        size_t body = add_scope(w, 0);
        scope_ranges(w, img, u, d, body);
        w->scope_at[d->depth] = body;
        return WALK_ON;
    }
    if (w->depth < 0)
        return WALK_ON;
    /* Inside the function. */
    frame_facts *f = w->f;
    size_t scope = w->scope_at[d->depth - 1];
    w->scope_at[d->depth] = scope;
    switch (d->tag) {
    case 0x0b: { /* lexical_block */
        size_t s = add_scope(w, scope);
        scope_ranges(w, img, u, d, s);
        w->scope_at[d->depth] = s;
        return WALK_ON;
    }
    case 0x1d: /* inlined_subroutine */
        f->inlined = 1;
        return WALK_SKIP;
    case 0x2e: /* a nested function */
        return WALK_SKIP;
    case 0x34: case 0x05: { /* variable, formal_parameter */
        if (!d->has[DIE_LOCATION] || is_static_location(&d->a[DIE_LOCATION]))
            return WALK_ON; /* a static, or an extern declaration, or nothing left of it */
        frame_var *v = grow(f->vars, &f->capvars, f->nvars, sizeof *v, 16);
        if (!v) {
            w->oom = 1;
            return WALK_STOP;
        }
        f->vars = v;
        v = &f->vars[f->nvars++];
        memset(v, 0, sizeof *v);
        v->die = d->offset;
        v->name = d->has[DIE_NAME] ? attr_string(img, u, &d->a[DIE_NAME]) : "";
        v->type = d->has[DIE_TYPE] ? ref_offset(&d->a[DIE_TYPE], cu_offset) : 0;
        v->scope = scope;
        int64_t off;
        if (fbreg_offset(&d->a[DIE_LOCATION], &off) &&
            (f->frame_base == FRAME_BASE_CFA || f->frame_base == FRAME_BASE_RBP)) {
            v->in_slot = 1;
            v->slot = off + (f->frame_base == FRAME_BASE_CFA ? 16 : 0);
        }
        return WALK_ON;
    }
    default:
        return WALK_ON;
    }
}

static const type_entry *type_of(const frame_walk *w, uint64_t offset)
{
    size_t lo = 0, hi = w->ntypes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->types[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->ntypes && w->types[lo].offset == offset ? &w->types[lo] : NULL;
}

static uint64_t type_size(const frame_walk *w, uint64_t offset, int depth)
{
    const type_entry *t = offset && depth <= 32 ? type_of(w, offset) : NULL;
    if (!t)
        return 0;
    if (t->tag == 0x01) { /* array */
        uint64_t elem = type_size(w, t->ref, depth + 1);
        return t->count > 0 ? elem * (uint64_t)t->count : 0;
    }
    if (t->sized)
        return t->size;
    switch (t->tag) {
    case 0x0f: case 0x10: case 0x42: /* pointers and references */
        return 8;
    case 0x16: case 0x26: case 0x35: case 0x37: case 0x47: /* typedef and qualifiers */
        return type_size(w, t->ref, depth + 1);
    default:
        return 0;
    }
}

/* How a parameter is passed (SysV x86-64): in a general register, in a
 * vector register, or something this does not classify (a struct, long
 * double: the prototype is then taken as unknown). */
static void classify_parameters(const frame_walk *w, frame_proto *pr)
{
    if (!pr->prototyped) {
        pr->unknown = 1;
        return;
    }
    for (size_t k = 0; k < pr->nparams; k++) {
        const type_entry *t = type_of(w, w->param_types[pr->first + k]);
        for (int guard = 0; t && guard < 16 && (t->tag == 0x16 || t->tag == 0x26 || t->tag == 0x35 ||
                                                t->tag == 0x37 || t->tag == 0x47); guard++)
            t = type_of(w, t->ref);
        if (!t) {
            pr->unknown = 1;
            return;
        }
        uint64_t size = type_size(w, t->offset, 0);
        if (t->tag == 0x0f || t->tag == 0x10 || t->tag == 0x42 || t->tag == 0x04 ||
            (t->tag == 0x24 && t->encoding != 0x04 && t->encoding != 0x03 && size <= 8))
            pr->gpr++;
        else if (t->tag == 0x24 && t->encoding == 0x04 && (size == 4 || size == 8))
            pr->sse++;
        else
            pr->unknown = 1;
    }
}

/* The frame facts of one function of a unit (cu_offset; -1 for the first
 * unit, as in an object): found by its address in a linked image
 * (address != 0), else by its (linkage) name. */
hf_status function_frame(hf_image *img, int64_t cu_offset, const char *name, uint64_t address, frame_facts *out)
{
    memset(out, 0, sizeof *out);
    if (cu_offset < 0)
        cu_offset = 0;
    frame_walk *w = calloc(1, sizeof *w);
    if (!w)
        return fail(HF_ENOMEM, img->path, NULL);
    w->f = out;
    w->name = name;
    w->address = address;
    w->depth = -1;
    w->proto_depth = -1;
    w->cu_offset = (uint64_t)cu_offset;
    unit_ctx u;
    hf_status st = walk_dies(img, (uint64_t)cu_offset, &u, visit_frame, w);
    if (!st && w->oom)
        st = fail(HF_ENOMEM, img->path, NULL);
    if (!st && w->depth == -1)
        st = fail(HF_EDWARF, img->path, "no debug information for the function %s", name);
    if (!st)
        for (size_t i = 0; i < out->nvars; i++)
            out->vars[i].size = type_size(w, out->vars[i].type, 0);
    if (!st)
        for (size_t i = 0; i < out->nprotos; i++)
            classify_parameters(w, &out->protos[i]);
    free(w->param_types);
    free(w->types);
    free(w->decls);
    free(w);
    if (st)
        frame_facts_free(out);
    return st;
}

void frame_facts_free(frame_facts *f)
{
    free(f->protos);
    free(f->vars);
    free(f->scopes);
    free(f->ranges);
    memset(f, 0, sizeof *f);
}

/* Is offset off of the function inside the scope and every scope around it? */
int in_scope(const frame_facts *f, size_t scope, uint64_t off)
{
    for (size_t guard = 0; guard < 64; guard++) {
        const frame_scope *s = &f->scopes[scope];
        if (s->unknown)
            return 0;
        int inside = scope == 0 && !s->n; /* the body: everywhere if its range is not known */
        for (size_t i = 0; i < s->n && !inside; i++)
            inside = f->ranges[s->first + i].lo <= off && off < f->ranges[s->first + i].hi;
        if (!inside)
            return 0;
        if (scope == 0)
            return 1;
        scope = s->parent;
    }
    return 0;
}
