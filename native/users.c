/* libhotfix: which functions of a linked program refer to some data
 * (hf_users_json, x86-64): the functions that must run new code when a
 * static moves into new storage. */
#include "internal.h"

static int64_t read_signed(const unsigned char *p, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (size < 8 && (v >> (8 * size - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * size);
    return (int64_t)v;
}

/* Whether one instruction at address `at` refers into [lo, hi): through a
 * RIP-relative operand, or (a program linked at a low address, not PIE) an
 * absolute displacement or an immediate holding such an address. */
static int refers(const x86_insn *in, const unsigned char *code, uint64_t at, uint64_t lo, uint64_t hi)
{
    if (in->disp_size == 4) {
        int64_t disp = read_signed(code + in->disp_at, 4);
        uint64_t target = in->rip_relative ? at + in->len + (uint64_t)disp : (uint64_t)disp;
        if (target >= lo && target < hi)
            return 1;
    }
    if (in->imm_size == 4 || in->imm_size == 8) {
        uint64_t imm = in->imm_size == 8 ? (uint64_t)read_signed(code + in->imm_at, 8)
                                         : (uint64_t)(uint32_t)read_signed(code + in->imm_at, 4);
        if (imm >= lo && imm < hi)
            return 1;
    }
    return 0;
}

hf_status hf_users_json(hf_image *img, uint64_t lo, uint64_t hi, char **out)
{
    if (img->eh.e_machine != EM_X86_64)
        return fail(HF_EMACHINE, img->path, "finding the users of data is done on x86-64 only");
    strbuf sb = {0};
    sb_printf(&sb, "[");
    int first = 1;
    for (size_t i = 0; i < img->nbyaddr; i++) {
        const symbol *s = img->byaddr[i];
        if (s->type != STT_FUNC || !s->sym.st_size || s->sym.st_shndx == SHN_UNDEF)
            continue;
        size_t avail = 0;
        const unsigned char *code = bytes_at(img, s->sym.st_value, &avail);
        if (!code)
            continue;
        size_t size = s->sym.st_size < avail ? s->sym.st_size : avail;
        x86_stream st;
        hf_status status = x86_decode_all(code, size, &st);
        if (status) {
            free(sb.buf);
            return status;
        }
        int uses = st.bad; /* bytes it cannot read might refer to it */
        for (size_t k = 0; k < st.n && !uses; k++)
            uses = refers(&st.ins[k], code + st.ins[k].at, s->sym.st_value + st.ins[k].at, lo, hi);
        x86_stream_free(&st);
        if (!uses)
            continue;
        sb_printf(&sb, "%s{\"name\":", first ? "" : ",");
        sb_json_string(&sb, s->name);
        sb_printf(&sb, ",\"value\":%" PRIu64 ",\"undecoded\":%s}", (uint64_t)s->sym.st_value,
                  st.bad ? "true" : "false");
        first = 0;
    }
    sb_printf(&sb, "]");
    return sb_finish(&sb, out, img->path);
}
