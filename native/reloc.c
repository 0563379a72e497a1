/* libhotfix: what a relocation type means, for x86-64 and AArch64: its
 * field's width, whether it is PC-relative, TLS, or lets the linker rewrite
 * the instruction; AArch64's instruction bits, adrp pages and :lo12: parts. */
#include "internal.h"

/* How many bytes a relocation's field has, and whether it is relative to
 * the place (then the referenced address is field + place + 4 for the
 * usual disp32-at-the-end encoding). */
int field_width(uint32_t type)
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

int is_pcrel(uint32_t type)
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

int is_gotpcrel(uint32_t type)
{
    return type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX;
}

/* The linker may rewrite the instruction in front of these fields (GOT
 * loads relaxed to lea, TLS models relaxed): how many bytes it may touch. */
int rewritable_prefix(uint32_t type)
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

int is_tls(uint32_t type)
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

/* AArch64: every relocation of code patches bits of one 4-byte instruction
 * (only data relocations have fields of their own).  The bits the linker
 * fills, per relocation type; the rest of the instruction must match. */
uint32_t a64_field_bits(uint32_t type)
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

int a64_is_data(uint32_t type)
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

int width_of(const hf_image *img, uint32_t type)
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
int place_bias(const hf_image *img, uint32_t type)
{
    return !is_a64(img) && is_pcrel(type) ? 4 : 0;
}

int tls_of(const hf_image *img, uint32_t type)
{
    if (is_a64(img))
        return type >= R_AARCH64_TLSGD_ADR_PREL21 && type < R_AARCH64_COPY;
    return is_tls(type);
}

int prefix_of(const hf_image *img, uint32_t type)
{
    return is_a64(img) ? 0 : rewritable_prefix(type);
}

/* The page an adrp at `place` computes. */
uint64_t a64_adrp_page(uint32_t insn, uint64_t place)
{
    uint64_t imm = ((uint64_t)((insn >> 5) & 0x7ffff) << 2) | ((insn >> 29) & 3);
    return (place & ~(uint64_t)0xfff) + (uint64_t)(sext(imm, 21) << 12);
}

/* The low 12 bits a :lo12: relocation of this type put into insn. */
uint64_t a64_lo12(uint32_t type, uint32_t insn)
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

int a64_is_page(uint32_t type)
{
    return type == R_AARCH64_ADR_PREL_PG_HI21 || type == R_AARCH64_ADR_PREL_PG_HI21_NC ||
           type == R_AARCH64_ADR_GOT_PAGE;
}

int a64_is_lo12(uint32_t type)
{
    return a64_field_bits(type) == 0x003ffc00;
}
