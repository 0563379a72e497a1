/* libhotfix: opening an ELF image (sections, symbols, dynamic
 * relocations), looking up its bytes and symbols by address, and the first
 * question hotfix asks of it: what symbols it defines, and how much room
 * each function has (hf_header_json, hf_symbols_json). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* ------------------------------------------------------------------ images */

static int by_addr(const void *a, const void *b)
{
    const symbol *x = *(symbol *const *)a, *y = *(symbol *const *)b;
    if (x->sym.st_shndx != y->sym.st_shndx)
        return x->sym.st_shndx < y->sym.st_shndx ? -1 : 1;
    if (x->sym.st_value != y->sym.st_value)
        return x->sym.st_value < y->sym.st_value ? -1 : 1;
    /* Sized symbols first, so that a lookup finds a real object before a
     * zero-sized marker at the same address. */
    if ((x->sym.st_size == 0) != (y->sym.st_size == 0))
        return x->sym.st_size == 0 ? 1 : -1;
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const dynrel *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static hf_status read_symbols(hf_image *img)
{
    section *st = &img->sec[img->symtab];
    size_t n = st->sh.sh_entsize ? st->sh.sh_size / st->sh.sh_entsize : 0;
    img->sym = calloc(n ? n : 1, sizeof *img->sym);
    img->byaddr = calloc(n ? n : 1, sizeof *img->byaddr);
    if (!img->sym || !img->byaddr)
        return fail(HF_ENOMEM, img->path, NULL);
    img->nsym = n;
    const char *file = "";
    for (size_t i = 0; i < n; i++) {
        symbol *s = &img->sym[i];
        if (!gelf_getsym(st->data, (int)i, &s->sym))
            return fail(HF_EELF, img->path, "%s", elf_errmsg(-1));
        s->name = elf_strptr(img->elf, st->sh.sh_link, s->sym.st_name);
        if (!s->name)
            s->name = "";
        s->type = GELF_ST_TYPE(s->sym.st_info);
        s->bind = GELF_ST_BIND(s->sym.st_info);
        if (s->type == STT_FILE)
            file = s->name;
        s->file = s->bind == STB_LOCAL ? file : "";
        if (s->type == STT_SECTION && s->sym.st_shndx < img->nsec)
            s->name = img->sec[s->sym.st_shndx].name;
        if (!strcmp(s->name, "_GLOBAL_OFFSET_TABLE_") && s->sym.st_shndx != SHN_UNDEF)
            img->got = s->sym.st_value;
        if (s->sym.st_shndx != SHN_UNDEF && s->sym.st_shndx < img->nsec &&
            s->type != STT_SECTION && s->type != STT_FILE && s->name[0]) {
            img->byaddr[img->nbyaddr++] = s;
            section *in = &img->sec[s->sym.st_shndx];
            uint64_t extent = s->sym.st_size ? s->sym.st_size : 1;
            in->widest = extent > in->widest ? extent : in->widest;
        }
    }
    qsort(img->byaddr, img->nbyaddr, sizeof *img->byaddr, by_addr);
    return HF_OK;
}

static hf_status read_dynamic_relocations(hf_image *img)
{
    size_t total = 0;
    for (size_t i = 1; i < img->nsec; i++)
        if (img->sec[i].sh.sh_type == SHT_RELA && img->sec[i].sh.sh_link != img->symtab)
            total += img->sec[i].sh.sh_size / (img->sec[i].sh.sh_entsize ? img->sec[i].sh.sh_entsize : 24);
    img->dyn = calloc(total ? total : 1, sizeof *img->dyn);
    if (!img->dyn)
        return fail(HF_ENOMEM, img->path, NULL);
    for (size_t i = 1; i < img->nsec; i++) {
        section *s = &img->sec[i];
        if (s->sh.sh_type != SHT_RELA || s->sh.sh_link == img->symtab)
            continue;
        size_t n = s->sh.sh_size / (s->sh.sh_entsize ? s->sh.sh_entsize : 24);
        Elf_Scn *symscn = elf_getscn(img->elf, s->sh.sh_link);
        Elf_Data *symdata = symscn ? elf_getdata(symscn, NULL) : NULL;
        GElf_Shdr symsh;
        if (symscn)
            gelf_getshdr(symscn, &symsh);
        for (size_t j = 0; j < n; j++) {
            GElf_Rela r;
            if (!gelf_getrela(s->data, (int)j, &r))
                break;
            dynrel *d = &img->dyn[img->ndyn++];
            d->offset = r.r_offset;
            d->type = GELF_R_TYPE(r.r_info);
            d->addend = r.r_addend;
            d->sym = NULL;
            GElf_Sym ds;
            if (GELF_R_SYM(r.r_info) && symdata && gelf_getsym(symdata, (int)GELF_R_SYM(r.r_info), &ds))
                d->sym = elf_strptr(img->elf, symsh.sh_link, ds.st_name);
        }
    }
    qsort(img->dyn, img->ndyn, sizeof *img->dyn, by_offset);
    return HF_OK;
}

hf_status hf_open(const char *path, hf_image **out)
{
    *out = NULL;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(HF_EELF, path, "%s", elf_errmsg(-1));
    hf_image *img = calloc(1, sizeof *img);
    if (!img)
        return fail(HF_ENOMEM, path, NULL);
    img->path = strdup(path);
    img->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (img->fd < 0) {
        hf_status st = fail(HF_EOPEN, path, "%s", strerror(errno));
        hf_close(img);
        return st;
    }
    hf_status st = HF_OK;
    img->elf = elf_begin(img->fd, ELF_C_READ_MMAP, NULL);
    if (!img->elf || elf_kind(img->elf) != ELF_K_ELF || !gelf_getehdr(img->elf, &img->eh)) {
        /* A file of another kind is no libelf error: say nothing more. */
        int e = elf_errno();
        st = fail(HF_EELF, path, e ? "%s" : NULL, elf_errmsg(e));
        goto out;
    }
    if (img->eh.e_machine != EM_X86_64 && img->eh.e_machine != EM_AARCH64) {
        st = fail(HF_EMACHINE, path, "e_machine %d", img->eh.e_machine);
        goto out;
    }
    size_t shstrndx;
    if (elf_getshdrnum(img->elf, &img->nsec) || elf_getshdrstrndx(img->elf, &shstrndx)) {
        st = fail(HF_EELF, path, "%s", elf_errmsg(-1));
        goto out;
    }
    img->sec = calloc(img->nsec ? img->nsec : 1, sizeof *img->sec);
    if (!img->sec) {
        st = fail(HF_ENOMEM, path, NULL);
        goto out;
    }
    for (size_t i = 1; i < img->nsec; i++) {
        Elf_Scn *scn = elf_getscn(img->elf, i);
        section *s = &img->sec[i];
        if (!scn || !gelf_getshdr(scn, &s->sh)) {
            st = fail(HF_EELF, path, "%s", elf_errmsg(-1));
            goto out;
        }
        s->name = elf_strptr(img->elf, shstrndx, s->sh.sh_name);
        if (!s->name)
            s->name = "";
        if ((s->sh.sh_flags & SHF_COMPRESSED) && !strncmp(s->name, ".debug_", 7)) {
            /* -gz: debug information compressed in the file. */
            if (elf_compress(scn, 0, 0) < 0 || !gelf_getshdr(scn, &s->sh)) {
                st = fail(HF_EELF, path, "cannot decompress %s: %s", s->name, elf_errmsg(-1));
                goto out;
            }
        }
        s->data = elf_getdata(scn, NULL);
        if (s->sh.sh_type == SHT_SYMTAB)
            img->symtab = i;
        if (!img->debug_str && !strcmp(s->name, ".debug_str"))
            img->debug_str = i;
        if (!img->debug_line_str && !strcmp(s->name, ".debug_line_str"))
            img->debug_line_str = i;
    }
    if (!img->symtab) {
        st = fail(HF_ENOSYMTAB, path, NULL);
        goto out;
    }
    for (size_t i = 1; i < img->nsec; i++) {
        section *s = &img->sec[i];
        if (s->sh.sh_type == SHT_RELA && s->sh.sh_link == img->symtab && s->sh.sh_info < img->nsec)
            img->sec[s->sh.sh_info].rela = i;
    }
    if ((st = read_symbols(img)) || (st = read_dynamic_relocations(img)))
        goto out;
out:
    if (st) {
        hf_close(img);
        return st;
    }
    *out = img;
    return HF_OK;
}

void hf_close(hf_image *img)
{
    if (!img)
        return;
    if (img->elf)
        elf_end(img->elf);
    if (img->fd >= 0)
        close(img->fd);
    free(img->sec);
    free(img->sym);
    free(img->byaddr);
    free(img->dyn);
    free(img->rows);
    free_field_relocs(img);
    free(img->path);
    free(img);
}

/* Bytes of a section, or NULL for NOBITS/empty. */
const unsigned char *section_bytes(const hf_image *img, size_t idx)
{
    const section *s = &img->sec[idx];
    if (s->sh.sh_type == SHT_NOBITS || !s->data || !s->data->d_buf)
        return NULL;
    return s->data->d_buf;
}

/* In a linked image: the bytes at a link-time address, with how many
 * follow in the same section.  NOBITS memory reads as NULL. */
const unsigned char *bytes_at(const hf_image *img, uint64_t addr, size_t *avail)
{
    for (size_t i = 1; i < img->nsec; i++) {
        const section *s = &img->sec[i];
        if (!(s->sh.sh_flags & SHF_ALLOC) || addr < s->sh.sh_addr ||
            addr >= s->sh.sh_addr + s->sh.sh_size)
            continue;
        const unsigned char *b = section_bytes(img, i);
        if (!b)
            return NULL;
        *avail = s->sh.sh_addr + s->sh.sh_size - addr;
        return b + (addr - s->sh.sh_addr);
    }
    return NULL;
}

static size_t section_of(const hf_image *img, uint64_t addr)
{
    for (size_t i = 1; i < img->nsec; i++) {
        const section *s = &img->sec[i];
        if ((s->sh.sh_flags & SHF_ALLOC) && addr >= s->sh.sh_addr &&
            addr < s->sh.sh_addr + s->sh.sh_size)
            return i;
    }
    return 0;
}

/* Symbols whose address is exactly addr, in a linked image: the first
 * index into byaddr, and how many. */
size_t symbols_at(const hf_image *img, uint64_t addr, size_t *count)
{
    size_t shndx = section_of(img, addr);
    size_t lo = 0, hi = img->nbyaddr;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const symbol *s = img->byaddr[mid];
        if (s->sym.st_shndx < shndx || (s->sym.st_shndx == shndx && s->sym.st_value < addr))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < img->nbyaddr && img->byaddr[lo + n]->sym.st_shndx == shndx &&
           img->byaddr[lo + n]->sym.st_value == addr)
        n++;
    *count = n;
    return lo;
}

