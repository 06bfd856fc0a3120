/* reader.c: decode span files: checksum-verified frames (resynchronising after a corrupt one),
 * then the records of the live segment that no frame covers yet. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "ap_codec.h"
#include "reader.h"
#include "util.h"

#define ZSTD_MAGIC 0xFD2FB528u

struct rd {
	ZSTD_DCtx *dctx;
	uint8_t *out;	  /* decompressed frame content */
	size_t out_cap;	  /* the buffer size decoding goes by (it grows frame by frame) */
	size_t out_alloc; /* what is allocated: at least out_cap (a reused buffer may be larger) */
	struct ap_record rec;
	rd_record_fn fn;
	void *ctx;
	struct rd_stats *st;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_problem(struct rd_stats *st, int kind, const char *fmt, const char *detail)
{
	st->damaged = kind;
	snprintf(st->problem, sizeof(st->problem), fmt, detail);
}

/* Decode the records of one verified frame. Returns nonzero when the callback asked to stop. */
static int decode_records(struct rd *r, const uint8_t *p, size_t n)
{
	size_t o = 0, used = 0;

	while (o < n) {
		enum ap_dec_status s = ap_decode(p + o, n - o, &r->rec, &used);

		if (s == AP_DEC_SKIP) {
			r->st->unknown_records++;
		} else if (s == AP_DEC_OK) {
			r->st->records++;
			if (r->fn && r->fn(r->ctx, &r->rec))
				return 1;
		} else {
			/* A verified frame that does not parse: a writer bug; skip the frame rest.
			 */
			r->st->bad_records++;
			return 0;
		}
		o += used;
	}
	return 0;
}

/* Decompress one frame of csize bytes into r->out. Returns the content size or -1. */
static long long decompress_frame(struct rd *r, const uint8_t *src, size_t csize)
{
	unsigned long long declared = ZSTD_getFrameContentSize(src, csize);
	ZSTD_inBuffer in = {src, csize, 0};
	ZSTD_outBuffer out;
	size_t ret;

	if (declared == ZSTD_CONTENTSIZE_ERROR) {
		set_problem(r->st, 2, "corrupt frame header%s", "");
		return -1;
	}
	if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > RD_MAX_FRAME_CONTENT) {
		snprintf(r->st->problem, sizeof(r->st->problem),
			 "frame declares %llu bytes of content (limit %u MiB)", declared,
			 RD_MAX_FRAME_CONTENT >> 20);
		r->st->damaged = 2;
		return -1;
	}
	ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
	out.dst = r->out;
	out.size = r->out_cap;
	out.pos = 0;
	for (;;) {
		ret = ZSTD_decompressStream(r->dctx, &out, &in);
		if (ZSTD_isError(ret)) {
			set_problem(r->st, 2, "corrupt frame (%s)", ZSTD_getErrorName(ret));
			return -1;
		}
		if (ret == 0)
			return (long long)out.pos; /* frame complete, checksum verified */
		if (out.pos == out.size) {
			size_t nc = r->out_cap * 2;

			if (r->out_cap >= RD_MAX_FRAME_CONTENT) {
				set_problem(r->st, 2, "frame content exceeds the %s limit",
					    "64 MiB");
				return -1;
			}
			if (nc > RD_MAX_FRAME_CONTENT)
				nc = RD_MAX_FRAME_CONTENT;
			if (nc > r->out_alloc) {
				r->out = xrealloc(r->out, nc);
				r->out_alloc = nc;
			}
			r->out_cap = nc;
			out.dst = r->out;
			out.size = nc;
		} else if (in.pos == in.size) {
			set_problem(r->st, 1, "frame ends early%s", "");
			return -1;
		}
	}
}

