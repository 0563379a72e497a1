/* libhotfix: reading ELF files, diffing functions, finding rebinding sites
 * and encoding jumps.  See hotfix.h for the interface.
 *
 * The file reads as a pipeline: open an image (sections, symbols, dynamic
 * relocations), then the three questions hotfix asks of ELF files:
 *   1. what symbols does it define, and how much room has each function;
 *   2. which functions of a freshly compiled object differ from the code
 *      the program runs (another object, or the linked image itself);
 *   3. where does a linked patch refer to code or data (so that those
 *      references can be bound to the program's live storage after load).
 */
#define _GNU_SOURCE
#include "hotfix.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ errors */

static const char *const error_text[] = {
#define HF_TEXT(code, text) text,
    HF_ERRORS(HF_TEXT)
#undef HF_TEXT
};

static __thread char error_detail[1024];

const char *hf_strerror(int status)
{
    if (status < 0 || status >= HF_NERRORS)
        return "unknown error";
    return error_text[status];
}

const char *hf_error_detail(void) { return error_detail; }

static hf_status fail(hf_status st, const char *path, const char *fmt, ...)
{
    char what[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
    }
    snprintf(error_detail, sizeof error_detail, "%s: %s%s%s", path ? path : "?",
             hf_strerror(st), what[0] ? ": " : "", what);
    return st;
}

int hf_abi_version(void) { return HF_ABI_VERSION; }
void hf_free(void *p) { free(p); }

/* -------------------------------------------------------------- JSON text */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_grow(strbuf *sb, size_t more)
{
    if (sb->oom || sb->len + more + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap < sb->len + more + 1)
        cap *= 2;
    char *n = realloc(sb->buf, cap);
    if (!n) {
        sb->oom = 1;
        return;
    }
    sb->buf = n;
    sb->cap = cap;
}

static void sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_grow(sb, (size_t)n);
    if (sb->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

static void sb_json_string(strbuf *sb, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    sb_grow(sb, n * 6 + 2);
    if (sb->oom)
        return;
    char *o = sb->buf + sb->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = 0;
    sb->len = (size_t)(o - sb->buf);
}

static hf_status sb_finish(strbuf *sb, char **out, const char *path)
{
    if (sb->oom) {
        free(sb->buf);
        return fail(HF_ENOMEM, path, NULL);
    }
    *out = sb->buf;
    return HF_OK;
}

/* ------------------------------------------------------------------ images */

typedef struct {
    const char *name;
    GElf_Shdr sh;
    Elf_Data *data;
    size_t rela; /* index of the static RELA section applying here, or 0 */
} section;

typedef struct {
    const char *name;
    GElf_Sym sym;
    unsigned char type, bind;
    const char *file; /* STT_FILE group of a local symbol */
} symbol;

typedef struct {
    uint64_t offset;
    uint32_t type;
    int64_t addend;
    const char *sym; /* name of the dynamic symbol, or NULL */
} dynrel;

struct hf_image {
    char *path;
    int fd;
    Elf *elf;
    GElf_Ehdr eh;
    size_t nsec;
    section *sec;
    size_t symtab;   /* section index of .symtab (0: none) */
    symbol *sym;     /* indexed like .symtab */
    size_t nsym;
    symbol **byaddr; /* defined, non-section symbols sorted by (section, value) */
    size_t nbyaddr;
    dynrel *dyn;     /* dynamic relocations, sorted by offset */
    size_t ndyn;
    uint64_t got;
};

static int is_a64(const hf_image *img) { return img->eh.e_machine == EM_AARCH64; }

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
            s->type != STT_SECTION && s->type != STT_FILE && s->name[0])
            img->byaddr[img->nbyaddr++] = s;
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
    free(img->path);
    free(img);
}

/* Bytes of a section, or NULL for NOBITS/empty. */
static const unsigned char *section_bytes(const hf_image *img, size_t idx)
{
    const section *s = &img->sec[idx];
    if (s->sh.sh_type == SHT_NOBITS || !s->data || !s->data->d_buf)
        return NULL;
    return s->data->d_buf;
}

/* In a linked image: the bytes at a link-time address, with how many
 * follow in the same section.  NOBITS memory reads as NULL. */
static const unsigned char *bytes_at(const hf_image *img, uint64_t addr, size_t *avail)
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
static size_t symbols_at(const hf_image *img, uint64_t addr, size_t *count)
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