/* A symbol defined in section shndx of an object covering offset off (the
 * largest, and of those the first byaddr lists). */
const symbol *symbol_covering(const hf_image *img, size_t shndx, uint64_t off)
{
    size_t lo = 0, hi = img->nbyaddr;
    while (lo < hi) { /* the first symbol after off */
        size_t mid = (lo + hi) / 2;
        const symbol *s = img->byaddr[mid];
        if (s->sym.st_shndx < shndx || (s->sym.st_shndx == shndx && s->sym.st_value <= off))
            lo = mid + 1;
        else
            hi = mid;
    }
    const symbol *best = NULL;
    uint64_t widest = shndx < img->nsec ? img->sec[shndx].widest : 0;
    for (size_t i = lo; i-- > 0;) {
        const symbol *s = img->byaddr[i];
        if (s->sym.st_shndx != shndx || s->sym.st_value + widest <= off)
            break; /* nothing earlier reaches off */
        if (off < s->sym.st_value + (s->sym.st_size ? s->sym.st_size : 1))
            if (!best || s->sym.st_size >= best->sym.st_size)
                best = s;
    }
    return best;
}

/* --------------------------------------------------------------- symbols */

static const char *type_name(unsigned char t)
{
    switch (t) {
    case STT_FUNC:
    case STT_GNU_IFUNC:
        return "func";
    case STT_OBJECT:
        return "object";
    case STT_TLS:
        return "tls";
    default:
        return "notype";
    }
}

