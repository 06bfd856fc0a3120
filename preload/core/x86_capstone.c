/* x86_capstone.c: the trampoline builder's instruction decoder over libcapstone 4 (x86-64); the
 * caller passes capstone's entry points, so nothing here links or loads the library. */
#include <capstone/capstone.h>
#include <string.h>

#include "trampoline.h"

int ap_cs_decoder_open(struct ap_cs_decoder *d)
{
	csh h = 0;

	if (!d->api.cs_open || !d->api.cs_option || !d->api.cs_malloc || !d->api.cs_disasm_iter ||
	    !d->api.cs_free || !d->api.cs_close)
		return -1;
	if (d->api.cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -1;
	d->handle = h;
	if (d->api.cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK ||
	    !(d->insn = d->api.cs_malloc(h))) {
		d->api.cs_close(&d->handle);
		d->insn = NULL;
		return -1;
	}
	return 0;
}

void ap_cs_decoder_close(struct ap_cs_decoder *d)
{
	if (d->insn)
		d->api.cs_free(d->insn, 1);
	d->insn = NULL;
	if (d->handle)
		d->api.cs_close(&d->handle);
	d->handle = 0;
}

static int in_group(const cs_detail *det, int g)
{
	for (int i = 0; i < det->groups_count; i++)
		if (det->groups[i] == g)
			return 1;
	return 0;
}

/* Condition code of a jcc from its bytes (legacy prefixes such as branch hints skipped). */
static int jcc_cc(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == 0x2e || p[i] == 0x3e || p[i] == 0xf2 || p[i] == 0xf3))
		i++;
	if (i < n && p[i] >= 0x70 && p[i] <= 0x7f)
		return p[i] & 15;
	if (i + 1 < n && p[i] == 0x0f && p[i + 1] >= 0x80 && p[i + 1] <= 0x8f)
		return p[i + 1] & 15;
	return -1;
}

int ap_cs_decode(void *ctx, const uint8_t *code, size_t avail, uint64_t addr, struct ap_insn *out)
{
	struct ap_cs_decoder *d = ctx;
	cs_insn *insn = d->insn;
	const cs_x86 *x;
	const uint8_t *p = code;
	size_t size = avail < 16 ? avail : 16;
	uint64_t a = addr;
	int rel;

	memset(out, 0, sizeof(*out));
	if (!insn || !d->api.cs_disasm_iter(d->handle, &p, &size, &a, insn))
		return -1;
	out->len = (uint8_t)insn->size;
	x = &insn->detail->x86;
	for (int i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP)
			out->rip_disp_off = x->encoding.disp_offset;
	rel = in_group(insn->detail, CS_GRP_BRANCH_RELATIVE);
	if (rel && x->op_count >= 1 && x->operands[0].type == X86_OP_IMM)
		out->target = (uint64_t)x->operands[0].imm;
	switch (insn->id) {
	case X86_INS_JMP:
		out->kind = rel ? AP_INSN_JMP : AP_INSN_END;
		return 0;
	case X86_INS_CALL:
		out->kind = rel ? AP_INSN_CALL : AP_INSN_PLAIN;
		return 0;
	case X86_INS_RET:
	case X86_INS_RETF:
	case X86_INS_RETFQ:
	case X86_INS_IRET:
	case X86_INS_IRETD:
	case X86_INS_IRETQ:
	case X86_INS_LJMP:
	case X86_INS_INT3:
	case X86_INS_UD2:
	case X86_INS_HLT:
		out->kind = AP_INSN_END;
		return 0;
	case X86_INS_JCXZ:
	case X86_INS_JECXZ:
	case X86_INS_JRCXZ:
	case X86_INS_LOOP:
	case X86_INS_LOOPE:
	case X86_INS_LOOPNE:
	case X86_INS_XBEGIN:
		out->kind = AP_INSN_OTHER_REL;
		return 0;
	default:
		break;
	}
	if (rel || in_group(insn->detail, CS_GRP_JUMP)) {
		int cc = jcc_cc(code, out->len);
		out->kind = rel && cc >= 0 ? AP_INSN_JCC : AP_INSN_OTHER_REL;
		out->cc = cc >= 0 ? (uint8_t)cc : 0;
	}
	return 0;
}
