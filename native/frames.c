/* libhotfix: where a frame running the old body of a changed function can
 * go on in the new body (hf_frame_map_json), for code built at -O0 on
 * x86-64.
 *
 * A frame is stopped either at a return address (a callee's frame below
 * it) or at a statement of its own (frame 0).  For each such point of the
 * old body this finds the point of the new body that does the same from
 * there on, or says why there is none:
 *
 *   1. the frames must be alike: both keep %rbp as a frame pointer, with
 *      the same prologue (so the same frame size and the same saved
 *      registers) and the same DWARF frame base, every local in a frame
 *      slot, no stack allocated on the fly;
 *   2. the calls of the two bodies are aligned (a longest common
 *      subsequence, compared as the function diff compares calls); a
 *      return address maps only through a call that every such alignment
 *      pairs with the same call of the new body; between two aligned
 *      calls, the instructions equal from the start or from the end of
 *      the stretch map one to one;
 *   3. around the point, from a statement boundary before it to one after
 *      it (a return address: from the statement holding the call), the
 *      code must be the same instruction for instruction, compared as the
 *      diff compares code, branches reaching corresponding places; and
 *      both boundaries must be clean: nothing but locals (and the saved
 *      registers) live there, in registers or in the frame, as a
 *      backward liveness over each body's instructions says.  So whatever
 *      the old code holds at the point in registers or spill slots was put
 *      there by the same instructions the new code would have run;
 *   4. every local the new code reads from there on (live at the start
 *      of that stretch) must be a local of the old body in scope there,
 *      with the same name, frame slot and size; the caller compares
 *      their types.  New locals may only be written before they are read.
 */
#include "internal.h"

/* Liveness is kept for frame bytes from %rbp-relative offset `lowest` up
 * to `highest`: at most this many. */
#define MAX_FRAME_BYTES (1 << 16)

typedef struct {
    code_body *code;
    hf_image *img;
    const x86_stream *ins;
    size_t n;                 /* instructions */
    frame_facts dw;
    x86_effect *fx;
    unsigned char *row;       /* 1: a statement (is_stmt row) starts at the instruction */
    uint32_t *line;           /* the line of the row the instruction is in */
    size_t body;              /* the first instruction after the prologue */
    size_t prologue_from;     /* the first instruction of the prologue (after endbr64) */
    int64_t frame;            /* bytes from %rbp down to %rsp in the body */
    uint64_t saved;           /* registers the prologue pushes */
    const char *shape;        /* why the body is not -O0 shaped, or NULL */
    int64_t lowest, highest;  /* the frame bytes tracked */
    size_t nbytes, stride;    /* highest - lowest; bytes of one bitmap */
    unsigned char *named;     /* bitmap: bytes of locals, saved registers, %rbp and the return address */
    unsigned char *escaped;   /* bitmap: bytes whose address is taken */
    uint64_t *live_regs;      /* live at each instruction (before it runs) */
    unsigned char *live;      /* live frame bytes at each instruction, stride bytes each */
    size_t *calls;
    size_t ncalls;
} body;

static int bit(const unsigned char *map, size_t k) { return map[k >> 3] >> (k & 7) & 1; }
static void set_bit(unsigned char *map, size_t k) { map[k >> 3] |= (unsigned char)(1u << (k & 7)); }
static void clear_bit(unsigned char *map, size_t k) { map[k >> 3] &= (unsigned char)~(1u << (k & 7)); }

static void body_free(body *b)
{
    body_close(b->code);
    frame_facts_free(&b->dw);
    free(b->fx);
    free(b->row);
    free(b->line);
    free(b->named);
    free(b->escaped);
    free(b->live_regs);
    free(b->live);
    free(b->calls);
    memset(b, 0, sizeof *b);
}

/* The instruction starting at offset off, or -1. */
static long index_at(const body *b, uint64_t off)
{
    if (off == (uint64_t)b->ins->ins[b->n - 1].at + b->ins->ins[b->n - 1].len)
        return (long)b->n;
    const x86_insn *in = x86_insn_at(b->ins, off);
    return in && in->at == off ? (long)(in - b->ins->ins) : -1;
}

static uint64_t offset_of(const body *b, size_t i)
{
    return i < b->n ? b->ins->ins[i].at : (uint64_t)b->ins->ins[b->n - 1].at + b->ins->ins[b->n - 1].len;
}

static const unsigned char *insn_bytes(const body *b, size_t i) { return body_code(b->code) + b->ins->ins[i].at; }

static int is_endbr64(const body *b, size_t i)
{
    const unsigned char *p = insn_bytes(b, i);
    return b->ins->ins[i].len == 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa;
}

