/* libhotfix: decoding x86-64 instructions, as far as comparing compiled
 * functions needs: each instruction's length and fields (legacy prefixes,
 * REX, VEX2/VEX3/EVEX/XOP, the one-, two- and three-byte opcode maps with
 * their ModRM, SIB, displacement and immediate), the target of a relative
 * branch, and how many bytes a memory operand reads for the instructions
 * compilers emit on constants.
 *
 * No instruction's meaning is modelled beyond that.  Anything this decoder
 * does not know is said so (a length of 0, a width of 0), and the callers
 * fall back to comparing bytes as before: it may make a function look
 * changed, never the other way round. */
#include "internal.h"

/* ---------------------------------------------------------------- lengths */

static int is_legacy_prefix(unsigned char b)
{
    switch (b) {
    case 0xf0: case 0xf2: case 0xf3:                        /* lock, repne, rep */
    case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65: /* segments */
    case 0x66: case 0x67:                                   /* operand, address size */
        return 1;
    default:
        return 0;
    }
}

/* One-byte map: does the opcode take a ModRM byte? */
static int map0_has_modrm(unsigned op)
{
    if (op < 0x40)
        return (op & 7) < 4; /* ALU r/m forms; 04/05 are AL/eAX, imm */
    switch (op) {
    case 0x62: case 0x63: case 0x69: case 0x6b:
    case 0x80: case 0x81: case 0x82: case 0x83:
    case 0x84: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x8a: case 0x8b:
    case 0x8c: case 0x8d: case 0x8e: case 0x8f:
    case 0xc0: case 0xc1: case 0xc4: case 0xc5: case 0xc6: case 0xc7:
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
    case 0xf6: case 0xf7: case 0xfe: case 0xff:
        return 1;
    default:
        return 0;
    }
}

/* Opcodes that do not exist in 64-bit mode. */
static int map0_invalid(unsigned op)
{
    switch (op) {
    case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f:
    case 0x27: case 0x2f: case 0x37: case 0x3f: case 0x60: case 0x61: case 0x82:
    case 0x9a: case 0xce: case 0xd4: case 0xd5: case 0xd6: case 0xea:
        return 1;
    default:
        return 0;
    }
}

/* Two-byte map (0F xx): ModRM? */
static int map1_has_modrm(unsigned op)
{
    switch (op) {
    case 0x04: case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0a: case 0x0b:
    case 0x0c: case 0x0e:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x36: case 0x37:
    case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
        return 0;
    default:
        if (op >= 0x80 && op <= 0x8f) /* jcc rel32 */
            return 0;
        if (op >= 0xc8 && op <= 0xcf) /* bswap */
            return 0;
        return 1;
    }
}

/* Two-byte map: an 8-bit immediate after the operands? */
static int map1_has_imm8(unsigned op)
{
    switch (op) {
    case 0x0f: /* 3DNow!: the suffix opcode */
    case 0x70: case 0x71: case 0x72: case 0x73:
    case 0xa4: case 0xac: case 0xba:
    case 0xc2: case 0xc4: case 0xc5: case 0xc6:
        return 1;
    default:
        return 0;
    }
}

/* ModRM, SIB and displacement from p (the ModRM byte); returns the bytes
 * they take, or 0 if they run past end. */
static size_t modrm_operands(const unsigned char *p, const unsigned char *end, x86_insn *in, size_t at)
{
    if (p >= end)
        return 0;
    unsigned modrm = p[0], mod = modrm >> 6, rm = modrm & 7;
    size_t n = 1;
    in->has_modrm = 1;
    in->modrm = (unsigned char)modrm;
    in->modrm_at = (unsigned char)at;
    if (mod != 3 && rm == 4) { /* SIB */
        if (p + 1 >= end)
            return 0;
        if (mod == 0 && (p[1] & 7) == 5)
            in->disp_size = 4;
        n++;
    }
    if (mod == 0 && rm == 5) {
        in->disp_size = 4;
        in->rip_relative = 1;
    } else if (mod == 1) {
        in->disp_size = 1;
    } else if (mod == 2) {
        in->disp_size = 4;
    }
    in->disp_at = (unsigned char)(at + n);
    n += in->disp_size;
    return p + n <= end ? n : 0;
}

