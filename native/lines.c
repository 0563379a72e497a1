/* libhotfix: DWARF line tables (.debug_line, versions 2 to 5): the files
 * each line program names (hf_line_files_json), and the rows of its
 * matrix, address by address (line_rows), in a linked image or in an
 * object whose sequences start at relocated addresses. */
#include "internal.h"

/* One line program's header: what reading its files and its rows needs. */
typedef struct {
    uint64_t offset;        /* of the program in .debug_line */
    unsigned version;
    int offset_size;
    unsigned min_inst_length;
    int default_is_stmt;
    int line_base;
    unsigned line_range, opcode_base;
    const unsigned char *opcode_lengths; /* of standard opcodes 1 .. opcode_base-1 */
    cursor entries;         /* the directory and file tables */
    cursor program;         /* the opcodes */
} line_program;

static size_t debug_line_index(const hf_image *img)
{
    size_t idx = 0;
    for (size_t i = 1; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, ".debug_line"))
            idx = i;
    return idx;
}

/* The next program of .debug_line from *all; 0 at the end. */
static int next_line_program(const unsigned char *base, cursor *all, line_program *lp)
{
    if (!base || all->p >= all->end || all->bad)
        return 0;
    memset(lp, 0, sizeof *lp);
    lp->offset = (uint64_t)(all->p - base);
    lp->offset_size = 4;
    uint64_t length = take(all, 4);
    if (length == 0xffffffff) {
        length = take(all, 8);
        lp->offset_size = 8;
    }
    if (all->bad || length > (uint64_t)(all->end - all->p))
        return 0;
    cursor c = {all->p, all->p + length, 0};
    all->p += length;
    lp->version = (unsigned)take(&c, 2);
    if (lp->version >= 5)
        take(&c, 2); /* address_size, segment_selector_size */
    uint64_t header_length = take(&c, (size_t)lp->offset_size);
    const unsigned char *program = c.p + header_length;
    lp->min_inst_length = (unsigned)take(&c, 1);
    if (lp->version >= 4)
        take(&c, 1); /* maximum_operations_per_instruction: 1 on these machines */
    lp->default_is_stmt = (int)take(&c, 1);
    lp->line_base = (int)(signed char)take(&c, 1);
    lp->line_range = (unsigned)take(&c, 1);
    lp->opcode_base = (unsigned)take(&c, 1);
    lp->opcode_lengths = c.p;
    for (unsigned i = 1; i < lp->opcode_base; i++)
        take(&c, 1);
    if (c.bad || program > c.end || program < c.p)
        return 0;
    lp->entries = (cursor){c.p, program, 0};
    lp->program = (cursor){program, c.end, 0};
    return 1;
}

/* One value of a DWARF 5 entry format: a string (for paths) or a number. */
static const char *form_value(const hf_image *img, cursor *c, uint64_t form, int offset_size, uint64_t *num)
{
    *num = 0;
    switch (form) {
    case 0x08: /* DW_FORM_string */
        return cstr(c);
    case 0x0e: /* DW_FORM_strp */
        return section_string(img, ".debug_str", take(c, (size_t)offset_size));
    case 0x1f: /* DW_FORM_line_strp */
        return section_string(img, ".debug_line_str", take(c, (size_t)offset_size));
    case 0x0b: /* data1 */
        *num = take(c, 1);
        return NULL;
    case 0x05: /* data2 */
        *num = take(c, 2);
        return NULL;
    case 0x06: /* data4 */
        *num = take(c, 4);
        return NULL;
    case 0x07: /* data8 */
        *num = take(c, 8);
        return NULL;
    case 0x1e: /* data16 (MD5) */
        take(c, 8);
        take(c, 8);
        return NULL;
    case 0x0f: /* udata */
        *num = uleb(c);
        return NULL;
    case 0x09: { /* block */
        uint64_t n = uleb(c);
        if ((uint64_t)(c->end - c->p) < n)
            c->bad = 1;
        else
            c->p += n;
        return NULL;
    }
    default:
        c->bad = 1;
        return NULL;
    }
}

static void emit_path(strbuf *sb, int *first, const char *dir, const char *name)
{
    char path[4096];
    if (name[0] == '/' || !dir[0])
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", dir, name);
    sb_printf(sb, "%s", *first ? "" : ",");
    sb_json_string(sb, path);
    *first = 0;
}

