/* reader.c: decode span files frame by frame, keeping only complete checksum-verified frames. */
#include <errno.h>
#include <fcntl.h>
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
	uint8_t *out; /* decompressed frame content */
	size_t out_cap;
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
static int decode_frame(struct rd *r, size_t n)
{
	size_t o = 0, used = 0;

	while (o < n) {
		enum ap_dec_status s = ap_decode(r->out + o, n - o, &r->rec, &used);

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
			r->out = xrealloc(r->out, nc);
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

static void walk_frames(struct rd *r, const uint8_t *buf, size_t n, size_t o)
{
	while (o < n) {
		const uint8_t *p = buf + o;
		size_t left = n - o, csize;
		long long got;

		if (left >= 8 && (le32(p) & 0xFFFFFFF0u) == 0x184D2A50u) {
			uint64_t sk = 8 + (uint64_t)le32(p + 4);

			if (sk > left) {
				set_problem(r->st, 1, "truncated skippable frame%s", "");
				break;
			}
			o += sk;
			continue;
		}
		csize = ZSTD_findFrameCompressedSize(p, left);
		if (ZSTD_isError(csize)) {
			int trunc = ZSTD_getErrorCode(csize) == ZSTD_error_srcSize_wrong ||
				    left < 4 || le32(p) == ZSTD_MAGIC;
			if (trunc)
				set_problem(r->st, 1, "incomplete last frame%s", "");
			else
				set_problem(r->st, 2, "not a zstd frame (%s)", "bad frame magic");
			break;
		}
		if (!frame_has_checksum(p, csize)) {
			set_problem(r->st, 2, "frame without content checksum%s", "");
			break;
		}
		got = decompress_frame(r, p, csize);
		if (got < 0)
			break;
		r->st->frames++;
		o += csize;
		if (decode_frame(r, (size_t)got))
			return;
	}
	r->st->bytes_ignored = n - o;
}

int rd_parse_buf(const uint8_t *buf, size_t n, rd_record_fn fn, void *ctx, struct rd_stats *st,
		 char *msg, size_t msglen)
{
	struct rd r = {0};
	uint32_t ver;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (n == 0) {
		snprintf(msg, msglen, "empty file (no agentprof header)");
		return -1;
	}
	ver = ap_decode_file_header(buf, n);
	if (!ver) {
		uint8_t want[AP_HEADER_SIZE];

		ap_encode_file_header(want, sizeof(want));
		if (n < AP_HEADER_SIZE && memcmp(buf, want, n < 17 ? n : 17) == 0)
			snprintf(msg, msglen, "truncated agentprof header (%zu bytes)", n);
		else
			snprintf(msg, msglen, "not an agentprof span file (bad magic)");
		return -1;
	}
	if (ver > AP_FORMAT_VERSION) {
		snprintf(msg, msglen, "format version %u is newer than this viewer reads (%u)", ver,
			 AP_FORMAT_VERSION);
		return -1;
	}
	st->version = ver;
	r.dctx = ZSTD_createDCtx();
	if (!r.dctx) {
		snprintf(msg, msglen, "cannot create a zstd context");
		goto out;
	}
	ZSTD_DCtx_setParameter(r.dctx, ZSTD_d_windowLogMax, 26);
	r.out_cap = 1 << 20;
	r.out = xmalloc(r.out_cap);
	r.fn = fn;
	r.ctx = ctx;
	r.st = st;
	walk_frames(&r, buf, n, AP_HEADER_SIZE);
	rc = 0;
out:
	ZSTD_freeDCtx(r.dctx);
	free(r.out);
	return rc;
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