int x86_decode(const unsigned char *code, size_t avail, x86_insn *in)
{
    memset(in, 0, sizeof *in);
    const unsigned char *p = code, *end = code + (avail < 15 ? avail : 15);
    while (p < end && is_legacy_prefix(*p)) {
        if (*p == 0x66)
            in->opsize16 = 1;
        else if (*p == 0x67)
            in->addr32 = 1;
        else if (*p == 0xf2 || *p == 0xf3)
            in->rep = *p;
        p++;
    }
    in->prefixes = (unsigned char)(p - code);
    if (p < end && (*p & 0xf0) == 0x40) {
        in->rex = *p++;
        in->w = (in->rex >> 3) & 1;
    }
    if (p >= end)
        return 0;
    unsigned op = *p;
    int imm = 0;         /* immediate bytes */
    int modrm = 0;
    /* VEX, EVEX and XOP: the map and the implied prefix are in the payload. */
    if (!in->rex && (op == 0xc5 || op == 0xc4 || op == 0x62 || (op == 0x8f && p + 1 < end && (p[1] & 0x1f) >= 8))) {
        unsigned pp;
        if (op == 0xc5) {
            if (p + 2 >= end)
                return 0;
            in->encoding = X86_VEX;
            in->map = 1;
            in->vl = (p[1] >> 2) & 1;
            pp = p[1] & 3;
            p += 2;
        } else if (op == 0x62) {
            if (p + 4 >= end)
                return 0;
            in->encoding = X86_EVEX;
            in->map = p[1] & 7;
            in->w = p[2] >> 7;
            pp = p[2] & 3;
            in->vl = (p[3] >> 5) & 3;
            in->broadcast = (p[3] >> 4) & 1;
            p += 4;
        } else {
            if (p + 3 >= end)
                return 0;
            in->encoding = op == 0xc4 ? X86_VEX : X86_XOP;
            in->map = p[1] & 0x1f;
            in->w = p[2] >> 7;
            in->vl = (p[2] >> 2) & 1;
            pp = p[2] & 3;
            p += 3;
        }
        in->mandatory = pp == 1 ? 0x66 : pp == 2 ? 0xf3 : pp == 3 ? 0xf2 : 0;
        in->opcode_at = (unsigned char)(p - code);
        in->opcode = *p++;
        if (in->encoding == X86_XOP) {
            if (in->map < 8 || in->map > 10)
                return 0;
            imm = in->map == 8 ? 1 : in->map == 10 ? 4 : 0;
            modrm = 1;
        } else {
            switch (in->map) {
            case 1:
                modrm = !(in->opcode == 0x77 && in->encoding == X86_VEX); /* vzeroupper/all */
                imm = map1_has_imm8(in->opcode);
                break;
            case 2: modrm = 1; break;
            case 3: modrm = 1; imm = 1; break;
            case 5: case 6:
                if (in->encoding != X86_EVEX)
                    return 0;
                modrm = 1;
                break;
            default:
                return 0;
            }
        }
    } else {
        in->encoding = X86_LEGACY;
        in->mandatory = in->rep ? in->rep : in->opsize16 ? 0x66 : 0;
        in->opcode_at = (unsigned char)(p - code);
        p++;
        int z = in->opsize16 && !in->w ? 2 : 4; /* an immediate of the operand size */
        if (op != 0x0f) {
            if (map0_invalid(op))
                return 0;
            in->map = 0;
            in->opcode = (unsigned char)op;
            modrm = map0_has_modrm(op);
            switch (op) {
            case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c:
            case 0x6a: case 0x6b: case 0x80: case 0x83: case 0xa8: case 0xc0: case 0xc1: case 0xc6:
            case 0xcd: case 0xe4: case 0xe5: case 0xe6: case 0xe7:
                imm = 1;
                break;
            case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d:
            case 0x68: case 0x69: case 0x81: case 0xa9: case 0xc7:
                imm = z;
                break;
            case 0xc2: case 0xca:
                imm = 2;
                break;
            case 0xc8:
                imm = 3;
                break;
            case 0xa0: case 0xa1: case 0xa2: case 0xa3: /* mov moffs */
                imm = in->addr32 ? 4 : 8;
                break;
            case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
            case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
                in->branch = X86_JCC;
                in->cond = op & 0xf;
                imm = 1;
                break;
            case 0xe0: case 0xe1: case 0xe2: case 0xe3: /* loop, jrcxz */
                in->branch = X86_LOOP;
                in->cond = (unsigned char)op;
                imm = 1;
                break;
            case 0xeb:
                in->branch = X86_JMP;
                imm = 1;
                break;
            case 0xe9:
                in->branch = X86_JMP;
                imm = 4;
                break;
            case 0xe8:
                in->branch = X86_CALL;
                imm = 4;
                break;
            default:
                if (op >= 0xb0 && op <= 0xb7)
                    imm = 1;
                else if (op >= 0xb8 && op <= 0xbf)
                    imm = in->w ? 8 : z;
                break;
            }
        } else {
            if (p >= end)
                return 0;
            op = *p++;
            in->opcode_at = (unsigned char)(p - 1 - code);
            if (op == 0x38 || op == 0x3a) {
                if (p >= end)
                    return 0;
                in->map = op == 0x38 ? 2 : 3;
                in->opcode_at = (unsigned char)(p - code);
                in->opcode = *p++;
                modrm = 1;
                imm = in->map == 3;
            } else {
                in->map = 1;
                in->opcode = (unsigned char)op;
                modrm = map1_has_modrm(op);
                imm = map1_has_imm8(op);
                if (op >= 0x80 && op <= 0x8f) {
                    in->branch = X86_JCC;
                    in->cond = op & 0xf;
                    imm = 4;
                }
            }
        }
    }
    size_t at = (size_t)(p - code);
    if (modrm) {
        size_t n = modrm_operands(p, end, in, at);
        if (!n)
            return 0;
        at += n;
        /* Immediates that depend on the ModRM's reg field. */
        if (in->encoding == X86_LEGACY && in->map == 0) {
            unsigned reg = (in->modrm >> 3) & 7;
            if (in->opcode == 0xf6 && reg < 2)
                imm = 1;
            else if (in->opcode == 0xf7 && reg < 2)
                imm = in->opsize16 && !in->w ? 2 : 4;
        }
    }
    if (imm) {
        in->imm_at = (unsigned char)at;
        in->imm_size = (unsigned char)imm;
        at += (size_t)imm;
    }
    if (code + at > end)
        return 0;
    in->len = (unsigned char)at;
    if (in->branch)
        in->rel = read_field(code + in->imm_at, in->imm_size);
    return (int)in->len;
}