hf_status hf_line_files_json(hf_image *img, char **out)
{
    size_t idx = debug_line_index(img);
    strbuf sb = {0};
    sb_printf(&sb, "{");
    const unsigned char *base = idx ? section_bytes(img, idx) : NULL;
    cursor all = {base, base ? base + img->sec[idx].sh.sh_size : base, 0};
    int first_unit = 1;
    line_program lp;
    while (next_line_program(base, &all, &lp)) {
        cursor c = lp.entries;
        unsigned version = lp.version;
        int offset_size = lp.offset_size;
        sb_printf(&sb, "%s\"%" PRIu64 "\":[", first_unit ? "" : ",", lp.offset);
        first_unit = 0;
        int first = 1;
        const char *dirs[512];
        size_t ndirs = 0;
        if (version < 5) {
            dirs[ndirs++] = ""; /* 0: the compilation directory */
            for (;;) {
                const char *d = cstr(&c);
                if (c.bad || !d[0])
                    break;
                if (ndirs < 512)
                    dirs[ndirs++] = d;
            }
            for (;;) {
                const char *name = cstr(&c);
                if (c.bad || !name[0])
                    break;
                uint64_t dir = uleb(&c);
                uleb(&c);
                uleb(&c);
                emit_path(&sb, &first, dir < ndirs ? dirs[dir] : "", name);
            }
        } else {
            for (int pass = 0; pass < 2 && !c.bad; pass++) {
                unsigned nformat = (unsigned)take(&c, 1);
                uint64_t format[32][2];
                for (unsigned i = 0; i < nformat && i < 32; i++) {
                    format[i][0] = uleb(&c);
                    format[i][1] = uleb(&c);
                }
                uint64_t count = uleb(&c);
                for (uint64_t k = 0; k < count && !c.bad; k++) {
                    const char *path = "";
                    uint64_t dir = 0, num;
                    for (unsigned i = 0; i < nformat && i < 32; i++) {
                        const char *v = form_value(img, &c, format[i][1], offset_size, &num);
                        if (format[i][0] == 1 && v) /* DW_LNCT_path */
                            path = v;
                        else if (format[i][0] == 2) /* DW_LNCT_directory_index */
                            dir = num;
                    }
                    if (pass == 0) {
                        if (ndirs < 512)
                            dirs[ndirs++] = path;
                    } else {
                        emit_path(&sb, &first, dir < ndirs ? dirs[dir] : "", path);
                    }
                }
            }
        }
        sb_printf(&sb, "]");
    }
    sb_printf(&sb, "}");
    return sb_finish(&sb, out, img->path);
}

/* ------------------------------------------------------------------ rows */

/* In an object, where DW_LNE_set_address's operand points: the section and
 * offset its relocation names (the operand itself holds 0 with RELA). */
typedef struct {
    uint64_t offset; /* of the operand in .debug_line */
    size_t section;
    uint64_t value;
} line_address;

static int by_operand(const void *a, const void *b)
{
    const line_address *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static size_t relocated_addresses(const hf_image *img, size_t idx, line_address **out)
{
    *out = NULL;
    size_t ri = img->eh.e_type == ET_REL ? img->sec[idx].rela : 0;
    if (!ri)
        return 0;
    const section *rs = &img->sec[ri];
    size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24), k = 0;
    *out = calloc(n ? n : 1, sizeof **out);
    for (size_t j = 0; *out && j < n; j++) {
        GElf_Rela r;
        if (!gelf_getrela(rs->data, (int)j, &r) || GELF_R_SYM(r.r_info) >= img->nsym)
            continue;
        const symbol *s = &img->sym[GELF_R_SYM(r.r_info)];
        if (s->sym.st_shndx == SHN_UNDEF || s->sym.st_shndx >= img->nsec)
            continue;
        (*out)[k++] = (line_address){r.r_offset, s->sym.st_shndx, s->sym.st_value + (uint64_t)r.r_addend};
    }
    if (*out)
        qsort(*out, k, sizeof **out, by_operand);
    return k;
}

typedef struct {
    line_row *v;
    size_t n, cap;
    int oom;
} row_list;

static void add_row(row_list *l, const line_row *r)
{
    line_row *w = grow(l->v, &l->cap, l->n, sizeof *w, 256);
    if (!w) {
        l->oom = 1;
        return;
    }
    l->v = w;
    l->v[l->n++] = *r;
}

