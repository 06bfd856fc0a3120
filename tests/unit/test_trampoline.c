/* test_trampoline.c: the trampoline builder on real x86-64 prologues (decoded by capstone), its
 * refusals, and trampolines executed in this process behind patched functions. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trampoline.h"
#include "unit.h"

static struct ap_cs_decoder dec;

static int load_capstone(void)
{
	void *h = dlopen("libcapstone.so.4", RTLD_LOCAL | RTLD_NOW);

	if (!h)
		return -1;
	*(void **)&dec.api.cs_open = dlsym(h, "cs_open");
	*(void **)&dec.api.cs_option = dlsym(h, "cs_option");
	*(void **)&dec.api.cs_malloc = dlsym(h, "cs_malloc");
	*(void **)&dec.api.cs_disasm_iter = dlsym(h, "cs_disasm_iter");
	*(void **)&dec.api.cs_free = dlsym(h, "cs_free");
	*(void **)&dec.api.cs_close = dlsym(h, "cs_close");
	return ap_cs_decoder_open(&dec);
}

static size_t unhex(const char *hx, uint8_t *out)
{
	size_t n = 0;

	for (; hx[0] && hx[1]; hx += 2)
		out[n++] = (uint8_t)strtoul((char[3]){hx[0], hx[1], 0}, NULL, 16);
	return n;
}

/*
 * Entries of functions in Node v20.20.2's /usr/bin/node (non-PIE, addresses as linked), read
 * with xxd; size is the symbol's st_size (0: the scan for branches back is not run). Two rows
 * are synthetic and say so.
 */
struct row {
	const char *name;
	uint64_t addr;
	size_t size;
	const char *hex;
	uint64_t tramp; /* where the trampoline is placed */
	size_t patch;
	int want;
	size_t want_window;
};

#define NEAR 0x70000000ull     /* within rel32 reach of node's text */
#define FAR  0x7f0000000000ull /* out of reach: absolute jumps, RIP operands refused */

static const struct row rows[] = {
	/* push rbp; mov rbp,rsp; push r14 ... */
	{"SSL_read", 0x1a6b180, 0x1bb,
	 "554889e54156415541544883ec4885d20f883701000048837f30004989fd0f84", NEAR, AP_PATCH_REL32,
	 AP_TR_OK, 6},
	/* the 14-byte absolute patch displaces more */
	{"SSL_read abs", 0x1a6b180, 0x1bb,
	 "554889e54156415541544883ec4885d20f883701000048837f30004989fd0f84", FAR, AP_PATCH_ABS64,
	 AP_TR_OK, 14},
	/* test rdi,rdi; je rel8 out of the window (short jump widened) */
	{"SSL_free", 0x1a6a150, 0x25,
	 "4885ff7416b8fffffffff00fc187e009000083e80185c074077e05c30f1f4000", NEAR, AP_PATCH_REL32,
	 AP_TR_OK, 5},
	{"SSL_free far", 0x1a6a150, 0x25,
	 "4885ff7416b8fffffffff00fc187e009000083e80185c074077e05c30f1f4000", FAR, AP_PATCH_REL32,
	 AP_TR_OK, 5},
	/* cmp ecx,1; je rel8; jmp rel32 */
	{"AES_ecb_encrypt", 0x1ab1c00, 21, "83f901740be966192300660f1f440000e9cb132300", NEAR,
	 AP_PATCH_REL32, AP_TR_OK, 5},
	/* mov rax,[rip+0x3b98749]; ret: RIP-relative */
	{"ASN1_STRING_get_default_mask", 0x1abc6e0, 8, "488b054987b903c3", NEAR, AP_PATCH_REL32,
	 AP_TR_OK, 7},
	{"ASN1_STRING_get_default_mask far", 0x1abc6e0, 8, "488b054987b903c3", FAR, AP_PATCH_REL32,
	 AP_TR_RIP_RANGE, 0},
	/* a tail jump: the window ends with it, no jump back */
	{"ASN1_BIT_STRING_free", 0x1ad1120, 5, "e97b13ffff", NEAR, AP_PATCH_REL32, AP_TR_OK, 5},
	/* mov rax,[rdi]; ret: 4 bytes, shorter than the patch */
	{"ADMISSIONS_get0_admissionAuthority", 0x1c557f0, 4, "488b07c3", NEAR, AP_PATCH_REL32,
	 AP_TR_FUNCTION_END, 0},
	/* a cmpxchg loop whose jne goes back to offset 3, inside the window */
	{"CRYPTO_atomic_or", 0x1be8e30, 25, "488b074889c14809f1f0480fb10f75f348890ab801000000c3",
	 NEAR, AP_PATCH_REL32, AP_TR_BRANCH_INTO, 0},
	/* the same bytes without a known size: the loop is not seen (the runtime always passes
	 * the symbol size) */
	{"CRYPTO_atomic_or unsized", 0x1be8e30, 0,
	 "488b074889c14809f1f0480fb10f75f348890ab801000000c3", NEAR, AP_PATCH_REL32, AP_TR_OK, 6},
	/* endbr64; mov eax,[rdi]; lea; lock cmpxchg; jne back to offset 6 = just past the window */
	{"OPENSSL_atomic_add", 0x1d2ebb0, 24, "f30f1efa8b074c8d0406f0440fb10775f54489c04898f3c3",
	 NEAR, AP_PATCH_REL32, AP_TR_OK, 6},
	/* endbr64; cmp rdx,0; je rel32 */
	{"AES_cbc_encrypt", 0x1ce3b20, 0, "f30f1efa4883fa000f84830500009c53", NEAR, AP_PATCH_REL32,
	 AP_TR_OK, 8},
	/* synthetic: jrcxz at the entry */
	{"synthetic jrcxz", 0x1000000, 0, "e310909090909090c3", NEAR, AP_PATCH_REL32,
	 AP_TR_UNSUPPORTED_REL, 0},
	/* synthetic: 0x06 is not an instruction in 64-bit mode */
	{"synthetic invalid", 0x1000000, 0, "06909090909090", NEAR, AP_PATCH_REL32, AP_TR_DECODE,
	 0},
	/* synthetic: call rel32 at the entry */
	{"synthetic call", 0x1000000, 0, "e8fb0f00004889c3c3", FAR, AP_PATCH_REL32, AP_TR_OK, 5},
};

