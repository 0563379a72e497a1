/* libhotfix: the ELF- and machine-level work of hotfix.
 *
 * Called from Python through ctypes (hotfix/native.py).  Every function
 * returns an hf_status; on failure hf_error_detail() says which file and
 * what libelf reported.  Nothing here prints or exits.  Results that are
 * lists are returned as JSON text allocated with malloc: release them with
 * hf_free().
 */
#ifndef HOTFIX_NATIVE_H
#define HOTFIX_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#define HF_ABI_VERSION 10

/* One table for every error: code, then the sentence hf_strerror gives. */
#define HF_ERRORS(X)                                                   \
    X(HF_OK, "no error")                                               \
    X(HF_EOPEN, "cannot open the file")                                \
    X(HF_EELF, "not a readable ELF file")                              \
    X(HF_ENOSYMTAB, "the file has no symbol table (is it stripped?)")  \
    X(HF_EMACHINE, "unsupported machine (hotfix supports x86-64 and AArch64)")\
    X(HF_ENOMEM, "out of memory")                                      \
    X(HF_EARG, "bad argument")                                         \
    X(HF_ERANGE, "the jump target is out of reach of this jump kind")  \
    X(HF_ESPACE, "the buffer is too small")                           \
    X(HF_EDWARF, "unreadable DWARF")

typedef enum {
#define HF_ENUM(code, text) code,
    HF_ERRORS(HF_ENUM)
#undef HF_ENUM
    HF_NERRORS
} hf_status;

/* Jump kinds, smallest first is NOT the order of preference: the caller
 * picks the kind that fits the room it has. */
typedef enum {
    HF_JUMP_ABS14 = 1, /* jmp *0(%rip); .quad target   (14 bytes, clobbers nothing) */
    HF_JUMP_R11 = 2,   /* movabs $target,%r11; jmp *%r11 (13 bytes, r11 is scratch) */
    HF_JUMP_REL32 = 3, /* jmp rel32                      (5 bytes, target within 2 GiB) */
    HF_JUMP_SELF = 4,  /* jmp .  (2 bytes): holds a thread at a function's entry */
    /* AArch64 (instructions are 4 bytes, little-endian) */
    HF_JUMP_A64_LDR = 5,  /* ldr x16, #8; br x16; .quad target (16 bytes, x16 is the
                             intra-procedure-call scratch register; br x16 may land on bti c) */
    HF_JUMP_A64_B = 6,    /* b imm26                      (4 bytes, target within 128 MiB) */
    HF_JUMP_A64_SELF = 7, /* b .  (4 bytes): the gate */
} hf_jump_kind;

typedef struct hf_image hf_image;

int hf_abi_version(void);
const char *hf_strerror(int status);
/* The last failure of this thread, with the file name and libelf's text. */
const char *hf_error_detail(void);
void hf_free(void *p);

hf_status hf_open(const char *path, hf_image **out);
void hf_close(hf_image *img);

/* Defined symbols as a JSON array of objects:
 *   {"name", "value", "size", "type": "func"|"object"|"tls"|"notype",
 *    "bind": "local"|"global"|"weak", "section", "writable": bool,
 *    "file": STT_FILE group of a local symbol or "", "room": bytes from the
 *    symbol to the next symbol or the end of its section (functions only)}
 * plus "got" (the address of _GLOBAL_OFFSET_TABLE_ or 0), "dynamic" (has a
 * dynamic section: false for a static executable) and the names of
 * undefined global symbols, and the section names, in the enclosing object:
 *   {the fields of hf_header_json, "got": N, "symbols": [...],
 *    "sections": [...], "undefined": [...]} */
hf_status hf_symbols_json(hf_image *img, char **out);

/* Only what a link asks of an object, as hf_symbols_json gives it:
 *   {"sections": [...], "undefined": [...]} */
hf_status hf_link_json(hf_image *img, char **out);

/* The file's kind without its symbols: {"type": "rel"|"dyn"|"exec",
 * "machine", "dynamic": has a .dynamic section, "entry": e_entry,
 * "dynamic_address": the .dynamic section's address (0 if none)}. */
hf_status hf_header_json(hf_image *img, char **out);

