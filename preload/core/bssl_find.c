/* bssl_find.c: the BoringSSL signature search of bssl_find.h: error-report string, its
 * references, the functions around them (.eh_frame_hdr), their reasons and calls. */
#include "bssl_find.h"

#include <stdio.h>
#include <string.h>

#define MAX_STR	  4
#define MAX_FUNCS 64
#define MAX_CALLS 48
#define MAX_REAS  24
#define NEAR_SPAN (512u << 10) /* where a separate SSL_read is looked for, around SSL_peek */

struct func {
	uint64_t start, size;
	uint32_t reasons[MAX_REAS];
	int nreasons, unknown; /* unknown: an error report whose reason was not an immediate */
	uint64_t calls[MAX_CALLS];
	int ncalls;
};

struct search {
	const struct ap_img *img;
	ap_decode_fn decode;
	void *dctx;
	uint64_t str[MAX_STR];
	int nstr;
	struct func f[MAX_FUNCS];
	int nf;
};

/* --- image access ----------------------------------------------------------------------------- */

static const uint8_t *img_at(const struct ap_img *img, uint64_t addr, size_t n)
{
	for (int i = 0; i < img->nseg; i++) {
		const struct ap_img_seg *s = &img->seg[i];
		if (addr >= s->addr && addr - s->addr <= s->len && n <= s->len - (addr - s->addr))
			return s->p + (addr - s->addr);
	}
	return NULL;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint64_t uleb(const uint8_t **pp, const uint8_t *end)
{
	uint64_t v = 0;
	int shift = 0;

	while (*pp < end && shift < 64) {
		uint8_t b = *(*pp)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* --- .eh_frame_hdr: function bounds ----------------------------------------------------------- */

/* Size in bytes of a DW_EH_PE value format (low nibble), 0 if unsupported. */
static size_t enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		return 8;
	case 0x02:
	case 0x0a:
		return 2;
	case 0x03:
	case 0x0b:
		return 4;
	default:
		return 0;
	}
}

static uint64_t enc_value(uint8_t enc, const uint8_t *p)
{
	switch (enc & 0x0f) {
	case 0x02:
		return (uint16_t)(p[0] | p[1] << 8);
	case 0x0a:
		return (uint64_t)(int64_t)(int16_t)(p[0] | p[1] << 8);
	case 0x03:
		return rd32(p);
	case 0x0b:
		return (uint64_t)(int64_t)(int32_t)rd32(p);
	default:
		return rd64(p);
	}
}

/* The FDE pointer encoding ('R') of the CIE at cie, or -1. */
static int cie_fde_encoding(const struct ap_img *img, uint64_t cie)
{
	const uint8_t *h = img_at(img, cie, 9), *p, *end, *aug;
	uint32_t len;
	uint8_t version;

	if (!h)
		return -1;
	len = rd32(h);
	if (len == 0xffffffffu || len < 5 || rd32(h + 4) != 0 || !(h = img_at(img, cie, 4 + len)))
		return -1;
	end = h + 4 + len;
	version = h[8];
	aug = h + 9;
	p = memchr(aug, 0, (size_t)(end - aug));
	if (!p || aug[0] != 'z')
		return aug[0] == 0 ? 0x00 : -1; /* no augmentation: absolute pointers */
	p++;
	uleb(&p, end); /* code alignment */
	uleb(&p, end); /* data alignment (sleb; only skipped) */
	if (version == 1)
		p++;
	else
		uleb(&p, end);
	uleb(&p, end); /* augmentation data length */
	for (const uint8_t *a = aug + 1; *a && p < end; a++) {
		if (*a == 'R')
			return *p;
		if (*a == 'L') {
			p++;
		} else if (*a == 'P') {
			size_t n = enc_size(*p);
			if (!n)
				return -1;
			p += 1 + n;
		} else if (*a != 'S' && *a != 'B') {
			return -1;
		}
	}
	return -1;
}

int ap_img_func_at(const struct ap_img *img, uint64_t pc, uint64_t *start, uint64_t *size)
{
	const uint8_t *h = img->eh_frame_hdr ? img_at(img, img->eh_frame_hdr, 12) : NULL;
	const uint8_t *tab, *fde;
	uint64_t hdr = img->eh_frame_hdr, lo = 0, hi, fde_addr, begin, range, cie;
	uint32_t count, flen;
	size_t n;
	int enc;

	/* version 1; eh_frame_ptr pcrel|sdata4; count udata4; table datarel|sdata4 */
	if (!h || h[0] != 1 || h[1] != 0x1b || h[2] != 0x03 || h[3] != 0x3b)
		return -1;
	count = rd32(h + 8);
	tab = img_at(img, hdr + 12, (size_t)count * 8);
	if (!count || !tab)
		return -1;
	hi = count;
	while (hi - lo > 1) { /* the last entry whose start is <= pc */
		uint64_t mid = (lo + hi) / 2;
		if (hdr + (uint64_t)(int64_t)(int32_t)rd32(tab + mid * 8) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	begin = hdr + (uint64_t)(int64_t)(int32_t)rd32(tab + lo * 8);
	fde_addr = hdr + (uint64_t)(int64_t)(int32_t)rd32(tab + lo * 8 + 4);
	if (begin > pc || !(fde = img_at(img, fde_addr, 8)))
		return -1;
	flen = rd32(fde);
	if (flen == 0xffffffffu || flen < 8 || !rd32(fde + 4))
		return -1;
	cie = fde_addr + 4 - rd32(fde + 4);
	enc = cie_fde_encoding(img, cie);
	n = enc >= 0 ? enc_size((uint8_t)enc) : 0;
	if (!n || (enc & 0x70) > 0x10 || 8 + 2 * n > (size_t)flen + 4 ||
	    !(fde = img_at(img, fde_addr, 8 + 2 * n)))
		return -1;
	range = enc_value((uint8_t)enc, fde + 8 + n);
	if (((enc & 0x70) == 0x10 ? fde_addr + 8 + enc_value((uint8_t)enc, fde + 8)
				  : enc_value((uint8_t)enc, fde + 8)) != begin ||
	    pc - begin >= range)
		return -1;
	*start = begin;
	*size = range;
	return 0;
}

/* --- the error-report string and its references ----------------------------------------------- */

#define RELEASE_STEP (4u << 20)

/* The scan of g reached p: what lies more than keep bytes behind it, since *done, is released. */
static void scanned(const struct ap_img *img, const struct ap_img_seg *g, const uint8_t **done,
		    const uint8_t *p, size_t keep)
{
	if (!img->release || p < *done + keep + RELEASE_STEP)
		return;
	img->release(img->release_ctx, *done, (size_t)(p - keep - *done));
	*done = p - keep;
	(void)g;
}

static void scan_end(const struct ap_img *img, const struct ap_img_seg *g, const uint8_t *done)
{
	if (img->release && done < g->p + g->len)
		img->release(img->release_ctx, done, (size_t)(g->p + g->len - done));
}

#define TAIL_PROBE 8 /* the '_' in the tail below */

static void find_strings(struct search *s)
{
	static const char tail[] = "/ssl/ssl_lib.cc";

	for (int i = 0; i < s->img->nseg && s->nstr < MAX_STR; i++) {
		const struct ap_img_seg *g = &s->img->seg[i];
		const uint8_t *p = g->p, *end = g->p + g->len, *done = g->p;

		if (g->exec)
			continue;
		/* memchr for the '_' of the tail, then compare: much faster than memmem; in steps,
		 * so that the pages behind can be released */
		p += TAIL_PROBE;
		while (s->nstr < MAX_STR && p < end) {
			size_t n =
				(size_t)(end - p) < RELEASE_STEP ? (size_t)(end - p) : RELEASE_STEP;
			const uint8_t *c = memchr(p, '_', n), *hit, *b;

			if (!c) {
				p += n;
				scanned(s->img, g, &done, p, 4096);
				continue;
			}
			p = c + 1;
			hit = c - TAIL_PROBE;
			if ((size_t)(end - hit) < sizeof(tail) || memcmp(hit, tail, sizeof(tail)))
				continue;
			b = hit;
			while (b > g->p && b[-1] >= 0x20 && b[-1] < 0x7f && hit - b < 512)
				b--;
			if (b == g->p || b[-1] == 0)
				s->str[s->nstr++] = g->addr + (uint64_t)(b - g->p);
		}
		scan_end(s->img, g, done);
	}
}

static int is_string(const struct search *s, uint64_t v)
{
	for (int i = 0; i < s->nstr; i++)
		if (s->str[i] == v)
			return 1;
	return 0;
}

static void add_func_at(struct search *s, uint64_t pc)
{
	uint64_t start, size;

	if (ap_img_func_at(s->img, pc, &start, &size))
		return;
	for (int i = 0; i < s->nf; i++)
		if (s->f[i].start == start)
			return;
	if (s->nf < MAX_FUNCS) {
		memset(&s->f[s->nf], 0, sizeof(s->f[0]));
		s->f[s->nf].start = start;
		s->f[s->nf].size = size;
		s->nf++;
	}
}

/* Which byte of a little-endian imm32 to look for first with memchr (much faster than memmem
 * for a 4-byte needle): the first of its low three bytes that is not one of the most common
 * bytes of x86-64 code. */
static int probe_byte(uint32_t imm)
{
	static const uint8_t common[] = {0x00, 0xff, 0x48, 0x89, 0x8b, 0x0f, 0xcc, 0xe8, 0x24, 0x44,
					 0x4c, 0x85, 0xc0, 0x01, 0x8d, 0x49, 0x83, 0x74, 0x75};

	for (int i = 0; i < 3; i++)
		if (!memchr(common, (int)(imm >> (8 * i) & 0xff), sizeof(common)))
			return i;
	return 0;
}

/* Functions that load a string's address: mov r32, imm32 (non-PIE), else lea r, [rip+d]. */
static void find_refs(struct search *s)
{
	for (int k = 0; k < s->nstr; k++) {
		uint32_t imm = (uint32_t)s->str[k];
		int pb = probe_byte(imm);
		uint8_t pv = (uint8_t)(imm >> (8 * pb));

		if (s->str[k] > 0xffffffffu)
			continue;
		for (int i = 0; i < s->img->nseg; i++) {
			const struct ap_img_seg *g = &s->img->seg[i];
			const uint8_t *p = g->p + 1, *end = g->p + g->len, *done = g->p;

			if (!g->exec)
				continue;
			while (p + 4 <= end) {
				size_t n = (size_t)(end - p) < RELEASE_STEP ? (size_t)(end - p)
									    : RELEASE_STEP;
				const uint8_t *from = p + pb, *c, *hit;
				size_t m = (size_t)(end - from) < n ? (size_t)(end - from) : n;

				c = memchr(from, pv, m);
				hit = c ? c - pb : NULL;
				if (!hit) {
					p += n;
					scanned(s->img, g, &done, p, 4096);
					continue;
				}
				if (hit + 4 <= end && rd32(hit) == imm && hit[-1] >= 0xb8 &&
				    hit[-1] <= 0xbf)
					add_func_at(s, g->addr + (uint64_t)(hit - 1 - g->p));
				p = hit + 1;
			}
			scan_end(s->img, g, done);
		}
	}
	if (s->nf)
		return;
	for (int i = 0; i < s->img->nseg; i++) {
		const struct ap_img_seg *g = &s->img->seg[i];
		const uint8_t *done = g->p;

		if (!g->exec || g->len < 7)
			continue;
		for (size_t j = 0; j + 7 <= g->len; j++) {
			const uint8_t *q = g->p + j;
			if (!(j & 0xffff))
				scanned(s->img, g, &done, q, 4096);
			if ((q[0] | 4) != 0x4c || q[1] != 0x8d || (q[2] & 0xc7) != 0x05)
				continue;
			if (is_string(s, g->addr + j + 7 + (uint64_t)(int64_t)(int32_t)rd32(q + 3)))
				add_func_at(s, g->addr + j);
		}
		scan_end(s->img, g, done);
	}
}

/* --- one function: its error reports and direct calls ------------------------------------------
 */

static void add_reason(struct func *f, uint32_t r)
{
	for (int i = 0; i < f->nreasons; i++)
		if (f->reasons[i] == r)
			return;
	if (f->nreasons < MAX_REAS)
		f->reasons[f->nreasons++] = r;
}

static void add_call(struct func *f, uint64_t t)
{
	for (int i = 0; i < f->ncalls; i++)
		if (f->calls[i] == t)
			return;
	if (f->ncalls < MAX_CALLS)
		f->calls[f->ncalls++] = t;
}

enum { R_CX = 1, R_DX = 2, R_SI = 6, R_DI = 7 };

struct regs {
	uint64_t val[16];
	uint16_t known;
};

/* Decode the instruction at a (inside f) into *in and apply it to the tracked registers; a call
 * that is an error report adds its reason to f. 0, or -1 when it cannot be decoded. */
static int step(struct search *s, struct func *f, uint64_t a, struct regs *st, struct ap_insn *in)
{
	uint64_t end = f->start + f->size;
	const uint8_t *q = img_at(s->img, a, 1);
	size_t avail = 0;
	int rex, o, r;

	if (!q)
		return -1;
	while (avail < 16 && a + avail < end && img_at(s->img, a + avail, 1))
		avail++;
	if (s->decode(s->dctx, q, avail, a, in) || !in->len)
		return -1;
	rex = (q[0] & 0xf0) == 0x40 ? q[0] : 0;
	o = rex ? 1 : 0;
	if (in->len == 5 + o && q[o] >= 0xb8 && q[o] <= 0xbf && !(rex & 8)) {
		r = (q[o] - 0xb8) | (rex & 1 ? 8 : 0);
		st->val[r] = rd32(q + o + 1);
		st->known |= (uint16_t)(1u << r);
	} else if (in->len == 2 + o && (q[o] == 0x31 || q[o] == 0x33) &&
		   (q[o + 1] & 0xc0) == 0xc0 && ((q[o + 1] >> 3) & 7) == (q[o + 1] & 7)) {
		r = (q[o + 1] & 7) | (rex & 1 ? 8 : 0);
		st->val[r] = 0;
		st->known |= (uint16_t)(1u << r);
	} else if (in->len == 7 && rex && q[1] == 0x8d && (q[2] & 0xc7) == 0x05) {
		r = ((q[2] >> 3) & 7) | (rex & 4 ? 8 : 0);
		st->val[r] = a + 7 + (uint64_t)(int64_t)(int32_t)rd32(q + 3);
		st->known |= (uint16_t)(1u << r);
	}
	if (in->kind == AP_INSN_CALL) {
		int file_dx = (st->known >> R_DX & 1) && is_string(s, st->val[R_DX]);
		int file_cx = (st->known >> R_CX & 1) && is_string(s, st->val[R_CX]);

		add_call(f, in->target);
		if ((file_dx || file_cx) && (st->known >> R_DI & 1) &&
		    st->val[R_DI] == AP_BSSL_ERR_LIB_SSL) {
			/* (lib, reason, file, line) or (lib, unused, reason, file, line) */
			int rr = file_dx ? R_SI : R_DX;
			if (st->known >> rr & 1)
				add_reason(f, (uint32_t)st->val[rr]);
			else
				f->unknown = 1;
		}
	}
	return 0;
}

/*
 * A linear sweep of the function. Register values are tracked only for the instructions an
 * error report is made of (mov r32, imm32; xor r32, r32; lea r, [rip+d]) and forgotten at
 * every call, branch and return, so that a value never crosses a join of control flow. A jump
 * inside the function is followed for a few plain instructions up to a call: error reports
 * share one call, each loading its arguments and jumping there.
 */
static void analyse(struct search *s, struct func *f)
{
	uint64_t a = f->start, end = f->start + f->size;
	struct regs st = {{0}, 0};
	struct ap_insn in;

	while (a < end) {
		if (step(s, f, a, &st, &in))
			return;
		if (in.kind == AP_INSN_JMP && (in.target < f->start || in.target >= end)) {
			add_call(f, in.target); /* a tail call */
		} else if (in.kind == AP_INSN_JMP && st.known) {
			struct regs fork = st;
			struct ap_insn j;
			uint64_t t = in.target;

			for (int k = 0; k < 6 && t < end && !step(s, f, t, &fork, &j); k++) {
				if (j.kind != AP_INSN_PLAIN)
					break;
				t += j.len;
			}
		}
		if (in.kind != AP_INSN_PLAIN)
			st.known = 0;
		a += in.len;
	}
}

/* --- classification --------------------------------------------------------------------------- */

static int has(const struct func *f, uint32_t r)
{
	for (int i = 0; i < f->nreasons; i++)
		if (f->reasons[i] == r)
			return 1;
	return 0;
}

static int exactly(const struct func *f, uint32_t r)
{
	return f->nreasons == 1 && f->reasons[0] == r && !f->unknown;
}

static int calls(const struct func *f, uint64_t t)
{
	for (int i = 0; i < f->ncalls; i++)
		if (f->calls[i] == t)
			return 1;
	return 0;
}

/* The unique function matching pred (with arg), or NULL; *n gets the number of matches. */
#define UNIQUE(s, n, cond)                                  \
	({                                                  \
		const struct func *u_ = NULL;               \
		*(n) = 0;                                   \
		for (int i_ = 0; i_ < (s)->nf; i_++) {      \
			const struct func *F = &(s)->f[i_]; \
			if (cond) {                         \
				u_ = F;                     \
				(*(n))++;                   \
			}                                   \
		}                                           \
		*(n) == 1 ? u_ : NULL;                      \
	})

static int refuse(struct ap_bssl_found *out, const char *what, int n)
{
	snprintf(out->why, sizeof(out->why), "%s (%d candidates)", what, n);
	return -1;
}

static int is_ref_func(const struct search *s, uint64_t start)
{
	for (int i = 0; i < s->nf; i++)
		if (s->f[i].start == start)
			return 1;
	return 0;
}

/* A separate SSL_read: a small function near SSL_peek, without error reports, calling it.
 * Returns its start, 0 when there is none (SSL_peek inlined into SSL_read), or 1 if several. */
static uint64_t separate_read(struct search *s, uint64_t peek)
{
	uint64_t found = 0;

	for (int i = 0; i < s->img->nseg; i++) {
		const struct ap_img_seg *g = &s->img->seg[i];
		uint64_t lo, hi;

		if (!g->exec || peek < g->addr || peek >= g->addr + g->len)
			continue;
		lo = peek - g->addr > NEAR_SPAN ? peek - NEAR_SPAN : g->addr;
		hi = g->addr + g->len - peek > NEAR_SPAN ? peek + NEAR_SPAN : g->addr + g->len;
		for (uint64_t a = lo; a + 5 <= hi; a++) {
			const uint8_t *q = g->p + (a - g->addr);
			uint64_t start, size;
			struct func f;

			if (q[0] != 0xe8 || a + 5 + (uint64_t)(int64_t)(int32_t)rd32(q + 1) != peek)
				continue;
			if (ap_img_func_at(s->img, a, &start, &size) || size > 256 ||
			    is_ref_func(s, start) || start == found)
				continue;
			memset(&f, 0, sizeof(f));
			f.start = start;
			f.size = size;
			analyse(s, &f);
			if (!calls(&f, peek) || f.nreasons || f.unknown)
				continue; /* not an instruction boundary, or reports errors */
			if (found)
				return 1;
			found = start;
		}
	}
	return found;
}

/* The identification proper, over the functions found (or named by a hint). */
static int classify(struct search *sp, struct ap_bssl_found *out)
{
	const struct search *s = sp;
	const struct ap_img *img = s->img;
	const struct func *hs, *wr, *impl, *peek, *shut;
	uint64_t rd;
	int n;

	hs = UNIQUE(s, &n, exactly(F, AP_BSSL_R_CONNECTION_TYPE_NOT_SET));
	if (!hs)
		return refuse(out, "SSL_do_handshake not identified", n);
	wr = UNIQUE(s, &n,
		    has(F, AP_BSSL_R_SHOULD_NOT_HAVE_BEEN_CALLED) &&
			    has(F, AP_BSSL_R_UNINITIALIZED) &&
			    has(F, AP_BSSL_R_SSL_HANDSHAKE_FAILURE) &&
			    has(F, AP_BSSL_R_BAD_LENGTH) && calls(F, hs->start));
	if (!wr)
		return refuse(out, "SSL_write not identified", n);
	impl = UNIQUE(s, &n,
		      F != wr && has(F, AP_BSSL_R_UNINITIALIZED) &&
			      has(F, AP_BSSL_R_SSL_HANDSHAKE_FAILURE) && calls(F, hs->start));
	if (!impl)
		return refuse(out, "ssl_read_impl not identified", n);
	shut = UNIQUE(s, &n,
		      has(F, AP_BSSL_R_APPLICATION_DATA_ON_SHUTDOWN) && calls(F, impl->start));
	if (!shut)
		return refuse(out, "ssl_read_impl not confirmed by SSL_shutdown", n);
	peek = UNIQUE(s, &n,
		      exactly(F, AP_BSSL_R_SHOULD_NOT_HAVE_BEEN_CALLED) && calls(F, impl->start));
	if (!peek)
		return refuse(out, "SSL_peek/SSL_read not identified", n);
	rd = separate_read(sp, peek->start);
	if (rd == 1)
		return refuse(out, "several functions near SSL_peek call it", 2);
	out->str = s->str[0];
	out->funcs[0] = hs->start;
	out->funcs[1] = wr->start;
	out->funcs[2] = impl->start;
	out->funcs[3] = shut->start;
	out->funcs[4] = peek->start;
	out->nfuncs = 5;
	out->entry[AP_BSSL_HANDSHAKE] = hs->start;
	out->size[AP_BSSL_HANDSHAKE] = hs->size;
	out->entry[AP_BSSL_WRITE] = wr->start;
	out->size[AP_BSSL_WRITE] = wr->size;
	if (rd) {
		uint64_t start, size;
		if (ap_img_func_at(img, rd, &start, &size))
			return refuse(out, "SSL_read bounds", 1);
		out->entry[AP_BSSL_READ] = start;
		out->size[AP_BSSL_READ] = size;
		out->entry[AP_BSSL_PEEK] = peek->start;
		out->size[AP_BSSL_PEEK] = peek->size;
	} else {
		out->entry[AP_BSSL_READ] = peek->start; /* SSL_peek inlined into SSL_read */
		out->size[AP_BSSL_READ] = peek->size;
	}
	return 0;
}

static struct search search_state; /* large; the callers run once, single-threaded */

static struct search *search_begin(const struct ap_img *img, ap_decode_fn decode, void *ctx,
				   struct ap_bssl_found *out)
{
	struct search *s = &search_state;

	memset(out, 0, sizeof(*out));
	memset(s, 0, sizeof(*s));
	s->img = img;
	s->decode = decode;
	s->dctx = ctx;
	return s;
}

int ap_bssl_find(const struct ap_img *img, ap_decode_fn decode, void *decode_ctx,
		 struct ap_bssl_found *out)
{
	struct search *s = search_begin(img, decode, decode_ctx, out);

	if (!img->eh_frame_hdr)
		return refuse(out, "no .eh_frame_hdr to bound functions", 0);
	find_strings(s);
	if (!s->nstr)
		return refuse(out, "no BoringSSL ssl/ssl_lib.cc error string", 0);
	if (s->nstr > 1)
		return refuse(out, "several ssl/ssl_lib.cc error strings", s->nstr);
	find_refs(s);
	if (!s->nf)
		return refuse(out, "no code references ssl_lib.cc's error string", 0);
	for (int i = 0; i < s->nf; i++)
		analyse(s, &s->f[i]);
	return classify(s, out);
}

int ap_bssl_verify(const struct ap_img *img, ap_decode_fn decode, void *decode_ctx, uint64_t str,
		   const uint64_t *funcs, int nfuncs, struct ap_bssl_found *out)
{
	static const char tail[] = "/ssl/ssl_lib.cc";
	struct search *s = search_begin(img, decode, decode_ctx, out);
	const uint8_t *p = img_at(img, str, 512);
	const uint8_t *z = p ? memchr(p, 0, 512) : NULL;

	if (!img->eh_frame_hdr)
		return refuse(out, "no .eh_frame_hdr to bound functions", 0);
	if (!z || (size_t)(z - p) < sizeof(tail) - 1 ||
	    memcmp(z - (sizeof(tail) - 1), tail, sizeof(tail)) || !img_at(img, str - 1, 1) ||
	    p[-1] != 0)
		return refuse(out, "the hint's ssl_lib.cc string is not there", 0);
	s->str[s->nstr++] = str;
	for (int i = 0; i < nfuncs && i < MAX_FUNCS; i++) {
		int had = s->nf;
		add_func_at(s, funcs[i]);
		if (s->nf == had || s->f[s->nf - 1].start != funcs[i])
			return refuse(out, "a hint is not a function start", 1);
		analyse(s, &s->f[s->nf - 1]);
	}
	return classify(s, out);
}