/* Is the instruction a no-operation (alignment padding inside a function)? */
int x86_is_nop(const x86_insn *in)
{
    if (in->encoding != X86_LEGACY || in->rep)
        return 0;
    if (in->map == 0 && in->opcode == 0x90)
        return !(in->rex & 1); /* 41 90 is xchg %eax,%r8d */
    return in->map == 1 && in->opcode == 0x1f && ((in->modrm >> 3) & 7) == 0;
}

/* ------------------------------------------ what a memory operand reads */

/* The tables below give a width in bytes, or one that x86_read_width
 * resolves: W_OSZ the operand size, W_PACKED 16 bytes per 128-bit lane,
 * W_HALF, W_QUARTER and W_EIGHTH 8, 4 and 2 per lane (conversions that
 * widen), W_W 4, or 8 with REX.W/VEX.W/EVEX.W; W_ADDRESS (lea, prefetch)
 * reads nothing. */
enum { W_UNKNOWN = 0, W_OSZ = -1, W_PACKED = -2, W_HALF = -3, W_W = -4, W_ADDRESS = -5, W_QUARTER = -6,
       W_EIGHTH = -7 };

/* The one-byte map (integer instructions and x87). */
static int map0_width(const x86_insn *in)
{
    unsigned op = in->opcode, reg = (in->modrm >> 3) & 7;
    if (op < 0x40 && (op & 7) < 4)
        return op & 1 ? W_OSZ : 1;
    switch (op) {
    case 0x63: return 4;                                    /* movsxd */
    case 0x69: case 0x6b: case 0x81: case 0x83: case 0x85: case 0x87: case 0x8b:
    case 0xc1: case 0xd1: case 0xd3: case 0xf7:
        return W_OSZ;
    case 0x80: case 0x84: case 0x86: case 0x8a: case 0xc0: case 0xd0: case 0xd2: case 0xf6: case 0xfe:
        return 1;
    case 0x8d: return W_ADDRESS;                            /* lea */
    case 0xff:
        if (reg < 2)
            return W_OSZ;                                   /* inc, dec */
        if (reg == 2 || reg == 4)
            return 8;                                       /* call, jmp through memory */
        if (reg == 6)
            return in->opsize16 ? 2 : 8;                    /* push */
        return W_UNKNOWN;
    case 0xd8: return 4;                                    /* x87 on m32fp */
    case 0xda: return 4;                                    /* m32int */
    case 0xdc: return 8;                                    /* m64fp */
    case 0xde: return 2;                                    /* m16int */
    case 0xd9:
        return reg == 0 ? 4 : reg == 5 ? 2 : W_UNKNOWN;     /* fld m32fp, fldcw */
    case 0xdb:
        return reg == 0 ? 4 : reg == 5 ? 10 : W_UNKNOWN;    /* fild m32int, fld m80fp */
    case 0xdd:
        return reg == 0 ? 8 : W_UNKNOWN;                    /* fld m64fp */
    case 0xdf:
        return reg == 0 ? 2 : reg == 4 ? 10 : reg == 5 ? 8 : W_UNKNOWN; /* fild m16, fbld, fild m64 */
    default:
        return W_UNKNOWN;
    }
}