/* push %rbp; mov %rsp,%rbp; push REG...; [sub $N,%rsp] */
static void read_prologue(body *b)
{
    size_t i = 0;
    if (i < b->n && is_endbr64(b, i))
        i++;
    b->prologue_from = i;
    const unsigned char *p;
    if (i + 1 >= b->n || b->ins->ins[i].len != 1 || *insn_bytes(b, i) != 0x55) {
        b->shape = "it keeps no frame pointer (optimised code?)";
        return;
    }
    p = insn_bytes(b, i + 1);
    if (b->ins->ins[i + 1].len != 3 || p[0] != 0x48 || p[1] != 0x89 || p[2] != 0xe5) {
        b->shape = "it keeps no frame pointer (optimised code?)";
        return;
    }
    i += 2;
    int pushes = 0;
    while (i < b->n) {
        const x86_insn *in = &b->ins->ins[i];
        p = insn_bytes(b, i);
        unsigned op = p[in->prefixes + (in->rex ? 1 : 0)];
        if (in->len <= 2 && in->map == 0 && op >= 0x50 && op <= 0x57 && !in->prefixes) {
            b->saved |= X86_BIT((op & 7) | (in->rex & 1) << 3);
            pushes++;
            i++;
            continue;
        }
        break;
    }
    b->frame = 8 * (int64_t)pushes;
    if (i < b->n && b->fx[i].known && b->fx[i].stack && !b->fx[i].dynamic && b->fx[i].stack_delta < 0) {
        b->frame -= b->fx[i].stack_delta;
        i++;
    }
    b->body = i;
}

static hf_status read_rows(body *b)
{
    const line_row *rows;
    uint64_t start = body_start(b->code);
    size_t n = line_rows_in(b->img, body_section(b->code), start, start + offset_of(b, b->n), &rows);
    b->row = calloc(b->n + 1, 1);
    b->line = calloc(b->n + 1, sizeof *b->line);
    if (!b->row || !b->line)
        return fail(HF_ENOMEM, b->img->path, NULL);
    for (size_t k = 0; k < n; k++) {
        if (rows[k].end_sequence)
            continue;
        long i = index_at(b, rows[k].address - start);
        if (i < 0 || (size_t)i >= b->n)
            continue;
        if (rows[k].is_stmt)
            b->row[i] = 1;
        b->line[i] = rows[k].line;
    }
    uint32_t line = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->line[i])
            line = b->line[i];
        b->line[i] = line;
    }
    return HF_OK;
}

static void mark(unsigned char *map, const body *b, int64_t off, int64_t size)
{
    for (int64_t k = off; k < off + size; k++)
        if (k >= b->lowest && k < b->highest)
            set_bit(map, (size_t)(k - b->lowest));
}

/* The frame bytes that matter, the bitmaps of named and escaped bytes. */
static hf_status read_slots(body *b)
{
    b->lowest = -b->frame;
    b->highest = 16;
    for (size_t i = 0; i < b->n; i++)
        if (b->fx[i].slot) {
            int64_t size = b->fx[i].read_size > b->fx[i].write_size ? b->fx[i].read_size : b->fx[i].write_size;
            if (b->fx[i].slot_off < b->lowest)
                b->lowest = b->fx[i].slot_off;
            if (b->fx[i].slot_off + (size ? size : 16) > b->highest)
                b->highest = b->fx[i].slot_off + (size ? size : 16);
        }
    for (size_t k = 0; k < b->dw.nvars; k++) {
        const frame_var *v = &b->dw.vars[k];
        if (!v->in_slot)
            continue;
        if (v->slot < b->lowest)
            b->lowest = v->slot;
        if (v->slot + (int64_t)v->size > b->highest)
            b->highest = v->slot + (int64_t)v->size;
    }
    b->lowest -= 128; /* the red zone of a leaf function */
    if (b->highest - b->lowest > MAX_FRAME_BYTES)
        return fail(HF_EARG, b->img->path, "a frame of more than %d bytes", MAX_FRAME_BYTES);
    b->nbytes = (size_t)(b->highest - b->lowest);
    b->stride = (b->nbytes + 7) / 8;
    b->named = calloc(b->stride, 1);
    b->escaped = calloc(b->stride, 1);
    if (!b->named || !b->escaped)
        return fail(HF_ENOMEM, b->img->path, NULL);
    for (size_t k = 0; k < b->dw.nvars; k++)
        if (b->dw.vars[k].in_slot)
            mark(b->named, b, b->dw.vars[k].slot, (int64_t)b->dw.vars[k].size);
    mark(b->named, b, -8 * __builtin_popcountll(b->saved), 8 * __builtin_popcountll(b->saved));
    mark(b->named, b, 0, 16); /* the caller's %rbp, the return address */
    for (size_t i = 0; i < b->n; i++) {
        if (!b->fx[i].address_taken)
            continue;
        /* The whole local whose address it is; else up to the next local. */
        int64_t off = b->fx[i].slot_off, end = off + 1;
        for (size_t k = 0; k < b->dw.nvars; k++) {
            const frame_var *v = &b->dw.vars[k];
            if (v->in_slot && v->slot <= off && off < v->slot + (int64_t)v->size && v->slot + (int64_t)v->size > end)
                end = v->slot + (int64_t)v->size;
        }
        if (end == off + 1) {
            end = 0;
            for (size_t k = 0; k < b->dw.nvars; k++)
                if (b->dw.vars[k].in_slot && b->dw.vars[k].slot > off && b->dw.vars[k].slot < end)
                    end = b->dw.vars[k].slot;
        }
        mark(b->escaped, b, off, end - off);
    }
    return HF_OK;
}