/* Which functions of an object compiled with -ffunction-sections differ
 * from the baseline.  The baseline is either another such object
 * (base_funcs == NULL) or a linked image, in which case base_funcs lists the
 * unit's functions there, one "NAME ADDRESS SIZE\n" per line (link-time
 * addresses, hexadecimal).  JSON result:
 *   {"functions": [{"name", "status": "same"|"lines"|"changed"|"new", "why",
 *                   "at": offset of the first difference, "size",
 *                   "refs": [names of functions it references]}],
 *    "removed": [names in the baseline only]}
 * "lines": the same code but for 32-bit immediates that are the line
 * numbers of the same place in the two line tables (__LINE__ after an edit
 * that moved lines).  A caller that knows only "same" and "changed" may
 * take it for "same". */
hf_status hf_diff_json(hf_image *newobj, hf_image *base, const char *base_funcs,
                       char **out);

/* The places in a linked patch where it refers to code or data, for
 * rebinding after load.  JSON array of
 *   {"at": address of the field, "kind": "gotoff64"|"got64"|"pltoff64"|"abs64"|
 *    "pc32"|"gotpcrel"|"unhandled",
 *    "sym": symbol name or "", "target": address it refers to, or for got64
 *    and gotpcrel the address of the GOT slot, or 0 when only the symbol is
 *    known, "pc": for pc32 and gotpcrel the end of the instruction (what the
 *    field is relative to), "branch": true for a call's or jump's field,
 *    "type": the relocation's}
 * x86-64 (linked with --emit-relocs): the code's 64-bit GOT-relative
 * immediates and GOT slots (built with -mcmodel=large), the 32-bit
 * PC-relative operands and calls of its functions (built -fPIC with the
 * small model, loaded within 2 GiB of the program: near.py), pointers in
 * data.  AArch64 (built
 * with -fPIC, every reference to data or to a function's address through
 * the GOT): every 64-bit address the dynamic loader writes (GOT and PLT
 * slots, pointers in data), as abs64 sites. */
hf_status hf_sites_json(hf_image *so, char **out);

/* The sites of hf_sites_json that matter once the patch is loaded and only
 * its new code is reached (x86-64; AArch64: every site): those in the
 * patch's parts (sized functions and objects) that the roots (names, one
 * per line: the changed and new functions) reach, and in no part at all.
 * A part reaches what its relocations refer to, except a function named
 * in bound (one per line: those of the program's, to which hotfix points
 * every 64-bit site) through such a site, and the program's own symbols.
 * The patch's copies of unchanged functions are never executed: every
 * reference new code makes to them is pointed at the program's originals.
 * Of the other sites, one per object of the patch they refer to (and one
 * per program symbol, an absolute symbol of the link, referred to by a
 * kind of relocation hotfix cannot rebind) comes with "unreached": true
 * (what the unit shares with the program is said of the whole unit;
 * those are not rebound). */
hf_status hf_live_sites_json(hf_image *so, const char *roots, const char *bound, char **out);

/* The functions of a linked x86-64 image whose code refers to an address
 * in [lo, hi) (link-time addresses): a RIP-relative operand, or an
 * absolute displacement or immediate (a program not linked as PIE).  JSON
 * array of {"name", "value", "undecoded"}; "undecoded": the function has
 * bytes the decoder cannot read, and is listed as a user to be safe. */
hf_status hf_users_json(hf_image *img, uint64_t lo, uint64_t hi, char **out);

/* The files each line program of .debug_line names (a unit's source and
 * every header it includes), as JSON: {"OFFSET": ["dir/name", ...], ...}
 * keyed by the program's offset (a unit's DW_AT_stmt_list).  A relative
 * path is relative to the unit's DW_AT_comp_dir.  Versions 2 to 5. */
hf_status hf_line_files_json(hf_image *img, char **out);

/* The compile units of .debug_info, from their first DIE:
 * {"debug_info": bool, "units": [{"offset", "split", "name", "comp_dir",
 *   "producer", "stmt_list" (-1 if none), "ranges": [[lo, hi], ...]}, ...]}.
 * "split": a -gsplit-dwarf skeleton, its DIEs in a .dwo file (and its name
 * "" unless the skeleton has one).
 * Addresses are as stored (not relocated). */
