/* trampoline.h: x86-64 inline-hook trampolines: relocate a function's first instructions, or
 * say why that cannot be done safely. */
#ifndef AGENTPROF_TRAMPOLINE_H
#define AGENTPROF_TRAMPOLINE_H

#include <stddef.h>
#include <stdint.h>

/* What the builder needs to know about one instruction. */
enum ap_insn_kind {
	AP_INSN_PLAIN = 0,     /* falls through; may carry a RIP-relative disp32 */
	AP_INSN_JMP = 1,       /* jmp rel8/rel32 */
	AP_INSN_JCC = 2,       /* jcc rel8/rel32; cc holds the condition (0..15) */
	AP_INSN_CALL = 3,      /* call rel32 */
	AP_INSN_END = 4,       /* does not fall through: ret, indirect jmp, int3, ud2, hlt */
	AP_INSN_OTHER_REL = 5, /* another relative form (loop, jrcxz, xbegin): not relocated */
};

struct ap_insn {
	uint8_t len;
	uint8_t kind;	      /* enum ap_insn_kind */
	uint8_t cc;	      /* AP_INSN_JCC: condition code */
	uint8_t rip_disp_off; /* offset of a RIP-relative disp32 inside the instruction, 0 if none
			       */
	uint64_t target;      /* relative branch target (absolute address) */
};

/* A decoder: fills *out for the instruction at code (runtime address addr, avail bytes
 * readable); returns 0, or -1 for bytes that are not a valid instruction. */
typedef int (*ap_decode_fn)(void *ctx, const uint8_t *code, size_t avail, uint64_t addr,
			    struct ap_insn *out);

enum ap_tramp_status {
	AP_TR_OK = 0,
	AP_TR_DECODE = 1,	    /* an undecodable instruction in the window */
	AP_TR_FUNCTION_END = 2,	    /* the function returns or jumps away inside the window */
	AP_TR_BRANCH_INTO = 3,	    /* a relative branch targets the patched window */
	AP_TR_RIP_RANGE = 4,	    /* a RIP-relative operand is out of the trampoline's reach */
	AP_TR_UNSUPPORTED_REL = 5,  /* loop/jrcxz/xbegin in the window */
	AP_TR_TOO_LONG = 6,	    /* relocated code does not fit the trampoline */
	AP_TR_BAD_REQUEST = 7,	    /* window larger than the readable bytes, bad patch size */
	AP_TR_UNSUPPORTED_ARCH = 8, /* not x86-64 */
};

/* The shortest entry patches: jmp rel32 (needs the stub within +-2 GB) or jmp [rip+0];.quad. */
#define AP_PATCH_REL32 5
#define AP_PATCH_ABS64 14
#define AP_TRAMP_MAX   128

struct ap_tramp_req {
	const uint8_t *code; /* the function's bytes from its entry */
	size_t code_len;     /* readable bytes at code (at least the window) */
	size_t body_len;     /* the function's size (symbol size), 0 if unknown: scanned for
				branches back into the window */
	uint64_t addr;	     /* runtime address of code[0] */
	uint64_t tramp_addr; /* where the trampoline will be placed */
	size_t patch_len;    /* AP_PATCH_REL32 or AP_PATCH_ABS64 */
	ap_decode_fn decode;
	void *decode_ctx;
};

struct ap_tramp {
	uint8_t code[AP_TRAMP_MAX]; /* relocated window + jump back; copy to tramp_addr */
	size_t len;
	size_t window; /* bytes displaced from the entry (>= patch_len) */
};

/* Build the trampoline for req into *out. Returns AP_TR_OK or the refusal reason. */
int ap_tramp_build(const struct ap_tramp_req *req, struct ap_tramp *out);
/* A short human sentence for a status. */
const char *ap_tramp_status_text(int status);
/* Write the entry patch (window bytes: a jump from `from` to `to`, int3 padding). patch_len
 * AP_PATCH_REL32 needs `to` within rel32 reach. Returns 0, or -1 if it does not fit. */
int ap_tramp_entry_patch(uint8_t *out, size_t window, uint64_t from, uint64_t to, size_t patch_len);
/* An absolute jump (jmp [rip+0]; .quad to) into out (AP_PATCH_ABS64 bytes). */
void ap_tramp_abs_jump(uint8_t *out, uint64_t to);

/*
 * The decoder over capstone (libcapstone 4, x86-64). The caller supplies capstone's entry
 * points (the preload dlopen()s the library privately); ctx is a struct ap_cs_decoder.
 */
struct ap_cs_api {
	int (*cs_open)(int arch, int mode, size_t *handle);
	int (*cs_option)(size_t handle, int type, size_t value);
	void *(*cs_malloc)(size_t handle);
	_Bool (*cs_disasm_iter)(size_t handle, const uint8_t **code, size_t *size, uint64_t *addr,
				void *insn);
	void (*cs_free)(void *insn, size_t count);
	int (*cs_close)(size_t *handle);
};
struct ap_cs_decoder {
	struct ap_cs_api api;
	size_t handle;
	void *insn; /* one cs_insn from cs_malloc */
};
/* Open capstone for x86-64 with details on. 0, or -1 if it cannot be opened. */
int ap_cs_decoder_open(struct ap_cs_decoder *d);
void ap_cs_decoder_close(struct ap_cs_decoder *d);
int ap_cs_decode(void *ctx, const uint8_t *code, size_t avail, uint64_t addr, struct ap_insn *out);

#endif
