/* libhotfix: the jumps hotfix writes, for x86-64 and AArch64: their sizes,
 * encoding and decoding (hf_jump_size, hf_encode_jump, hf_decode_jump). */
#include "internal.h"

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