/* Where control goes after instruction i: up to two successors (SIZE_MAX
 * for none); *anywhere for an indirect jump. */
static void successors(const body *b, size_t i, size_t next[2], int *anywhere)
{
    const x86_effect *e = &b->fx[i];
    next[0] = next[1] = SIZE_MAX;
    *anywhere = 0;
    if (e->ret)
        return;
    if (e->jump == -1) {
        *anywhere = 1;
        return;
    }
    if (e->jump != X86_JMP)
        next[0] = i + 1 < b->n ? i + 1 : SIZE_MAX;
    if (e->jump == X86_JMP || e->jump == X86_JCC) {
        int inside;
        uint64_t off;
        if (!body_branch(b->code, i, &inside, &off)) {
            *anywhere = 1;
            return;
        }
        if (inside) {
            long k = index_at(b, off);
            if (k < 0)
                *anywhere = 1;
            else if ((size_t)k < b->n)
                next[1] = (size_t)k;
        }
        /* A jump out of the function is a tail call: nothing of the frame
         * is read after it. */
    }
}

/* Backward liveness of registers and frame bytes, to a fixed point. */
static hf_status compute_liveness(body *b)
{
    b->live_regs = calloc(b->n + 1, sizeof *b->live_regs);
    b->live = calloc((b->n + 1) * b->stride, 1);
    unsigned char *out = calloc(b->stride, 1);
    if (!b->live_regs || !b->live || !out) {
        free(out);
        return fail(HF_ENOMEM, b->img->path, NULL);
    }
    for (int changed = 1, rounds = 0; changed && rounds < 1000; rounds++) {
        changed = 0;
        for (size_t i = b->n; i-- > 0;) {
            const x86_effect *e = &b->fx[i];
            size_t next[2];
            int anywhere;
            successors(b, i, next, &anywhere);
            uint64_t regs = 0;
            memset(out, 0, b->stride);
            if (anywhere) {
                regs = ~0ull;
                memset(out, 0xff, b->stride);
            }
            for (int k = 0; k < 2; k++)
                if (next[k] != SIZE_MAX) {
                    regs |= b->live_regs[next[k]];
                    for (size_t x = 0; x < b->stride; x++)
                        out[x] |= b->live[next[k] * b->stride + x];
                }
            uint64_t in_regs;
            if (!e->known) {
                in_regs = ~0ull;
                memset(out, 0xff, b->stride);
            } else {
                in_regs = e->use | (regs & ~e->kill);
                if (e->slot) {
                    for (int k = 0; k < e->write_size; k++)
                        if (e->slot_off + k >= b->lowest && e->slot_off + k < b->highest)
                            clear_bit(out, (size_t)(e->slot_off + k - b->lowest));
                    mark(out, b, e->slot_off, e->read_size);
                }
            }
            unsigned char *in = &b->live[i * b->stride];
            if (in_regs != b->live_regs[i] || memcmp(in, out, b->stride)) {
                b->live_regs[i] = in_regs;
                memcpy(in, out, b->stride);
                changed = 1;
            }
        }
    }
    free(out);
    /* Whatever may be read through a pointer is live everywhere. */
    for (size_t i = 0; i <= b->n; i++)
        for (size_t x = 0; x < b->stride; x++)
            b->live[i * b->stride + x] |= b->escaped[x];
    return HF_OK;
}

/* Which argument registers a call reads.  A callee the unit declares with
 * a prototype the ABI classifies reads exactly its parameters' (and a
 * variadic one %al too).  Otherwise (clang declares no callee it does not
 * define) the decoder cannot tell, and taking all six (and eight vector
 * registers) as read would keep garbage live everywhere.  -O0 code loads
 * the arguments of a call after everything else the call's expression
 * evaluates, and reads none of them again before the call but to spill it
 * to memory: they are the registers written since the previous call that
 * nothing has read since (in the order of the code: a conditional
 * expression writes one in each of its arms, both counted). */
static const uint64_t GPR_ORDER[6] = {X86_BIT(7), X86_BIT(6), X86_BIT(X86_RDX), X86_BIT(X86_RCX), X86_BIT(8),
                                      X86_BIT(9)};

static const frame_proto *prototype_of(const body *b, const char *name)
{
    if (!name)
        return NULL;
    for (size_t k = 0; k < b->dw.nprotos; k++)
        if (!strcmp(b->dw.protos[k].name, name))
            return &b->dw.protos[k];
    return NULL;
}

