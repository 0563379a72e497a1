/* Jumps: hf_jump_size, hf_encode_jump and hf_decode_jump, x86-64 and AArch64. */
#include "check.h"

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void test_jumps(void)
{
    unsigned char buf[32];
    size_t len = 0;
    const uint64_t target = 0x1122334455667788ull;

    CHECK(hf_jump_size(HF_JUMP_ABS14) == 14, "ABS14 size %zu", hf_jump_size(HF_JUMP_ABS14));
    CHECK(hf_jump_size(HF_JUMP_R11) == 13, "R11 size %zu", hf_jump_size(HF_JUMP_R11));
    CHECK(hf_jump_size(HF_JUMP_REL32) == 5, "REL32 size %zu", hf_jump_size(HF_JUMP_REL32));
    CHECK(hf_jump_size(HF_JUMP_SELF) == 2, "SELF size %zu", hf_jump_size(HF_JUMP_SELF));
    CHECK(hf_jump_size(0) == 0 && hf_jump_size(8) == 0 && hf_jump_size(-1) == 0,
          "unknown kinds have size 0");

    /* The gate: jmp . (eb fe), whatever the target. */
    memset(buf, 0xcc, sizeof buf);
    int gst = hf_encode_jump(HF_JUMP_SELF, 0x400000, 0x500000, buf, sizeof buf, &len);
    CHECK(gst == HF_OK && len == 2 && buf[0] == 0xeb && buf[1] == 0xfe && buf[2] == 0xcc,
          "SELF encodes jmp .: st %d len %zu", gst, len);

    /* Decoding gives back what encoding wrote. */
    int kinds[] = {HF_JUMP_ABS14, HF_JUMP_R11, HF_JUMP_REL32, HF_JUMP_SELF};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        uint64_t from = 0x400000, to = kinds[i] == HF_JUMP_SELF ? from : 0x410000;
        int kind = -1;
        uint64_t got = 0;
        hf_encode_jump(kinds[i], from, to, buf, sizeof buf, &len);
        hf_decode_jump(EM_X86_64, buf, len, from, &kind, &got);
        CHECK(kind == kinds[i] && got == to, "decode kind %d: got kind %d target %#llx", kinds[i], kind,
              (unsigned long long)got);
    }
    static const unsigned char nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    int nk = -1;
    uint64_t nt = 1;
    hf_decode_jump(EM_X86_64, nop5, sizeof nop5, 0x400000, &nk, &nt);
    CHECK(nk == 0 && nt == 0, "a nop is not a jump: kind %d", nk);

    memset(buf, 0xcc, sizeof buf);
    int st = hf_encode_jump(HF_JUMP_ABS14, 0x400000, target, buf, sizeof buf, &len);
    static const unsigned char abs14[] = {0xff, 0x25, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    CHECK(st == HF_OK && len == 14, "ABS14 encodes: st %d len %zu", st, len);
    CHECK(!memcmp(buf, abs14, 14), "ABS14 bytes are ff 25 00000000 + le64 target");
    CHECK(buf[14] == 0xcc, "ABS14 writes no more than 14 bytes");

    memset(buf, 0xcc, sizeof buf);
    st = hf_encode_jump(HF_JUMP_R11, 0x400000, target, buf, sizeof buf, &len);
    static const unsigned char r11[] = {0x49, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x41, 0xff, 0xe3};
    CHECK(st == HF_OK && len == 13, "R11 encodes: st %d len %zu", st, len);
    CHECK(!memcmp(buf, r11, 13), "R11 bytes are 49 bb imm64 41 ff e3");
    CHECK(le64(buf + 2) == target, "R11 immediate is the target");
    CHECK(buf[13] == 0xcc, "R11 writes no more than 13 bytes");

    /* REL32 forward, backward and at both ends of its reach. */
    struct {
        uint64_t from, to;
        int32_t rel;
    } rel[] = {
        {0x401000, 0x402000, 0x2000 - 0x1005},
        {0x402000, 0x401000, -0x1005},
        {0x10000000, 0x10000005, 0},
        {0x1000, 0x1000 + 5 + (uint64_t)INT32_MAX, INT32_MAX},
        {0x100000000ull, 0x100000000ull + 5 - 0x80000000ull, INT32_MIN},
    };
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        memset(buf, 0xcc, sizeof buf);
        len = 0;
        st = hf_encode_jump(HF_JUMP_REL32, rel[i].from, rel[i].to, buf, 5, &len);
        int32_t d;
        memcpy(&d, buf + 1, 4);
        CHECK(st == HF_OK && len == 5 && buf[0] == 0xe9 && d == rel[i].rel,
              "REL32 %#" PRIx64 " -> %#" PRIx64 ": st %d len %zu op %02x rel %d, want %d", rel[i].from,
              rel[i].to, st, len, buf[0], d, rel[i].rel);
    }
    st = hf_encode_jump(HF_JUMP_REL32, 0x1000, 0x1000 + 5 + (uint64_t)INT32_MAX + 1, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "REL32 one past +2 GiB is out of range: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0x100000000ull, 0x100000000ull + 5 - 0x80000001ull, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "REL32 one past -2 GiB is out of range: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0x400000, 0x7f0000000000ull, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "REL32 from the program to a library is out of range: st %d", st);
    CHECK(strlen(hf_error_detail()) > 0, "ERANGE has a detail");

    st = hf_encode_jump(HF_JUMP_ABS14, 0, target, buf, 13, &len);
    CHECK(st == HF_ESPACE, "ABS14 into 13 bytes: st %d", st);
    st = hf_encode_jump(HF_JUMP_R11, 0, target, buf, 12, &len);
    CHECK(st == HF_ESPACE, "R11 into 12 bytes: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0, 16, buf, 4, &len);
    CHECK(st == HF_ESPACE, "REL32 into 4 bytes: st %d", st);
    st = hf_encode_jump(HF_JUMP_REL32, 0, 16, NULL, 0, &len);
    CHECK(st == HF_ESPACE, "REL32 into no buffer: st %d", st);

    st = hf_encode_jump(0, 0, 16, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "kind 0: st %d", st);
    st = hf_encode_jump(99, 0, 16, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "kind 99: st %d", st);
}

