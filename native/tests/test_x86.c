/* x86-64 decoding (x86.c): the lengths, fields and read widths of a table
 * of real encodings, and the instruction boundaries of compiled code
 * against objdump's. */
#include "check.h"
#include "internal.h"

/* Each encoding as GNU as 2.40 assembled it: its bytes, objdump's length,
 * and where its RIP-relative operand or branch goes (objdump's address
 * minus the instruction's, -1 if none); the bytes a RIP-relative memory
 * operand reads, from the instruction set reference (-1: only the address,
 * 0: not known to the decoder, -9: no such operand); whether it is a nop. */
static const struct {
    const char *bytes;
    int len, width, target, nop;
    const char *text;
} encodings[] = {
    {"\x90", 1, -9, -1, 1, "nop"},
    {"\x66\x90", 2, -9, -1, 1, "xchg %ax,%ax"},
    {"\x0f\x1f\x00", 3, -9, -1, 1, "nopl 0(%rax)"},
    {"\x66\x0f\x1f\x04\x00", 5, -9, -1, 1, "nopw 0(%rax,%rax,1)"},
    {"\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00", 10, -9, -1, 1, ".byte 0x66,0x2e,0x0f,0x1f,0x84,0,0,0,0,0"},
    {"\xf3\x0f\x1e\xfa", 4, -9, -1, 0, "endbr64"},
    {"\x55", 1, -9, -1, 0, "push %rbp"},
    {"\x41\x54", 2, -9, -1, 0, "push %r12"},
    {"\x48\x89\xe5", 3, -9, -1, 0, "mov %rsp,%rbp"},
    {"\x48\x83\xec\x20", 4, -9, -1, 0, "sub $0x20,%rsp"},
    {"\x48\x81\xec\x00\x10\x00\x00", 7, -9, -1, 0, "sub $0x1000,%rsp"},
    {"\x89\x7d\xec", 3, -9, -1, 0, "mov %edi,-0x14(%rbp)"},
    {"\xc7\x45\xfc\x2a\x00\x00\x00", 7, -9, -1, 0, "movl $0x2a,-0x4(%rbp)"},
    {"\xc7\x44\x24\x08\x2a\x00\x00\x00", 8, -9, -1, 0, "movl $0x2a,0x8(%rsp)"},
    {"\x48\xc7\x84\xc4\x00\x01\x00\x00\xff\xff\xff\xff", 12, -9, -1, 0, "movq $-1,0x100(%rsp,%rax,8)"},
    {"\x66\xc7\x00\x34\x12", 5, -9, -1, 0, "movw $0x1234,(%rax)"},
    {"\xc6\x00\x01", 3, -9, -1, 0, "movb $1,(%rax)"},
    {"\xba\x17\x00\x00\x00", 5, -9, -1, 0, "mov $0x17,%edx"},
    {"\x48\xb8\x89\x67\x45\x23\x01\x00\x00\x00", 10, -9, -1, 0, "mov $0x123456789,%rax"},
    {"\x49\xbb\x88\x77\x66\x55\x44\x33\x22\x11", 10, -9, -1, 0, "movabs $0x1122334455667788,%r11"},
    {"\x41\xb8\x05\x00\x00\x00", 6, -9, -1, 0, "mov $5,%r8d"},
    {"\x66\xb8\x05\x00", 4, -9, -1, 0, "mov $5,%ax"},
    {"\x8b\x05\x00\x10\x00\x00", 6, 4, 4102, 0, "mov 0x1000(%rip),%eax"},
    {"\x48\x8b\x05\x00\x10\x00\x00", 7, 8, 4103, 0, "mov 0x1000(%rip),%rax"},
    {"\x8a\x05\x00\x10\x00\x00", 6, 1, 4102, 0, "mov 0x1000(%rip),%al"},
    {"\x66\x8b\x05\x00\x10\x00\x00", 7, 2, 4103, 0, "mov 0x1000(%rip),%ax"},
    {"\x0f\xb6\x05\x00\x10\x00\x00", 7, 1, 4103, 0, "movzbl 0x1000(%rip),%eax"},
    {"\x0f\xb7\x05\x00\x10\x00\x00", 7, 2, 4103, 0, "movzwl 0x1000(%rip),%eax"},
    {"\x48\x0f\xbe\x05\x00\x10\x00\x00", 8, 1, 4104, 0, "movsbq 0x1000(%rip),%rax"},
    {"\x0f\xbf\x05\x00\x10\x00\x00", 7, 2, 4103, 0, "movswl 0x1000(%rip),%eax"},
    {"\x48\x63\x05\x00\x10\x00\x00", 7, 4, 4103, 0, "movslq 0x1000(%rip),%rax"},
    {"\x83\x3d\x00\x10\x00\x00\x05", 7, 4, 4103, 0, "cmpl $5,0x1000(%rip)"},
    {"\x48\x81\x3d\x00\x10\x00\x00\x00\x10\x00\x00", 11, 8, 4107, 0, "cmpq $0x1000,0x1000(%rip)"},
    {"\x80\x3d\x00\x10\x00\x00\x05", 7, 1, 4103, 0, "cmpb $5,0x1000(%rip)"},
    {"\x66\x83\x3d\x00\x10\x00\x00\x05", 8, 2, 4104, 0, "cmpw $5,0x1000(%rip)"},
    {"\x3b\x0d\x00\x10\x00\x00", 6, 4, 4102, 0, "cmp 0x1000(%rip),%ecx"},
    {"\x48\x03\x15\x00\x10\x00\x00", 7, 8, 4103, 0, "add 0x1000(%rip),%rdx"},
    {"\x66\x44\x23\x0d\x00\x10\x00\x00", 8, 2, 4104, 0, "and 0x1000(%rip),%r9w"},
    {"\x0f\xaf\x05\x00\x10\x00\x00", 7, 4, 4103, 0, "imul 0x1000(%rip),%eax"},
    {"\x6b\x05\x00\x10\x00\x00\x07", 7, 4, 4103, 0, "imul $7,0x1000(%rip),%eax"},
    {"\x69\x05\x00\x10\x00\x00\xbc\x02\x00\x00", 10, 4, 4106, 0, "imul $700,0x1000(%rip),%eax"},
    {"\xf7\x05\x00\x10\x00\x00\x10\x00\x00\x00", 10, 4, 4106, 0, "testl $0x10,0x1000(%rip)"},
    {"\xf6\x05\x00\x10\x00\x00\x10", 7, 1, 4103, 0, "testb $0x10,0x1000(%rip)"},
    {"\xf7\x15\x00\x10\x00\x00", 6, 4, 4102, 0, "notl 0x1000(%rip)"},
    {"\x48\x8d\x3d\x00\x10\x00\x00", 7, -1, 4103, 0, "lea 0x1000(%rip),%rdi"},
    {"\x48\x8d\x7c\x98\x10", 5, -9, -1, 0, "lea 0x10(%rax,%rbx,4),%rdi"},
    {"\x48\x8d\x45\x00", 4, -9, -1, 0, "lea (%rbp),%rax"},
    {"\x49\x8d\x45\x00", 4, -9, -1, 0, "lea (%r13),%rax"},
    {"\x48\x8d\x04\xc5\x00\x00\x00\x00", 8, -9, -1, 0, "lea (,%rax,8),%rax"},
    {"\x48\x8d\x04\xc5\x78\x56\x34\x12", 8, -9, -1, 0, "lea 0x12345678(,%rax,8),%rax"},
    {"\xff\x15\x00\x10\x00\x00", 6, 8, 4102, 0, "call *0x1000(%rip)"},
    {"\xff\x25\x00\x10\x00\x00", 6, 8, 4102, 0, "jmp *0x1000(%rip)"},
    {"\xff\xd0", 2, -9, -1, 0, "call *%rax"},
    {"\xff\x24\xc8", 3, -9, -1, 0, "jmp *(%rax,%rcx,8)"},
    {"\x0f\x44\x05\x00\x10\x00\x00", 7, 4, 4103, 0, "cmove 0x1000(%rip),%eax"},
    {"\x0f\x94\xc0", 3, -9, -1, 0, "sete %al"},
    {"\x0f\xbc\x05\x00\x10\x00\x00", 7, 4, 4103, 0, "bsf 0x1000(%rip),%eax"},
    {"\xf3\x48\x0f\xb8\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "popcnt 0x1000(%rip),%rax"},
    {"\xc1\xe0\x03", 3, -9, -1, 0, "shl $3,%eax"},
    {"\x48\xd3\xfa", 3, -9, -1, 0, "sar %cl,%rdx"},
    {"\xc1\x2d\x00\x10\x00\x00\x02", 7, 4, 4103, 0, "shrl $2,0x1000(%rip)"},
    {"\xf3\x48\xab", 3, -9, -1, 0, "rep stosq"},
    {"\xc3", 1, -9, -1, 0, "ret"},
    {"\xc2\x08\x00", 3, -9, -1, 0, "ret $8"},
    {"\xc9", 1, -9, -1, 0, "leave"},
    {"\xcc", 1, -9, -1, 0, "int3"},
    {"\x0f\x0b", 2, -9, -1, 0, "ud2"},
    {"\x0f\x05", 2, -9, -1, 0, "syscall"},
    {"\x0f\xa2", 2, -9, -1, 0, "cpuid"},
    {"\x0f\x31", 2, -9, -1, 0, "rdtsc"},
    {"\xf3\x90", 2, -9, -1, 0, "pause"},
    {"\xf0\x0f\xb1\x0a", 4, -9, -1, 0, "lock cmpxchg %ecx,(%rdx)"},
    {"\x0f\xc1\x02", 3, -9, -1, 0, "xadd %eax,(%rdx)"},
    {"\x0f\xc8", 2, -9, -1, 0, "bswap %eax"},
    {"\x49\x0f\xca", 3, -9, -1, 0, "bswap %r10"},
    {"\x6a\x07", 2, -9, -1, 0, "push $0x7"},
    {"\x68\x45\x23\x01\x00", 5, -9, -1, 0, "push $0x12345"},
    {"\xc8\x10\x00\x00", 4, -9, -1, 0, "enter $0x10,$0"},
    {"\xe4\x60", 2, -9, -1, 0, "in $0x60,%al"},
    {"\xf2\x0f\x10\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "movsd 0x1000(%rip),%xmm0"},
    {"\xf3\x0f\x10\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "movss 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x28\x0d\x00\x10\x00\x00", 8, 16, 4104, 0, "movapd 0x1000(%rip),%xmm1"},
    {"\x0f\x28\x0d\x00\x10\x00\x00", 7, 16, 4103, 0, "movaps 0x1000(%rip),%xmm1"},
    {"\x44\x0f\x10\x0d\x00\x10\x00\x00", 8, 16, 4104, 0, "movups 0x1000(%rip),%xmm9"},
    {"\x66\x0f\x10\x0d\x00\x10\x00\x00", 8, 16, 4104, 0, "movupd 0x1000(%rip),%xmm1"},
    {"\x66\x0f\x6f\x15\x00\x10\x00\x00", 8, 16, 4104, 0, "movdqa 0x1000(%rip),%xmm2"},
    {"\xf3\x0f\x6f\x15\x00\x10\x00\x00", 8, 16, 4104, 0, "movdqu 0x1000(%rip),%xmm2"},
    {"\xf3\x0f\x7e\x1d\x00\x10\x00\x00", 8, 8, 4104, 0, "movq 0x1000(%rip),%xmm3"},
    {"\x66\x0f\x6e\x1d\x00\x10\x00\x00", 8, 4, 4104, 0, "movd 0x1000(%rip),%xmm3"},
    {"\x0f\x6f\x05\x00\x10\x00\x00", 7, 8, 4103, 0, "movq 0x1000(%rip),%mm0"},
    {"\xf2\x0f\x59\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "mulsd 0x1000(%rip),%xmm0"},
    {"\xf3\x0f\x59\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "mulss 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x59\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "mulpd 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x58\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "addsd 0x1000(%rip),%xmm0"},
    {"\xf3\x0f\x5c\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "subss 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x5e\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "divsd 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x51\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "sqrtsd 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x5f\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "maxsd 0x1000(%rip),%xmm0"},
    {"\xf3\x0f\x5d\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "minss 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x54\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "andpd 0x1000(%rip),%xmm0"},
    {"\x0f\x54\x05\x00\x10\x00\x00", 7, 16, 4103, 0, "andps 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x57\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "xorpd 0x1000(%rip),%xmm0"},
    {"\x0f\x57\x05\x00\x10\x00\x00", 7, 16, 4103, 0, "xorps 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x56\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "orpd 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x55\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "andnpd 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x2e\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "ucomisd 0x1000(%rip),%xmm0"},
    {"\x0f\x2e\x05\x00\x10\x00\x00", 7, 4, 4103, 0, "ucomiss 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x2f\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "comisd 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x2a\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "cvtsi2sdl 0x1000(%rip),%xmm0"},
    {"\xf2\x48\x0f\x2a\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "cvtsi2sdq 0x1000(%rip),%xmm0"},
    {"\xf3\x0f\x5a\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "cvtss2sd 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x5a\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "cvtsd2ss 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x2c\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "cvttsd2si 0x1000(%rip),%eax"},
    {"\xf3\x48\x0f\x2c\x05\x00\x10\x00\x00", 9, 4, 4105, 0, "cvttss2si 0x1000(%rip),%rax"},
    {"\x0f\x5a\x05\x00\x10\x00\x00", 7, 8, 4103, 0, "cvtps2pd 0x1000(%rip),%xmm0"},
    {"\xf3\x0f\xe6\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "cvtdq2pd 0x1000(%rip),%xmm0"},
    {"\x0f\x5b\x05\x00\x10\x00\x00", 7, 16, 4103, 0, "cvtdq2ps 0x1000(%rip),%xmm0"},
    {"\x66\x0f\xef\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "pxor 0x1000(%rip),%xmm0"},
    {"\x66\x0f\xdb\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "pand 0x1000(%rip),%xmm0"},
    {"\x66\x0f\xeb\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "por 0x1000(%rip),%xmm0"},
    {"\x66\x0f\xfe\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "paddd 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x74\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "pcmpeqb 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x70\x05\x00\x10\x00\x00\x1b", 9, 16, 4105, 0, "pshufd $0x1b,0x1000(%rip),%xmm0"},
    {"\x66\x0f\x38\x00\x05\x00\x10\x00\x00", 9, 16, 4105, 0, "pshufb 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x38\x30\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "pmovzxbw 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x38\x21\x05\x00\x10\x00\x00", 9, 4, 4105, 0, "pmovsxbd 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x38\x32\x05\x00\x10\x00\x00", 9, 2, 4105, 0, "pmovzxbq 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x6c\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "punpcklqdq 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x14\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "unpcklpd 0x1000(%rip),%xmm0"},
    {"\x0f\xc6\x05\x00\x10\x00\x00\x44", 8, 16, 4104, 0, "shufps $0x44,0x1000(%rip),%xmm0"},
    {"\x66\x0f\x12\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "movlpd 0x1000(%rip),%xmm0"},
    {"\x0f\x16\x05\x00\x10\x00\x00", 7, 8, 4103, 0, "movhps 0x1000(%rip),%xmm0"},
    {"\xf2\x0f\x12\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "movddup 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x3a\x0b\x05\x00\x10\x00\x00\x04", 10, 8, 4106, 0, "roundsd $4,0x1000(%rip),%xmm0"},
    {"\x66\x0f\x3a\x08\x05\x00\x10\x00\x00\x04", 10, 16, 4106, 0, "roundps $4,0x1000(%rip),%xmm0"},
    {"\x66\x0f\x3a\x22\x05\x00\x10\x00\x00\x01", 10, 4, 4106, 0, "pinsrd $1,0x1000(%rip),%xmm0"},
    {"\x66\x48\x0f\x3a\x22\x05\x00\x10\x00\x00\x01", 11, 8, 4107, 0, "pinsrq $1,0x1000(%rip),%xmm0"},
    {"\x66\x0f\x3a\x21\x05\x00\x10\x00\x00\x10", 10, 4, 4106, 0, "insertps $0x10,0x1000(%rip),%xmm0"},
    {"\xf2\x0f\xc2\x05\x00\x10\x00\x00\x01", 9, 8, 4105, 0, "cmpsd $1,0x1000(%rip),%xmm0"},
    {"\x66\x0f\xc2\x05\x00\x10\x00\x00\x01", 9, 16, 4105, 0, "cmpltpd 0x1000(%rip),%xmm0"},
    {"\x66\x0f\xf3\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "psllq 0x1000(%rip),%xmm0"},
    {"\x66\x0f\x73\xd0\x03", 5, -9, -1, 0, "psrlq $3,%xmm0"},
    {"\xc5\xfb\x10\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "vmovsd 0x1000(%rip),%xmm0"},
    {"\xc5\xfa\x10\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "vmovss 0x1000(%rip),%xmm0"},
    {"\xc5\xf9\x28\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "vmovapd 0x1000(%rip),%xmm0"},
    {"\xc5\xfd\x28\x05\x00\x10\x00\x00", 8, 32, 4104, 0, "vmovapd 0x1000(%rip),%ymm0"},
    {"\xc5\x7c\x10\x0d\x00\x10\x00\x00", 8, 32, 4104, 0, "vmovups 0x1000(%rip),%ymm9"},
    {"\xc5\xfe\x6f\x15\x00\x10\x00\x00", 8, 32, 4104, 0, "vmovdqu 0x1000(%rip),%ymm2"},
    {"\xc5\xfa\x7e\x0d\x00\x10\x00\x00", 8, 8, 4104, 0, "vmovq 0x1000(%rip),%xmm1"},
    {"\xc5\xf9\x6e\x0d\x00\x10\x00\x00", 8, 4, 4104, 0, "vmovd 0x1000(%rip),%xmm1"},
    {"\xc5\xf3\x59\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "vmulsd 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xf5\x59\x05\x00\x10\x00\x00", 8, 32, 4104, 0, "vmulpd 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc5\xf2\x58\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "vaddss 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xf4\x57\x05\x00\x10\x00\x00", 8, 32, 4104, 0, "vxorps 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc5\xf1\x54\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "vandpd 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xf5\xef\x05\x00\x10\x00\x00", 8, 32, 4104, 0, "vpxor 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc5\xf5\xfe\x05\x00\x10\x00\x00", 8, 32, 4104, 0, "vpaddd 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc4\xe2\x75\x00\x05\x00\x10\x00\x00", 9, 32, 4105, 0, "vpshufb 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc5\xf9\x2e\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "vucomisd 0x1000(%rip),%xmm0"},
    {"\xc4\xe1\xf3\x2a\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vcvtsi2sdq 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xf3\x2a\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "vcvtsi2sdl 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xfc\x5a\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "vcvtps2pd 0x1000(%rip),%ymm0"},
    {"\xc5\xfe\xe6\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "vcvtdq2pd 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x7d\x18\x05\x00\x10\x00\x00", 9, 4, 4105, 0, "vbroadcastss 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x7d\x19\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vbroadcastsd 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x7d\x1a\x05\x00\x10\x00\x00", 9, 16, 4105, 0, "vbroadcastf128 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x7d\x58\x05\x00\x10\x00\x00", 9, 4, 4105, 0, "vpbroadcastd 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x79\x59\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vpbroadcastq 0x1000(%rip),%xmm0"},
    {"\xc4\xe2\x7d\x78\x05\x00\x10\x00\x00", 9, 1, 4105, 0, "vpbroadcastb 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x7d\x79\x05\x00\x10\x00\x00", 9, 2, 4105, 0, "vpbroadcastw 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\xf1\xb9\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vfmadd231sd 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc4\xe2\x71\xb9\x05\x00\x10\x00\x00", 9, 4, 4105, 0, "vfmadd231ss 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc4\xe2\xf5\xa8\x05\x00\x10\x00\x00", 9, 32, 4105, 0, "vfmadd213pd 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc4\xe2\xf1\x9d\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vfnmadd132sd 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc4\xe2\x7d\x31\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vpmovzxbd 0x1000(%rip),%ymm0"},
    {"\xc4\xe2\x7d\x24\x05\x00\x10\x00\x00", 9, 8, 4105, 0, "vpmovsxwq 0x1000(%rip),%ymm0"},
    {"\xc4\xe3\xfd\x00\x05\x00\x10\x00\x00\x1b", 10, 32, 4106, 0, "vpermq $0x1b,0x1000(%rip),%ymm0"},
    {"\xc4\xe3\x75\x06\x05\x00\x10\x00\x00\x20", 10, 32, 4106, 0, "vperm2f128 $0x20,0x1000(%rip),%ymm1,%ymm0"},
    {"\xc4\xe3\x75\x18\x05\x00\x10\x00\x00\x01", 10, 16, 4106, 0, "vinsertf128 $1,0x1000(%rip),%ymm1,%ymm0"},
    {"\xc4\xe3\x71\x0b\x05\x00\x10\x00\x00\x04", 10, 8, 4106, 0, "vroundsd $4,0x1000(%rip),%xmm1,%xmm0"},
    {"\xc4\xe3\x75\x02\x05\x00\x10\x00\x00\xf0", 10, 32, 4106, 0, "vpblendd $0xf0,0x1000(%rip),%ymm1,%ymm0"},
    {"\xc4\xe3\xf1\x22\x05\x00\x10\x00\x00\x01", 10, 8, 4106, 0, "vpinsrq $1,0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xff\x12\x05\x00\x10\x00\x00", 8, 32, 4104, 0, "vmovddup 0x1000(%rip),%ymm0"},
    {"\xc5\xfb\x12\x05\x00\x10\x00\x00", 8, 8, 4104, 0, "vmovddup 0x1000(%rip),%xmm0"},
    {"\xc5\xf5\xc2\x05\x00\x10\x00\x00\x01", 9, 32, 4105, 0, "vcmpltpd 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc5\xf3\xc2\x05\x00\x10\x00\x00\x01", 9, 8, 4105, 0, "vcmpltsd 0x1000(%rip),%xmm1,%xmm0"},
    {"\xc5\xf5\xf3\x05\x00\x10\x00\x00", 8, 16, 4104, 0, "vpsllq 0x1000(%rip),%ymm1,%ymm0"},
    {"\xc5\xf8\x77", 3, -9, -1, 0, "vzeroupper"},
    {"\xc5\xfc\x77", 3, -9, -1, 0, "vzeroall"},
    {"\xc4\xe2\x78\xf2\x0d\x00\x10\x00\x00", 9, 4, 4105, 0, "andn 0x1000(%rip),%eax,%ecx"},
    {"\xc4\xe2\xf9\xf7\x0d\x00\x10\x00\x00", 9, 8, 4105, 0, "shlx %rax,0x1000(%rip),%rcx"},
    {"\xc4\xe2\x78\xf5\x0d\x00\x10\x00\x00", 9, 4, 4105, 0, "bzhi %eax,0x1000(%rip),%ecx"},
    {"\xc4\xe2\xfb\xf6\x0d\x00\x10\x00\x00", 9, 8, 4105, 0, "mulx 0x1000(%rip),%rax,%rcx"},
    {"\x62\xe1\xff\x08\x10\x05\x00\x10\x00\x00", 10, 8, 4106, 0, "vmovsd 0x1000(%rip),%xmm16"},
    {"\x62\xf1\xfd\x48\x28\x05\x00\x10\x00\x00", 10, 64, 4106, 0, "vmovapd 0x1000(%rip),%zmm0"},
    {"\x62\xe1\x7c\x48\x10\x0d\x00\x10\x00\x00", 10, 64, 4106, 0, "vmovups 0x1000(%rip),%zmm17"},
    {"\x62\xf1\xf5\x48\x59\x05\x00\x10\x00\x00", 10, 64, 4106, 0, "vmulpd 0x1000(%rip),%zmm1,%zmm0"},
    {"\x62\xf1\xf5\x58\x59\x05\x00\x10\x00\x00", 10, 8, 4106, 0, "vmulpd 0x1000(%rip){1to8},%zmm1,%zmm0"},
    {"\x62\xf1\x74\x58\x58\x05\x00\x10\x00\x00", 10, 4, 4106, 0, "vaddps 0x1000(%rip){1to16},%zmm1,%zmm0"},
    {"\x62\xe1\xf5\x20\x59\x05\x00\x10\x00\x00", 10, 32, 4106, 0, "vmulpd 0x1000(%rip),%ymm17,%ymm16"},
    {"\x62\xe1\xf7\x00\x59\x05\x00\x10\x00\x00", 10, 8, 4106, 0, "vmulsd 0x1000(%rip),%xmm17,%xmm16"},
    {"\x62\xf1\xf5\x48\xef\x05\x00\x10\x00\x00", 10, 64, 4106, 0, "vpxorq 0x1000(%rip),%zmm1,%zmm0"},
    {"\x62\xf1\x75\x58\xfe\x05\x00\x10\x00\x00", 10, 4, 4106, 0, "vpaddd 0x1000(%rip){1to16},%zmm1,%zmm0"},
    {"\x62\xf2\xfd\x48\x19\x05\x00\x10\x00\x00", 10, 8, 4106, 0, "vbroadcastsd 0x1000(%rip),%zmm0"},
    {"\x62\xf2\x7d\x48\x58\x05\x00\x10\x00\x00", 10, 4, 4106, 0, "vpbroadcastd 0x1000(%rip),%zmm0"},
    {"\x62\xf2\xf5\x48\xb8\x05\x00\x10\x00\x00", 10, 64, 4106, 0, "vfmadd231pd 0x1000(%rip),%zmm1,%zmm0"},
    {"\x62\xf2\xf5\x00\xb9\x05\x00\x10\x00\x00", 10, 8, 4106, 0, "vfmadd231sd 0x1000(%rip),%xmm17,%xmm0"},
    {"\x62\xf3\xfd\x48\x00\x05\x00\x10\x00\x00\x1b", 11, 64, 4107, 0, "vpermq $0x1b,0x1000(%rip),%zmm0"},
    {"\x62\xf1\x7c\x48\x5a\x05\x00\x10\x00\x00", 10, 32, 4106, 0, "vcvtps2pd 0x1000(%rip),%zmm0"},
    {"\x62\xf2\x7d\x48\x31\x05\x00\x10\x00\x00", 10, 16, 4106, 0, "vpmovzxbd 0x1000(%rip),%zmm0"},
    {"\x62\xf3\x75\x48\x25\x05\x00\x10\x00\x00\x96", 11, 0, 4107, 0, "vpternlogd $0x96,0x1000(%rip),%zmm1,%zmm0"},
    {"\x62\xf1\xfe\xc9\x6f\x48\x01", 7, -9, -1, 0, "vmovdqu64 0x40(%rax),%zmm1{%k1}{z}"},
    {"\xc5\xf8\x93\xc1", 4, -9, -1, 0, "kmovw %k1,%eax"},
    {"\x62\xe1\x77\x00\x2a\x05\x00\x10\x00\x00", 10, 4, 4106, 0, "vcvtsi2sd 0x1000(%rip),%xmm17,%xmm16"},
    {"\xdd\x05\x00\x10\x00\x00", 6, 8, 4102, 0, "fldl 0x1000(%rip)"},
    {"\xd9\x05\x00\x10\x00\x00", 6, 4, 4102, 0, "flds 0x1000(%rip)"},
    {"\xdb\x2d\x00\x10\x00\x00", 6, 10, 4102, 0, "fldt 0x1000(%rip)"},
    {"\xdb\x05\x00\x10\x00\x00", 6, 4, 4102, 0, "fildl 0x1000(%rip)"},
    {"\xdf\x2d\x00\x10\x00\x00", 6, 8, 4102, 0, "fildll 0x1000(%rip)"},
    {"\xdc\x0d\x00\x10\x00\x00", 6, 8, 4102, 0, "fmull 0x1000(%rip)"},
    {"\xd8\x05\x00\x10\x00\x00", 6, 4, 4102, 0, "fadds 0x1000(%rip)"},
    {"\xd9\x2d\x00\x10\x00\x00", 6, 2, 4102, 0, "fldcw 0x1000(%rip)"},
    {"\xdd\xd9", 2, -9, -1, 0, "fstp %st(1)"},
    {"\xde\xc1", 2, -9, -1, 0, "faddp"},
    {"\xd9\xc9", 2, -9, -1, 0, "fxch"},
    {"\xf2\x0f\x38\xf0\x05\x00\x10\x00\x00", 9, 1, 4105, 0, "crc32b 0x1000(%rip),%eax"},
    {"\x0f\x38\xf0\x05\x00\x10\x00\x00", 8, 4, 4104, 0, "movbe 0x1000(%rip),%eax"},
    {"\x0f\x18\x0d\x00\x10\x00\x00", 7, -1, 4103, 0, "prefetcht0 0x1000(%rip)"},
    {"\xeb\x0e", 2, -9, 16, 0, "jmp .+0x10"},
    {"\xe9\xfb\x0f\x00\x00", 5, -9, 4096, 0, "jmp .+0x1000"},
    {"\x74\x0e", 2, -9, 16, 0, "je .+0x10"},
    {"\x0f\x85\xfa\x0f\x00\x00", 6, -9, 4096, 0, "jne .+0x1000"},
    {"\xe8\xfb\x0f\x00\x00", 5, -9, 4096, 0, "call .+0x1000"},
    {"\xe2\x0e", 2, -9, 16, 0, "loop .+0x10"},
    {"\xe3\x0e", 2, -9, 16, 0, "jrcxz .+0x10"},
    {"\xc7\xf8\xfa\x00\x00\x00", 6, -9, -1, 0, "xbegin .+0x100"},
    {"\x64\x48\x8b\x00", 4, -9, -1, 0, "fs mov (%rax),%rax"},
    {"\x67\x8b\x00", 3, -9, -1, 0, "addr32 mov (%eax),%eax"},
    {"\x64\x48\x8b\x04\x25\x28\x00\x00\x00", 9, -9, -1, 0, "mov %fs:0x28,%rax"},
    {"\xa0\x88\x77\x66\x55\x44\x33\x22\x11", 9, -9, -1, 0, "mov 0x1122334455667788,%al"},
    {"\x48\xa1\x88\x77\x66\x55\x44\x33\x22\x11", 10, -9, -1, 0, "movabs 0x1122334455667788,%rax"},
};

void test_x86_table(void)
{
    printf("x86-64 decoding: %zu encodings\n", sizeof encodings / sizeof *encodings);
    for (size_t i = 0; i < sizeof encodings / sizeof *encodings; i++) {
        const unsigned char *b = (const unsigned char *)encodings[i].bytes;
        const char *text = encodings[i].text;
        x86_insn in;
        /* Decoded from a buffer longer than the instruction, and not from
         * one that cuts it short. */
        unsigned char buf[32];
        memset(buf, 0xcc, sizeof buf);
        memcpy(buf, b, (size_t)encodings[i].len);
        int len = x86_decode(buf, sizeof buf, &in);
        if (!CHECK(len == encodings[i].len, "%s: length %d, not %d", text, len, encodings[i].len))
            continue;
        CHECK(!x86_decode(buf, (size_t)len - 1, &in), "%s: decoded from %d bytes", text, len - 1);
        x86_decode(buf, sizeof buf, &in);
        CHECK(x86_is_nop(&in) == encodings[i].nop, "%s: nop is %d", text, x86_is_nop(&in));
        if (encodings[i].width != -9) {
            CHECK(in.rip_relative && in.disp_size == 4, "%s: a RIP-relative operand", text);
            CHECK(x86_read_width(&in) == encodings[i].width, "%s: reads %d bytes, not %d", text,
                  x86_read_width(&in), encodings[i].width);
        } else {
            CHECK(!in.rip_relative, "%s: no RIP-relative operand", text);
        }
        if (encodings[i].target >= 0) {
            int64_t to = in.branch ? in.len + in.rel : in.len + read_field(buf + in.disp_at, 4);
            CHECK(to == encodings[i].target, "%s: reaches %+" PRId64 ", not %+d", text, to, encodings[i].target);
        }
    }

    /* Branch kinds: the short and near forms of each are the same kind. */
    static const struct {
        const char *bytes;
        int kind, cond;
    } branches[] = {
        {"\xeb\x0e", X86_JMP, 0},       {"\xe9\xfb\x0f\x00\x00", X86_JMP, 0},
        {"\x74\x0e", X86_JCC, 4},       {"\x0f\x84\x00\x01\x00\x00", X86_JCC, 4},
        {"\x7f\xf0", X86_JCC, 0xf},     {"\x0f\x8f\x00\x01\x00\x00", X86_JCC, 0xf},
        {"\xe8\x00\x00\x00\x00", X86_CALL, 0}, {"\xe2\x0e", X86_LOOP, 0xe2},
        {"\xff\x25\x00\x10\x00\x00", 0, 0}, {"\xc3", 0, 0},
    };
    for (size_t i = 0; i < sizeof branches / sizeof *branches; i++) {
        x86_insn in;
        x86_decode((const unsigned char *)branches[i].bytes, 6, &in);
        CHECK(in.branch == branches[i].kind && in.cond == branches[i].cond, "branch %zu: kind %d cond %d", i,
              in.branch, in.cond);
    }
    x86_insn in;
    x86_decode((const unsigned char *)"\x7f\xf0", 2, &in);
    CHECK(in.rel == -16, "jg .-14: displacement %" PRId64, in.rel);
}

/* ------------------------------------------------ compiled code, objdump */

/* A source with the vector code compilers emit on constants. */
static const char vectors_c[] =
    "#include <math.h>\n"
    "void scale(double *v, int n) { for (int i = 0; i < n; i++) v[i] = v[i] * 0.5 + 0.25; }\n"
    "void scalef(float *v, int n) { for (int i = 0; i < n; i++) v[i] = fmaf(v[i], 1.5f, -2.0f); }\n"
    "int sum(const int *v, int n) { int s = 0; for (int i = 0; i < n; i++) s += v[i] & 0x7f; return s; }\n"
    "double norm(const double *v, int n) { double s = 0; for (int i = 0; i < n; i++) s += v[i] * v[i];\n"
    "                                      return sqrt(s); }\n"
    "long mix(long a, long b) { return (a << (b & 63)) ^ (a * 0x9e3779b97f4a7c15L) ^ __builtin_popcountl(b); }\n"
    "long double ld(long double x) { return x * 1.25L + 3.0L; }\n"
    "void convert(const unsigned char *s, int *d, int n) { for (int i = 0; i < n; i++) d[i] = s[i] * 3; }\n"
    "int pick(int x) { switch (x) { case 0: return 5; case 1: return 9; case 2: return 11; case 3: return 2;\n"
    "                  case 4: return 7; default: return -1; } }\n";

/* Instruction starts objdump lists in one section of an object: a sorted
 * array of offsets. */
static size_t objdump_starts(const char *listing, const char *section, uint64_t *out, size_t max)
{
    char header[256];
    snprintf(header, sizeof header, "Disassembly of section %s:\n", section);
    const char *p = strstr(listing, header);
    size_t n = 0;
    if (!p)
        return 0;
    p += strlen(header);
    while (*p && strncmp(p, "Disassembly of section ", 23)) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        unsigned long long off;
        int used = 0;
        /* "  1f:\t48 8d 05 00 00 00 00 \tlea ..." */
        if (sscanf(p, " %llx:\t%n", &off, &used) == 1 && used && memchr(p + used, '\t', (size_t)(eol - p - used)) &&
            n < max)
            out[n++] = off;
        p = eol + 1;
    }
    return n;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (text && fread(text, 1, (size_t)size, f) == (size_t)size)
        text[size] = 0;
    else if (text)
        text[0] = 0;
    fclose(f);
    return text;
}

/* Every executable section of an object decodes into the instructions
 * objdump lists. */
static void compare_with_objdump(const char *obj, const char *what)
{
    char listing_path[600], path[512];
    snprintf(path, sizeof path, "%s", tmp(obj));
    snprintf(listing_path, sizeof listing_path, "%s.txt", path);
    char *objdump[] = {"objdump", "-d", "-z", "--insn-width=15", path, NULL};
    if (!CHECK(run_output(objdump, listing_path), "objdump -d %s", obj))
        return;
    char *listing = read_text(listing_path);
    hf_image *img = NULL;
    if (!CHECK(listing && hf_open(path, &img) == HF_OK, "read %s and its listing", obj)) {
        free(listing);
        return;
    }
    static uint64_t want[65536];
    size_t sections = 0, insns = 0;
    for (size_t i = 1; i < img->nsec; i++) {
        const section *s = &img->sec[i];
        if (!(s->sh.sh_flags & SHF_EXECINSTR) || !s->sh.sh_size)
            continue;
        size_t n = objdump_starts(listing, s->name, want, sizeof want / sizeof *want);
        x86_stream st;
        if (!CHECK(x86_decode_all(section_bytes(img, i), s->sh.sh_size, &st) == HF_OK && !st.bad,
                   "%s: %s %s decodes", what, obj, s->name)) {
            x86_stream_free(&st);
            continue;
        }
        size_t k = 0;
        while (k < n && k < st.n && st.ins[k].at == want[k])
            k++;
        CHECK(k == n && k == st.n, "%s: %s %s: instruction %zu at %#" PRIx64 ", objdump's at %#" PRIx64
              " (%zu and %zu instructions)", what, obj, s->name, k, k < st.n ? (uint64_t)st.ins[k].at : 0,
              k < n ? want[k] : 0, st.n, n);
        sections++;
        insns += st.n;
        x86_stream_free(&st);
    }
    CHECK(sections > 0 && insns > 50, "%s: %zu sections, %zu instructions compared", what, sections, insns);
    hf_close(img);
    free(listing);
}

void test_x86_compiled(void)
{
    printf("x86-64 decoding of compiled code, against objdump\n");
    if (!CHECK(write_file("vectors.c", vectors_c), "write vectors.c"))
        return;
    /* The compilers' own output for a few machine levels, and this
     * library's own files (every kind of code a real unit has). */
    static const char *const levels[][2] = {
        {"-O0", NULL}, {"-O2", NULL}, {"-O3", "-mavx2"}, {"-O3", "-march=skylake-avx512"},
        {"-O2", "-march=x86-64-v3"},
    };
    static const char *const sources[] = {"vectors.c", "diff.c", "x86.c", "dies.c"};
    for (size_t c = 0; c < 2; c++) {
        const char *cc = c ? "clang" : "gcc";
        for (size_t l = 0; l < sizeof levels / sizeof *levels; l++)
            for (size_t s = 0; s < sizeof sources / sizeof *sources; s++) {
                if (s && l != 1 && l != 3)
                    continue; /* the library's files at -O2 and with AVX-512 */
                char src[512], obj[64], what[128];
                if (s)
                    snprintf(src, sizeof src, "%s", sources[s]); /* from native/, where the check runs */
                else
                    snprintf(src, sizeof src, "%s", tmp(sources[s]));
                snprintf(obj, sizeof obj, "dec-%zu-%zu-%zu.o", c, l, s);
                snprintf(what, sizeof what, "%s %s %s %s", cc, levels[l][0], levels[l][1] ? levels[l][1] : "",
                         sources[s]);
                char o[512];
                snprintf(o, sizeof o, "%s", tmp(obj));
                char *argv[] = {(char *)cc, (char *)levels[l][0], "-ffunction-sections", "-c", src, "-o", o,
                                (char *)levels[l][1], NULL};
                if (CHECK(run(argv), "compile %s", what))
                    compare_with_objdump(obj, what);
            }
    }
}