static int decode_at(const uint8_t *p, size_t n, uint64_t addr, struct ap_insn *in)
{
	return ap_cs_decode(&dec, p, n, addr, in);
}

/* Follow the trampoline: every relocated instruction must reach what the original did. */
static void check_relocation(const struct row *r, const uint8_t *code, size_t n,
			     const struct ap_tramp *t)
{
	size_t o = 0, to = 0;

	while (o < t->window) {
		struct ap_insn a, b;
		CHECK(decode_at(code + o, n - o, r->addr + o, &a) == 0);
		CHECK(decode_at(t->code + to, t->len - to, r->tramp + to, &b) == 0);
		if (a.kind == AP_INSN_PLAIN && a.rip_disp_off) {
			int32_t da, db;
			memcpy(&da, code + o + a.rip_disp_off, 4);
			memcpy(&db, t->code + to + b.rip_disp_off, 4);
			CHECK_EQ_INT(r->addr + o + a.len + (int64_t)da,
				     r->tramp + to + b.len + (int64_t)db);
			CHECK_EQ_INT(a.len, b.len);
		} else if (a.kind == AP_INSN_JCC) {
			if (b.kind == AP_INSN_JCC &&
			    b.len == 2) { /* inverted jcc over an abs jmp */
				uint64_t abs;
				CHECK_EQ_INT(b.cc, a.cc ^ 1);
				memcpy(&abs, t->code + to + 2 + 6, 8);
				CHECK_EQ_INT(abs, a.target);
				b.len = 2 + AP_PATCH_ABS64;
			} else {
				CHECK_EQ_INT(b.kind, AP_INSN_JCC);
				CHECK_EQ_INT(b.cc, a.cc);
				CHECK_EQ_INT(b.target, a.target);
			}
		} else if (a.kind == AP_INSN_JMP || a.kind == AP_INSN_CALL) {
			if (b.kind == a.kind) {
				CHECK_EQ_INT(b.target, a.target);
			} else { /* absolute forms: jmp [rip+0] / call [rip+2]; jmp +8 */
				uint64_t abs;
				memcpy(&abs, t->code + to + (a.kind == AP_INSN_JMP ? 6 : 8), 8);
				CHECK_EQ_INT(abs, a.target);
				b.len = a.kind == AP_INSN_JMP ? AP_PATCH_ABS64 : 16;
			}
		} else {
			CHECK_EQ_INT(a.len, b.len);
			CHECK(!memcmp(code + o, t->code + to, a.len));
		}
		o += a.len;
		to += b.len;
	}
	if (to < t->len) { /* the jump back, to the first instruction not displaced */
		struct ap_insn j;
		CHECK(decode_at(t->code + to, t->len - to, r->tramp + to, &j) == 0);
		if (j.kind == AP_INSN_JMP && j.len == 5) {
			CHECK_EQ_INT(j.target, r->addr + t->window);
		} else {
			uint64_t abs;
			memcpy(&abs, t->code + to + 6, 8);
			CHECK_EQ_INT(abs, r->addr + t->window);
			j.len = AP_PATCH_ABS64;
		}
		CHECK_EQ_INT(to + j.len, t->len);
	}
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		uint8_t code[64];
		size_t n = unhex(r->hex, code);
		struct ap_tramp_req req = {code,     n,	       r->size,	     r->addr,
					   r->tramp, r->patch, ap_cs_decode, &dec};
		struct ap_tramp t;
		int st = ap_tramp_build(&req, &t);
		if (st != r->want)
			fprintf(stderr, "%s: %s\n", r->name, ap_tramp_status_text(st));
		CHECK_EQ_INT(st, r->want);
		if (st != AP_TR_OK)
			continue;
		CHECK_EQ_INT(t.window, r->want_window);
		CHECK(t.window >= r->patch);
		check_relocation(r, code, n, &t);
	}
	/* the short jcc is widened to jcc rel32 when in reach: 0f 84 (je) */
	{
		uint8_t code[64];
		size_t n = unhex("4885ff7416b8fffffffff00fc187e009000083e80185c074077e05c30f1f4000",
				 code);
		struct ap_tramp_req req = {code,	 n,   0x25, 0x1a6a150, NEAR, AP_PATCH_REL32,
					   ap_cs_decode, &dec};
		struct ap_tramp t;
		CHECK_EQ_INT(ap_tramp_build(&req, &t), AP_TR_OK);
		CHECK(t.code[3] == 0x0f && t.code[4] == 0x84);
	}
	/* refusals have sentences */
	for (int s = AP_TR_DECODE; s <= AP_TR_UNSUPPORTED_ARCH; s++)
		CHECK(strcmp(ap_tramp_status_text(s), "unknown") != 0);
	/* bad requests */
	{
		uint8_t code[4] = {0x48, 0x8b, 0x07, 0xc3};
		struct ap_tramp_req req = {code,	 3,   0, 0x1000, NEAR, AP_PATCH_REL32,
					   ap_cs_decode, &dec};
		struct ap_tramp t;
		CHECK_EQ_INT(ap_tramp_build(&req, &t), AP_TR_BAD_REQUEST);
		req.code_len = 4;
		req.patch_len = 7;
		CHECK_EQ_INT(ap_tramp_build(&req, &t), AP_TR_BAD_REQUEST);
	}
	/* the entry patch: jmp rel32 padded with int3, or out of reach */
	{
		uint8_t p[8];
		CHECK_EQ_INT(ap_tramp_entry_patch(p, 7, 0x1000, 0x2000, AP_PATCH_REL32), 0);
		CHECK(p[0] == 0xe9 && p[5] == 0xcc && p[6] == 0xcc);
		CHECK_EQ_INT(ap_tramp_entry_patch(p, 7, 0x1000, FAR, AP_PATCH_REL32), -1);
		CHECK_EQ_INT(ap_tramp_entry_patch(p, 4, 0x1000, 0x2000, AP_PATCH_REL32), -1);
	}
}