/* Check that a frame starts with the zstd magic and carries a content checksum. */
static int frame_has_checksum(const uint8_t *p, size_t n)
{
	return n >= 5 && le32(p) == ZSTD_MAGIC && (p[4] & 0x04);
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

#define MAX_FRAME_OFFS 4096

/* Where complete frames start: the live segment's pending flush is checked against them. */
struct frame_offs {
	uint64_t off[MAX_FRAME_OFFS];
	size_t n;
	int overflow;
};

static void note_frame(struct frame_offs *fo, size_t o)
{
	if (fo->n < MAX_FRAME_OFFS)
		fo->off[fo->n++] = o;
	else
		fo->overflow = 1;
}

static int has_frame(const struct frame_offs *fo, uint64_t o)
{
	for (size_t i = 0; i < fo->n; i++)
		if (fo->off[i] == o)
			return 1;
	return fo->overflow; /* too many frames to remember: trust the writer's marker */
}

enum frame_result { FR_OK, FR_SKIP, FR_TRUNC, FR_BAD, FR_STOP };

/* Read the frame at o. FR_OK: records decoded, *len its size; FR_SKIP: a skippable frame of
 * *len bytes; FR_TRUNC / FR_BAD: the frame ends early / is damaged (problem set). */
static enum frame_result read_frame(struct rd *r, const uint8_t *buf, size_t n, size_t o,
				    size_t *len, size_t *seg_off)
{
	const uint8_t *p = buf + o;
	size_t left = n - o, csize;
	long long got;

	if (left >= 8 && (le32(p) & 0xFFFFFFF0u) == 0x184D2A50u) {
		uint64_t sk = 8 + (uint64_t)le32(p + 4);

		if (sk > left) {
			set_problem(r->st, 1, "truncated skippable frame%s", "");
			return FR_TRUNC;
		}
		*len = (size_t)sk;
		if (le32(p) == AP_SEG_SKIP_MAGIC && sk >= 16 && !memcmp(p + 8, AP_SEG_MAGIC, 8)) {
			*seg_off = o;
			return FR_SKIP;
		}
		return FR_SKIP;
	}
	csize = ZSTD_findFrameCompressedSize(p, left);
	if (ZSTD_isError(csize)) {
		int trunc = ZSTD_getErrorCode(csize) == ZSTD_error_srcSize_wrong || left < 4 ||
			    le32(p) == ZSTD_MAGIC;
		if (trunc)
			set_problem(r->st, 1, "incomplete last frame%s", "");
		else
			set_problem(r->st, 2, "not a zstd frame (%s)", "bad frame magic");
		return trunc ? FR_TRUNC : FR_BAD;
	}
	if (!frame_has_checksum(p, csize)) {
		set_problem(r->st, 2, "frame without content checksum%s", "");
		return FR_BAD;
	}
	got = decompress_frame(r, p, csize);
	if (got < 0)
		return r->st->damaged == 1 ? FR_TRUNC : FR_BAD;
	r->st->frames++;
	*len = csize;
	return decode_records(r, r->out, (size_t)got) ? FR_STOP : FR_OK;
}

/* The next offset from o where a zstd frame magic starts, n if none. */
static size_t next_magic(const uint8_t *buf, size_t n, size_t o)
{
	for (size_t i = o; i + 4 <= n; i++) {
		uint32_t m = le32(buf + i);

		if (m == ZSTD_MAGIC)
			return i;
	}
	return n;
}

/* Records of the live segment (the region a running or killed writer maps): every committed
 * entry of every slot, except a slot whose flush demonstrably completed. */
static void walk_segment(struct rd *r, const uint8_t *buf, size_t n, const struct frame_offs *fo)
{
	struct ap_seg_header h;

	if (n < sizeof(h)) {
		set_problem(r->st, 1, "truncated live segment%s", "");
		return;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.slots != AP_SEG_SLOTS || h.slot_bytes != AP_SEG_SLOT_BYTES ||
	    h.data_off != AP_SEG_HDR_BYTES) {
		set_problem(r->st, 2, "live segment of an unknown layout%s", "");
		return;
	}
	for (uint32_t s = 0; s < AP_SEG_SLOTS; s++) {
		const struct ap_seg_slot *sl = &h.slot[s];
		size_t base = AP_SEG_HDR_BYTES + (size_t)s * AP_SEG_SLOT_BYTES;
		uint64_t used = sl->cursor < AP_SEG_SLOT_BYTES ? sl->cursor : AP_SEG_SLOT_BYTES;
		size_t o = 0;
		int any = 0;

		if (!used)
			continue;
		if (h.pending_off && h.pending_slot == s && h.pending_gen == sl->gen &&
		    has_frame(fo, h.pending_off))
			continue; /* written out as a frame just before the writer stopped */
		if (base + used > n)
			used = n > base ? n - base : 0;
		while (o + 8 <= used) {
			const uint8_t *e = buf + base + o;
			uint64_t word = le64(e);
			uint32_t len = (uint32_t)word;

			if (!word || word != ap_seg_entry_word(len) || len > AP_SEG_ENTRY_MAX ||
			    o + ap_seg_entry_size(len) > used) {
				r->st->seg_gap_bytes += 8; /* reserved, never committed */
				o += 8;
				continue;
			}
			any = 1;
			r->st->seg_records++;
			if (decode_records(r, e + 8, len))
				return;
			o += ap_seg_entry_size(len);
		}
		r->st->seg_slots += any;
	}
}

/* Walk the frames from o to the end (fo: the complete frames before o; seg_off: the last live
 * segment frame before o), then the live segment when the file has one. */
static void walk_frames_from(struct rd *r, const uint8_t *buf, size_t n, size_t o,
			     struct frame_offs *fo, size_t seg_off)
{
	size_t len = 0;
	uint64_t pending = 0;

	if (n >= AP_SEG_HDR_BYTES && le32(buf + AP_HEADER_SIZE) == AP_SEG_SKIP_MAGIC)
		pending = le64(buf + offsetof(struct ap_seg_header, pending_off));
	while (o < n) {
		enum frame_result fr = read_frame(r, buf, n, o, &len, &seg_off);
		size_t next;

		if (fr == FR_STOP)
			goto out;
		if (fr == FR_OK || fr == FR_SKIP) {
			if (fr == FR_OK)
				note_frame(fo, o);
			o += len;
			continue;
		}
		if (pending && o == pending) {
			/* the writer died while appending this frame; its records are still in the
			 * segment, so nothing is lost: not damage */
			r->st->damaged = 0;
			r->st->problem[0] = 0;
			r->st->bytes_ignored += n - o;
			break;
		}
		/* damaged: look for the next frame that verifies and carry on from there */
		for (next = next_magic(buf, n, o + 1); next < n;
		     next = next_magic(buf, n, next + 1)) {
			struct rd_stats save = *r->st;
			enum frame_result f2 = read_frame(r, buf, n, next, &len, &seg_off);

			if (f2 == FR_OK || f2 == FR_STOP) {
				char why[sizeof(save.problem)];

				note_frame(fo, next);
				memcpy(why, save.problem, sizeof(why));
				r->st->damaged = 2;
				r->st->resyncs++;
				r->st->bytes_ignored += next - o;
				snprintf(r->st->problem, sizeof(r->st->problem),
					 "%.60s at offset %zu; resynchronised, %zu bytes skipped",
					 why, o, next - o);
				if (f2 == FR_STOP)
					goto out;
				break;
			}
			*r->st = save;
		}
		if (next >= n) {
			r->st->bytes_ignored += n - o;
			break;
		}
		o = next + len;
	}
	if (seg_off == AP_HEADER_SIZE)
		walk_segment(r, buf, n, fo);
out:;
}

static void walk_frames(struct rd *r, const uint8_t *buf, size_t n, size_t o)
{
	struct frame_offs *fo = xmalloc(sizeof(*fo));

	fo->n = 0;
	fo->overflow = 0;
	walk_frames_from(r, buf, n, o, fo, 0);
	free(fo);
}

/* The file header: its format version, or 0 with the reason in msg. */
static uint32_t check_header(const uint8_t *buf, size_t n, char *msg, size_t msglen)
{
	uint32_t ver;

	if (n == 0) {
		snprintf(msg, msglen, "empty file (no agentprof header)");
		return 0;
	}
	ver = ap_decode_file_header(buf, n);
	if (!ver) {
		uint8_t want[AP_HEADER_SIZE];

		ap_encode_file_header(want, sizeof(want));
		if (n < AP_HEADER_SIZE && memcmp(buf, want, n < 17 ? n : 17) == 0)
			snprintf(msg, msglen, "truncated agentprof header (%zu bytes)", n);
		else
			snprintf(msg, msglen, "not an agentprof span file (bad magic)");
		return 0;
	}
	if (ver > AP_FORMAT_VERSION) {
		snprintf(msg, msglen, "format version %u is newer than this viewer reads (%u)", ver,
			 AP_FORMAT_VERSION);
		return 0;
	}
	return ver;
}

/* Set up a decoding context; -1 with the reason in msg. */
static int rd_open(struct rd *r, rd_record_fn fn, void *ctx, struct rd_stats *st, char *msg,
		   size_t msglen)
{
	memset(r, 0, sizeof(*r));
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		snprintf(msg, msglen, "cannot create a zstd context");
		return -1;
	}
	ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, 26);
	r->out_cap = r->out_alloc = 1 << 20;
	r->out = xmalloc(r->out_cap);
	r->fn = fn;
	r->ctx = ctx;
	r->st = st;
	return 0;
}

