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
                /* The program's own symbols are absolute in the patch (the
                 * link script defines them): any other kind of reference
                 * to one was computed for the patch's link-time address. */
                if (s->sym.st_shndx != SHN_ABS || s->type == STT_SECTION || type == R_X86_64_NONE)
                    continue;
                kind = "unhandled";
                break;
            }
            sb_printf(&sb, "%s{\"at\":%" PRIu64 ",\"kind\":\"%s\",\"sym\":", first ? "" : ",",
                      (uint64_t)r.r_offset, kind);
            sb_json_string(&sb, s->type == STT_SECTION ? "" : s->name);
            sb_printf(&sb, ",\"target\":%" PRIu64 ",\"type\":%u}", tgt, type);
            first = 0;
        }
    }
    sb_printf(&sb, "]");
    return sb_finish(&sb, out, so->path);
}