static void narrow_call_arguments(body *b, const char *own_name)
{
    uint64_t args = X86_BIT(X86_RAX) | (0xffull << X86_XMM0);
    for (int k = 0; k < 6; k++)
        args |= GPR_ORDER[k];
    uint64_t pending = 0;
    size_t al = SIZE_MAX; /* mov $N, %al: the vector registers a variadic callee is given */
    for (size_t i = 0; i < b->n; i++) {
        x86_effect *e = &b->fx[i];
        if (e->known && e->call) {
            /* The callee reads %al alone: what the rest of %rax held does not
             * matter, the write is whole as far as the call goes. */
            if (al != SIZE_MAX) {
                b->fx[al].use &= ~X86_BIT(X86_RAX);
                b->fx[al].part &= ~X86_BIT(X86_RAX);
                b->fx[al].kill |= X86_BIT(X86_RAX);
                al = SIZE_MAX;
            }
            uint64_t reads = pending & args;
            const x86_insn *in = &b->ins->ins[i];
            const frame_proto *pr = NULL;
            if (in->branch == X86_CALL) {
                const char *callee = body_callee_name(b->code, i);
                pr = prototype_of(b, callee ? callee : own_name);
            }
            if (pr && !pr->unknown && !pr->variadic) {
                reads = 0;
                for (int k = 0; k < pr->gpr && k < 6; k++)
                    reads |= GPR_ORDER[k];
                for (int k = 0; k < pr->sse && k < 8; k++)
                    reads |= X86_BIT(X86_XMM0 + k);
            }
            e->use = (e->use & ~args) | reads;
            pending = 0;
            continue;
        }
        if (!e->known) {
            pending = ~0ull;
            al = SIZE_MAX;
            continue;
        }
        if (!e->store)
            pending &= ~(e->use & ~e->part);
        const x86_insn *in = &b->ins->ins[i];
        if (in->map == 0 && in->opcode == 0xb0 && !in->rex && !in->prefixes)
            al = i;
        else if (e->use & X86_BIT(X86_RAX))
            al = SIZE_MAX; /* %rax read again: not only the call's */
        pending |= e->kill | e->part;
    }
}

static hf_status open_body(body *b, hf_image *img, int64_t cu, const char *spec)
{
    char name[1024];
    unsigned long long addr = 0, size = 0;
    hf_status st;
    memset(b, 0, sizeof *b);
    b->img = img;
    if (sscanf(spec, "%1023s %llx %llx", name, &addr, &size) == 3)
        st = body_open_image(img, addr, size, &b->code);
    else if (sscanf(spec, "%1023s", name) == 1 && img->eh.e_type == ET_REL)
        st = body_open_object(img, name, &b->code);
    else
        st = fail(HF_EARG, img->path, "bad function: %s", spec);
    if (st)
        return st;
    b->ins = body_insns(b->code);
    b->n = b->ins->n;
    if (!b->n)
        return fail(HF_EARG, img->path, "%s is empty", name);
    if ((st = function_frame(img, cu, name, addr, &b->dw)))
        return st;
    b->fx = calloc(b->n, sizeof *b->fx);
    if (!b->fx)
        return fail(HF_ENOMEM, img->path, NULL);
    for (size_t i = 0; i < b->n; i++)
        x86_effect_of(&b->ins->ins[i], insn_bytes(b, i), &b->fx[i]);
    narrow_call_arguments(b, name);
    read_prologue(b);
    if ((st = read_rows(b)))
        return st;
    for (size_t i = 0; i < b->n; i++)
        if (b->fx[i].call) {
            size_t *c = realloc(b->calls, (b->ncalls + 1) * sizeof *c);
            if (!c)
                return fail(HF_ENOMEM, img->path, NULL);
            b->calls = c;
            b->calls[b->ncalls++] = i;
        }
    if (b->shape)
        return HF_OK;
    for (size_t i = b->body; i < b->n; i++)
        if (b->fx[i].known && b->fx[i].dynamic) {
            b->shape = "it allocates stack space as it runs (alloca, a variable-length array)";
            return HF_OK;
        }
    if ((st = read_slots(b)))
        return st;
    return compute_liveness(b);
}

/* ------------------------------------------------------- comparisons */

typedef struct {
    body o, n;
    size_t *pair;      /* for each old call, the new call every longest alignment pairs it with (SIZE_MAX: none) */
    const char **unpaired; /* why not */
    /* Stretches between anchors: anchor k is (ao[k], an[k]); a stretch
     * runs from a start anchor to the next end anchor. */
    size_t nanchors;
    size_t *ao, *an;
} mapper;