/* Run one line program's opcodes, adding each row of its matrix. */
static void run_line_program(const line_program *lp, const unsigned char *base, const line_address *addrs,
                             size_t naddrs, row_list *out)
{
    cursor c = lp->program;
    line_row st = {0, 0, 1, 1, (unsigned char)lp->default_is_stmt, 0};
    unsigned range = lp->line_range ? lp->line_range : 1;
    while (c.p < c.end && !c.bad && !out->oom) {
        unsigned op = (unsigned)take(&c, 1);
        if (op >= lp->opcode_base) {
            unsigned adj = op - lp->opcode_base;
            st.address += (adj / range) * lp->min_inst_length;
            st.line += (uint32_t)(lp->line_base + (int)(adj % range));
            add_row(out, &st);
            continue;
        }
        switch (op) {
        case 0: { /* extended */
            uint64_t len = uleb(&c);
            if (!len || len > (uint64_t)(c.end - c.p)) {
                c.bad = 1;
                break;
            }
            const unsigned char *next = c.p + len;
            unsigned sub = (unsigned)take(&c, 1);
            if (sub == 1) { /* DW_LNE_end_sequence */
                st.end_sequence = 1;
                add_row(out, &st);
                st = (line_row){0, 0, 1, 1, (unsigned char)lp->default_is_stmt, 0};
            } else if (sub == 2) { /* DW_LNE_set_address */
                uint64_t operand = (uint64_t)(c.p - base);
                st.address = take(&c, (size_t)(len - 1 < 8 ? len - 1 : 8));
                st.section = 0;
                size_t lo = 0, hi = naddrs;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (addrs[mid].offset < operand)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo < naddrs && addrs[lo].offset == operand) {
                    st.section = addrs[lo].section;
                    st.address = addrs[lo].value;
                }
            }
            c.p = next; /* DW_LNE_define_file, set_discriminator, and the rest */
            break;
        }
        case 1: /* DW_LNS_copy */
            add_row(out, &st);
            break;
        case 2: /* advance_pc */
            st.address += uleb(&c) * lp->min_inst_length;
            break;
        case 3: /* advance_line */
            st.line += (uint32_t)sleb(&c);
            break;
        case 4: /* set_file */
            st.file = (uint32_t)uleb(&c);
            break;
        case 6: /* negate_stmt */
            st.is_stmt = !st.is_stmt;
            break;
        case 8: /* const_add_pc */
            st.address += ((255 - lp->opcode_base) / range) * lp->min_inst_length;
            break;
        case 9: /* fixed_advance_pc */
            st.address += take(&c, 2);
            break;
        default: /* set_column, basic_block, prologue_end, ...: skip their operands */
            for (unsigned i = 0; i < lp->opcode_lengths[op - 1]; i++)
                uleb(&c);
            break;
        }
    }
}

/* qsort is not stable: rows are numbered in the order their programs
 * gave them, which is kept among rows at one address. */
typedef struct {
    line_row r;
    size_t k;
} numbered_row;

static int by_place(const void *a, const void *b)
{
    const numbered_row *x = a, *y = b;
    if (x->r.section != y->r.section)
        return x->r.section < y->r.section ? -1 : 1;
    if (x->r.address != y->r.address)
        return x->r.address < y->r.address ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* Every row of every line program of the image, sorted by section (0 in a
 * linked image) and address, rows at one address in the order their
 * program gave them.  Read once, kept with the image. */
hf_status line_rows(hf_image *img, const line_row **rows, size_t *n)
{
    if (!img->rows_read) {
        size_t idx = debug_line_index(img);
        const unsigned char *base = idx ? section_bytes(img, idx) : NULL;
        cursor all = {base, base ? base + img->sec[idx].sh.sh_size : base, 0};
        line_address *addrs;
        size_t naddrs = idx ? relocated_addresses(img, idx, &addrs) : (addrs = NULL, 0);
        row_list l = {0};
        line_program lp;
        while (!l.oom && next_line_program(base, &all, &lp))
            run_line_program(&lp, base, addrs, naddrs, &l);
        free(addrs);
        if (l.oom) {
            free(l.v);
            return fail(HF_ENOMEM, img->path, NULL);
        }
        numbered_row *v = malloc((l.n ? l.n : 1) * sizeof *v);
        if (!v) {
            free(l.v);
            return fail(HF_ENOMEM, img->path, NULL);
        }
        for (size_t i = 0; i < l.n; i++)
            v[i] = (numbered_row){l.v[i], i};
        qsort(v, l.n, sizeof *v, by_place);
        for (size_t i = 0; i < l.n; i++)
            l.v[i] = v[i].r;
        free(v);
        img->rows = l.v;
        img->nrows = l.n;
        img->rows_read = 1;
    }
    *rows = img->rows;
    *n = img->nrows;
    return HF_OK;
}

/* The rows of a section (0 in a linked image) in [lo, hi): how many, and
 * the first. */
size_t line_rows_in(hf_image *img, size_t section, uint64_t lo, uint64_t hi, const line_row **first)
{
    const line_row *rows;
    size_t n;
    *first = NULL;
    if (line_rows(img, &rows, &n))
        return 0;
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if (rows[mid].section < section || (rows[mid].section == section && rows[mid].address < lo))
            a = mid + 1;
        else
            b = mid;
    }
    size_t k = a;
    while (k < n && rows[k].section == section && rows[k].address < hi)
        k++;
    *first = rows + a;
    return k - a;
}