/* A symbol defined in section shndx of an object covering offset off. */
static const symbol *symbol_covering(const hf_image *img, size_t shndx, uint64_t off)
{
    const symbol *best = NULL;
    for (size_t i = 0; i < img->nbyaddr; i++) {
        const symbol *s = img->byaddr[i];
        if (s->sym.st_shndx != shndx || s->sym.st_value > off)
            continue;
        if (off < s->sym.st_value + (s->sym.st_size ? s->sym.st_size : 1))
            if (!best || s->sym.st_size > best->sym.st_size)
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
static void emit_header_fields(strbuf *sb, const hf_image *img)
{
    const char *kind = img->eh.e_type == ET_REL ? "rel" : img->eh.e_type == ET_DYN ? "dyn" : "exec";
    int dynamic = 0;
    uint64_t dynamic_address = 0;
    for (size_t i = 1; i < img->nsec; i++)
        if (img->sec[i].sh.sh_type == SHT_DYNAMIC) {
            dynamic = 1;
            dynamic_address = img->sec[i].sh.sh_addr;
        }
    sb_printf(sb, "\"type\":\"%s\",\"machine\":\"%s\",\"dynamic\":%s,\"entry\":%" PRIu64
              ",\"dynamic_address\":%" PRIu64, kind, is_a64(img) ? "aarch64" : "x86_64",
              dynamic ? "true" : "false", (uint64_t)img->eh.e_entry, dynamic_address);
}

hf_status hf_header_json(hf_image *img, char **out)
{
    strbuf sb = {0};
    sb_printf(&sb, "{");
    emit_header_fields(&sb, img);
    sb_printf(&sb, "}");
    return sb_finish(&sb, out, img->path);
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
    sb_printf(&sb, "],\"sections\":[");
    for (size_t i = 1; i < img->nsec; i++) {
        sb_printf(&sb, "%s", i > 1 ? "," : "");
        sb_json_string(&sb, img->sec[i].name);
    }
    /* What the file needs from elsewhere: the names a patch must bind. */
    sb_printf(&sb, "],\"undefined\":[");
    int first = 1;
    for (size_t i = 1; i < img->nsym; i++) {
        const symbol *s = &img->sym[i];
        if (s->sym.st_shndx != SHN_UNDEF || s->bind == STB_LOCAL || !s->name[0])
            continue;
        sb_printf(&sb, "%s", first ? "" : ",");
        sb_json_string(&sb, s->name);
        first = 0;
    }
    sb_printf(&sb, "]}");
    return sb_finish(&sb, out, img->path);
}

/* ------------------------------------------------------ relocation facts */

/* How many bytes a relocation's field has, and whether it is relative to
 * the place (then the referenced address is field + place + 4 for the
 * usual disp32-at-the-end encoding). */
static int field_width(uint32_t type)
{
    switch (type) {
    case R_X86_64_64:
    case R_X86_64_PC64:
    case R_X86_64_GOTOFF64:
    case R_X86_64_GOT64:
    case R_X86_64_GOTPCREL64:
    case R_X86_64_GOTPC64:
    case R_X86_64_PLTOFF64:
    case R_X86_64_SIZE64:
        return 8;
    case R_X86_64_16:
    case R_X86_64_PC16:
        return 2;
    case R_X86_64_8:
    case R_X86_64_PC8:
        return 1;
    case R_X86_64_TLSDESC_CALL:
    case R_X86_64_NONE:
        return 0;
    default:
        return 4;
    }
}

static int is_pcrel(uint32_t type)
{
    switch (type) {
    case R_X86_64_PC32:
    case R_X86_64_PLT32:
    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
    case R_X86_64_GOTPC32:
    case R_X86_64_GOTTPOFF:
    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
    case R_X86_64_GOTPC32_TLSDESC:
        return 1;
    default:
        return 0;
    }
}

static int is_gotpcrel(uint32_t type)
{
    return type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX;
}

/* The linker may rewrite the instruction in front of these fields (GOT
 * loads relaxed to lea, TLS models relaxed): how many bytes it may touch. */
static int rewritable_prefix(uint32_t type)
{
    switch (type) {
    case R_X86_64_GOTPCRELX:
        return 2;
    case R_X86_64_REX_GOTPCRELX:
    case R_X86_64_GOTTPOFF:
        return 3;
    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
    case R_X86_64_GOTPC32_TLSDESC:
        return 4;
    default:
        return 0;
    }
}

static int is_tls(uint32_t type)
{
    switch (type) {
    case R_X86_64_GOTTPOFF:
    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
    case R_X86_64_DTPOFF32:
    case R_X86_64_TPOFF32:
    case R_X86_64_GOTPC32_TLSDESC:
    case R_X86_64_TLSDESC_CALL:
        return 1;
    default:
        return 0;
    }
}

static int64_t read_field(const unsigned char *p, int width)
{
    switch (width) {
    case 8: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    case 4: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case 2: {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 1:
        return (int8_t)p[0];
    default:
        return 0;
    }
}

/* AArch64: every relocation of code patches bits of one 4-byte instruction
 * (only data relocations have fields of their own).  The bits the linker
 * fills, per relocation type; the rest of the instruction must match. */
static uint32_t a64_field_bits(uint32_t type)
{
    switch (type) {
    case R_AARCH64_ADR_PREL_PG_HI21:
    case R_AARCH64_ADR_PREL_PG_HI21_NC:
    case R_AARCH64_ADR_GOT_PAGE:
    case R_AARCH64_ADR_PREL_LO21:
        return 0x60ffffe0; /* immlo:immhi */
    case R_AARCH64_ADD_ABS_LO12_NC:
    case R_AARCH64_LDST8_ABS_LO12_NC:
    case R_AARCH64_LDST16_ABS_LO12_NC:
    case R_AARCH64_LDST32_ABS_LO12_NC:
    case R_AARCH64_LDST64_ABS_LO12_NC:
    case R_AARCH64_LDST128_ABS_LO12_NC:
    case R_AARCH64_LD64_GOT_LO12_NC:
        return 0x003ffc00; /* imm12 */
    case R_AARCH64_CALL26:
    case R_AARCH64_JUMP26:
        return 0x03ffffff;
    case R_AARCH64_CONDBR19:
    case R_AARCH64_LD_PREL_LO19:
        return 0x00ffffe0;
    case R_AARCH64_TSTBR14:
        return 0x0007ffe0;
    default:
        if (type >= R_AARCH64_MOVW_UABS_G0 && type <= R_AARCH64_MOVW_PREL_G3)
            return 0x601fffe0; /* imm16, and movz/movn for the signed ones */
        return 0xffffffff;     /* TLS sequences the linker may relax: masked */
    }
}

static int a64_is_data(uint32_t type)
{
    switch (type) {
    case R_AARCH64_ABS64:
    case R_AARCH64_ABS32:
    case R_AARCH64_ABS16:
    case R_AARCH64_PREL64:
    case R_AARCH64_PREL32:
    case R_AARCH64_PREL16:
        return 1;
    default:
        return 0;
    }
}

static int width_of(const hf_image *img, uint32_t type)
{
    if (!is_a64(img))
        return field_width(type);
    switch (type) {
    case R_AARCH64_NONE:
        return 0;
    case R_AARCH64_ABS64:
    case R_AARCH64_PREL64:
        return 8;
    case R_AARCH64_ABS16:
    case R_AARCH64_PREL16:
        return 2;
    default:
        return 4;
    }
}

/* x86-64: a PC-relative field's place is 4 bytes before the end of the
 * instruction, so what it refers to is symbol + addend + 4.  AArch64
 * relocations refer to symbol + addend itself. */
static int place_bias(const hf_image *img, uint32_t type)
{
    return !is_a64(img) && is_pcrel(type) ? 4 : 0;
}

static int tls_of(const hf_image *img, uint32_t type)
{
    if (is_a64(img))
        return type >= R_AARCH64_TLSGD_ADR_PREL21 && type < R_AARCH64_COPY;
    return is_tls(type);
}

static int prefix_of(const hf_image *img, uint32_t type)
{
    return is_a64(img) ? 0 : rewritable_prefix(type);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t sext(uint64_t v, int bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

/* The page an adrp at `place` computes. */
static uint64_t a64_adrp_page(uint32_t insn, uint64_t place)
{
    uint64_t imm = ((uint64_t)((insn >> 5) & 0x7ffff) << 2) | ((insn >> 29) & 3);
    return (place & ~(uint64_t)0xfff) + (uint64_t)(sext(imm, 21) << 12);
}

/* The low 12 bits a :lo12: relocation of this type put into insn. */
static uint64_t a64_lo12(uint32_t type, uint32_t insn)
{
    uint64_t imm = (insn >> 10) & 0xfff;
    switch (type) {
    case R_AARCH64_LDST16_ABS_LO12_NC:
        return imm << 1;
    case R_AARCH64_LDST32_ABS_LO12_NC:
        return imm << 2;
    case R_AARCH64_LDST64_ABS_LO12_NC:
    case R_AARCH64_LD64_GOT_LO12_NC:
        return imm << 3;
    case R_AARCH64_LDST128_ABS_LO12_NC:
        return imm << 4;
    default:
        return imm;
    }
}

static int a64_is_page(uint32_t type)
{
    return type == R_AARCH64_ADR_PREL_PG_HI21 || type == R_AARCH64_ADR_PREL_PG_HI21_NC ||
           type == R_AARCH64_ADR_GOT_PAGE;
}

static int a64_is_lo12(uint32_t type)
{
    return a64_field_bits(type) == 0x003ffc00;
}

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

/* ----------------------------------------------------------------- diff */

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

/* ------------------------------------------------------- rebinding sites */

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

hf_status hf_sites_json(hf_image *so, char **out)
{
    if (is_a64(so))
        return a64_sites_json(so, out);
    strbuf sb = {0};
    sb_printf(&sb, "[");
    int first = 1;
    for (size_t i = 1; i < so->nsec; i++) {
        const section *rs = &so->sec[i];
        if (rs->sh.sh_type != SHT_RELA || rs->sh.sh_link != so->symtab || rs->sh.sh_info >= so->nsec)
            continue;
        const section *target = &so->sec[rs->sh.sh_info];
        if (!(target->sh.sh_flags & SHF_ALLOC) || !strcmp(target->name, ".eh_frame"))
            continue;
        size_t n = rs->sh.sh_size / (rs->sh.sh_entsize ? rs->sh.sh_entsize : 24);
        for (size_t j = 0; j < n; j++) {
            GElf_Rela r;
            if (!gelf_getrela(rs->data, (int)j, &r))
                return fail(HF_EELF, so->path, "%s", elf_errmsg(-1));
            uint32_t type = GELF_R_TYPE(r.r_info);
            const symbol *s = &so->sym[GELF_R_SYM(r.r_info)];
            const char *kind;
            uint64_t tgt = 0;
            size_t avail;
            const unsigned char *field = bytes_at(so, r.r_offset, &avail);
            int64_t v = field && avail >= 8 ? read_field(field, 8) : 0;
            switch (type) {
            case R_X86_64_GOTOFF64:
                kind = "gotoff64";
                tgt = (uint64_t)v + so->got;
                break;
            case R_X86_64_GOT64:
                kind = "got64";
                tgt = (uint64_t)v + so->got;
                break;
            case R_X86_64_PLTOFF64:
                kind = "pltoff64";
                break;
            case R_X86_64_64:
                kind = "abs64";
                if (s->sym.st_shndx != SHN_UNDEF)
                    tgt = s->sym.st_value + (uint64_t)r.r_addend;
                break;
            default:
                continue;
            }
            sb_printf(&sb, "%s{\"at\":%" PRIu64 ",\"kind\":\"%s\",\"sym\":", first ? "" : ",",
                      (uint64_t)r.r_offset, kind);
            sb_json_string(&sb, s->type == STT_SECTION ? "" : s->name);
            sb_printf(&sb, ",\"target\":%" PRIu64 "}", tgt);
            first = 0;
        }
    }
    sb_printf(&sb, "]");
    return sb_finish(&sb, out, so->path);
}

/* ------------------------------------------------------------------ jumps */

size_t hf_jump_size(int kind)
{
    switch (kind) {
    case HF_JUMP_ABS14:
        return 14;
    case HF_JUMP_R11:
        return 13;
    case HF_JUMP_REL32:
        return 5;
    case HF_JUMP_SELF:
        return 2;
    case HF_JUMP_A64_LDR:
        return 16;
    case HF_JUMP_A64_B:
    case HF_JUMP_A64_SELF:
        return 4;
    default:
        return 0;
    }
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

#define A64_LDR_X16_8 0x58000050u /* ldr x16, .+8 */
#define A64_BR_X16 0xd61f0200u
#define A64_B 0x14000000u

hf_status hf_encode_jump(int kind, uint64_t from, uint64_t to, unsigned char *buf, size_t cap,
                         size_t *len)
{
    size_t n = hf_jump_size(kind);
    if (!n)
        return fail(HF_EARG, NULL, "unknown jump kind %d", kind);
    if (cap < n)
        return fail(HF_ESPACE, NULL, "%zu bytes needed", n);
    switch (kind) {
    case HF_JUMP_ABS14:
        /* jmp *0(%rip) reads the target from the 8 bytes that follow it. */
        buf[0] = 0xff;
        buf[1] = 0x25;
        memset(buf + 2, 0, 4);
        memcpy(buf + 6, &to, 8);
        break;
    case HF_JUMP_R11:
        /* r11 is a scratch register at a function's entry in the SysV ABI;
         * rax is not: %al carries the vector count into variadic calls. */
        buf[0] = 0x49;
        buf[1] = 0xbb;
        memcpy(buf + 2, &to, 8);
        buf[10] = 0x41;
        buf[11] = 0xff;
        buf[12] = 0xe3;
        break;
    case HF_JUMP_SELF:
        /* A gate: a thread that calls the function waits at its entry,
         * outside its body, until the entry is rewritten. */
        buf[0] = 0xeb;
        buf[1] = 0xfe;
        break;
    case HF_JUMP_REL32: {
        int64_t d = (int64_t)(to - (from + 5));
        if (d < INT32_MIN || d > INT32_MAX)
            return fail(HF_ERANGE, NULL, "%#" PRIx64 " -> %#" PRIx64, from, to);
        int32_t d32 = (int32_t)d;
        buf[0] = 0xe9;
        memcpy(buf + 1, &d32, 4);
        break;
    }
    case HF_JUMP_A64_LDR:
        /* The literal need not be 8-byte aligned: Linux lets user code make
         * unaligned loads from normal memory. */
        if ((from | to) & 3)
            return fail(HF_EARG, NULL, "unaligned AArch64 code address %#" PRIx64 " -> %#" PRIx64, from, to);
        put32(buf, A64_LDR_X16_8);
        put32(buf + 4, A64_BR_X16);
        memcpy(buf + 8, &to, 8);
        break;
    case HF_JUMP_A64_SELF:
        if (from & 3)
            return fail(HF_EARG, NULL, "unaligned AArch64 code address %#" PRIx64, from);
        put32(buf, A64_B); /* b . */
        break;
    case HF_JUMP_A64_B: {
        int64_t d = (int64_t)(to - from);
        if ((from | to) & 3)
            return fail(HF_EARG, NULL, "unaligned AArch64 code address %#" PRIx64 " -> %#" PRIx64, from, to);
        if (d < -(INT64_C(1) << 27) || d >= (INT64_C(1) << 27))
            return fail(HF_ERANGE, NULL, "%#" PRIx64 " -> %#" PRIx64, from, to);
        put32(buf, A64_B | ((uint32_t)(d >> 2) & 0x03ffffff));
        break;
    }
    }
    *len = n;
    return HF_OK;
}

hf_status hf_decode_jump(int machine, const unsigned char *buf, size_t len, uint64_t at, int *kind,
                         uint64_t *target)
{
    static const unsigned char abs14[] = {0xff, 0x25, 0, 0, 0, 0};
    *kind = 0;
    *target = 0;
    if (machine == EM_AARCH64) {
        uint32_t w = len >= 4 ? le32(buf) : 0;
        if (len >= 16 && w == A64_LDR_X16_8 && le32(buf + 4) == A64_BR_X16) {
            *kind = HF_JUMP_A64_LDR;
            memcpy(target, buf + 8, 8);
        } else if (len >= 4 && w == A64_B) {
            *kind = HF_JUMP_A64_SELF;
            *target = at;
        } else if (len >= 4 && (w & 0xfc000000) == A64_B) {
            *kind = HF_JUMP_A64_B;
            *target = at + (uint64_t)(sext(w, 26) * 4);
        }
        return HF_OK;
    }
    if (machine != EM_X86_64)
        return fail(HF_EMACHINE, NULL, "e_machine %d", machine);
    if (len >= 14 && !memcmp(buf, abs14, sizeof abs14)) {
        *kind = HF_JUMP_ABS14;
        memcpy(target, buf + 6, 8);
    } else if (len >= 13 && buf[0] == 0x49 && buf[1] == 0xbb && buf[10] == 0x41 && buf[11] == 0xff &&
               buf[12] == 0xe3) {
        *kind = HF_JUMP_R11;
        memcpy(target, buf + 2, 8);
    } else if (len >= 5 && buf[0] == 0xe9) {
        *kind = HF_JUMP_REL32;
        *target = at + 5 + (uint64_t)read_field(buf + 1, 4);
    } else if (len >= 2 && buf[0] == 0xeb && buf[1] == 0xfe) {
        *kind = HF_JUMP_SELF;
        *target = at;
    }
    return HF_OK;
}

/* ---------------------------------------------------- line table headers */

typedef struct {
    const unsigned char *p, *end;
    int bad;
} cursor;

static uint64_t take(cursor *c, size_t n)
{
    uint64_t v = 0;
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += n;
    return v;
}

static uint64_t uleb(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; !c->bad; shift += 7) {
        uint64_t b = take(c, 1);
        if (shift < 64)
            v |= (b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static const char *cstr(cursor *c)
{
    const unsigned char *z = c->bad ? NULL : memchr(c->p, 0, (size_t)(c->end - c->p));
    if (!z) {
        c->bad = 1;
        return "";
    }
    const char *s = (const char *)c->p;
    c->p = z + 1;
    return s;
}

static const char *section_string(const hf_image *img, const char *name, uint64_t off)
{
    for (size_t i = 1; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, name)) {
            const unsigned char *b = section_bytes(img, i);
            if (b && off < img->sec[i].sh.sh_size && memchr(b + off, 0, img->sec[i].sh.sh_size - off))
                return (const char *)b + off;
        }
    return "";
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

static cursor section_cursor(const hf_image *img, const char *name, uint64_t off)
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

typedef struct {
    uint64_t form, num;   /* num: the value, an index for strx/addrx/rnglistx, a block's length */
    const char *str;      /* for string forms read in place */
    const unsigned char *block; /* for block and exprloc forms */
} attr_value;

static int64_t sleb(cursor *c)
{
    uint64_t v = 0;
    int shift = 0;
    unsigned b;
    do {
        b = (unsigned)take(c, 1);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !c->bad);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
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

typedef struct {
    int offset_size, addr_size, version;
    uint64_t str_offsets_base, addr_base, rnglists_base;
} unit_ctx;

static const char *attr_string(const hf_image *img, const unit_ctx *u, const attr_value *v)
{
    if (v->str)
        return v->str;
    if (is_strx(v->form)) {
        cursor c = section_cursor(img, ".debug_str_offsets",
                                  u->str_offsets_base + v->num * (uint64_t)u->offset_size);
        uint64_t off = take(&c, (size_t)u->offset_size);
        return c.bad ? "" : section_string(img, ".debug_str", off);
    }
    return "";
}

static uint64_t indexed_address(const hf_image *img, const unit_ctx *u, uint64_t index)
{
    cursor c = section_cursor(img, ".debug_addr", u->addr_base + index * (uint64_t)u->addr_size);
    return take(&c, (size_t)u->addr_size);
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
static int next_attribute(const hf_image *img, const unit_ctx *u, cursor *spec, cursor *c, uint64_t *at,
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
static int unit_header(cursor *all, unit_ctx *u, cursor *c, uint64_t *abbrev_offset)
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

/* Every DIE of one compile unit, with the few attributes hotfix reads of
 * variables and types: what pyelftools would give, at a hundredth of the
 * cost (it builds each DIE in Python).  Parameters, labels, call sites and
 * enumerators are left out with everything below them. */

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
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 256;
            abbrev *items = realloc(t->items, cap * sizeof *items);
            if (!items)
                return 0;
            t->items = items;
            t->cap = cap;
        }
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

static int left_out(uint64_t tag)
{
    switch (tag) {
    case 0x05: case 0x0a: case 0x18: case 0x28: case 0x48: case 0x49: case 0x4109: case 0x410a:
        return 1; /* formal_parameter, label, unspecified_parameters, enumerator, call sites */
    default:
        return 0;
    }
}

enum { DIE_NAME, DIE_LINKAGE, DIE_SIZE, DIE_LOCATION, DIE_EXTERNAL, DIE_DECLARATION, DIE_SPEC, DIE_ORIGIN,
       DIE_TYPE, DIE_MEMBER, DIE_BITS, DIE_VTABLE, DIE_COUNT, DIE_UPPER, DIE_NATTRS };

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
    sb_printf(sb, "}");
}

hf_status hf_unit_dies_json(hf_image *img, uint64_t cu_offset, char **out)
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
    int depth = 0, skip_from = -1, ok = 1;
    sb_printf(&sb, "[");
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
        int skipping = skip_from >= 0 || left_out(ab->tag);
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