static uint32_t word(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void test_jumps_a64(void)
{
    unsigned char buf[32];
    size_t len = 0;
    const uint64_t target = 0x0000ffff12345678ull;

    CHECK(hf_jump_size(HF_JUMP_A64_LDR) == 16, "A64 LDR size %zu", hf_jump_size(HF_JUMP_A64_LDR));
    CHECK(hf_jump_size(HF_JUMP_A64_B) == 4, "A64 B size %zu", hf_jump_size(HF_JUMP_A64_B));
    CHECK(hf_jump_size(HF_JUMP_A64_SELF) == 4, "A64 SELF size %zu", hf_jump_size(HF_JUMP_A64_SELF));

    /* ldr x16, .+8; br x16; .quad target */
    memset(buf, 0xcc, sizeof buf);
    int st = hf_encode_jump(HF_JUMP_A64_LDR, 0x5500001000, target, buf, sizeof buf, &len);
    CHECK(st == HF_OK && len == 16, "A64 LDR encodes: st %d len %zu", st, len);
    CHECK(word(buf) == 0x58000050 && word(buf + 4) == 0xd61f0200, "A64 LDR is ldr x16, #8; br x16: %08x %08x",
          word(buf), word(buf + 4));
    CHECK(le64(buf + 8) == target && buf[16] == 0xcc, "A64 LDR literal is the target, 16 bytes in all");
    /* An entry that is not 8-byte aligned still gets the 16-byte jump. */
    st = hf_encode_jump(HF_JUMP_A64_LDR, 0x5500001004, target, buf, sizeof buf, &len);
    CHECK(st == HF_OK && le64(buf + 8) == target, "A64 LDR at a 4-byte aligned entry: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_LDR, 0x5500001002, target, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "A64 LDR from an unaligned address: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_LDR, 0, target, buf, 15, &len);
    CHECK(st == HF_ESPACE, "A64 LDR into 15 bytes: st %d", st);

    /* b imm26: forward, backward, both ends of +-128 MiB. */
    struct {
        uint64_t from, to;
        uint32_t insn;
    } b[] = {
        {0x400000, 0x400008, 0x14000002},
        {0x400008, 0x400000, 0x17fffffe},
        {0x10000000, 0x10000000 + (1u << 27) - 4, 0x15ffffff},
        {0x10000000, 0x10000000 - (1u << 27), 0x16000000},
    };
    for (size_t i = 0; i < sizeof b / sizeof *b; i++) {
        memset(buf, 0xcc, sizeof buf);
        st = hf_encode_jump(HF_JUMP_A64_B, b[i].from, b[i].to, buf, sizeof buf, &len);
        CHECK(st == HF_OK && len == 4 && word(buf) == b[i].insn && buf[4] == 0xcc,
              "A64 B %#" PRIx64 " -> %#" PRIx64 ": st %d insn %08x, want %08x", b[i].from, b[i].to, st, word(buf),
              b[i].insn);
    }
    st = hf_encode_jump(HF_JUMP_A64_B, 0x10000000, 0x10000000 + (1u << 27), buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "A64 B one past +128 MiB: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_B, 0x10000000, 0x10000000 - (1u << 27) - 4, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "A64 B one past -128 MiB: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_B, 0x5500000000, 0xffff00000000ull, buf, sizeof buf, &len);
    CHECK(st == HF_ERANGE, "A64 B from the program to a library: st %d", st);
    st = hf_encode_jump(HF_JUMP_A64_B, 0x400000, 0x400002, buf, sizeof buf, &len);
    CHECK(st == HF_EARG, "A64 B to an unaligned address: st %d", st);

    /* The gate: b . */
    st = hf_encode_jump(HF_JUMP_A64_SELF, 0x400010, 0x999990, buf, sizeof buf, &len);
    CHECK(st == HF_OK && len == 4 && word(buf) == 0x14000000, "A64 SELF is b .: %08x", word(buf));

    int kinds[] = {HF_JUMP_A64_LDR, HF_JUMP_A64_B, HF_JUMP_A64_SELF};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        uint64_t from = 0x5500000a20, to = kinds[i] == HF_JUMP_A64_SELF ? from : 0x5500100000;
        int kind = -1;
        uint64_t got = 0;
        hf_encode_jump(kinds[i], from, to, buf, sizeof buf, &len);
        hf_decode_jump(EM_AARCH64, buf, len, from, &kind, &got);
        CHECK(kind == kinds[i] && got == to, "A64 decode kind %d: got kind %d target %#llx", kinds[i], kind,
              (unsigned long long)got);
    }
    static const unsigned char nop[] = {0x1f, 0x20, 0x03, 0xd5}, bl[] = {0x02, 0x00, 0x00, 0x94};
    int nk = -1;
    uint64_t nt = 1;
    hf_decode_jump(EM_AARCH64, nop, sizeof nop, 0x400000, &nk, &nt);
    CHECK(nk == 0 && nt == 0, "an A64 nop is not a jump: kind %d", nk);
    hf_decode_jump(EM_AARCH64, bl, sizeof bl, 0x400000, &nk, &nt);
    CHECK(nk == 0, "an A64 bl is not a jump hotfix writes: kind %d", nk);
    /* x86-64's jmp . is not an AArch64 jump, and the reverse. */
    hf_encode_jump(HF_JUMP_SELF, 0x400000, 0x400000, buf, sizeof buf, &len);
    hf_decode_jump(EM_AARCH64, buf, len, 0x400000, &nk, &nt);
    CHECK(nk == 0, "x86 jmp . decoded as AArch64: kind %d", nk);
    hf_encode_jump(HF_JUMP_A64_LDR, 0x400000, target, buf, sizeof buf, &len);
    hf_decode_jump(EM_X86_64, buf, len, 0x400000, &nk, &nt);
    CHECK(nk == 0, "A64 jump decoded as x86-64: kind %d", nk);
    st = hf_decode_jump(EM_386, buf, len, 0x400000, &nk, &nt);
    CHECK(st == HF_EMACHINE, "decoding for i386: st %d", st);
}
