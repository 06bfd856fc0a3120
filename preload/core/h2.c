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

/* gRPC over the stream: length-prefixed protobuf messages, walked at the top level and inside one
 * nested message (the usage) for the model and token fields of GenerateContent. */
enum pb_state { PB_TAG = 0, PB_VARINT, PB_LEN, PB_SKIP, PB_STR, PB_DEAD };
enum grpc_api { G_NONE = 0, G_GEMINI, G_VERTEX };

struct pbwalk {
	uint8_t pre[5];
	uint8_t pre_n;
	uint8_t skip_msg; /* a compressed message: skipped */
	uint8_t st;	  /* enum pb_state */
	uint8_t depth;	  /* 1 inside the usage message */
	uint8_t shift;
	uint8_t wt;
	uint8_t str_n;
	uint32_t msg_left;
	uint32_t sub_left;
	uint32_t field;
	uint64_t v;
	uint64_t skip;
	char *str; /* destination of the string being captured (AP_STR_MODEL bytes) */
};

struct stream {
	uint32_t id;	     /* 0: free slot */
	uint8_t resp;	     /* final response headers seen */
	uint8_t grpc;	     /* content-type application/grpc */
	uint8_t req_done;    /* END_STREAM from the client */
	int32_t grpc_status; /* grpc-status of the response or its trailers, -1 if none */
	uint8_t grpc_api;    /* enum grpc_api, from :path */
	uint8_t grpc_stream; /* a server-streaming method */
	uint32_t grpc_msgs;  /* response messages */
	int64_t grpc_first_ns;
	struct ap_usage grpc_usage;
	char grpc_req_model[AP_STR_MODEL];
	char grpc_resp_model[AP_STR_MODEL];
	struct pbwalk pb[2]; /* 0 request, 1 response */
	int64_t resp_clen;   /* response content-length, -1 if none */
	int64_t resp_got;    /* response DATA payload bytes so far */
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

/* --- gRPC ---------------------------------------------------------------------------------- */

/* Field numbers of GenerateContent{Request,Response} (googleapis: google/ai/generativelanguage
 * v1 and v1beta generative_service.proto; google/cloud/aiplatform/v1 prediction_service.proto). */
struct grpc_schema {
	uint32_t req_model, resp_usage, resp_model;
	uint32_t input, output, cache_read, reasoning; /* inside the usage message; 0 = none */
};

static const struct grpc_schema schemas[] = {
	[G_GEMINI] = {1, 3, 4, 1, 2, 4, 10},
	[G_VERTEX] = {5, 4, 0, 1, 2, 0, 0},
};

static void grpc_path(struct stream *s, const uint8_t *v, size_t n)
{
	static const char gemini[] = "/google.ai.generativelanguage.";
	static const char vertex[] = "/google.cloud.aiplatform.";
	static const char streaming[] = "/StreamGenerateContent";
	size_t sl = sizeof(streaming) - 1;

	if (n > sizeof(gemini) - 1 && memcmp(v, gemini, sizeof(gemini) - 1) == 0)
		s->grpc_api = G_GEMINI;
	else if (n > sizeof(vertex) - 1 && memcmp(v, vertex, sizeof(vertex) - 1) == 0)
		s->grpc_api = G_VERTEX;
	s->grpc_stream = n > sl && memcmp(v + n - sl, streaming, sl) == 0;
}

static void pb_value(struct stream *s, int resp, uint32_t field, uint64_t v)
{
	const struct grpc_schema *g = &schemas[s->grpc_api];
	int64_t x = v > INT32_MAX ? INT32_MAX : (int64_t)v;

	if (!resp)
		return;
	if (field == g->input)
		s->grpc_usage.input = x;
	else if (field == g->output)
		s->grpc_usage.output = x;
	else if (g->cache_read && field == g->cache_read)
		s->grpc_usage.cache_read = x;
	else if (g->reasoning && field == g->reasoning)
		s->grpc_usage.reasoning = x;
}

/* A length-delimited field of len bytes starts at depth 0 (or 1). */
static void pb_len(struct stream *s, int resp, struct pbwalk *w, uint64_t len)
{
	const struct grpc_schema *g = &schemas[s->grpc_api];
	uint32_t model = resp ? g->resp_model : g->req_model;

	w->st = PB_SKIP;
	w->skip = len;
	if (w->depth == 0 && resp && w->field == g->resp_usage && len) {
		w->depth = 1;
		w->sub_left = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
		w->st = PB_TAG;
		return;
	}
	if (w->depth == 0 && model && w->field == model) {
		w->st = PB_STR;
		w->str = resp ? s->grpc_resp_model : s->grpc_req_model;
		w->str_n = 0;
	}
	if (!len)
		w->st = PB_TAG;
}

/* Walk n bytes of one protobuf message (never more than the message holds). */
static void pb_walk(struct stream *s, int resp, struct pbwalk *w, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && w->st != PB_DEAD;) {
		uint8_t b = p[i];
		size_t k = 1;
		int inside = w->depth == 1; /* this byte belongs to the usage message */

		switch (w->st) {
		case PB_TAG:
		case PB_VARINT:
		case PB_LEN:
			if (w->shift > 63) {
				w->st = PB_DEAD;
				return;
			}
			w->v |= (uint64_t)(b & 0x7f) << w->shift;
			w->shift = (uint8_t)(w->shift + 7);
			if (b & 0x80)
				break;
			if (w->st == PB_TAG) {
				w->field = (uint32_t)(w->v >> 3);
				w->wt = (uint8_t)(w->v & 7);
				w->st = w->wt == 0 ? PB_VARINT : w->wt == 2 ? PB_LEN : PB_SKIP;
				w->skip = w->wt == 1 ? 8 : 4;
				if (w->wt != 0 && w->wt != 1 && w->wt != 2 && w->wt != 5)
					w->st = PB_DEAD;
			} else if (w->st == PB_VARINT) {
				if (w->depth == 1)
					pb_value(s, resp, w->field, w->v);
				w->st = PB_TAG;
			} else {
				pb_len(s, resp, w, w->v);
			}
			w->v = 0;
			w->shift = 0;
			break;
		case PB_SKIP:
			k = n - i < w->skip ? n - i : (size_t)w->skip;
			w->skip -= k;
			if (!w->skip)
				w->st = PB_TAG;
			break;
		case PB_STR:
			if (w->str_n < AP_STR_MODEL - 1 && b >= 0x20 && b < 0x7f)
				w->str[w->str_n++] = (char)b;
			w->str[w->str_n] = 0;
			if (!--w->skip)
				w->st = PB_TAG;
			break;
		}
		if (inside) {
			if (k > w->sub_left) {
				w->st = PB_DEAD;
				return;
			}
			w->sub_left -= (uint32_t)k;
			if (!w->sub_left) {
				if (w->st != PB_TAG)
					w->st = PB_DEAD;
				w->depth = 0;
			}
		}
		i += k;
	}
}