hf_status hf_units_json(hf_image *img, char **out);

/* Every DIE of the compile unit whose header is at cu_offset in
 * .debug_info, in order, as a JSON list of {"o": offset, "t": tag, "p":
 * index of the parent in the list (-1 for the unit's DIE)} with, where
 * present: "n" name, "l" linkage name, "s" byte size, "a" fixed address (a
 * location that is DW_OP_addr or DW_OP_addrx alone), "e" external, "d"
 * declaration, "sp"/"ao"/"ty" the offset a specification, abstract origin
 * or type refers to (-1: elsewhere, in a type unit or a dwz file), "m" member offset, "b" bit size, "v" vtable slot, "c"
 * count and "u" upper bound of a subrange, "en" a base type's encoding
 * (DW_ATE_*), "bo" a bit-field's DW_AT_data_bit_offset and "bx" its
 * DW_AT_bit_offset (DWARF 2 to 4).  Labels, enumerators and call sites are
 * left out with what lies below them, and so are formal parameters unless
 * flags has HF_DIES_PARAMETERS (then each has "ty" only, and "ar" if it is
 * artificial: C++'s `this'). */
#define HF_DIES_PARAMETERS 1u
hf_status hf_unit_dies_json(hf_image *img, uint64_t cu_offset, unsigned flags, char **out);

/* Where a frame running the old body of a function can go on in its new
 * body (x86-64 code built at -O0; see frames.c).  The old body is
 * old_function of `old`: "NAME ADDRESS SIZE" (hexadecimal, link-time) in
 * a linked image, or "NAME" in an object; the new body is new_function
 * ("NAME") of the object newobj.  old_cu and new_cu are the offsets of
 * their compile units in .debug_info (-1: the first).  JSON result:
 *   {"frame": bytes of the old frame, "refused": why no frame of it can
 *    move ("" if frames may), "points": [{"at": offset in the old body,
 *    "kind": "return" (a return address) | "statement" (a statement's
 *    first instruction), "line", and either "to": the offset in the new
 *    body, "to_line", "locals": [{"name", "old_type", "new_type"}] (the
 *    locals read from there on, with the .debug_info offsets of their
 *    types, for the caller to compare), or "to": -1 and "why"}]} */
hf_status hf_frame_map_json(hf_image *old, int64_t old_cu, const char *old_function, hf_image *newobj,
                            int64_t new_cu, const char *new_function, char **out);

/* The function `function` of the x86-64 object obj laid out at address
 * base, with the read-only sections it refers to, as a linker would (see
 * place.c): the code frames moved into its new body run.  Asked first
 * with addresses NULL (base may be 0):
 *   {"size": bytes needed at most, "entry": the function's offset in its
 *    section, "error": why it cannot be placed ("" if it can),
 *    "needs": [{"name", "function": bool, "required": bool}], "sections"}
 * names its code refers to (required) and the object's variables (for a
 * debugger to show); then with addresses, one "NAME ADDRESS\n"
 * (hexadecimal) per name:
 *   {"size", "entry", "bytes": the layout in hexadecimal, "sections":
 *    [{"name", "address"}] where each section placed lies}
 * A call of something beyond 2 GiB goes through a jump slot after the
 * code; a reference to data out of reach is an error. */
hf_status hf_place_json(hf_image *obj, const char *function, uint64_t base, const char *addresses, char **out);

/* Encode a jump from `from` to `to` into buf; *len gets its length. */
hf_status hf_encode_jump(int kind, uint64_t from, uint64_t to, unsigned char *buf,
                         size_t cap, size_t *len);
/* The length of a jump kind, or 0 for an unknown kind. */
size_t hf_jump_size(int kind);

/* Decode a jump hotfix writes for machine (EM_X86_64 or EM_AARCH64), found
 * at address `at`: its kind (0 if the bytes are not one) and its target. */
hf_status hf_decode_jump(int machine, const unsigned char *buf, size_t len, uint64_t at, int *kind,
                         uint64_t *target);

#endif