/* --- trampolines run for real: patch functions of this binary, call them through wrappers --- */

#define NO_SAN __attribute__((noinline, no_sanitize("address", "undefined")))

int tramp_counter;

NO_SAN int bump(int x) /* reads and writes a global: RIP-relative at the entry */
{
	tramp_counter += x;
	return tramp_counter * 2;
}

NO_SAN int pick(int x) /* a branch near the entry */
{
	if (x < 0)
		return -1;
	return x * 3 + 1;
}

NO_SAN long mix(long a, long b, long c) /* straight-line code, long enough for the 14-byte patch */
{
	return a * b + c * 7 - (a ^ c) + (b << 3) - (c >> 2) * a;
}

static int (*real_bump)(int), (*real_pick)(int);
static long (*real_mix)(long, long, long);
static int bump_hits, pick_hits, mix_hits;

static long wrap_mix(long a, long b, long c)
{
	mix_hits++;
	return real_mix(a, b, c);
}

static int wrap_bump(int x)
{
	bump_hits++;
	return real_bump(x);
}

static int wrap_pick(int x)
{
	pick_hits++;
	return real_pick(x);
}

static uint8_t *page_near(uintptr_t a)
{
	long pg = sysconf(_SC_PAGESIZE);

	for (uintptr_t off = 1u << 24; off < (1u << 30); off += 1u << 24) {
		void *p = mmap((void *)((a - off) & ~(uintptr_t)(pg - 1)), (size_t)pg,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != MAP_FAILED)
			return p;
	}
	return NULL;
}