/* DATA bytes of a gRPC stream: 5-byte message prefixes, then the messages. */
static void grpc_data(struct stream *s, int resp, const uint8_t *p, size_t n, int64_t now)
{
	struct pbwalk *w = &s->pb[resp];

	while (n) {
		if (w->pre_n < 5) {
			w->pre[w->pre_n++] = *p++;
			n--;
			if (w->pre_n < 5)
				continue;
			w->msg_left = (uint32_t)w->pre[1] << 24 | (uint32_t)w->pre[2] << 16 |
				      (uint32_t)w->pre[3] << 8 | w->pre[4];
			w->skip_msg = w->pre[0] != 0 || !s->grpc_api;
			w->st = PB_TAG;
			w->depth = w->shift = 0;
			w->v = 0;
		} else {
			size_t k = n < w->msg_left ? n : w->msg_left;
			if (!w->skip_msg)
				pb_walk(s, resp, w, p, k);
			w->msg_left -= (uint32_t)k;
			p += k;
			n -= k;
		}
		if (w->pre_n == 5 && w->msg_left == 0) {
			w->pre_n = 0;
			if (resp && !s->grpc_msgs++)
				s->grpc_first_ns = now;
		}
	}
}

/* "models/gemini-2.0-flash", ".../publishers/google/models/gemini-2.0-flash": the model id. */
static void model_id(char *dst, const char *src)
{
	const char *m = src, *q;

	while ((q = strstr(m, "models/")) != NULL)
		m = q + 7;
	memmove(dst, m, strlen(m) + 1);
}

static void grpc_finish(struct stream *s, struct ap_exchange *ex)
{
	ex->grpc_status = s->grpc_status;
	if (!s->grpc_api)
		return;
	if (s->grpc_req_model[0] && !ex->request_model[0]) {
		model_id(s->grpc_req_model, s->grpc_req_model);
		memcpy(ex->request_model, s->grpc_req_model, sizeof(ex->request_model));
	}
	if (s->grpc_resp_model[0] && !ex->response_model[0])
		memcpy(ex->response_model, s->grpc_resp_model, sizeof(ex->response_model));
	if (s->grpc_usage.input != AP_UNKNOWN || s->grpc_usage.output != AP_UNKNOWN)
		ex->usage = s->grpc_usage;
	if (s->grpc_stream) {
		ex->stream = 1;
		ex->events = s->grpc_msgs;
		ex->first_event_ns = s->grpc_first_ns;
	}
}

static void stream_emit(void *ctx, struct ap_exchange *ex)
{
	struct stream *s = ctx;
	const struct ap_http_env *env = s->owner->env->http;

	if (s->grpc)
		grpc_finish(s, ex);
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
		s->grpc_status = AP_UNKNOWN;
		s->grpc_api = s->grpc_stream = 0;
		s->grpc_msgs = 0;
		s->grpc_first_ns = AP_UNKNOWN;
		s->grpc_usage = (struct ap_usage){AP_UNKNOWN, AP_UNKNOWN, AP_UNKNOWN, AP_UNKNOWN,
						  AP_UNKNOWN};
		s->grpc_req_model[0] = s->grpc_resp_model[0] = 0;
		memset(s->pb, 0, sizeof(s->pb));
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
	if (!out && name_eq(nv, "grpc-status") && nv->valuelen && nv->valuelen < 4) {
		int32_t v = 0;
		for (size_t k = 0; k < nv->valuelen && v >= 0; k++)
			v = nv->value[k] >= '0' && nv->value[k] <= '9'
				    ? v * 10 + (nv->value[k] - '0')
				    : -1;
		s->grpc_status = v >= 0 ? v : AP_UNKNOWN;
	}
	if (d->block_kind == B_TRAILERS)
		return;
	if (name_eq(nv, "content-type") && nv->valuelen >= 16 &&
	    memcmp(nv->value, "application/grpc", 16) == 0)
		s->grpc = 1;
	if (out && name_eq(nv, ":path"))
		grpc_path(s, nv->value, nv->valuelen);
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
	if (s->grpc)
		grpc_data(s, !out, p, n, now);
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
