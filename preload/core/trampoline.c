/* trampoline.c: builds x86-64 trampolines that run a function's displaced first instructions
 * elsewhere and continue in the original, refusing prologues that cannot be moved safely. */
#include <string.h>

#include "trampoline.h"

static int fits_rel32(int64_t d)
{
	return d >= INT32_MIN && d <= INT32_MAX;
}

static void put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

void ap_tramp_abs_jump(uint8_t *out, uint64_t to)
{
	static const uint8_t jmp_rip0[6] = {0xff, 0x25, 0, 0, 0, 0}; /* jmp [rip+0] */

	memcpy(out, jmp_rip0, sizeof(jmp_rip0));
	memcpy(out + 6, &to, 8);
}

int ap_tramp_entry_patch(uint8_t *out, size_t window, uint64_t from, uint64_t to, size_t patch_len)
{
	if (window < patch_len)
		return -1;
	memset(out, 0xcc, window); /* int3: nothing branches here (checked by the builder) */
	if (patch_len == AP_PATCH_REL32) {
		int64_t d = (int64_t)(to - (from + 5));
		if (!fits_rel32(d))
			return -1;
		out[0] = 0xe9;
		put32(out + 1, (int32_t)d);
		return 0;
	}
	if (patch_len != AP_PATCH_ABS64)
		return -1;
	ap_tramp_abs_jump(out, to);
	return 0;
}

const char *ap_tramp_status_text(int status)
{
	switch (status) {
	case AP_TR_OK:
		return "ok";
	case AP_TR_DECODE:
		return "an instruction in the prologue cannot be decoded";
	case AP_TR_FUNCTION_END:
		return "the function ends inside the bytes the patch needs";
	case AP_TR_BRANCH_INTO:
		return "a branch targets the bytes the patch overwrites";
	case AP_TR_RIP_RANGE:
		return "a RIP-relative operand is out of the trampoline's reach";
	case AP_TR_UNSUPPORTED_REL:
		return "the prologue holds a loop/jrcxz/xbegin that cannot be relocated";
	case AP_TR_TOO_LONG:
		return "the relocated prologue does not fit the trampoline";
	case AP_TR_BAD_REQUEST:
		return "not enough readable bytes at the entry";
	case AP_TR_UNSUPPORTED_ARCH:
		return "inline hooks are implemented for x86-64 only";
	}
	return "unknown";
}

/* Emit a jump from tramp address `at` to `to`: rel32 when in reach, else absolute. */
static size_t emit_jmp(uint8_t *p, uint64_t at, uint64_t to)
{
	int64_t d = (int64_t)(to - (at + 5));

	if (fits_rel32(d)) {
		p[0] = 0xe9;
		put32(p + 1, (int32_t)d);
		return 5;
	}
	ap_tramp_abs_jump(p, to);
	return AP_PATCH_ABS64;
}

/* Worst case bytes one relocated instruction can take. */
#define RELOC_MAX 24

static size_t emit_insn(uint8_t *p, uint64_t at, const uint8_t *src, uint64_t src_addr,
			const struct ap_insn *in, int *status)
{
	int64_t d;

	switch (in->kind) {
	case AP_INSN_JMP:
		return emit_jmp(p, at, in->target);
	case AP_INSN_JCC:
		d = (int64_t)(in->target - (at + 6));
		if (fits_rel32(d)) {
			p[0] = 0x0f;
			p[1] = (uint8_t)(0x80 | (in->cc & 15));
			put32(p + 2, (int32_t)d);
			return 6;
		}
		/* inverted short jcc over an absolute jump */
		p[0] = (uint8_t)(0x70 | ((in->cc & 15) ^ 1));
		p[1] = AP_PATCH_ABS64;
		ap_tramp_abs_jump(p + 2, in->target);
		return 2 + AP_PATCH_ABS64;
	case AP_INSN_CALL:
		d = (int64_t)(in->target - (at + 5));
		if (fits_rel32(d)) {
			p[0] = 0xe8;
			put32(p + 1, (int32_t)d);
			return 5;
		}
		/* call [rip+2]; jmp +8; .quad target */
		p[0] = 0xff;
		p[1] = 0x15;
		put32(p + 2, 2);
		p[6] = 0xeb;
		p[7] = 8;
		memcpy(p + 8, &in->target, 8);
		return 16;
	default:
		memcpy(p, src, in->len);
		if (in->rip_disp_off) {
			int32_t old;
			uint64_t abs;
			memcpy(&old, src + in->rip_disp_off, 4);
			abs = src_addr + in->len + (uint64_t)(int64_t)old;
			d = (int64_t)(abs - (at + in->len));
			if (!fits_rel32(d)) {
				*status = AP_TR_RIP_RANGE;
				return 0;
			}
			put32(p + in->rip_disp_off, (int32_t)d);
		}
		return in->len;
	}
}