/* The 0F map, legacy SSE encodings and VEX/EVEX ones alike (mp: the
 * mandatory or implied prefix, 0 for none). */
static int map1_width(const x86_insn *in, unsigned mp)
{
    unsigned op = in->opcode;
    int vex = in->encoding != X86_LEGACY;
    int scalar_ss = mp == 0xf3, scalar_sd = mp == 0xf2;
    switch (op) {
    case 0x10: /* movups/upd/ss/sd */
        return scalar_ss ? 4 : scalar_sd ? 8 : W_PACKED;
    case 0x12: /* movlps/lpd (8), movsldup (F3), movddup (F2: 8 bytes; a whole
                * vector at 256 bits and more) */
        return mp == 0xf3 || (mp == 0xf2 && in->vl) ? W_PACKED : 8;
    case 0x16: /* movhps/hpd (8), movshdup */
        return mp == 0xf3 ? W_PACKED : 8;
    case 0x14: case 0x15: case 0x28: case 0x54: case 0x55: case 0x56: case 0x57: case 0x5b: case 0xc6:
    case 0x7c: case 0x7d:
        return W_PACKED;
    case 0x2a: /* cvtsi2ss/sd (F3/F2); cvtpi2ps/pd read an MMX quadword */
        return scalar_ss || scalar_sd ? W_W : 8;
    case 0x2c: case 0x2d:
        return scalar_ss ? 4 : scalar_sd ? 8 : mp == 0x66 ? 16 : 8;
    case 0x2e: case 0x2f: /* ucomis*, comis* */
        return mp == 0x66 ? 8 : 4;
    case 0x51: case 0x52: case 0x53: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
    case 0xc2:
        return scalar_ss ? 4 : scalar_sd ? 8 : W_PACKED;
    case 0x5a: /* cvtps2pd (widens), cvtpd2ps, cvtss2sd, cvtsd2ss */
        return scalar_ss ? 4 : scalar_sd ? 8 : mp == 0x66 ? W_PACKED : W_HALF;
    case 0x6e: /* movd/movq to a vector register */
        return W_W;
    case 0x6f:
        return mp == 0x66 || mp == 0xf3 ? W_PACKED : vex ? W_UNKNOWN : 8;
    case 0x70:
        return mp ? W_PACKED : vex ? W_UNKNOWN : 8;
    case 0x7e:
        return mp == 0xf3 ? 8 : W_UNKNOWN; /* movq xmm, m64; the others store */
    case 0xe6: /* cvtdq2pd widens; cvttpd2dq, cvtpd2dq */
        return mp == 0xf3 ? W_HALF : mp ? W_PACKED : W_UNKNOWN;
    case 0xf0: /* lddqu */
        return mp == 0xf2 ? W_PACKED : W_UNKNOWN;
    case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2: case 0xf1: case 0xf2: case 0xf3:
        /* shifts by a count in an xmm register or memory: 16 bytes at any length */
        return mp == 0x66 ? 16 : W_UNKNOWN;
    case 0xd6: case 0xd7: case 0xe7: case 0xf7:
        return W_UNKNOWN; /* stores, masks */
    default:
        break;
    }
    /* Integer vector operations: 66-prefixed (MMX without a prefix). */
    if (((op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) || op >= 0xd0) && mp == 0x66)
        return W_PACKED;
    if (vex)
        return W_UNKNOWN;
    /* The rest: integer instructions of the 0F map. */
    switch (op) {
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
    case 0xaf: case 0xb1: case 0xb8: case 0xbc: case 0xbd: case 0xc1: case 0xba:
        return W_OSZ; /* cmovcc, imul, cmpxchg, popcnt, bsf/tzcnt, bsr/lzcnt, xadd, bt imm8 */
    case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
    case 0xb0: case 0xb6: case 0xbe: case 0xc0:
        return 1; /* setcc, cmpxchg8, movzx/movsx m8, xadd8 */
    case 0xb7: case 0xbf:
        return 2; /* movzx/movsx m16 */
    case 0x18: case 0x0d: case 0x1f:
        return W_ADDRESS; /* prefetch, nop r/m: read nothing */
    default:
        return W_UNKNOWN; /* bt with a register offset may read beyond its operand */
    }
}