/* Instruction j of new and i of old, branch targets aside. */
static int same_shape(mapper *m, size_t i, size_t j)
{
    const x86_insn *a = &m->o.ins->ins[i], *c = &m->n.ins->ins[j];
    if (a->branch || c->branch) {
        if (a->branch != c->branch || a->cond != c->cond || a->prefixes != c->prefixes ||
            memcmp(insn_bytes(&m->o, i), insn_bytes(&m->n, j), a->prefixes))
            return 0;
        if (a->branch == X86_CALL)
            return body_same_callee(m->n.code, j, m->o.code, i);
        return 1;
    }
    return body_same_insn(m->n.code, j, m->o.code, i);
}

/* Old call i and new call j call the same function (or the same way, for
 * calls through a register or memory). */
static int same_call(mapper *m, size_t i, size_t j)
{
    size_t a = m->o.calls[i], c = m->n.calls[j];
    return same_shape(m, a, c);
}

/* 2 (longest common subsequence of the calls): pair each old call with
 * the one new call all longest alignments give it; pairs that cross are
 * dropped. */
static hf_status align_calls(mapper *m)
{
    size_t a = m->o.ncalls, b = m->n.ncalls;
    m->pair = malloc((a + 1) * sizeof *m->pair);
    m->unpaired = calloc(a + 1, sizeof *m->unpaired);
    if (!m->pair || !m->unpaired)
        return fail(HF_ENOMEM, NULL, NULL);
    for (size_t i = 0; i < a; i++)
        m->pair[i] = SIZE_MAX;
    if ((a + 1) * (b + 1) > (1u << 24))
        return fail(HF_EARG, NULL, "too many calls to align (%zu and %zu)", a, b);
    unsigned *F = calloc((a + 1) * (b + 1), sizeof *F), *B = calloc((a + 2) * (b + 2), sizeof *B);
    unsigned char *eq = calloc((a + 1) * (b + 1), 1);
    if (!F || !B || !eq) {
        free(F);
        free(B);
        free(eq);
        return fail(HF_ENOMEM, NULL, NULL);
    }
#define AT(M, i, j, w) M[(i) * (w) + (j)]
    for (size_t i = 0; i < a; i++)
        for (size_t j = 0; j < b; j++)
            AT(eq, i, j, b + 1) = (unsigned char)same_call(m, i, j);
    for (size_t i = 1; i <= a; i++)
        for (size_t j = 1; j <= b; j++) {
            unsigned x = AT(F, i - 1, j, b + 1), y = AT(F, i, j - 1, b + 1);
            unsigned d = AT(eq, i - 1, j - 1, b + 1) ? AT(F, i - 1, j - 1, b + 1) + 1 : 0;
            AT(F, i, j, b + 1) = d > x ? (d > y ? d : y) : (x > y ? x : y);
        }
    for (size_t i = a + 1; i-- > 0;)
        for (size_t j = b + 1; j-- > 0;) {
            if (i == a || j == b) {
                AT(B, i, j, b + 2) = 0;
                continue;
            }
            unsigned x = AT(B, i + 1, j, b + 2), y = AT(B, i, j + 1, b + 2);
            unsigned d = AT(eq, i, j, b + 1) ? AT(B, i + 1, j + 1, b + 2) + 1 : 0;
            AT(B, i, j, b + 2) = d > x ? (d > y ? d : y) : (x > y ? x : y);
        }
    unsigned total = AT(F, a, b, b + 1);
    for (size_t i = 0; i < a; i++) {
        size_t found = SIZE_MAX, count = 0;
        for (size_t j = 0; j < b; j++)
            if (AT(eq, i, j, b + 1) && AT(F, i, j, b + 1) + 1 + AT(B, i + 1, j + 1, b + 2) == total) {
                found = j;
                count++;
            }
        if (count == 1)
            m->pair[i] = found;
        else
            m->unpaired[i] = count ? "it matches several calls of the new body" : "the new body has no such call";
    }
#undef AT
    free(F);
    free(B);
    free(eq);
    for (size_t i = 0; i < a; i++)
        for (size_t k = 0; k < a && m->pair[i] != SIZE_MAX; k++)
            if (k != i && m->pair[k] != SIZE_MAX && ((k < i) != (m->pair[k] < m->pair[i]))) {
                m->pair[i] = SIZE_MAX;
                m->unpaired[i] = "the calls around it are in another order in the new body";
            }
    /* Anchors: the end of the prologue, each paired call and the
     * instruction after it, the end of the function. */
    m->ao = malloc((2 * a + 2) * sizeof *m->ao);
    m->an = malloc((2 * a + 2) * sizeof *m->an);
    if (!m->ao || !m->an)
        return fail(HF_ENOMEM, NULL, NULL);
    m->ao[0] = m->o.body;
    m->an[0] = m->n.body;
    m->nanchors = 1;
    for (size_t i = 0; i < a; i++)
        if (m->pair[i] != SIZE_MAX) {
            size_t oc = m->o.calls[i], nc = m->n.calls[m->pair[i]];
            m->ao[m->nanchors] = oc;
            m->an[m->nanchors++] = nc;
            m->ao[m->nanchors] = oc + 1;
            m->an[m->nanchors++] = nc + 1;
        }
    m->ao[m->nanchors] = m->o.n;
    m->an[m->nanchors++] = m->n.n;
    return HF_OK;
}