static void rd_close(struct rd *r)
{
	ZSTD_freeDCtx(r->dctx);
	free(r->out);
}

int rd_parse_buf(const uint8_t *buf, size_t n, rd_record_fn fn, void *ctx, struct rd_stats *st,
		 char *msg, size_t msglen)
{
	struct rd r;
	uint32_t ver;

	memset(st, 0, sizeof(*st));
	ver = check_header(buf, n, msg, msglen);
	if (!ver)
		return -1;
	st->version = ver;
	if (rd_open(&r, fn, ctx, st, msg, msglen) < 0) {
		rd_close(&r);
		return -1;
	}
	walk_frames(&r, buf, n, AP_HEADER_SIZE);
	rd_close(&r);
	return 0;
}

/* --- frame ranges, for decoding one file on several threads -------------------------------- */

int rd_plan(const uint8_t *buf, size_t n, struct rd_plan *p, struct rd_stats *st, char *msg,
	    size_t msglen)
{
	size_t o = AP_HEADER_SIZE, cap = 0, seg = 0;

	memset(p, 0, sizeof(*p));
	memset(st, 0, sizeof(*st));
	st->version = check_header(buf, n, msg, msglen);
	if (!st->version)
		return -1;
	/* the same frame checks as read_frame, without decompressing: a frame that fails them,
	 * or fails to verify later, is where the sequential walk takes over (rd_resume) */
	while (o < n) {
		const uint8_t *q = buf + o;
		size_t left = n - o, csize;

		if (left >= 8 && (le32(q) & 0xFFFFFFF0u) == 0x184D2A50u) {
			uint64_t sk = 8 + (uint64_t)le32(q + 4);

			if (sk > left)
				break;
			if (le32(q) == AP_SEG_SKIP_MAGIC && sk >= 16 &&
			    !memcmp(q + 8, AP_SEG_MAGIC, 8))
				seg = o;
			o += (size_t)sk;
			continue;
		}
		csize = ZSTD_findFrameCompressedSize(q, left);
		if (ZSTD_isError(csize) || !frame_has_checksum(q, csize))
			break;
		if (p->n_frames == cap) {
			cap = cap ? cap * 2 : 64;
			p->frames = xrealloc(p->frames, cap * sizeof(*p->frames));
		}
		p->frames[p->n_frames++] = (struct rd_frame){o, csize, seg};
		o += csize;
	}
	p->stop = o;
	p->seg_off = seg;
	return 0;
}