/* The 0F38 map (66-prefixed vector instructions, BMI). */
static int map2_width(const x86_insn *in, unsigned mp)
{
    unsigned op = in->opcode;
    switch (op) {
    case 0xf2: case 0xf5: case 0xf6: case 0xf7: /* andn, bzhi/pdep/pext, mulx, bextr/shlx/sarx/shrx */
        return in->encoding == X86_VEX ? W_W : W_UNKNOWN;
    case 0xf0: case 0xf1: /* movbe (none, 66), crc32 (F2) */
        if (mp == 0xf2)
            return op == 0xf0 ? 1 : W_OSZ;
        return op == 0xf0 ? W_OSZ : W_UNKNOWN;
    default:
        break;
    }
    if (mp != 0x66)
        return W_UNKNOWN;
    switch (op) {
    case 0x18: return 4;   /* vbroadcastss */
    case 0x19: return 8;   /* vbroadcastsd */
    case 0x1a: case 0x5a: return 16; /* vbroadcastf128/i128 */
    case 0x58: return 4;   /* vpbroadcastd */
    case 0x59: return 8;   /* vpbroadcastq */
    case 0x78: return 1;   /* vpbroadcastb */
    case 0x79: return 2;   /* vpbroadcastw */
    case 0x20: case 0x23: case 0x25: case 0x30: case 0x33: case 0x35: /* pmovsx/zx bw, wd, dq */
        return W_HALF;
    case 0x21: case 0x24: case 0x31: case 0x34: /* bd, wq */
        return W_QUARTER;
    case 0x22: case 0x32: /* bq */
        return W_EIGHTH;
    case 0x13: return W_HALF; /* vcvtph2ps */
    default:
        break;
    }
    if (op <= 0x0f || op == 0x10 || op == 0x14 || op == 0x15 || op == 0x16 || op == 0x17 ||
        (op >= 0x1c && op <= 0x1e) || (op >= 0x28 && op <= 0x2d) || (op >= 0x36 && op <= 0x41) ||
        (op >= 0x45 && op <= 0x47) || (op >= 0xdb && op <= 0xdf))
        return W_PACKED;
    /* FMA: packed forms, and scalar ones reading 4 or 8 bytes. */
    if ((op >= 0x96 && op <= 0x9f) || (op >= 0xa6 && op <= 0xaf) || (op >= 0xb6 && op <= 0xbf)) {
        unsigned low = op & 0xf;
        if (low == 0x9 || low == 0xb || low == 0xd || low == 0xf)
            return W_W;
        return W_PACKED;
    }
    return W_UNKNOWN;
}