static int in_window(uint64_t t, uint64_t start, size_t window)
{
	return t > start && t < start + window;
}

/* Linear sweep over the rest of the function: a relative branch back into the window (a loop
 * head in the first bytes) makes the patch unsafe. Stops at the first undecodable byte. */
static int branches_back(const struct ap_tramp_req *req, size_t window)
{
	size_t off = window, end = req->body_len < req->code_len ? req->body_len : req->code_len;
	struct ap_insn in;

	while (off < end) {
		if (req->decode(req->decode_ctx, req->code + off, end - off, req->addr + off,
				&in) ||
		    !in.len)
			return 0;
		if ((in.kind == AP_INSN_JMP || in.kind == AP_INSN_JCC || in.kind == AP_INSN_CALL ||
		     in.kind == AP_INSN_OTHER_REL) &&
		    in_window(in.target, req->addr, window))
			return 1;
		off += in.len;
	}
	return 0;
}

int ap_tramp_build(const struct ap_tramp_req *req, struct ap_tramp *out)
{
	struct ap_insn ins[AP_PATCH_ABS64];
	size_t n = 0, window = 0, len = 0;
	int status = AP_TR_OK, ends = 0;

	memset(out, 0, sizeof(*out));
#if !defined(__x86_64__)
	(void)ins;
	return AP_TR_UNSUPPORTED_ARCH;
#endif
	if (!req->code || !req->decode ||
	    (req->patch_len != AP_PATCH_REL32 && req->patch_len != AP_PATCH_ABS64))
		return AP_TR_BAD_REQUEST;
	/* 1. decode whole instructions until the patch fits */
	while (window < req->patch_len) {
		struct ap_insn *in = &ins[n];
		if (window >= req->code_len)
			return AP_TR_BAD_REQUEST;
		if (req->decode(req->decode_ctx, req->code + window, req->code_len - window,
				req->addr + window, in) ||
		    !in->len)
			return AP_TR_DECODE;
		if (in->kind == AP_INSN_OTHER_REL)
			return AP_TR_UNSUPPORTED_REL;
		window += in->len;
		n++;
		if (in->kind == AP_INSN_END || in->kind == AP_INSN_JMP) {
			if (window < req->patch_len)
				return AP_TR_FUNCTION_END;
			ends = 1;
		}
	}
	if (window > req->code_len)
		return AP_TR_BAD_REQUEST;
	/* 2. no branch may land inside the overwritten bytes */
	for (size_t i = 0; i < n; i++)
		if (ins[i].kind != AP_INSN_PLAIN && ins[i].kind != AP_INSN_END &&
		    (in_window(ins[i].target, req->addr, window) || ins[i].target == req->addr))
			return AP_TR_BRANCH_INTO;
	if (req->body_len && branches_back(req, window))
		return AP_TR_BRANCH_INTO;
	/* 3. relocate, then jump back behind the window */
	for (size_t i = 0, off = 0; i < n; off += ins[i].len, i++) {
		if (len + RELOC_MAX > AP_TRAMP_MAX)
			return AP_TR_TOO_LONG;
		len += emit_insn(out->code + len, req->tramp_addr + len, req->code + off,
				 req->addr + off, &ins[i], &status);
		if (status != AP_TR_OK)
			return status;
	}
	if (!ends) {
		if (len + AP_PATCH_ABS64 > AP_TRAMP_MAX)
			return AP_TR_TOO_LONG;
		len += emit_jmp(out->code + len, req->tramp_addr + len, req->addr + window);
	}
	out->len = len;
	out->window = window;
	return AP_TR_OK;
}