/* The new instruction index corresponding to old index p, or -1: within
 * the stretch between two anchors, the instructions equal from its start
 * (p at most one past them) or from its end. */
static long map_index(mapper *m, size_t p)
{
    if (p < m->o.body)
        return -1;
    /* Stretch k runs from anchor 2k to 2k+1 (start, end). */
    for (size_t k = 0; k + 1 < m->nanchors; k += 2) {
        size_t s = m->ao[k], e = m->ao[k + 1], ns = m->an[k], ne = m->an[k + 1];
        if (p < s || p > e)
            continue;
        size_t x = 0;
        while (s + x < p && ns + x < ne && same_shape(m, s + x, ns + x))
            x++;
        if (s + x == p && ns + x <= ne)
            return (long)(ns + x);
        size_t y = 0;
        while (e - y > p && ne - y > ns && same_shape(m, e - y - 1, ne - y - 1))
            y++;
        if (e - y == p && ne >= y)
            return (long)(ne - y);
        return -1;
    }
    return -1;
}

/* Are old instruction i and new j the same, a branch's target included
 * (one inside the function must reach corresponding instructions)? */
static int same_insn(mapper *m, size_t i, size_t j)
{
    if (!same_shape(m, i, j))
        return 0;
    const x86_insn *a = &m->o.ins->ins[i];
    if (!a->branch || a->branch == X86_CALL)
        return 1;
    int in_o, in_n;
    uint64_t to_o, to_n;
    if (!body_branch(m->o.code, i, &in_o, &to_o) || !body_branch(m->n.code, j, &in_n, &to_n) || in_o != in_n)
        return 0;
    if (!in_o)
        return body_same_callee(m->n.code, j, m->o.code, i);
    long ko = index_at(&m->o, to_o), kn = index_at(&m->n, to_n);
    return ko >= 0 && kn >= 0 && map_index(m, (size_t)ko) == kn;
}

/* Registers that may be live where nothing of a statement is pending:
 * the stack and frame pointers, and the callee-saved registers the
 * function never saves (so never uses). */
static uint64_t quiet_registers(const body *b)
{
    uint64_t callee = X86_BIT(X86_RBX) | X86_BIT(12) | X86_BIT(13) | X86_BIT(14) | X86_BIT(15);
    return X86_BIT(X86_RSP) | X86_BIT(X86_RBP) | (callee & ~b->saved);
}

/* Nothing but locals live before instruction i. */
static int clean_at(const body *b, size_t i)
{
    if (b->live_regs[i] & ~quiet_registers(b))
        return 0;
    const unsigned char *live = &b->live[i * b->stride];
    for (size_t x = 0; x < b->stride; x++)
        if (live[x] & ~b->named[x])
            return 0;
    return 1;
}

static const char *kind_names[] = {"return", "statement"};

typedef struct {
    size_t at;         /* old instruction index */
    int kind;          /* 0: return address, 1: statement */
    long to;           /* new index, -1 */
    const char *why;
    char detail[512];
    strbuf locals;     /* JSON of the locals to compare */
    size_t from;       /* old S */
} point;

static const frame_var *var_at(const body *b, int64_t off, size_t at_insn, int scoped)
{
    const frame_var *best = NULL;
    for (size_t k = 0; k < b->dw.nvars; k++) {
        const frame_var *v = &b->dw.vars[k];
        if (!v->in_slot || off < v->slot || off >= v->slot + (int64_t)v->size)
            continue;
        if (scoped && !in_scope(&b->dw, v->scope, offset_of(b, at_insn)))
            continue;
        best = v;
    }
    return best;
}

static int in_scope_at(const body *b, const frame_var *v, size_t i)
{
    return in_scope(&b->dw, v->scope, offset_of(b, i));
}

/* 4: the locals the new code reads from new index s on, against the old
 * body's at old index so. */