/* The 0F3A map (66-prefixed, with an 8-bit immediate). */
static int map3_width(const x86_insn *in, unsigned mp)
{
    if (mp != 0x66)
        return W_UNKNOWN;
    switch (in->opcode) {
    case 0x0a: return 4;   /* roundss */
    case 0x0b: return 8;   /* roundsd */
    case 0x20: return 1;   /* pinsrb */
    case 0x21: return 4;   /* insertps */
    case 0x22: return W_W; /* pinsrd/q */
    case 0x18: case 0x38: return 16; /* vinsertf128/i128 */
    case 0x00: case 0x01: case 0x02: case 0x06: case 0x46: /* vpermq/pd, vpblendd, vperm2f128/i128 */
    case 0x04: case 0x05: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x0e: case 0x0f:
    case 0x40: case 0x41: case 0x42: case 0x44: case 0x4a: case 0x4b: case 0x4c:
    case 0x60: case 0x61: case 0x62: case 0x63: case 0xdf:
        return W_PACKED;
    default:
        return W_UNKNOWN;
    }
}

int x86_read_width(const x86_insn *in)
{
    if (!in->len || !in->has_modrm || (in->modrm >> 6) == 3)
        return 0;
    if (in->encoding == X86_XOP)
        return WIDTH_UNKNOWN;
    unsigned mp = in->mandatory;
    int w;
    switch (in->map) {
    case 0: w = in->encoding == X86_LEGACY ? map0_width(in) : W_UNKNOWN; break;
    case 1: w = map1_width(in, mp); break;
    case 2: w = map2_width(in, mp); break;
    case 3: w = map3_width(in, mp); break;
    default: w = W_UNKNOWN; break;
    }
    /* A vector length of 256 or 512 bits multiplies the per-lane widths. */
    int lanes = in->encoding == X86_LEGACY ? 1 : 1 << in->vl;
    switch (w) {
    case W_UNKNOWN:
        return WIDTH_UNKNOWN;
    case W_ADDRESS:
        return WIDTH_ADDRESS;
    case W_OSZ:
        return in->w ? 8 : in->opsize16 ? 2 : 4;
    case W_W:
        return in->w ? 8 : 4;
    case W_PACKED: case W_HALF: case W_QUARTER: case W_EIGHTH:
        /* EVEX embedded broadcast: one element, of 4 or 8 bytes. */
        if (in->encoding == X86_EVEX && in->broadcast)
            return in->w ? 8 : 4;
        return (w == W_PACKED ? 16 : w == W_HALF ? 8 : w == W_QUARTER ? 4 : 2) * lanes;
    default:
        /* A scalar: EVEX forms of vmovsd etc. read the same. */
        return w;
    }
}

/* ------------------------------------------------------------- streams */

hf_status x86_decode_all(const unsigned char *code, size_t size, x86_stream *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    for (size_t at = 0; at < size;) {
        x86_insn *w = grow(out->ins, &cap, out->n, sizeof *w, size / 3 + 4);
        if (!w)
            return fail(HF_ENOMEM, NULL, "decoding %zu bytes", size);
        out->ins = w;
        x86_insn *in = &out->ins[out->n];
        if (!x86_decode(code + at, size - at, in)) {
            out->bad = 1;
            return HF_OK;
        }
        in->at = (uint32_t)at;
        at += in->len;
        out->n++;
    }
    return HF_OK;
}

/* The instruction of a decoded stream covering offset off, or NULL. */
const x86_insn *x86_insn_at(const x86_stream *s, uint64_t off)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->ins[mid].at + s->ins[mid].len <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->ins[lo].at <= off ? &s->ins[lo] : NULL;
}

void x86_stream_free(x86_stream *s)
{
    free(s->ins);
    memset(s, 0, sizeof *s);
}
