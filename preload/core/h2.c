/* h2.c: HTTP/2 framing of both directions, HPACK through a pluggable inflater, one exchange per
 * stream driven through http.c's framed interface. */
#include <string.h>

#include "h2.h"

enum ftype {
	F_DATA = 0,
	F_HEADERS = 1,
	F_PRIORITY = 2,
	F_RST_STREAM = 3,
	F_SETTINGS = 4,
	F_PUSH_PROMISE = 5,
	F_PING = 6,
	F_GOAWAY = 7,
	F_WINDOW_UPDATE = 8,
	F_CONTINUATION = 9
};

#define FL_END_STREAM  0x01
#define FL_ACK	       0x01
#define FL_END_HEADERS 0x04
#define FL_PADDED      0x08
#define FL_PRIORITY    0x20

#define SETTINGS_HEADER_TABLE_SIZE 1

/* What the header block in progress belongs to. */
enum block { B_IGNORE = 0, B_REQUEST, B_RESPONSE, B_TRAILERS };

/* Arena allocator: power-of-two size classes from 32 bytes, a free list per class. */
#define A_CLASSES 12 /* 32 B .. 64 KiB */
#define A_HDR	  16

struct arena {
	uint32_t bump;
	uint32_t free_head[A_CLASSES]; /* offset + 1 of the first free block, 0 = none */
	_Alignas(16) uint8_t mem[AP_H2_ARENA];
};

struct stream {
	uint32_t id;	   /* 0: free slot */
	uint8_t resp;	   /* final response headers seen */
	uint8_t grpc;	   /* content-type application/grpc */
	uint8_t req_done;  /* END_STREAM from the client */
	int64_t resp_clen; /* response content-length, -1 if none */
	int64_t resp_got;  /* response DATA payload bytes so far */
	struct ap_h2 *owner;
	struct ap_http_env env; /* the connection's env, emit routed through stream_emit */
	struct ap_http http;
};

/* One direction's framing state (0 = out, client to server; 1 = in). */
struct dir {
	uint8_t hdr[9];
	uint8_t hlen;
	uint8_t type;
	uint8_t flags;
	uint8_t padded_known; /* the pad-length byte was read (or there is none) */
	uint8_t ctl_n;
	uint8_t ctl[8];
	uint32_t sid;
	uint32_t len;
	uint32_t pos;
	uint32_t frag_start; /* [frag_start, frag_end) of the payload is data / header fragment */
	uint32_t frag_end;
	int64_t frame_ns; /* when the frame header completed */
	int stream;	  /* index of the frame's tracked stream, -1 if none */
	/* header block in progress (HEADERS or PUSH_PROMISE, then CONTINUATION) */
	uint8_t in_block;
	uint8_t block_kind; /* enum block */
	uint8_t block_es;   /* the HEADERS frame carried END_STREAM */
	uint8_t hpack_dead; /* decoding stopped in this direction */
	uint32_t block_sid;
	uint32_t block_bytes;
	int block_stream;
	void *inflater;
	uint32_t table_pending; /* SETTINGS_HEADER_TABLE_SIZE to apply at the ACK, +1 */
	uint8_t preface_n;	/* out: preface bytes matched */
	uint32_t max_sid;	/* out: highest client stream id seen */
};

struct ap_h2 {
	const struct ap_h2_env *env;
	uint8_t mode;
	uint64_t drops;
	struct ap_hpack_mem mem;
	struct dir dir[2];
	struct stream streams[AP_H2_STREAMS];
	struct arena arena;
};

int ap_h2_preface_start(const void *buf, size_t n)
{
	if (n < 4)
		return 0;
	return memcmp(buf, AP_H2_PREFACE, n < AP_H2_PREFACE_LEN ? n : AP_H2_PREFACE_LEN) == 0;
}

size_t ap_h2_size(void)
{
	return sizeof(struct ap_h2);
}

int ap_h2_mode(const struct ap_h2 *h)
{
	return h->mode;
}

uint64_t ap_h2_drops(const struct ap_h2 *h)
{
	return h->drops;
}

int ap_h2_open_streams(const struct ap_h2 *h)
{
	int n = 0;

	for (int i = 0; i < AP_H2_STREAMS; i++)
		n += h->streams[i].id != 0;
	return n;
}

/* --- arena ---------------------------------------------------------------------------------- */