static int check_locals(mapper *m, size_t so, size_t s, point *pt)
{
    body *o = &m->o, *n = &m->n;
    const unsigned char *live = &n->live[s * n->stride];
    int first = 1;
    const frame_var *done[256];
    size_t ndone = 0;
    sb_printf(&pt->locals, "[");
    for (size_t x = 0; x < n->nbytes; x++) {
        if (!bit(live, x))
            continue;
        int64_t off = (int64_t)x + n->lowest;
        const frame_var *v = var_at(n, off, s, 1);
        if (!v)
            v = var_at(n, off, s, 0);
        if (!v)
            continue; /* a saved register's slot (same prologue), or the caller's %rbp */
        int seen = 0;
        for (size_t k = 0; k < ndone; k++)
            seen |= done[k] == v;
        if (seen)
            continue;
        if (ndone < 256)
            done[ndone++] = v;
        const frame_var *w = NULL, *named = NULL;
        for (size_t k = 0; k < o->dw.nvars; k++) {
            const frame_var *c = &o->dw.vars[k];
            if (strcmp(c->name, v->name))
                continue;
            named = c;
            if (c->in_slot && c->slot == v->slot && c->size == v->size &&
                (!in_scope_at(n, v, s) || in_scope_at(o, c, so))) {
                w = c;
                break;
            }
        }
        if (!w) {
            pt->why = named ? "moved" : "new local";
            snprintf(pt->detail, sizeof pt->detail, "%s", v->name);
            return 0;
        }
        sb_printf(&pt->locals, "%s{\"name\":", first ? "" : ",");
        sb_json_string(&pt->locals, v->name);
        sb_printf(&pt->locals, ",\"old_type\":%" PRIu64 ",\"new_type\":%" PRIu64 "}", w->type, v->type);
        first = 0;
    }
    sb_printf(&pt->locals, "]");
    return 1;
}

/* 3 and 4 for one point of the old body, p (instruction index), whose
 * statement (or call's statement) starts at or before s0. */
static void map_point(mapper *m, point *pt, size_t s0)
{
    body *o = &m->o, *n = &m->n;
    size_t p = pt->at;
    long q = map_index(m, p);
    if (q < 0) {
        pt->why = "changed";
        return;
    }
    pt->to = q;
    /* The stretch must be the same from a clean boundary before the
     * point to one after it. */
    size_t s = s0;
    while (s > o->body && !o->row[s])
        s--;
    for (;;) {
        if (p - s > (size_t)q || (size_t)q - (p - s) < n->body) {
            pt->why = "changed";
            return;
        }
        size_t ns = (size_t)q - (p - s);
        if (clean_at(o, s) && clean_at(n, ns))
            break;
        if (s <= o->body) {
            pt->why = "unclean";
            return;
        }
        do
            s--;
        while (s > o->body && !o->row[s]);
    }
    pt->from = s;
    for (size_t k = s; k < p; k++)
        if (!same_insn(m, k, (size_t)q - (p - k))) {

            pt->why = "changed";
            return;
        }
    size_t e = p, ne = (size_t)q;
    int need_one = pt->kind == 1;
    for (;;) {
        if (e == o->n) {
            if (ne != n->n) {
                pt->why = "changed";
                return;
            }
            break;
        }
        if (o->row[e] && !need_one && ne < n->n && clean_at(o, e) && clean_at(n, ne))
            break;
        if (ne >= n->n || !same_insn(m, e, ne)) {
            pt->why = "changed";
            return;
        }
        need_one = 0;
        e++;
        ne++;
    }
    if (!check_locals(m, s, (size_t)q - (p - s), pt))
        pt->to = -1;
}

/* 1: the frames must be alike. */
static const char *compare_frames(mapper *m, char *detail, size_t cap)
{
    body *o = &m->o, *n = &m->n;
    if (o->shape)
        return o->shape;
    if (n->shape) {
        snprintf(detail, cap, "the new body: %s", n->shape);
        return detail;
    }
    if (o->dw.frame_base != n->dw.frame_base ||
        (o->dw.frame_base != FRAME_BASE_CFA && o->dw.frame_base != FRAME_BASE_RBP))
        return "its frame base is not one hotfix knows, or it changed";
    if (o->dw.inlined || n->dw.inlined)
        return "code of another function is inlined into it";
    for (int side = 0; side < 2; side++) {
        body *b = side ? n : o;
        for (size_t k = 0; k < b->dw.nvars; k++)
            if (!b->dw.vars[k].in_slot) {
                snprintf(detail, cap, "the local `%s' is not in a frame slot%s (optimised code?)", b->dw.vars[k].name,
                         side ? " in the new body" : "");
                return detail;
            }
    }
    if (o->frame != n->frame) {
        snprintf(detail, cap, "its frame is %" PRId64 " bytes in the old body and %" PRId64 " in the new",
                 o->frame + 16, n->frame + 16);
        return detail;
    }
    if (o->body - o->prologue_from != n->body - n->prologue_from || o->saved != n->saved)
        return "its prologue changed";
    for (size_t k = 0; k < o->body - o->prologue_from; k++)
        if (!same_insn(m, o->prologue_from + k, n->prologue_from + k))
            return "its prologue changed";
    /* A local whose address the old code took may be reached through a
     * pointer later: its bytes must hold the same local in the new frame. */
    for (size_t k = 0; k < o->dw.nvars; k++) {
        const frame_var *v = &o->dw.vars[k];
        int escaped = 0;
        for (int64_t x = v->slot; x < v->slot + (int64_t)v->size && !escaped; x++)
            escaped = x >= o->lowest && x < o->highest && bit(o->escaped, (size_t)(x - o->lowest));
        if (!escaped)
            continue;
        for (size_t j = 0; j < n->dw.nvars; j++) {
            const frame_var *w = &n->dw.vars[j];
            int overlap = w->slot < v->slot + (int64_t)v->size && v->slot < w->slot + (int64_t)w->size;
            if (overlap && (strcmp(w->name, v->name) || w->slot != v->slot || w->size != v->size)) {
                snprintf(detail, cap, "the old code takes the address of `%s', whose place holds `%s' in the new frame",
                         v->name, w->name);
                return detail;
            }
        }
    }
    return NULL;
}