static int hook(void *fn, void *wrapper, void **real, uint8_t *slot, size_t patch_len)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct ap_tramp_req req = {fn,	      64,	    0,	 (uintptr_t)fn, (uintptr_t)slot,
				   patch_len, ap_cs_decode, &dec};
	struct ap_tramp t;
	uint8_t patch[AP_TRAMP_MAX];
	uintptr_t lo = (uintptr_t)fn & ~(uintptr_t)(pg - 1);
	uint64_t to = (uintptr_t)wrapper;

	if (ap_tramp_build(&req, &t) != AP_TR_OK)
		return -1;
	memcpy(slot, t.code, t.len);
	if (patch_len == AP_PATCH_REL32) { /* stub: abs jump to the wrapper */
		ap_tramp_abs_jump(slot + AP_TRAMP_MAX, to);
		to = (uintptr_t)(slot + AP_TRAMP_MAX);
	}
	*real = slot;
	if (ap_tramp_entry_patch(patch, t.window, (uintptr_t)fn, to, patch_len))
		return -1;
	if (mprotect((void *)lo, (size_t)pg * 2, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -1;
	memcpy(fn, patch, t.window);
	return mprotect((void *)lo, (size_t)pg * 2, PROT_READ | PROT_EXEC);
}

static void test_live(void)
{
	int (*volatile b)(int) = bump, (*volatile p)(int) = pick;
	long (*volatile m)(long, long, long) = mix;
	long want = m(3, -4, 11);
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *page = page_near((uintptr_t)bump);

	CHECK(page != NULL);
	if (!page)
		return;
	CHECK_EQ_INT(b(5), 10);
	CHECK_EQ_INT(
		hook((void *)bump, (void *)wrap_bump, (void **)&real_bump, page, AP_PATCH_REL32),
		0);
	CHECK_EQ_INT(hook((void *)pick, (void *)wrap_pick, (void **)&real_pick, page + 160,
			  AP_PATCH_REL32),
		     0);
	CHECK_EQ_INT(hook((void *)mix, (void *)wrap_mix, (void **)&real_mix, page + 2 * 160,
			  AP_PATCH_ABS64),
		     0);
	CHECK_EQ_INT(mprotect(page, (size_t)pg, PROT_READ | PROT_EXEC), 0);
	CHECK_EQ_INT(b(3), 16); /* counter 5 + 3 */
	CHECK_EQ_INT(b(-8), 0);
	CHECK_EQ_INT(bump_hits, 2);
	CHECK_EQ_INT(tramp_counter, 0);
	CHECK_EQ_INT(p(4), 13);
	CHECK_EQ_INT(p(-2), -1);
	CHECK_EQ_INT(p(0), 1);
	CHECK_EQ_INT(pick_hits, 3);
	CHECK_EQ_INT(m(3, -4, 11), want);
	CHECK_EQ_INT(mix_hits, 1);
}

int main(void)
{
#if defined(__x86_64__)
	if (load_capstone()) {
		fprintf(stderr,
			"libcapstone.so.4 not found (scripts/install-deps.sh installs it)\n");
		unit_failed++;
		UNIT_DONE();
	}
	test_table();
	test_live();
	ap_cs_decoder_close(&dec);
#else
	{
		uint8_t c[8] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xc3};
		struct ap_tramp_req req = {c,	8, 0, 0x1000, 0x2000, AP_PATCH_REL32, ap_cs_decode,
					   NULL};
		struct ap_tramp t;
		CHECK_EQ_INT(ap_tramp_build(&req, &t), AP_TR_UNSUPPORTED_ARCH);
	}
#endif
	UNIT_DONE();
}