void rd_plan_free(struct rd_plan *p)
{
	free(p->frames);
	memset(p, 0, sizeof(*p));
}

/* A decoding thread keeps its zstd context and frame buffer from one range to the next (fresh
 * pages for every range were most of a range's cost); the buffer is used as if new (out_cap
 * starts at 1 MiB), so decoding goes exactly as with a fresh one. Freed at thread exit. */
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

struct tl_rd {
	ZSTD_DCtx *dctx;
	uint8_t *out;
	size_t alloc;
};

static void tl_free(void *p)
{
	struct tl_rd *t = p;

	ZSTD_freeDCtx(t->dctx);
	free(t->out);
	free(t);
}

static void tl_init(void)
{
	pthread_key_create(&tl_key, tl_free);
}

void rd_thread_cache_free(void)
{
	struct tl_rd *t;

	pthread_once(&tl_once, tl_init);
	t = pthread_getspecific(tl_key);
	if (t) {
		pthread_setspecific(tl_key, NULL);
		tl_free(t);
	}
}

int rd_decode_frames(const uint8_t *buf, const struct rd_plan *p, size_t a, size_t b,
		     rd_record_fn fn, void *ctx, struct rd_stats *st, size_t *out_cap)
{
	struct rd r;
	struct tl_rd *t;
	char msg[64];
	int rc = 0;

	pthread_once(&tl_once, tl_init);
	t = pthread_getspecific(tl_key);
	if (t) {
		memset(&r, 0, sizeof(r));
		r.dctx = t->dctx;
		r.out = t->out;
		r.out_alloc = t->alloc;
		r.out_cap = 1 << 20;
		r.fn = fn;
		r.ctx = ctx;
		r.st = st;
	} else if (rd_open(&r, fn, ctx, st, msg, sizeof(msg)) < 0) {
		rd_close(&r);
		return -1;
	}
	for (size_t i = a; i < b && !rc; i++) {
		long long got = decompress_frame(&r, buf + p->frames[i].off, p->frames[i].len);

		if (got < 0) {
			rc = -1; /* the caller resumes sequentially, which says what is wrong */
			break;
		}
		st->frames++;
		if (decode_records(&r, r.out, (size_t)got))
			rc = -1;
	}
	*out_cap = r.out_cap;
	if (!t)
		t = xcalloc(1, sizeof(*t));
	t->dctx = r.dctx;
	t->out = r.out;
	t->alloc = r.out_alloc;
	if (pthread_setspecific(tl_key, t) != 0) {
		free(t);
		rd_close(&r);
	}
	return rc;
}

