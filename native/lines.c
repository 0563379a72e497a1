/* libhotfix: the files each line program of .debug_line names
 * (hf_line_files_json). */
#include "internal.h"

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
    size_t idx = 0;
    for (size_t i = 1; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, ".debug_line"))
            idx = i;
    strbuf sb = {0};
    sb_printf(&sb, "{");
    const unsigned char *base = idx ? section_bytes(img, idx) : NULL;
    cursor all = {base, base ? base + img->sec[idx].sh.sh_size : base, 0};
    int first_unit = 1;
    while (base && all.p < all.end && !all.bad) {
        uint64_t offset = (uint64_t)(all.p - base);
        int offset_size = 4;
        uint64_t length = take(&all, 4);
        if (length == 0xffffffff) {
            length = take(&all, 8);
            offset_size = 8;
        }
        if (all.bad || length > (uint64_t)(all.end - all.p))
            break;
        cursor c = {all.p, all.p + length, 0};
        all.p += length;
        unsigned version = (unsigned)take(&c, 2);
        if (version >= 5)
            take(&c, 2); /* address_size, segment_selector_size */
        uint64_t header_length = take(&c, (size_t)offset_size);
        (void)header_length;
        take(&c, version >= 4 ? 5 : 4); /* min_inst_length, [max_ops], default_is_stmt, line_base, line_range */
        unsigned opcode_base = (unsigned)take(&c, 1);
        for (unsigned i = 1; i < opcode_base; i++)
            take(&c, 1);
        sb_printf(&sb, "%s\"%" PRIu64 "\":[", first_unit ? "" : ",", offset);
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