static int size_class(size_t n)
{
	size_t c = 32;
	int k = 0;

	while (c < n + A_HDR) {
		c <<= 1;
		if (++k == A_CLASSES)
			return -1;
	}
	return k;
}

static void *a_malloc(size_t n, void *user)
{
	struct arena *a = user;
	int k = size_class(n);
	uint8_t *b;

	if (k < 0)
		return NULL;
	for (int j = k; j < A_CLASSES; j++) {
		if (a->free_head[j]) {
			b = a->mem + a->free_head[j] - 1;
			memcpy(&a->free_head[j], b + 4, 4);
			return b + A_HDR;
		}
		if (j == k && a->bump + (32u << k) <= sizeof(a->mem)) {
			b = a->mem + a->bump;
			a->bump += 32u << k;
			memcpy(b, &k, 4);
			return b + A_HDR;
		}
	}
	return NULL;
}

static void a_free(void *p, void *user)
{
	struct arena *a = user;
	uint8_t *b;
	uint32_t off;
	int k;

	if (!p)
		return;
	b = (uint8_t *)p - A_HDR;
	memcpy(&k, b, 4);
	off = (uint32_t)(b - a->mem) + 1;
	memcpy(b + 4, &a->free_head[k], 4);
	a->free_head[k] = off;
}