static void explain(const mapper *m, const point *pt, char *out, size_t cap)
{
    const body *o = &m->o;
    /* A return address: the line of its call. */
    size_t at = pt->kind == 0 ? pt->at - 1 : pt->at;
    uint32_t line = o->line[at < o->n ? at : o->n - 1];
    if (!strcmp(pt->why, "changed"))
        snprintf(out, cap, "the code at line %u, where it stands, changed", line);
    else if (!strcmp(pt->why, "unclean"))
        snprintf(out, cap, "it stands inside a statement at line %u whose values hotfix cannot carry over", line);
    else if (!strcmp(pt->why, "new local"))
        snprintf(out, cap, "a local `%s' is live at line %u in the new body but not in the old", pt->detail, line);
    else if (!strcmp(pt->why, "moved"))
        snprintf(out, cap, "the local `%s' has another place or size in the new frame", pt->detail);
    else
        snprintf(out, cap, "%s", pt->why);
}

static void emit_point(strbuf *sb, const mapper *m, point *pt, int first)
{
    const body *o = &m->o, *n = &m->n;
    size_t at = pt->kind == 0 ? pt->at - 1 : pt->at; /* a return address: the line of its call */
    sb_printf(sb, "%s{\"at\":%" PRIu64 ",\"kind\":\"%s\",\"line\":%u", first ? "" : ",", offset_of(o, pt->at),
              kind_names[pt->kind], o->line[at < o->n ? at : o->n - 1]);
    if (pt->to >= 0 && !pt->why) {
        size_t to = pt->kind == 0 ? (size_t)pt->to - 1 : (size_t)pt->to;
        sb_printf(sb, ",\"to\":%" PRIu64 ",\"to_line\":%u,\"locals\":%s", offset_of(n, (size_t)pt->to),
                  n->line[to < n->n ? to : n->n - 1], pt->locals.buf ? pt->locals.buf : "[]");
    } else {
        char why[700];
        explain(m, pt, why, sizeof why);
        sb_printf(sb, ",\"to\":-1,\"why\":");
        sb_json_string(sb, why);
    }
    sb_printf(sb, "}");
}

hf_status hf_frame_map_json(hf_image *old, int64_t old_cu, const char *old_function, hf_image *newobj,
                            int64_t new_cu, const char *new_function, char **out)
{
    if (!old || !newobj || !old_function || !new_function || newobj->eh.e_type != ET_REL)
        return fail(HF_EARG, newobj ? newobj->path : NULL, "the new body must be an object's function");
    mapper m;
    memset(&m, 0, sizeof m);
    strbuf sb = {0};
    hf_status st = open_body(&m.o, old, old_cu, old_function);
    if (!st)
        st = open_body(&m.n, newobj, new_cu, new_function);
    char detail[600];
    const char *refused = NULL;
    if (!st) {
        refused = compare_frames(&m, detail, sizeof detail);
        if (!refused)
            st = align_calls(&m);
    }
    if (st)
        goto out;
    sb_printf(&sb, "{\"frame\":%" PRId64 ",\"refused\":", m.o.frame + 16);
    sb_json_string(&sb, refused ? refused : "");
    sb_printf(&sb, ",\"points\":[");
    int first = 1;
    if (!refused) {
        for (size_t c = 0; c < m.o.ncalls; c++) {
            point pt = {.at = m.o.calls[c] + 1, .kind = 0, .to = -1};
            if (m.pair[c] == SIZE_MAX) {
                char why[300];
                snprintf(why, sizeof why, "the call at line %u: %s", m.o.line[m.o.calls[c]], m.unpaired[c]);
                pt.why = why;
                emit_point(&sb, &m, &pt, first);
            } else {
                map_point(&m, &pt, m.o.calls[c]);
                emit_point(&sb, &m, &pt, first);
            }
            free(pt.locals.buf);
            first = 0;
        }
        for (size_t i = m.o.body; i < m.o.n; i++) {
            if (!m.o.row[i])
                continue;
            point pt = {.at = i, .kind = 1, .to = -1};
            map_point(&m, &pt, i);
            emit_point(&sb, &m, &pt, first);
            free(pt.locals.buf);
            first = 0;
        }
    }
    sb_printf(&sb, "]}");
out:
    free(m.pair);
    free(m.unpaired);
    free(m.ao);
    free(m.an);
    body_free(&m.o);
    body_free(&m.n);
    if (st) {
        free(sb.buf);
        return st;
    }
    return sb_finish(&sb, out, old->path);
}