static const char *bind_name(unsigned char b)
{
    return b == STB_LOCAL ? "local" : b == STB_WEAK ? "weak" : "global";
}

/* Room at a function: up to the next symbol that starts after it, or the
 * end of its section.  Padding after a function belongs to its room. */
static uint64_t room_of(const hf_image *img, size_t i)
{
    const symbol *s = img->byaddr[i];
    const section *sec = &img->sec[s->sym.st_shndx];
    uint64_t end = sec->sh.sh_addr + sec->sh.sh_size;
    if (img->eh.e_type == ET_REL)
        end = sec->sh.sh_size;
    for (size_t j = i + 1; j < img->nbyaddr; j++) {
        const symbol *t = img->byaddr[j];
        if (t->sym.st_shndx != s->sym.st_shndx)
            break;
        if (t->sym.st_value > s->sym.st_value) {
            end = t->sym.st_value;
            break;
        }
    }
    return end - s->sym.st_value;
}

/* The fields hf_header_json and hf_symbols_json share, after a '{'. */
/* DT_SONAME of a dynamic section, or "". */
static const char *soname_of(const hf_image *img, size_t dyn)
{
    const section *d = &img->sec[dyn];
    size_t n = d->sh.sh_entsize ? d->sh.sh_size / d->sh.sh_entsize : 0;
    for (size_t j = 0; d->data && j < n; j++) {
        GElf_Dyn e;
        if (!gelf_getdyn(d->data, (int)j, &e) || e.d_tag == DT_NULL)
            break;
        if (e.d_tag == DT_SONAME) {
            const char *name = elf_strptr(img->elf, d->sh.sh_link, e.d_un.d_val);
            return name ? name : "";
        }
    }
    return "";
}