static void *a_calloc(size_t nmemb, size_t size, void *user)
{
	void *p;

	if (size && nmemb > (size_t)AP_H2_ARENA / size)
		return NULL;
	p = a_malloc(nmemb * size, user);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

static void *a_realloc(void *p, size_t n, void *user)
{
	uint8_t *b;
	size_t have;
	void *q;
	int k;

	if (!p)
		return a_malloc(n, user);
	if (n == 0) {
		a_free(p, user);
		return NULL;
	}
	b = (uint8_t *)p - A_HDR;
	memcpy(&k, b, 4);
	have = (32u << k) - A_HDR;
	if (n <= have)
		return p;
	q = a_malloc(n, user);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	a_free(p, user);
	return q;
}

/* --- streams -------------------------------------------------------------------------------- */

static void stream_emit(void *ctx, struct ap_exchange *ex)
{
	struct stream *s = ctx;
	const struct ap_http_env *env = s->owner->env->http;

	if (env && env->emit)
		env->emit(env->ctx, ex);
}

static int find_stream(struct ap_h2 *h, uint32_t sid)
{
	if (!sid)
		return -1;
	for (int i = 0; i < AP_H2_STREAMS; i++)
		if (h->streams[i].id == sid)
			return i;
	return -1;
}

static void stream_free(struct ap_h2 *h, int i)
{
	struct stream *s = &h->streams[i];

	ap_http_reset(&s->http);
	s->id = 0;
	for (int d = 0; d < 2; d++) {
		if (h->dir[d].stream == i)
			h->dir[d].stream = -1;
		if (h->dir[d].block_stream == i)
			h->dir[d].block_stream = -1;
	}
}

/* Free the slot once its exchange was emitted. */
static void stream_check(struct ap_h2 *h, int i)
{
	if (i >= 0 && h->streams[i].id && ap_http_framed_done(&h->streams[i].http))
		stream_free(h, i);
}

static int stream_open(struct ap_h2 *h, uint32_t sid, int64_t now)
{
	for (int i = 0; i < AP_H2_STREAMS; i++) {
		struct stream *s = &h->streams[i];

		if (s->id)
			continue;
		s->id = sid;
		s->resp = s->grpc = s->req_done = 0;
		s->resp_clen = -1;
		s->resp_got = 0;
		s->owner = h;
		s->env = h->env->http ? *h->env->http : (struct ap_http_env){0};
		s->env.emit = stream_emit;
		s->env.ctx = s;
		s->http.env = &s->env;
		ap_http_framed_request(&s->http, now);
		return i;
	}
	h->drops++;
	return -1;
}

/* End the stream with an error (reset, refused, connection closed). */
static void stream_abort(struct ap_h2 *h, int i, int64_t now, unsigned err)
{
	ap_http_close(&h->streams[i].http, now, err);
	stream_free(h, i);
}

static void give_up(struct ap_h2 *h, int64_t now)
{
	for (int i = 0; i < AP_H2_STREAMS; i++)
		if (h->streams[i].id)
			stream_abort(h, i, now, AP_XERR_PROTOCOL);
	for (int d = 0; d < 2; d++) {
		if (h->dir[d].inflater && h->env->hpack)
			h->env->hpack->inflate_del(h->dir[d].inflater);
		h->dir[d].inflater = NULL;
	}
	h->mode = AP_H2_GAVE_UP;
}

/* --- header blocks -------------------------------------------------------------------------- */

static int name_eq(const struct ap_hpack_nv *nv, const char *want)
{
	size_t n = strlen(want);

	return nv->namelen == n && memcmp(nv->name, want, n) == 0;
}

static void header_field(struct ap_h2 *h, int out, const struct ap_hpack_nv *nv)
{
	struct dir *d = &h->dir[out ? 0 : 1];
	struct stream *s;

	if (d->block_stream < 0 || d->block_kind == B_IGNORE)
		return;
	s = &h->streams[d->block_stream];
	if (d->block_kind == B_TRAILERS)
		return;
	if (name_eq(nv, "content-type") && nv->valuelen >= 16 &&
	    memcmp(nv->value, "application/grpc", 16) == 0)
		s->grpc = 1;
	if (!out && name_eq(nv, "content-length") && nv->valuelen && nv->valuelen < 16) {
		int64_t v = 0;
		for (size_t k = 0; k < nv->valuelen && v >= 0; k++)
			v = nv->value[k] >= '0' && nv->value[k] <= '9'
				    ? v * 10 + (nv->value[k] - '0')
				    : -1;
		s->resp_clen = v;
	}
	ap_http_framed_header(&s->http, out, (const char *)nv->name, nv->namelen,
			      (const char *)nv->value, nv->valuelen);
}

static int inflater_ready(struct ap_h2 *h, struct dir *d)
{
	const struct ap_hpack_api *api = h->env->hpack;

	if (d->hpack_dead || !api)
		return 0;
	if (!d->inflater && api->inflate_new2(&d->inflater, &h->mem) != 0) {
		d->inflater = NULL;
		d->hpack_dead = 1;
		h->drops++;
		return 0;
	}
	return 1;
}

static void hpack_fail(struct ap_h2 *h, struct dir *d)
{
	d->hpack_dead = 1;
	h->drops++;
}

static void hpack_feed(struct ap_h2 *h, int out, const uint8_t *p, size_t n, int final)
{
	struct dir *d = &h->dir[out ? 0 : 1];
	const struct ap_hpack_api *api = h->env->hpack;
	static const uint8_t none[1];

	if (!inflater_ready(h, d))
		return;
	if (!p)
		p = none;
	for (;;) {
		struct ap_hpack_nv nv;
		int flags = 0;
		ptrdiff_t r = api->inflate_hd(d->inflater, &nv, &flags, p, n, final);

		if (r < 0 || (size_t)r > n) {
			hpack_fail(h, d);
			return;
		}
		p += r;
		n -= (size_t)r;
		if (flags & AP_HPACK_EMIT)
			header_field(h, out, &nv);
		if (flags & AP_HPACK_FINAL) {
			api->inflate_end_headers(d->inflater);
			return;
		}
		if (!(flags & AP_HPACK_EMIT) && n == 0) {
			if (final)
				hpack_fail(h, d); /* a final block that did not finish */
			return;
		}
	}
}

static void block_fragment(struct ap_h2 *h, int out, const uint8_t *p, size_t n)
{
	struct dir *d = &h->dir[out ? 0 : 1];

	if (d->hpack_dead || !n)
		return;
	if (d->block_bytes + n > AP_H2_BLOCK_MAX) {
		hpack_fail(h, d);
		return;
	}
	d->block_bytes += (uint32_t)n;
	hpack_feed(h, out, p, n, 0);
}

/* HEADERS or PUSH_PROMISE starts a header block. */
static void block_begin(struct ap_h2 *h, int out, int64_t now)
{
	struct dir *d = &h->dir[out ? 0 : 1];
	int i = d->stream;

	d->in_block = 1;
	d->block_sid = d->sid;
	d->block_bytes = 0;
	d->block_es = d->type == F_HEADERS && (d->flags & FL_END_STREAM);
	d->block_kind = B_IGNORE;
	d->block_stream = -1;
	if (d->type != F_HEADERS)
		return; /* PUSH_PROMISE: decoded to keep the table in step, then ignored */
	if (out) {
		if (i < 0 && (d->sid & 1) && d->sid > d->max_sid) {
			d->max_sid = d->sid;
			i = stream_open(h, d->sid, now);
			d->stream = i;
			if (i >= 0) {
				d->block_kind = B_REQUEST;
				ap_http_framed_bytes(&h->streams[i].http, 1, 9 + d->len);
			}
		}
		/* request trailers, or a reused / untracked stream id: decoded, ignored */
		d->block_stream = i;
		return;
	}
	if (i < 0)
		return;
	d->block_stream = i;
	if (h->streams[i].resp) {
		d->block_kind = B_TRAILERS;
		ap_http_framed_bytes(&h->streams[i].http, 0, 9 + d->len);
		return;
	}
	d->block_kind = B_RESPONSE;
	ap_http_framed_response(&h->streams[i].http, d->frame_ns);
	ap_http_framed_bytes(&h->streams[i].http, 0, 9 + d->len);
}

static void stream_end(struct ap_h2 *h, int out, int i, int64_t now)
{
	struct stream *s;

	if (i < 0)
		return;
	s = &h->streams[i];
	if (out) {
		s->req_done = 1;
		ap_http_framed_end(&s->http, 1, now);
	} else if (!s->resp) {
		stream_abort(h, i, now, AP_XERR_PROTOCOL); /* ended without a final response */
		return;
	} else {
		ap_http_framed_end(&s->http, 0, now);
	}
	stream_check(h, i);
}

static void block_end(struct ap_h2 *h, int out, int64_t now)
{
	struct dir *d = &h->dir[out ? 0 : 1];
	int i = d->block_stream;

	hpack_feed(h, out, NULL, 0, 1);
	d->in_block = 0;
	if (i < 0 || d->block_kind == B_IGNORE) {
		d->block_stream = -1;
		return;
	}
	if (d->block_kind == B_REQUEST) {
		ap_http_framed_headers_end(&h->streams[i].http, 1, now);
	} else if (d->block_kind == B_RESPONSE) {
		if (ap_http_framed_headers_end(&h->streams[i].http, 0, now))
			h->streams[i].resp = 1;
		else
			h->streams[i].resp_clen = -1; /* a 1xx: the final response has its own */
	}
	d->block_stream = -1;
	if (d->block_es ||
	    (d->block_kind == B_RESPONSE && h->streams[i].resp && h->streams[i].resp_clen == 0))
		stream_end(h, out, i, now);
	else
		stream_check(h, i);
}

/* --- frames --------------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Validate the frame header just read; 0 on a framing error. */
static int frame_begin(struct ap_h2 *h, int out, int64_t now)
{
	struct dir *d = &h->dir[out ? 0 : 1];
	const uint8_t *b = d->hdr;
	uint32_t prefix = 0;

	d->len = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
	d->type = b[3];
	d->flags = b[4];
	d->sid = be32(b + 5) & 0x7fffffffu;
	d->pos = 0;
	d->ctl_n = 0;
	d->frame_ns = now;
	if (d->in_block && (d->type != F_CONTINUATION || d->sid != d->block_sid))
		return 0;
	switch (d->type) {
	case F_DATA:
		if (!d->sid)
			return 0;
		break;
	case F_HEADERS:
		if (!d->sid)
			return 0;
		if (d->flags & FL_PRIORITY)
			prefix = 5;
		break;
	case F_PUSH_PROMISE:
		if (!d->sid || out)
			return 0;
		prefix = 4;
		break;
	case F_CONTINUATION:
		if (!d->in_block)
			return 0;
		break;
	case F_PRIORITY:
		if (!d->sid || d->len != 5)
			return 0;
		break;
	case F_RST_STREAM:
		if (!d->sid || d->len != 4)
			return 0;
		break;
	case F_SETTINGS:
		if (d->sid || d->len % 6 || ((d->flags & FL_ACK) && d->len))
			return 0;
		break;
	case F_PING:
		if (d->sid || d->len != 8)
			return 0;
		break;
	case F_GOAWAY:
		if (d->sid || d->len < 8)
			return 0;
		break;
	case F_WINDOW_UPDATE:
		if (d->len != 4)
			return 0;
		break;
	default:
		break; /* unknown types are ignored */
	}
	if (d->type == F_DATA || d->type == F_HEADERS || d->type == F_PUSH_PROMISE) {
		uint32_t pad = (d->flags & FL_PADDED) ? 1 : 0;
		if (d->len < pad + prefix)
			return 0;
		d->padded_known = !pad;
		d->frag_start = pad + prefix;
		d->frag_end = d->len;
	} else {
		d->padded_known = 1;
		d->frag_start = 0;
		d->frag_end = d->type == F_CONTINUATION ? d->len : 0;
	}
	d->stream = d->type == F_CONTINUATION ? d->block_stream : find_stream(h, d->sid);
	if (d->type == F_HEADERS || d->type == F_PUSH_PROMISE)
		block_begin(h, out, now);
	else if (d->stream >= 0 && d->type != F_CONTINUATION && (out || h->streams[d->stream].resp))
		ap_http_framed_bytes(&h->streams[d->stream].http, out, 9 + d->len);
	else if (d->type == F_CONTINUATION && d->stream >= 0 && d->block_kind != B_IGNORE)
		ap_http_framed_bytes(&h->streams[d->stream].http, out, 9 + d->len);
	return 1;
}

static void settings_param(struct ap_h2 *h, int out, const uint8_t *p)
{
	unsigned id = (unsigned)p[0] << 8 | p[1];
	uint32_t v = be32(p + 2);

	/* The sender's decoder size: the other direction's encoder may use it once acknowledged. */
	if (id == SETTINGS_HEADER_TABLE_SIZE)
		h->dir[out ? 1 : 0].table_pending = v > UINT32_MAX - 1 ? UINT32_MAX : v + 1;
}

static void ctl_bytes(struct ap_h2 *h, int out, const uint8_t *p, size_t n)
{
	struct dir *d = &h->dir[out ? 0 : 1];

	for (size_t k = 0; k < n; k++) {
		if (d->ctl_n < sizeof(d->ctl))
			d->ctl[d->ctl_n++] = p[k];
		if (d->type == F_SETTINGS && d->ctl_n == 6) {
			settings_param(h, out, d->ctl);
			d->ctl_n = 0;
		}
	}
}

static void data_bytes(struct ap_h2 *h, int out, int i, const uint8_t *p, size_t n, int64_t now);

/* Payload bytes [pos, pos + n) of the current frame. 0 on a framing error. */
static int frame_payload(struct ap_h2 *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct dir *d = &h->dir[out ? 0 : 1];

	if (!d->padded_known && n) {
		uint32_t pad = p[0];
		if (pad > d->len - d->frag_start)
			return 0;
		d->frag_end = d->len - pad;
		d->padded_known = 1;
		d->pos++;
		p++;
		n--;
	}
	if (!n)
		return 1;
	if (d->frag_end == 0 && d->frag_start == 0) {
		ctl_bytes(h, out, p, n);
		d->pos += (uint32_t)n;
		return 1;
	}
	{
		uint32_t a = d->pos > d->frag_start ? d->pos : d->frag_start;
		uint32_t e =
			d->pos + (uint32_t)n < d->frag_end ? d->pos + (uint32_t)n : d->frag_end;

		if (a < e) {
			const uint8_t *q = p + (a - d->pos);
			size_t k = e - a;

			if (d->type == F_DATA) {
				if (d->stream >= 0 && (out || h->streams[d->stream].resp))
					data_bytes(h, out, d->stream, q, k, now);
			} else {
				block_fragment(h, out, q, k);
			}
		}
	}
	d->pos += (uint32_t)n;
	return 1;
}

/* DATA payload of a tracked stream. A response whose content-length is reached is complete:
 * libcurl finishes the transfer there, before the END_STREAM that may follow in a later frame. */
static void data_bytes(struct ap_h2 *h, int out, int i, const uint8_t *p, size_t n, int64_t now)
{
	struct stream *s = &h->streams[i];

	ap_http_framed_body(&s->http, out, p, n, now);
	if (out)
		return;
	s->resp_got += (int64_t)n;
	if (s->resp_clen >= 0 && s->resp_got >= s->resp_clen)
		stream_end(h, 0, i, now);
}

static void apply_table_size(struct ap_h2 *h, struct dir *d)
{
	if (!d->table_pending)
		return;
	if (inflater_ready(h, d) &&
	    h->env->hpack->inflate_change_table_size(d->inflater, d->table_pending - 1) != 0)
		hpack_fail(h, d);
	d->table_pending = 0;
}

static void frame_end(struct ap_h2 *h, int out, int64_t now)
{
	struct dir *d = &h->dir[out ? 0 : 1];
	int i = d->stream;

	switch (d->type) {
	case F_DATA:
		if (d->flags & FL_END_STREAM)
			stream_end(h, out, i, now);
		break;
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION:
		if (d->flags & FL_END_HEADERS)
			block_end(h, out, now);
		break;
	case F_RST_STREAM:
		if (i >= 0)
			stream_abort(h, i, now, out ? AP_XERR_CLOSED : AP_XERR_RESET);
		break;
	case F_SETTINGS:
		if (d->flags & FL_ACK)
			apply_table_size(h, d);
		break;
	case F_GOAWAY:
		if (!out) {
			uint32_t last = be32(d->ctl) & 0x7fffffffu;
			for (int k = 0; k < AP_H2_STREAMS; k++)
				if (h->streams[k].id > last)
					stream_abort(h, k, now, AP_XERR_RESET);
		}
		break;
	default:
		break;
	}
	d->stream = -1;
	d->hlen = 0;
}

static void feed(struct ap_h2 *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct dir *d = &h->dir[out ? 0 : 1];

	while (n && h->mode == AP_H2_ACTIVE) {
		if (out && d->preface_n < AP_H2_PREFACE_LEN) {
			size_t k = AP_H2_PREFACE_LEN - d->preface_n;
			if (k > n)
				k = n;
			if (memcmp(p, &AP_H2_PREFACE[d->preface_n], k) != 0) {
				give_up(h, now);
				return;
			}
			d->preface_n = (uint8_t)(d->preface_n + k);
			p += k;
			n -= k;
			continue;
		}
		if (d->hlen < 9) {
			size_t k = 9u - d->hlen;
			if (k > n)
				k = n;
			memcpy(d->hdr + d->hlen, p, k);
			d->hlen = (uint8_t)(d->hlen + k);
			p += k;
			n -= k;
			if (d->hlen < 9)
				return;
			if (!frame_begin(h, out, now)) {
				give_up(h, now);
				return;
			}
			if (d->len == 0)
				frame_end(h, out, now);
			continue;
		}
		{
			size_t k = d->len - d->pos;
			if (k > n)
				k = n;
			if (!frame_payload(h, out, p, k, now)) {
				give_up(h, now);
				return;
			}
			p += k;
			n -= k;
			if (d->pos == d->len)
				frame_end(h, out, now);
		}
	}
}

/* --- public API ----------------------------------------------------------------------------- */

void ap_h2_init(struct ap_h2 *h, const struct ap_h2_env *env)
{
	memset(h, 0, offsetof(struct ap_h2, arena));
	h->arena.bump = 0;
	memset(h->arena.free_head, 0, sizeof(h->arena.free_head));
	h->env = env;
	h->mode = AP_H2_ACTIVE;
	h->mem.user = &h->arena;
	h->mem.malloc = a_malloc;
	h->mem.free = a_free;
	h->mem.calloc = a_calloc;
	h->mem.realloc = a_realloc;
	for (int d = 0; d < 2; d++)
		h->dir[d].stream = h->dir[d].block_stream = -1;
	/* zeroed stream parsers are idle; stream_open initialises one before use */
}

void ap_h2_out(struct ap_h2 *h, const void *buf, size_t n, int64_t now_ns)
{
	if (h && buf)
		feed(h, 1, buf, n, now_ns);
}

void ap_h2_in(struct ap_h2 *h, const void *buf, size_t n, int64_t now_ns)
{
	if (h && buf)
		feed(h, 0, buf, n, now_ns);
}

void ap_h2_close(struct ap_h2 *h, int64_t now_ns, unsigned err)
{
	for (int i = 0; i < AP_H2_STREAMS; i++)
		if (h->streams[i].id)
			stream_abort(h, i, now_ns, err ? err : AP_XERR_EOF);
	for (int d = 0; d < 2; d++) {
		if (h->dir[d].inflater && h->env->hpack)
			h->env->hpack->inflate_del(h->dir[d].inflater);
		h->dir[d].inflater = NULL;
	}
	h->mode = AP_H2_GAVE_UP;
}

void ap_h2_reset(struct ap_h2 *h)
{
	for (int i = 0; i < AP_H2_STREAMS; i++)
		ap_http_reset(&h->streams[i].http);
	h->mode = AP_H2_GAVE_UP;
}