void rd_resume(const uint8_t *buf, size_t n, const struct rd_plan *p, size_t a, size_t out_cap,
	       rd_record_fn fn, void *ctx, struct rd_stats *st)
{
	struct frame_offs *fo = xmalloc(sizeof(*fo));
	struct rd r;
	char msg[64];

	fo->n = 0;
	fo->overflow = 0;
	for (size_t i = 0; i < a && i < p->n_frames; i++)
		note_frame(fo, p->frames[i].off);
	if (rd_open(&r, fn, ctx, st, msg, sizeof(msg)) == 0 && out_cap > r.out_cap) {
		/* the buffer the sequential walk would have grown to by now: zstd names some
		 * damage differently with a smaller one */
		r.out = xrealloc(r.out, out_cap);
		r.out_cap = r.out_alloc = out_cap;
	}
	if (r.dctx)
		walk_frames_from(&r, buf, n, a < p->n_frames ? p->frames[a].off : p->stop, fo,
				 a < p->n_frames ? p->frames[a].seg : p->seg_off);
	rd_close(&r);
	free(fo);
}

int rd_slurp(const char *path, uint8_t **bufp, size_t *np, char *msg, size_t msglen)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t n = 0, cap;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); /* a FIFO: no wait */
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(msg, msglen, "not a regular file");
		goto out;
	}
	if ((uint64_t)sb.st_size > RD_MAX_FILE_SIZE) {
		snprintf(msg, msglen, "file too large (%lld bytes)", (long long)sb.st_size);
		goto out;
	}
	cap = (size_t)sb.st_size + 1; /* the file may still grow while we read */
	buf = xmalloc(cap);
	while (n < cap) {
		ssize_t k = read(fd, buf + n, cap - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(msg, msglen, "read error: %s", strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*bufp = buf;
	*np = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