static void emit_header_fields(strbuf *sb, const hf_image *img)
{
    const char *kind = img->eh.e_type == ET_REL ? "rel" : img->eh.e_type == ET_DYN ? "dyn" : "exec";
    int dynamic = 0;
    uint64_t dynamic_address = 0;
    const char *soname = "";
    for (size_t i = 1; i < img->nsec; i++)
        if (img->sec[i].sh.sh_type == SHT_DYNAMIC) {
            dynamic = 1;
            dynamic_address = img->sec[i].sh.sh_addr;
            soname = soname_of(img, i);
        }
    sb_printf(sb, "\"type\":\"%s\",\"machine\":\"%s\",\"dynamic\":%s,\"entry\":%" PRIu64
              ",\"dynamic_address\":%" PRIu64 ",\"soname\":", kind, is_a64(img) ? "aarch64" : "x86_64",
              dynamic ? "true" : "false", (uint64_t)img->eh.e_entry, dynamic_address);
    sb_json_string(sb, soname);
}

hf_status hf_header_json(hf_image *img, char **out)
{
    strbuf sb = {0};
    sb_printf(&sb, "{");
    emit_header_fields(&sb, img);
    sb_printf(&sb, "}");
    return sb_finish(&sb, out, img->path);
}

/* What linking an object asks of it: its sections' names, and the names
 * it needs from elsewhere (those a patch must bind). */
static void emit_link_fields(strbuf *sb, const hf_image *img)
{
    sb_printf(sb, "\"sections\":[");
    for (size_t i = 1; i < img->nsec; i++) {
        sb_printf(sb, "%s", i > 1 ? "," : "");
        sb_json_string(sb, img->sec[i].name);
    }
    sb_printf(sb, "],\"undefined\":[");
    int first = 1;
    for (size_t i = 1; i < img->nsym; i++) {
        const symbol *s = &img->sym[i];
        if (s->sym.st_shndx != SHN_UNDEF || s->bind == STB_LOCAL || !s->name[0])
            continue;
        sb_printf(sb, "%s", first ? "" : ",");
        sb_json_string(sb, s->name);
        first = 0;
    }
    sb_printf(sb, "]");
}

hf_status hf_symbols_json(hf_image *img, char **out)
{
    strbuf sb = {0};
    sb_printf(&sb, "{");
    emit_header_fields(&sb, img);
    sb_printf(&sb, ",\"got\":%" PRIu64 ",\"symbols\":[", img->got);
    for (size_t i = 0; i < img->nbyaddr; i++) {
        const symbol *s = img->byaddr[i];
        if (s->sym.st_shndx >= img->nsec)
            continue;
        const section *sec = &img->sec[s->sym.st_shndx];
        sb_printf(&sb, "%s{\"name\":", i ? "," : "");
        sb_json_string(&sb, s->name);
        sb_printf(&sb, ",\"value\":%" PRIu64 ",\"size\":%" PRIu64 ",\"type\":\"%s\",\"bind\":\"%s\",\"section\":",
                  (uint64_t)s->sym.st_value, (uint64_t)s->sym.st_size, type_name(s->type), bind_name(s->bind));
        sb_json_string(&sb, sec->name);
        sb_printf(&sb, ",\"writable\":%s,\"file\":", (sec->sh.sh_flags & SHF_WRITE) ? "true" : "false");
        sb_json_string(&sb, s->file);
        sb_printf(&sb, ",\"room\":%" PRIu64 "}", s->type == STT_FUNC ? room_of(img, i) : 0);
    }
    sb_printf(&sb, "],");
    emit_link_fields(&sb, img);
    sb_printf(&sb, "}");
    return sb_finish(&sb, out, img->path);
}

hf_status hf_link_json(hf_image *img, char **out)
{
    strbuf sb = {0};
    sb_printf(&sb, "{");
    emit_link_fields(&sb, img);
    sb_printf(&sb, "}");
    return sb_finish(&sb, out, img->path);
}
