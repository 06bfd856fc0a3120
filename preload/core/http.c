/* http.c: incremental HTTP/1.1 exchange parser (both directions) with SSE/NDJSON/JSON scanning. */
#include <string.h>
#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "classify.h"
#include "cpu.h"
#include "hash64.h"
#include "http.h"
#include "json_scan.h"
#include "redact.h"
#include "usage.h"

#define SLOTS	       4	     /* requests tracked at once (pipelining depth) */
#define INFLATE_MAX    (64ull << 20) /* inflated bytes scanned per response, at most */
#define INFLATE_FREE   (1ull << 20)  /* inflated bytes scanned per response whatever the ratio */
#define INFLATE_RATIO  64	     /* beyond INFLATE_FREE: inflated/compressed ratio of a bomb */
#define EVBUF	       1024 /* bytes of an SSE event or NDJSON line kept for the key check */
#define INFLATE_WINDOW 4096 /* stack output window for inflate */

enum phase { P_START = 0, P_LINE, P_HEADERS, P_BODY };
enum body { B_NONE = 0, B_LENGTH, B_CHUNKED, B_CLOSE };
enum chunk { CH_SIZE = 0, CH_SIZE_LF, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER };
enum cenc { ENC_NONE = 0, ENC_GZIP, ENC_DEFLATE, ENC_OTHER };
enum ckind { K_NONE = 0, K_JSON, K_SSE, K_NDJSON, K_SNIFF };
enum sse { S_LINE = 0, S_FIELD, S_VALUE_START, S_DATA, S_SKIP, S_EVENT_START, S_EVENT };

/* One direction's message framing. */
struct framer {
	uint8_t phase;	/* enum phase */
	uint8_t body;	/* enum body */
	uint8_t chunk;	/* enum chunk */
	uint8_t bad;	/* first line failed validation */
	uint8_t m_len;	/* request method bytes validated so far */
	uint8_t m_done; /* request method ended (space seen) */
	uint8_t te_chunked;
	uint8_t te_other;
	uint8_t enc; /* enum cenc */
	uint8_t clen_bad;
	uint8_t ch_digits;
	uint8_t trailer_empty;
	uint16_t line_len;
	uint32_t line_total; /* bytes of the current line, including what did not fit */
	int64_t clen;	     /* Content-Length, -1 if absent */
	uint64_t remaining;  /* body or chunk bytes left */
	char ctype[AP_STR_CTYPE];
	char line[AP_HTTP_LINE_MAX];
};

struct slot {
	struct ap_exchange ex;
	struct ap_hash64 hash; /* of method, path and body: request_hash */
	uint32_t seq;
	int32_t host_port;
	uint8_t used;
	uint8_t req_ok;	    /* request line validated */
	uint8_t req_done;   /* request fully written */
	uint8_t head;	    /* HEAD: the response has no body */
	uint8_t connect;    /* CONNECT: 2xx turns the connection into a tunnel */
	uint8_t llm;	    /* scan bodies for models and usage */
	uint8_t api;	    /* enum ap_api */
	uint8_t scan_req;   /* request body is uncompressed JSON worth scanning */
	uint8_t req_stream; /* request body said "stream": true */
	uint8_t req_keys;   /* 1: model seen, 2: stream seen */
	uint8_t emitted;    /* handed over at the provider's terminal event; framing goes on */
};

/* Response content processing. */
struct content {
	uint8_t kind; /* enum ckind */
	uint8_t scan; /* feed the JSON scanner */
	uint8_t inflating;
	uint8_t zdone; /* inflate finished or failed */
	uint8_t enc;   /* enum cenc of the body */
	uint8_t sse;   /* enum sse */
	uint8_t cr;    /* previous byte was CR */
	uint8_t field_len;
	uint8_t has_data; /* current SSE event has a data line */
	uint8_t peek_n;
	uint8_t nonblank;    /* current NDJSON line has content */
	uint8_t capped;	     /* inflate stopped at its cap: later body bytes are only counted */
	uint8_t ev_over;     /* the event outgrew evbuf: it streams through the JSON scanner */
	uint8_t ev_terminal; /* the event is the provider's last (message_stop, done:true...) */
	uint8_t ev_finish;   /* the event carries a finishReason (Gemini) */
	uint8_t ev_umeta;    /* the event carries usageMetadata (Gemini) */
	uint8_t ev_want;     /* SSE: the event's data holds "usage (or may: cut at a read) */
	uint8_t quote;	     /* SSE: the last data byte so far was '"' */
	uint8_t name_len;    /* SSE: bytes of the event's "event:" name kept */
	uint8_t parsed;	     /* SSE: events parsed while no model is known */
	char name[24];	     /* SSE: the event's "event:" name ("message_stop") */
	uint16_t ev_len;
	uint16_t kept_len; /* SSE: bytes of the latest usageMetadata-only event in kept[] */
	char field[8];
	uint64_t inflated;
	uint64_t deflated; /* compressed bytes fed to inflate */
	z_stream zs;
	struct ap_json js;
	struct ap_usage_x ux;
	char evbuf[EVBUF];
	char kept[EVBUF]; /* SSE: that event, parsed only if no later one supersedes it */
};

struct state {
	struct slot slot[SLOTS];
	uint32_t req_seq;  /* requests started */
	uint32_t resp_seq; /* final responses completed */
	int8_t out_slot;   /* slot of the request being written, -1 if untracked */
	int8_t in_slot;	   /* slot of the response being read, -1 if untracked */
	uint8_t seen_out;  /* a request byte was ever written */
	uint8_t interim;   /* current response is 1xx */
	uint8_t in_head;   /* untracked-safe copy of the answered request's HEAD flag */
	uint8_t in_connect;
	int32_t status;
	int64_t resp_start_ns;
	uint64_t events_parsed; /* SSE events and NDJSON lines given to the JSON scanner */
	const uint8_t *piece;	/* raw response body bytes being scanned (uncompressed only) */
	size_t piece_len;
	uint64_t piece_base; /* bytes_received before them */
	struct framer out, in;
	struct ap_json req_js;
	struct content c;
};

_Static_assert(sizeof(struct state) <= AP_HTTP_STATE_SIZE, "raise AP_HTTP_STATE_SIZE");
_Static_assert(offsetof(struct slot, ex) == 0, "begin_request zeroes the slot after ex");

static struct state *st(struct ap_http *h)
{
	return (struct state *)(void *)h->state;
}

static const struct state *cst(const struct ap_http *h)
{
	return (const struct state *)(const void *)h->state;
}

/* --- small helpers -------------------------------------------------------------------------- */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* want is lower case: a byte that equals it, or an upper-case letter one bit from it, matches */
static int name_is(const char *name, size_t n, const char *want)
{
	size_t i;

	for (i = 0; i < n && want[i]; i++) {
		char c = name[i];

		if (c != want[i] && (c < 'A' || c > 'Z' || (char)(c + 32) != want[i]))
			return 0;
	}
	return i == n && want[i] == 0;
}

/* name_is for a header name usually spelled canon (or all lower case, want) */
static int header_is(const char *name, size_t n, const char *canon, const char *want, size_t k)
{
	return n == k && (memcmp(name, canon, k) == 0 || memcmp(name, want, k) == 0 ||
			  name_is(name, n, want));
}
#define HEADER_IS(name, n, canon, want) header_is((name), (n), (canon), (want), sizeof(want) - 1)

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static struct slot *out_slot(struct state *s)
{
	return s->out_slot >= 0 ? &s->slot[s->out_slot] : NULL;
}

static struct slot *in_slot(struct state *s)
{
	return s->in_slot >= 0 ? &s->slot[s->in_slot] : NULL;
}

static void framer_reset(struct framer *f)
{
	f->phase = P_START;
	f->body = B_NONE;
	f->chunk = CH_SIZE;
	f->bad = f->m_len = f->m_done = 0;
	f->te_chunked = f->te_other = f->enc = f->clen_bad = 0;
	f->ch_digits = f->trailer_empty = 0;
	f->line_len = 0;
	f->line_total = 0;
	f->clen = -1;
	f->remaining = 0;
	f->ctype[0] = 0;
}

/* --- inflate -------------------------------------------------------------------------------- */

static void inflate_end(struct ap_http *h)
{
	struct content *c = &st(h)->c;

	if (c->inflating && h->env && h->env->zlib)
		h->env->zlib->inflateEnd(&c->zs);
	c->inflating = 0;
}

/* Start inflating at the first body byte b (decides zlib vs raw deflate). */
static void inflate_begin(struct ap_http *h, uint8_t b)
{
	struct content *c = &st(h)->c;
	const struct ap_http_env *env = h->env;
	int bits = c->enc == ENC_GZIP ? 15 + 16 : ((b & 0x0f) == 8 ? 15 : -15);

	memset(&c->zs, 0, sizeof(c->zs));
	c->zs.zalloc = env->zalloc;
	c->zs.zfree = env->zfree;
	c->zs.opaque = env->zopaque;
	if (env->zlib->inflateInit2_(&c->zs, bits, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK) {
		c->zdone = 1;
		return;
	}
	c->inflating = 1;
}

static void content_scan(struct ap_http *h, const uint8_t *p, size_t n, int64_t now);

static void inflate_feed(struct ap_http *h, const uint8_t *p, size_t n, int64_t now)
{
	struct content *c = &st(h)->c;
	uint8_t out[INFLATE_WINDOW];
	int r;

	if (c->capped) {
		struct slot *sl = in_slot(st(h));
		if (sl)
			sl->ex.unscanned_bytes += n;
		return;
	}
	if (c->zdone || n == 0)
		return;
	if (!c->inflating)
		inflate_begin(h, p[0]);
	if (!c->inflating)
		return;
	c->deflated += n;
	c->zs.next_in = (Bytef *)p;
	c->zs.avail_in = (uInt)n;
	do {
		size_t got;

		c->zs.next_out = out;
		c->zs.avail_out = sizeof(out);
		r = h->env->zlib->inflate(&c->zs, Z_NO_FLUSH);
		got = sizeof(out) - c->zs.avail_out;
		c->inflated += got;
		if (got)
			content_scan(h, out, got, now);
		if (c->inflated > INFLATE_MAX ||
		    (c->inflated > INFLATE_FREE && c->inflated / INFLATE_RATIO > c->deflated)) {
			/* a bomb, or more than usage needs: the rest is counted, not inflated */
			struct slot *sl = in_slot(st(h));
			if (sl)
				sl->ex.unscanned_bytes += c->zs.avail_in;
			c->capped = 1;
		}
		if (c->capped || r == Z_STREAM_END || (r != Z_OK && r != Z_BUF_ERROR)) {
			c->zdone = 1;
			inflate_end(h);
			return;
		}
	} while (c->zs.avail_out == 0 || (c->zs.avail_in > 0 && r == Z_OK));
}

/* --- response content: SSE, NDJSON, JSON ---------------------------------------------------- */

static void event_seen(struct ap_http *h, int64_t now)
{
	struct slot *sl = in_slot(st(h));

	if (!sl)
		return;
	sl->ex.events++;
	if (sl->ex.first_event_ns == AP_UNKNOWN)
		sl->ex.first_event_ns = now;
}

static int is_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* After a key's closing quote at p[i]: skip "  :  " and return the value's first index. */
static size_t after_colon(const char *p, size_t n, size_t i)
{
	while (i < n && is_json_ws(p[i]))
		i++;
	if (i >= n || p[i] != ':')
		return n;
	for (i++; i < n && is_json_ws(p[i]);)
		i++;
	return i;
}

static int starts(const char *p, size_t n, size_t i, const char *lit, size_t k)
{
	return i + k <= n && memcmp(p + i, lit, k) == 0;
}

/* The byte after a null that ends it as an object member's value. */
static int null_end(char c)
{
	return c == ',' || c == '}' || is_json_ws(c);
}

/*
 * The '"u' at p[q] starts a "usage" key worth a parse: not one whose value is null (OpenAI's
 * stream_options.include_usage puts "usage":null on every chunk but the last, which says no
 * more than a chunk without it). Text cut by the end of p may be either: wanted.
 */
enum usage_key { UK_NONE = 0, UK_USAGE, UK_META };

static enum usage_key usage_kind(const char *p, size_t n, size_t q)
{
	size_t v;

	if (q + 6 > n)
		return UK_USAGE;
	if (memcmp(p + q + 1, "usage", 5) != 0)
		return UK_NONE;
	if (q + 14 < n && memcmp(p + q + 6, "Metadata\"", 9) == 0)
		return UK_META; /* Gemini's, on every chunk */
	if (q + 7 > n || p[q + 6] != '"')
		return UK_USAGE; /* another "usage..." key, or cut */
	v = after_colon(p, n, q + 7);
	return v + 5 <= n && memcmp(p + v, "null", 4) == 0 && null_end(p[v + 4]) ? UK_NONE
										 : UK_USAGE;
}

/* usage_kind is not UK_NONE; the compact "usage":null (one 12-byte compare) first */
static inline int usage_wanted(const char *p, size_t n, size_t q)
{
	if (q + 13 <= n && memcmp(p + q, "\"usage\":null", 12) == 0 && null_end(p[q + 12]))
		return 0;
	return usage_kind(p, n, q) != UK_NONE;
}

/* usage_wanted, out of line (for key_wanted, called at most keys) */
static __attribute__((noinline)) int usage_wanted_call(const char *p, size_t n, size_t q)
{
	return usage_wanted(p, n, q);
}

/*
 * The key at p[q] (an opening quote) is one usage extraction or end-of-stream detection needs:
 * "usage"/"usageMetadata", "model"/"modelVersion" while no model is known, "done": true
 * (Ollama's last object), "type": "message_stop" / "response.completed" / ... (terminal events).
 */
static int key_wanted(const struct content *c, const char *p, size_t n, size_t q)
{
	size_t v;

	switch (p[q + 1]) {
	case 'u':
		return usage_wanted_call(p, n, q);
	case 'm':
		return !c->ux.model[0] && starts(p, n, q + 1, "model", 5);
	case 'd':
		if (!starts(p, n, q + 1, "done\"", 5))
			return 0;
		v = after_colon(p, n, q + 6);
		return v < n && p[v] == 't';
	case 't':
		if (!starts(p, n, q + 1, "type\"", 5))
			return 0;
		v = after_colon(p, n, q + 6);
		if (v >= n || p[v] != '"')
			return 0;
		v++;
		return starts(p, n, v, "message_stop\"", 13) || starts(p, n, v, "error\"", 6) ||
		       starts(p, n, v, "response.completed\"", 19) ||
		       starts(p, n, v, "response.failed\"", 16) ||
		       starts(p, n, v, "response.incomplete\"", 20);
	}
	return 0;
}

/*
 * 1 if the event text holds a key worth a JSON parse. Keys are found as a '"' followed by the
 * first letter of a wanted key (u, m, d, t), sixteen bytes at a time where SSE2 is there.
 */
static int event_wanted(const struct content *c, const char *p, size_t n)
{
	size_t i = 0;

	if (n < 2)
		return 0;
#if defined(__x86_64__) || defined(__SSE2__)
	{
		const __m128i quote = _mm_set1_epi8('"'), u = _mm_set1_epi8('u'),
			      m = _mm_set1_epi8('m'), d = _mm_set1_epi8('d'),
			      t = _mm_set1_epi8('t');

		for (; i + 17 <= n; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 1));
			__m128i first = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(b, u), _mm_cmpeq_epi8(b, m)),
				_mm_or_si128(_mm_cmpeq_epi8(b, d), _mm_cmpeq_epi8(b, t)));
			unsigned mask = (unsigned)_mm_movemask_epi8(
				_mm_and_si128(_mm_cmpeq_epi8(a, quote), first));

			while (mask) {
				unsigned bit = (unsigned)__builtin_ctz(mask);
				if (key_wanted(c, p, n, i + bit))
					return 1;
				mask &= mask - 1;
			}
		}
	}
#endif
	for (; i + 1 < n; i++)
		if (p[i] == '"' && key_wanted(c, p, n, i))
			return 1;
	return 0;
}

#define SEG_IS(p, k, lit) ((k) == sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* p[0..n) starts with the segment lit (a key: followed by the end, '.' or '['). */
static int seg_starts(const char *p, size_t n, const char *lit, size_t k)
{
	return n >= k && memcmp(p, lit, k) == 0 && (n == k || p[k] == '.' || p[k] == '[');
}
#define SEG_AT(p, n, lit) seg_starts((p), (n), (lit), sizeof(lit) - 1)

/*
 * The keys of a response body (or event) whose values resp_field and the usage extractor read:
 * everything else (choices, content, candidates' text, tool calls) is skipped by the scanner.
 * A superset of what they use, after the same wrappers ("[].", "message.", "response."). Called
 * at every key, so it decides on the first letter before comparing.
 */
static int resp_key_wanted(const char *path, size_t len)
{
	const char *p = path;
	size_t n = len;

	if (n >= 3 && p[0] == '[' && p[1] == ']' && p[2] == '.') {
		p += 3;
		n -= 3;
	}
	switch (p[0]) {
	case 'm':
		if (SEG_AT(p, n, "model") || SEG_AT(p, n, "modelVersion"))
			return 1;
		if (!SEG_AT(p, n, "message"))
			return 0;
		if (n == 7)
			return 1;
		if (p[7] != '.')
			return 0;
		p += 8;
		n -= 8;
		break;
	case 'r':
		if (!SEG_AT(p, n, "response"))
			return 0;
		if (n == 8)
			return 1;
		if (p[8] != '.')
			return 0;
		p += 9;
		n -= 9;
		break;
	}
	switch (p[0]) {
	case 'm':
		return SEG_AT(p, n, "model") || SEG_AT(p, n, "modelVersion");
	case 'd':
		return SEG_AT(p, n, "done");
	case 't':
		return SEG_AT(p, n, "type") || SEG_AT(p, n, "total_duration");
	case 'p':
		return SEG_AT(p, n, "prompt_eval_count");
	case 'e':
		return SEG_AT(p, n, "eval_count");
	case 'u':
		return SEG_AT(p, n, "usage") || SEG_AT(p, n, "usageMetadata");
	case 'c': /* Gemini: of the candidates, only the finish reason */
		if (!SEG_AT(p, n, "candidates"))
			return 0;
		return n == 10 || (n >= 25 && memcmp(p + 10, "[].finishReason", 15) == 0);
	}
	return 0;
}

/* Usage fields of the response, plus the facts that make an event the stream's last. */
static void resp_field(void *ctx, const struct ap_json_value *v)
{
	struct content *c = ctx;
	const char *p = v->path;
	size_t n = v->path_len;

	ap_usage_x_field(&c->ux, v);
	if (p[0] == '[' && p[1] == ']' && p[2] == '.') {
		p += 3;
		n -= 3;
	}
	/* paths and values hold no NUL: a length and memcmp is strcmp */
	switch (p[0]) {
	case 't':
		if (v->depth == 1 && v->type == AP_JSON_STRING && SEG_IS(p, n, "type") &&
		    (SEG_IS(v->val, v->len, "message_stop") || SEG_IS(v->val, v->len, "error") ||
		     SEG_IS(v->val, v->len, "response.completed") ||
		     SEG_IS(v->val, v->len, "response.failed") ||
		     SEG_IS(v->val, v->len, "response.incomplete")))
			c->ev_terminal = 1;
		break;
	case 'd':
		if (v->type == AP_JSON_TRUE && SEG_IS(p, n, "done"))
			c->ev_terminal = 1;
		break;
	case 'u':
		if (n >= 14 && memcmp(p, "usageMetadata.", 14) == 0)
			c->ev_umeta = 1;
		break;
	case 'c':
		if (v->type == AP_JSON_STRING && v->len &&
		    SEG_IS(p, n, "candidates[].finishReason"))
			c->ev_finish = 1;
		break;
	}
}

static void json_feed(struct content *c, const void *p, size_t n)
{
	if (c->scan)
		ap_json_feed(&c->js, p, n, resp_field, c);
}

/*
 * Parse the kept usageMetadata event, if any: before any later event is parsed (so that values
 * arrive in stream order) and when the response ends. Its terminal facts are not the current
 * event's (it had none: sse_wanted keeps no such event).
 */
static void parse_kept_content(struct content *c)
{
	struct state *s = (struct state *)(void *)((char *)c - offsetof(struct state, c));
	uint8_t terminal = c->ev_terminal, finish = c->ev_finish, umeta = c->ev_umeta;

	if (!c->kept_len)
		return;
	s->events_parsed++;
	ap_json_init_filtered(&c->js, resp_key_wanted);
	json_feed(c, c->kept, c->kept_len);
	ap_json_end(&c->js, resp_field, c);
	c->kept_len = 0;
	c->ev_terminal = terminal;
	c->ev_finish = finish;
	c->ev_umeta = umeta;
}

static void parse_kept(struct ap_http *h)
{
	parse_kept_content(&st(h)->c);
}

/* Bytes of the current event (or NDJSON line): kept for the key check, streamed past EVBUF. */
static void event_bytes(struct content *c, const void *p, size_t n)
{
	if (!c->scan)
		return;
	if (!c->ev_over && c->ev_len + n <= sizeof(c->evbuf)) {
		memcpy(c->evbuf + c->ev_len, p, n);
		c->ev_len = (uint16_t)(c->ev_len + n);
		return;
	}
	if (!c->ev_over) {
		parse_kept_content(c);
		c->ev_over = 1;
		ap_json_init_filtered(&c->js, resp_key_wanted);
		json_feed(c, c->evbuf, c->ev_len);
	}
	json_feed(c, p, n);
}

static void early_complete(struct ap_http *h, int64_t now, const uint8_t *end);

/* The "event:" name s[0..n) is one a provider ends its stream with. */
static int terminal_name(const char *s, size_t n)
{
	switch (n) { /* the lengths tell the names apart */
	case 5:
		return memcmp(s, "error", 5) == 0;
	case 12:
		return memcmp(s, "message_stop", 12) == 0;
	case 15:
		return memcmp(s, "response.failed", 15) == 0;
	case 18:
		return memcmp(s, "response.completed", 18) == 0;
	case 19:
		return memcmp(s, "response.incomplete", 19) == 0;
	}
	return 0;
}

static int name_is_terminal(const struct content *c)
{
	return terminal_name(c->name, c->name_len);
}

enum { EK_USAGE = 1, EK_META = 2, EK_FINISH = 4, EK_OTHER = 8 };

/* The key at d[q] (an opening quote), as sse_wanted weighs it. */
static inline __attribute__((always_inline)) unsigned key_at(const char *d, size_t n, size_t q)
{
	switch (d[q + 1]) {
	case 'u':
		switch (usage_kind(d, n, q)) {
		case UK_USAGE:
			return EK_USAGE;
		case UK_META:
			return EK_META;
		default:
			return 0;
		}
	case 'f':
		return starts(d, n, q + 1, "finishReason\"", 13) ? EK_FINISH : 0;
	case 't':
		return starts(d, n, q + 1, "type\"", 5) ? EK_OTHER : 0;
	case 'd':
		return starts(d, n, q + 1, "done\"", 5) ? EK_OTHER : 0;
	}
	return 0;
}

/*
 * The keys of the whole event d[0..n) that decide its parse (EK_*): "usage" with a value (or
 * cut: ev_want may have been set for a pair cut by the end of a read), Gemini's usageMetadata,
 * finishReason, and "type"/"done" (terminal facts). A '"' and the key's first letter, sixteen
 * bytes at a time where SSE2 is there.
 */
static unsigned event_keys(const char *d, size_t n)
{
	unsigned k = 0;
	size_t i = 0;

#if defined(__x86_64__) || defined(__SSE2__)
	{
		const __m128i quote = _mm_set1_epi8('"'), u = _mm_set1_epi8('u'),
			      f = _mm_set1_epi8('f'), t = _mm_set1_epi8('t'),
			      dd = _mm_set1_epi8('d');

		for (; i + 17 <= n; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(d + i + 1));
			__m128i first = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(b, u), _mm_cmpeq_epi8(b, f)),
				_mm_or_si128(_mm_cmpeq_epi8(b, t), _mm_cmpeq_epi8(b, dd)));
			unsigned mask = (unsigned)_mm_movemask_epi8(
				_mm_and_si128(_mm_cmpeq_epi8(a, quote), first));

			for (; mask; mask &= mask - 1)
				k |= key_at(d, n, i + (unsigned)__builtin_ctz(mask));
		}
	}
#endif
	for (; i + 1 < n; i++)
		if (d[i] == '"')
			k |= key_at(d, n, i);
	return k;
}

/*
 * An SSE event is parsed when its data holds "usage" with a value (seen while its bytes went
 * by, checked again on the whole event), while no model is known yet (the first few events),
 * when its "event:" name is a terminal one, or when a short event names message_stop (streams
 * without "event:" lines).
 */
static int sse_wanted(struct content *c, const char *d, size_t n)
{
	unsigned k = c->ev_want ? event_keys(d, n) : 0;

	if ((k & EK_USAGE) || (c->name_len && name_is_terminal(c)))
		return 1;
	/* Gemini's cumulative usageMetadata, in a chunk that is not the last (no finishReason)
	 * and holds no other key a parse looks at: kept, the next one supersedes it */
	if (k == EK_META && c->ux.model[0] && n <= sizeof(c->kept))
		return 2;
	if (k & EK_META)
		return 1;
	if (!c->ux.model[0] && c->parsed < 8) {
		c->parsed++;
		return 1;
	}
	return n <= 48 && memmem(d, n, "message_stop", 12) != NULL;
}

/*
 * The event (or NDJSON line) ended: parse it if it holds a wanted key; the stream's last?
 * Its data is d[0..n) (evbuf, or the read itself when the whole event was in it).
 */
static void event_end_at(struct ap_http *h, int64_t now, int count, const uint8_t *end,
			 const char *d, size_t n)
{
	struct content *c = &st(h)->c;
	int done = !c->ev_over && n >= 6 && memcmp(d, "[DONE]", 6) == 0;

	if (c->scan) {
		int want = c->ev_over || done ? 0
			   : c->kind == K_SSE ? sse_wanted(c, d, n)
					      : event_wanted(c, d, n);

		if (c->ev_over) {
			st(h)->events_parsed++;
			ap_json_end(&c->js, resp_field, c);
		} else if (want == 2) {
			memcpy(c->kept, d, n);
			c->kept_len = (uint16_t)n;
		} else if (want) {
			parse_kept(h);
			st(h)->events_parsed++;
			ap_json_init_filtered(&c->js, resp_key_wanted);
			json_feed(c, d, n);
			ap_json_end(&c->js, resp_field, c);
		}
	}
	if (count && !done)
		event_seen(h, now);
	if (done || c->ev_terminal || (c->ev_finish && c->ev_umeta) ||
	    (c->kind == K_SSE && c->name_len && name_is_terminal(c)))
		early_complete(h, now, end);
	c->ev_len = 0;
	c->ev_over = c->ev_terminal = c->ev_finish = c->ev_umeta = 0;
	c->ev_want = c->quote = c->name_len = 0;
}

static void event_end(struct ap_http *h, int64_t now, int count, const uint8_t *end)
{
	struct content *c = &st(h)->c;

	event_end_at(h, now, count, end, c->evbuf, c->ev_len);
}

static void sse_dispatch(struct ap_http *h, int64_t now, const uint8_t *end)
{
	struct content *c = &st(h)->c;

	if (!c->has_data)
		return;
	c->has_data = 0;
	event_end(h, now, 1, end);
}

/* A "data" field starts: a new event starts empty, a further line joins with '\n'. */
static void sse_data_begin(struct content *c)
{
	if (!c->has_data) {
		c->has_data = 1;
		c->ev_len = 0;
		c->ev_over = 0;
	} else {
		event_bytes(c, "\n", 1);
		c->quote = 0;
	}
}

static int is_eol(uint8_t b)
{
	return b == '\n' || b == '\r';
}

/* Bytes before the first CR or LF in p[0..n). */
static size_t line_run(const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t k = lf ? (size_t)(lf - p) : n;
	const uint8_t *cr = memchr(p, '\r', k);

	return cr ? (size_t)(cr - p) : k;
}

/* A '"u' pair at p[j]: "usage" with a value (or a pair cut at the end of the read: maybe). */
static void quote_u(struct content *c, const uint8_t *p, size_t n, size_t j)
{
	if (usage_wanted((const char *)p, n, j))
		c->ev_want = 1;
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * 32 bytes at a time: the first CR/LF at or after i, and the '"u' pairs before it. The byte
 * after each block is loaded with it (p[i + 1...]), so a block without either costs one test;
 * blocks end 33 bytes before n (the pairs found all have their 'u' before n).
 */
__attribute__((target("avx2"))) static size_t data_run_avx2(struct content *c, const uint8_t *p,
							    size_t n, size_t i, int *found)
{
	const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'),
		      quote = _mm256_set1_epi8('"'), u = _mm256_set1_epi8('u');

	for (; i + 33 <= n; i += 32) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 1));
		__m256i eolv = _mm256_or_si256(_mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(a, cr));
		__m256i pairv =
			_mm256_and_si256(_mm256_cmpeq_epi8(a, quote), _mm256_cmpeq_epi8(b, u));
		__m256i any = _mm256_or_si256(eolv, pairv);
		uint32_t eol, pairs;

		if (_mm256_testz_si256(any, any))
			continue;
		eol = (uint32_t)_mm256_movemask_epi8(eolv);
		pairs = (uint32_t)_mm256_movemask_epi8(pairv);
		if (eol)
			pairs &= (eol & -eol) - 1; /* pairs before the first CR/LF */
		for (; pairs; pairs &= pairs - 1)
			quote_u(c, p, n, i + (unsigned)__builtin_ctz(pairs));
		if (eol) {
			*found = 1;
			return i + (unsigned)__builtin_ctz(eol);
		}
	}
	if (i < n && n >= 33) {
		/* the rest but the last byte: the block ending there, without the bytes already
		 * seen */
		size_t base = n - 33, seen = i - base; /* 1 <= seen <= 32 */
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + base));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + base + 1));
		uint32_t keep = seen >= 32 ? 0 : ~0u << seen;
		uint32_t eol = keep & (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
					      _mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(a, cr)));
		uint32_t pairs =
			keep & (uint32_t)_mm256_movemask_epi8(_mm256_and_si256(
				       _mm256_cmpeq_epi8(a, quote), _mm256_cmpeq_epi8(b, u)));

		if (eol)
			pairs &= (eol & -eol) - 1;
		for (; pairs; pairs &= pairs - 1)
			quote_u(c, p, n, base + (unsigned)__builtin_ctz(pairs));
		if (eol) {
			*found = 1;
			return base + (unsigned)__builtin_ctz(eol);
		}
		i = n - 1;
	}
	return i;
}

/*
 * An "event: NAME\n" line at p[at] (Anthropic, OpenAI Responses) that the bulk below may pass:
 * whole in the 32 bytes after "event: ", ended by LF, not a terminal name. Returns the index
 * after it, 0 if it is not such a line. Not inlined: the bulk loop below compiles tighter.
 */
__attribute__((target("avx2"), noinline)) static size_t named_event(const uint8_t *p, size_t n,
								    size_t at)
{
	__m256i x;
	uint32_t m;
	size_t nl;

	if (n - at < 7 + 32 || memcmp(p + at, "event: ", 7) != 0)
		return 0;
	x = _mm256_loadu_si256((const __m256i *)(const void *)(p + at + 7));
	m = (uint32_t)_mm256_movemask_epi8(
		_mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('\n')),
				_mm256_cmpeq_epi8(x, _mm256_set1_epi8('\r'))));
	nl = m ? (unsigned)__builtin_ctz(m) : 0;
	if (!nl || terminal_name((const char *)p + at + 7, nl))
		return 0;
	if (p[at + 7 + nl] == '\n')
		return at + 7 + nl + 1;
	if (at + 8 + nl < n && p[at + 8 + nl] == '\n') /* CR LF */
		return at + 7 + nl + 2;
	return 0;
}

/*
 * The bulk of a stream, with AVX2: whole "data: ...\n\n" events in this read, each perhaps
 * after an "event: NAME\n" line, that need no parse (the model is known, no "usage with a value
 * in them, longer than 48 bytes, not "[DONE]", not a terminal name), counted one after another
 * without leaving this loop; exactly what content_scan's in-place case (or, for a named event,
 * sse_step) does for each. Returns the bytes of the events consumed; stops before the first
 * other one (or one that ends within 33 bytes of the read's end), which the caller handles as
 * before.
 */
__attribute__((target("avx2"))) static size_t
sse_count_events_avx2(struct content *c, struct slot *sl, const uint8_t *p, size_t n, int64_t now)
{
	const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'),
		      quote = _mm256_set1_epi8('"'), u = _mm256_set1_epi8('u');
	size_t done = 0;

	for (;;) {
		size_t at = done; /* the data line's start */
		const uint8_t *d;
		size_t dn, i = 0, k, end;
		uint32_t eol = 0, pairs = 0;

		if (n - at <= 8)
			return done;
		if (memcmp(p + at, "data: ", 6) != 0) {
			at = named_event(p, n, at);
			if (!at || n - at <= 8 || memcmp(p + at, "data: ", 6) != 0)
				return done;
		}
		d = p + at + 6;
		dn = n - at - 6;

		for (; i + 33 <= dn; i += 32) {
			__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(d + i));
			__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(d + i + 1));
			__m256i ev =
				_mm256_or_si256(_mm256_cmpeq_epi8(a, lf), _mm256_cmpeq_epi8(a, cr));
			__m256i pv = _mm256_and_si256(_mm256_cmpeq_epi8(a, quote),
						      _mm256_cmpeq_epi8(b, u));
			__m256i any = _mm256_or_si256(ev, pv);

			if (_mm256_testz_si256(any, any))
				continue;
			eol = (uint32_t)_mm256_movemask_epi8(ev);
			pairs = (uint32_t)_mm256_movemask_epi8(pv);
			if (eol)
				pairs &= (eol & -eol) - 1; /* pairs before the first CR/LF */
			for (; pairs; pairs &= pairs - 1) {
				size_t j = i + (unsigned)__builtin_ctz(pairs);

				if (usage_wanted((const char *)d, dn, j))
					return done; /* parse it, or keep it (sse_keep_events) */
			}
			if (eol)
				break;
		}
		if (!eol)
			return done;		      /* no line end in reach: the general path */
		k = i + (unsigned)__builtin_ctz(eol); /* data bytes */
		if (k + 1 < dn && d[k] == '\n' && d[k + 1] == '\n')
			end = k + 2;
		else if (k + 3 < dn && d[k] == '\r' && d[k + 1] == '\n' && d[k + 2] == '\r' &&
			 d[k + 3] == '\n')
			end = k + 4; /* CRLF lines (Gemini) */
		else
			return done;
		if (k <= 48 || d[0] == '[')
			return done;
		c->quote = k > 0 && d[k - 1] == '"';
		sl->ex.events++;
		if (sl->ex.first_event_ns == AP_UNKNOWN)
			sl->ex.first_event_ns = now;
		done = at + 6 + end;
	}
}
/*
 * Gemini's chunks, with AVX2: whole "data: ...\n\n" (or CRLF) events whose only key a parse
 * would read is the cumulative usageMetadata (no usage with a value, finishReason, "type" or
 * "done"), longer than 48 bytes and at most sizeof(kept): counted, and the latest kept, which is
 * what sse_wanted decides for each (the keys event_keys would find: their quotes and first
 * letters found in the same pass as the line end and read there, any "usage" but usageMetadata
 * and any key too near the read's end left for key_at, at most 16). Only the latest kept is
 * copied, on the way out. Returns the bytes consumed; stops before any other event.
 */
__attribute__((target("avx2"))) static size_t
sse_keep_events_avx2(struct content *c, struct slot *sl, const uint8_t *p, size_t n, int64_t now)
{
	/* min(x, CR) == x for the bytes 0..CR: CR and LF, and control bytes the checks after the
	 * loop turn down; (x | 0x13) == 'w' for d e f g t u v w: the first letters key_at reads
	 * (d f t u) and four it turns down. Two operations each instead of three and seven. A 't'
	 * not followed by 'y' ("text", "totalTokenCount", most of a chunk's t-words) is no "type"
	 * key: dropped in the same pass. */
	const __m256i cr = _mm256_set1_epi8('\r'), quote = _mm256_set1_epi8('"'),
		      bits = _mm256_set1_epi8(0x13), w = _mm256_set1_epi8('w'),
		      t = _mm256_set1_epi8('t'), y = _mm256_set1_epi8('y');
	const uint8_t *kept = NULL; /* the latest event kept: copied once, on the way out */
	size_t done = 0, kept_n = 0;

	for (;;) {
		const uint8_t *d;
		size_t dn, i = 0, k, end, at[16];
		uint32_t eol = 0, pairs;
		unsigned keys = 0, na = 0;
		int room;

		if (n - done <= 8 || memcmp(p + done, "data: ", 6) != 0)
			break;
		d = p + done + 6;
		dn = n - done - 6;
		for (; i + 34 <= dn; i += 32) {
			__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(d + i));
			__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(d + i + 1));
			__m256i c2 = _mm256_loadu_si256((const __m256i *)(const void *)(d + i + 2));
			__m256i ev = _mm256_cmpeq_epi8(_mm256_min_epu8(a, cr), a);
			__m256i not_ty = _mm256_andnot_si256(_mm256_cmpeq_epi8(c2, y),
							     _mm256_cmpeq_epi8(b, t));
			__m256i pv = _mm256_andnot_si256(
				not_ty,
				_mm256_and_si256(_mm256_cmpeq_epi8(a, quote),
						 _mm256_cmpeq_epi8(_mm256_or_si256(b, bits), w)));
			__m256i any = _mm256_or_si256(ev, pv);

			if (_mm256_testz_si256(any, any))
				continue;
			eol = (uint32_t)_mm256_movemask_epi8(ev);
			pairs = (uint32_t)_mm256_movemask_epi8(pv);
			if (eol)
				pairs &= (eol & -eol) - 1;
			room = i + 48 <= dn;
			for (; pairs; pairs &= pairs - 1) {
				unsigned b = (unsigned)__builtin_ctz(pairs);
				const char *q = (const char *)d + i + b;

				/* key_at's keys, read where the read holds all their bytes: the
				 * event's CR or LF ends a match as its end does for key_at */
				if (room || i + b + 16 <= dn) {
					switch (q[1]) {
					case 'u':
						if (memcmp(q + 1, "usageMetadata\"", 14) != 0)
							break; /* usage_kind decides, below */
						keys |= EK_META;
						continue;
					case 'f':
						if (memcmp(q + 1, "finishReason\"", 13) == 0)
							goto out;
						continue;
					case 't':
						if (memcmp(q + 1, "type\"", 5) == 0)
							goto out;
						continue;
					case 'd':
						if (memcmp(q + 1, "done\"", 5) == 0)
							goto out;
						continue;
					default:
						continue;
					}
				}
				if (na == sizeof(at) / sizeof(at[0]))
					goto out;
				at[na++] = i + b;
			}
			if (eol)
				break;
		}
		if (!eol)
			break;
		k = i + (unsigned)__builtin_ctz(eol);
		if (k + 3 < dn && memcmp(d + k, "\r\n\r\n", 4) == 0)
			end = k + 4;
		else if (k + 1 < dn && d[k] == '\n' && d[k + 1] == '\n')
			end = k + 2;
		else
			break; /* another control byte, or a line end not an event's */
		for (unsigned x = 0; x < na; x++) /* read within the event, as event_keys reads */
			keys |= key_at((const char *)d, k, at[x]);
		if (keys != EK_META || k <= 48 || d[0] == '[' || k > sizeof(c->kept))
			break;
		kept = d; /* supersedes the one before: nothing is parsed in between */
		kept_n = k;
		sl->ex.events++;
		if (sl->ex.first_event_ns == AP_UNKNOWN)
			sl->ex.first_event_ns = now;
		done += 6 + end;
	}
out:
	if (kept) {
		memcpy(c->kept, kept, kept_n);
		c->kept_len = (uint16_t)kept_n;
		c->quote = kept[kept_n - 1] == '"';
	}
	return done;
}

/*
 * NDJSON (Ollama), with AVX2: whole lines in this read that start with '{' and hold no key
 * event_wanted wants (their quotes and first letters found in the same pass as the line end,
 * at most 8, read within the line as event_wanted reads them): counted, which is what
 * ndjson_feed does for each. Returns the bytes consumed; stops before any other line.
 */
__attribute__((target("avx2"))) static size_t
ndjson_count_avx2(struct content *c, struct slot *sl, const uint8_t *p, size_t n, int64_t now)
{
	/* (x | 0x11) == 'u' for d e t u, and 'm' only while no model is known (NUL, which JSON
	 * text does not hold raw, otherwise): four operations instead of seven */
	const __m256i lf = _mm256_set1_epi8('\n'), quote = _mm256_set1_epi8('"'),
		      bits = _mm256_set1_epi8(0x11), u = _mm256_set1_epi8('u'),
		      m = _mm256_set1_epi8(c->ux.model[0] ? 0 : 'm');
	size_t done = 0;

	for (;;) {
		const uint8_t *d = p + done;
		size_t dn = n - done, i = 0, k, at[8];
		uint32_t eol = 0, pairs;
		unsigned na = 0;

		if (dn < 33 || d[0] != '{')
			return done;
		for (; i + 33 <= dn; i += 32) {
			__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(d + i));
			__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(d + i + 1));
			__m256i ev = _mm256_cmpeq_epi8(a, lf);
			__m256i first =
				_mm256_or_si256(_mm256_cmpeq_epi8(_mm256_or_si256(b, bits), u),
						_mm256_cmpeq_epi8(b, m));
			__m256i pv = _mm256_and_si256(_mm256_cmpeq_epi8(a, quote), first);
			__m256i any = _mm256_or_si256(ev, pv);

			if (_mm256_testz_si256(any, any))
				continue;
			eol = (uint32_t)_mm256_movemask_epi8(ev);
			pairs = (uint32_t)_mm256_movemask_epi8(pv);
			if (eol)
				pairs &= (eol & -eol) - 1;
			for (; pairs; pairs &= pairs - 1) {
				unsigned b = (unsigned)__builtin_ctz(pairs);
				const uint8_t *q = d + i + b + 1;

				/* most keys and values fail on their first bytes, read here where
				 * the read holds them: "done" and "type" (the line's LF ends a
				 * match as its end would), d e t u's "e"; a "u" goes on, since a
				 * usage key cut by the line's end is wanted, and an "m" (no model
				 * yet) */
				if (i + b + 16 <= dn && *q != 'm' && *q != 'u' &&
				    memcmp(q, *q == 'd' ? "done\"" : "type\"", 5) != 0)
					continue;
				if (na == sizeof(at) / sizeof(at[0]))
					return done;
				at[na++] = i + b;
			}
			if (eol)
				break;
		}
		if (!eol)
			return done;
		k = i + (unsigned)__builtin_ctz(eol);
		for (unsigned x = 0; x < na; x++) {
			const uint8_t *q = d + at[x] + 1;

			/* most keys and values fail on their first bytes: no call for those */
			if (at[x] + 6 <= k && (*q == 'm'   ? c->ux.model[0] != 0
					       : *q == 'd' ? memcmp(q, "done\"", 5) != 0
					       : *q == 't' ? memcmp(q, "type\"", 5) != 0
							   : memcmp(q, "usage", 5) != 0))
				continue;
			if (key_wanted(c, (const char *)d, k, at[x]))
				return done;
		}
		sl->ex.events++;
		if (sl->ex.first_event_ns == AP_UNKNOWN)
			sl->ex.first_event_ns = now;
		done += k + 1;
	}
}
#endif

/*
 * Bytes of an SSE data line before its CR or LF, noting on the way whether "usage" occurs:
 * one pass, 32 or 16 bytes at a time where AVX2 or SSE2 is there.
 */
static size_t data_run(struct content *c, const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (c->quote && p[0] == 'u')
		c->ev_want = 1; /* a pair across two reads */
#if defined(__x86_64__)
	if (n >= 33 && ap_cpu_avx2()) {
		int found = 0;
		i = data_run_avx2(c, p, n, 0, &found);
		if (found) {
			c->quote = i > 0 && p[i - 1] == '"';
			return i;
		}
	}
#endif
#if defined(__x86_64__) || defined(__SSE2__)
	{
		const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
			      quote = _mm_set1_epi8('"'), u = _mm_set1_epi8('u');

		for (; i + 17 <= n; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 1));
			unsigned eol = (unsigned)_mm_movemask_epi8(
				_mm_or_si128(_mm_cmpeq_epi8(a, lf), _mm_cmpeq_epi8(a, cr)));
			unsigned qu = (unsigned)_mm_movemask_epi8(
				_mm_and_si128(_mm_cmpeq_epi8(a, quote), _mm_cmpeq_epi8(b, u)));

			if (eol) {
				unsigned e = (unsigned)__builtin_ctz(eol);
				qu &= (1u << e) - 1;
				for (; qu; qu &= qu - 1)
					quote_u(c, p, n, i + (unsigned)__builtin_ctz(qu));
				i += e;
				c->quote = i > 0 && p[i - 1] == '"';
				return i;
			}
			for (; qu; qu &= qu - 1)
				quote_u(c, p, n, i + (unsigned)__builtin_ctz(qu));
		}
	}
#endif
	for (; i < n && p[i] != '\n' && p[i] != '\r'; i++)
		if (p[i] == '"' && i + 1 < n && p[i + 1] == 'u')
			quote_u(c, p, n, i);
	c->quote = i > 0 && p[i - 1] == '"';
	return i;
}

/* End of an SSE line in state s (the CR/LF itself is consumed by the caller). */
static void sse_line_end(struct ap_http *h, int64_t now, const uint8_t *end)
{
	struct content *c = &st(h)->c;

	if (c->sse == S_LINE) {
		sse_dispatch(h, now, end);
		c->name_len = 0; /* the blank line ends the event, data or not */
	} else if (c->sse == S_FIELD && c->field_len == 4 && memcmp(c->field, "data", 4) == 0) {
		sse_data_begin(c); /* "data" without a colon: an empty data line */
	}
	c->sse = S_LINE;
}

static size_t sse_step(struct ap_http *h, const uint8_t *p, size_t n, int64_t now)
{
	struct content *c = &st(h)->c;
	size_t k;

	if (c->cr) {
		c->cr = 0;
		if (p[0] == '\n')
			return 1;
	}
	if (is_eol(p[0])) {
		c->cr = p[0] == '\r';
		sse_line_end(h, now, p + 1);
		return 1;
	}
	switch (c->sse) {
	case S_LINE:
		if (n >= 6 && memcmp(p, "data: ", 6) == 0) { /* the common case in one step */
			sse_data_begin(c);
			c->sse = S_DATA;
			return 6;
		}
		if (n >= 7 && memcmp(p, "event: ", 7) == 0) {
			c->sse = S_EVENT;
			c->name_len = 0;
			return 7;
		}
		c->field_len = 0;
		c->sse = p[0] == ':' ? S_SKIP : S_FIELD;
		return c->sse == S_SKIP;
	case S_FIELD: /* a field whose "data: " or "event: " was not whole in the read */
		if (p[0] == ':') {
			int data = c->field_len == 4 && memcmp(c->field, "data", 4) == 0;
			int event = c->field_len == 5 && memcmp(c->field, "event", 5) == 0;

			c->sse = data ? S_VALUE_START : event ? S_EVENT_START : S_SKIP;
			if (data)
				sse_data_begin(c);
			if (event)
				c->name_len = 0;
		} else if (c->field_len < sizeof(c->field)) {
			c->field[c->field_len++] =
				(char)p[0]; /* longer names are not "data" anyway */
		}
		return 1;
	case S_VALUE_START:
		c->sse = S_DATA;
		return p[0] == ' ';
	case S_EVENT_START:
		c->sse = S_EVENT;
		return p[0] == ' ';
	case S_DATA:
		k = data_run(c, p, n);
		event_bytes(c, p, k);
		return k;
	case S_EVENT:
		k = line_run(p, n);
		if (c->name_len + k <= sizeof(c->name)) {
			memcpy(c->name + c->name_len, p, k);
			c->name_len = (uint8_t)(c->name_len + k);
		} else {
			c->name_len = sizeof(c->name); /* longer than any terminal name */
			c->name[0] = 0;
		}
		return k;
	default: /* S_SKIP */
		return line_run(p, n);
	}
}

static void ndjson_line_end(struct ap_http *h, int64_t now, const uint8_t *end)
{
	struct content *c = &st(h)->c;

	if (c->nonblank)
		event_end(h, now, 1, end);
	c->nonblank = 0;
	c->ev_len = 0;
	c->ev_over = 0;
}

static void ndjson_feed(struct ap_http *h, const uint8_t *p, size_t n, int64_t now)
{
	struct content *c = &st(h)->c;

	while (n) {
		const uint8_t *nl;
		size_t k;

#if defined(__x86_64__)
		if (!c->ev_len && !c->ev_over && !c->nonblank && n > 33 && in_slot(st(h)) &&
		    ap_cpu_avx2()) {
			k = ndjson_count_avx2(c, in_slot(st(h)), p, n, now);
			p += k;
			n -= k;
			if (!n)
				return;
		}
#endif
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) : n;

		for (size_t i = 0; i < k && !c->nonblank; i++)
			if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
				c->nonblank = 1;
		event_bytes(c, p, k);
		if (!nl)
			return;
		ndjson_line_end(h, now, nl + 1);
		p += k + 1;
		n -= k + 1;
	}
}

/* Content type unknown but the request asked for a stream: look at the first byte. */
static void sniff(struct content *c, uint8_t b)
{
	if (b == ' ' || b == '\t' || b == '\r' || b == '\n')
		return;
	if (b == '{')
		c->kind = K_NDJSON;
	else if (b == '[')
		c->kind = K_JSON;
	else if (b == 'd' || b == 'e' || b == ':' || b == 'i' || b == 'r')
		c->kind = K_SSE;
	else
		c->kind = K_NONE;
}

static void content_scan(struct ap_http *h, const uint8_t *p, size_t n, int64_t now)
{
	struct content *c = &st(h)->c;

	while (n && c->kind == K_SNIFF) {
		sniff(c, p[0]);
		if (c->kind == K_SNIFF) {
			p++;
			n--;
		}
	}
	switch (c->kind) {
	case K_JSON:
		json_feed(c, p, n);
		break;
	case K_NDJSON:
		ndjson_feed(h, p, n, now);
		break;
	case K_SSE:
		while (n) {
			size_t k;

#if defined(__x86_64__)
			if (c->sse == S_LINE && !c->cr && !c->has_data && !c->ev_want &&
			    c->ux.model[0] && !c->name_len && in_slot(st(h)) && n > 8 &&
			    ap_cpu_avx2()) {
				k = sse_count_events_avx2(c, in_slot(st(h)), p, n, now);
				p += k;
				n -= k;
				if (!n)
					break;
				if (c->ux.model[0] &&
				    (k = sse_keep_events_avx2(c, in_slot(st(h)), p, n, now)) != 0) {
					p += k; /* Gemini's usage chunks: then the bulk again */
					n -= k;
					continue;
				}
			}
#endif

			/* the common case: a whole "data: ...\n\n" event in this read, used in
			 * place */
			if (c->sse == S_LINE && !c->cr && !c->has_data && n > 8 &&
			    memcmp(p, "data: ", 6) == 0) {
				c->quote = 0;
				k = 6 + data_run(c, p + 6, n - 6);
				if (k + 1 < n && p[k] == '\n' && p[k + 1] == '\n') {
					struct slot *sl = in_slot(st(h));
					/* nothing to parse, not the last: count it and go on */
					if (!c->ev_want && c->ux.model[0] && k - 6 > 48 && sl &&
					    p[6] != '[' && !c->name_len) {
						sl->ex.events++;
						if (sl->ex.first_event_ns == AP_UNKNOWN)
							sl->ex.first_event_ns = now;
						p += k + 2;
						n -= k + 2;
						continue;
					}
					event_end_at(h, now, 1, p + k + 2, (const char *)p + 6,
						     k - 6);
					c->name_len = 0;
					p += k + 2;
					n -= k + 2;
					continue;
				}
				c->ev_want = 0; /* the slow path below sees these bytes again */
			}
			k = sse_step(h, p, n, now);
			p += k;
			n -= k;
		}
		break;
	}
}

static void content_body(struct ap_http *h, const uint8_t *p, size_t n, int64_t now)
{
	struct content *c = &st(h)->c;

	if (c->kind == K_NONE || n == 0)
		return;
	if (c->enc == ENC_GZIP || c->enc == ENC_DEFLATE)
		inflate_feed(h, p, n, now);
	else
		content_scan(h, p, n, now);
}

/* strstr(ct, "json") for ct of length n (its strlen) */
static int has_json(const char *ct, size_t n)
{
	const char *e = ct + n, *q = ct;

	while (e - q >= 4 && (q = memchr(q, 'j', (size_t)(e - q) - 3)) != NULL) {
		if (memcmp(q, "json", 4) == 0)
			return 1;
		q++;
	}
	return 0;
}

#define CT_IS(ct, n, lit) ((n) == sizeof(lit) - 1 && memcmp((ct), (lit), sizeof(lit) - 1) == 0)

/* Decide how to read the response content from its headers. */
static void content_setup(struct ap_http *h, struct slot *sl, const struct framer *f)
{
	struct content *c = &st(h)->c;
	const char *ct = f->ctype;
	size_t n = strlen(ct);

	memset(c, 0, offsetof(struct content, zs));
	ap_json_init_filtered(&c->js, resp_key_wanted);
	ap_usage_x_init(&c->ux);
	if (!sl)
		return;
	if (CT_IS(ct, n, "text/event-stream"))
		c->kind = K_SSE;
	else if (CT_IS(ct, n, "application/x-ndjson") || CT_IS(ct, n, "application/jsonl") ||
		 CT_IS(ct, n, "application/x-jsonlines"))
		c->kind = K_NDJSON;
	else if (has_json(ct, n))
		c->kind = sl->llm ? K_JSON : K_NONE;
	else if (sl->llm && sl->req_stream)
		c->kind = K_SNIFF;
	else if (sl->llm && ct[0] == 0)
		c->kind = K_JSON;
	c->scan = sl->llm || c->kind == K_SSE;
	c->enc = f->enc;
	if (c->enc == ENC_OTHER ||
	    ((c->enc == ENC_GZIP || c->enc == ENC_DEFLATE) && !(h->env && h->env->zlib)))
		c->kind = K_NONE;
	if (c->kind == K_SSE || c->kind == K_NDJSON)
		sl->ex.stream = 1;
}

/* --- exchange lifecycle --------------------------------------------------------------------- */

static void slot_free(struct state *s, int i)
{
	s->slot[i].used = 0;
	if (s->out_slot == i)
		s->out_slot = -1;
	if (s->in_slot == i)
		s->in_slot = -1;
}

static void emit(struct ap_http *h, int i)
{
	struct state *s = st(h);
	struct slot *sl = &s->slot[i];

	if (sl->req_ok && !sl->emitted && h->env && h->env->emit)
		h->env->emit(h->env->ctx, &sl->ex);
	slot_free(s, i);
}

/* Usage seen so far in a response that will not complete (a cut stream still tells a lot). */
static void finish_content(struct ap_http *h, struct slot *sl)
{
	struct content *c = &st(h)->c;

	if (c->scan && c->kind != K_NONE)
		parse_kept(h);
	if (c->scan && c->kind != K_NONE)
		ap_usage_x_finish(&c->ux, &sl->ex.usage, sl->ex.response_model,
				  sizeof(sl->ex.response_model));
}

/*
 * The provider's terminal event ([DONE], message_stop, response.completed, Gemini's last chunk,
 * Ollama's "done": true): SDKs stop reading here, so the exchange is complete and handed over
 * now. The rest of the response (the chunked terminator) is framed but not recorded again.
 */
static void early_complete(struct ap_http *h, int64_t now, const uint8_t *end)
{
	struct state *s = st(h);
	struct slot *sl = in_slot(s);

	if (!sl || sl->emitted)
		return;
	finish_content(h, sl);
	sl->ex.end_ns = now;
	/* bytes up to the event's end when it is known in the raw input (not inflated) */
	if (end && s->piece && s->c.enc == ENC_NONE && end >= s->piece &&
	    end <= s->piece + s->piece_len)
		sl->ex.bytes_received = s->piece_base + (uint64_t)(end - s->piece);
	if (sl->req_ok && h->env && h->env->emit)
		h->env->emit(h->env->ctx, &sl->ex);
	sl->emitted = 1;
}

/* Emit every tracked exchange with an error (protocol failure or close), oldest first. */
static void emit_all(struct ap_http *h, int64_t now, unsigned err)
{
	struct state *s = st(h);

	for (;;) {
		int best = -1;

		for (int i = 0; i < SLOTS; i++)
			if (s->slot[i].used &&
			    (best < 0 ||
			     s->slot[i].seq - s->resp_seq < s->slot[best].seq - s->resp_seq))
				best = i;
		if (best < 0)
			return;
		if (best == s->in_slot)
			finish_content(h, &s->slot[best]);
		if (s->slot[best].ex.end_ns == AP_UNKNOWN)
			s->slot[best].ex.end_ns = now;
		if (!s->slot[best].ex.error)
			s->slot[best].ex.error = (uint8_t)err;
		emit(h, best);
	}
}

static void give_up(struct ap_http *h, int64_t now)
{
	emit_all(h, now, AP_XERR_PROTOCOL);
	inflate_end(h);
	h->mode = AP_HTTP_GAVE_UP;
}

static void response_done(struct ap_http *h, int64_t now)
{
	struct state *s = st(h);
	struct slot *sl = in_slot(s);
	struct content *c = &s->c;

	if (sl) {
		if (c->kind == K_NDJSON)
			ndjson_line_end(h, now, NULL);
		if (c->scan && c->kind == K_JSON)
			ap_json_end(&c->js, ap_usage_x_field, &c->ux);
		finish_content(h, sl);
		sl->ex.end_ns = now;
		emit(h, s->in_slot);
	}
	inflate_end(h);
	c->kind = K_NONE;
	if (s->resp_seq != s->req_seq)
		s->resp_seq++;
	s->in_slot = -1;
	framer_reset(&s->in);
}

static void request_done(struct ap_http *h, int64_t now)
{
	struct state *s = st(h);
	struct slot *sl = out_slot(s);

	if (sl) {
		sl->req_done = 1;
		sl->ex.req_sent_ns = now;
		sl->ex.request_hash = ap_hash64_digest(&sl->hash);
		if (!sl->ex.request_hash) /* 0 is "none" */
			sl->ex.request_hash = 1;
	}
	s->out_slot = -1;
	framer_reset(&s->out);
}

static void begin_request(struct ap_http *h, int64_t now)
{
	struct state *s = st(h);

	s->seen_out = 1;
	s->out_slot = -1;
	for (int i = 0; i < SLOTS; i++) {
		struct slot *sl = &s->slot[i];
		if (sl->used)
			continue;
		ap_exchange_init(&sl->ex); /* the slot's first member: zero the rest */
		memset((char *)sl + sizeof(sl->ex), 0, sizeof(*sl) - sizeof(sl->ex));
		sl->used = 1;
		sl->seq = s->req_seq;
		sl->host_port = -1;
		sl->ex.start_ns = now;
		s->out_slot = (int8_t)i;
		break;
	}
	if (s->out_slot < 0 && h->env && h->env->dropped)
		h->env->dropped(
			h->env->ctx); /* pipelined deeper than SLOTS: framed, not recorded */
	s->req_seq++;
	s->out.phase = P_LINE;
}

static void begin_response(struct ap_http *h, int64_t now)
{
	struct state *s = st(h);

	s->in_slot = -1;
	s->in_head = s->in_connect = 0;
	for (int i = 0; i < SLOTS; i++) {
		struct slot *sl = &s->slot[i];
		if (sl->used && sl->seq == s->resp_seq && s->resp_seq != s->req_seq) {
			s->in_slot = (int8_t)i;
			s->in_head = sl->head;
			s->in_connect = sl->connect;
		}
	}
	s->resp_start_ns = now;
	s->status = AP_UNKNOWN;
	s->interim = 0;
	s->in.phase = P_LINE;
}

/* --- header lines --------------------------------------------------------------------------- */

/* Media type only, lower case, parameters dropped. */
/* lim: the end of the memory readable after v (v + n at least) */
static void set_ctype(struct framer *f, const char *v, size_t n, const char *lim)
{
	size_t k = 0;

#if defined(__x86_64__) || defined(__SSE2__)
	/* 16 bytes readable at v: a media type of up to 16 bytes in one go */
	if ((size_t)(lim - v) >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)v);
		unsigned stop = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(';')),
						  _mm_cmpeq_epi8(x, _mm_set1_epi8(' '))),
				     _mm_cmpeq_epi8(x, _mm_set1_epi8('\t'))));
		size_t e = stop ? (unsigned)__builtin_ctz(stop) : 16;

		if (n < e)
			e = n;
		if (e < 16 || n <= 16) { /* e <= 16 < sizeof(f->ctype) */
			__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
						   _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
			_mm_storeu_si128((__m128i *)(void *)f->ctype,
					 _mm_or_si128(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
			f->ctype[e] = 0;
			return;
		}
	}
#endif
	while (k < n && v[k] != ';' && !is_space(v[k]) && k + 1 < sizeof(f->ctype)) {
		f->ctype[k] = lower(v[k]);
		k++;
	}
	f->ctype[k] = 0;
}

static void set_clen(struct framer *f, const char *v, size_t n)
{
	int64_t x = 0;

	if (n == 0 || n > 18) {
		f->clen_bad = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			f->clen_bad = 1;
			return;
		}
		x = x * 10 + (v[i] - '0');
	}
	if (f->clen >= 0 && f->clen != x)
		f->clen_bad = 1;
	f->clen = x;
}

/* Transfer-Encoding: chunked must be the last coding. */
static void set_te(struct framer *f, const char *v, size_t n)
{
	size_t e = n, b;

	while (e > 0 && (is_space(v[e - 1]) || v[e - 1] == ','))
		e--;
	for (b = e; b > 0 && v[b - 1] != ',' && !is_space(v[b - 1]); b--)
		;
	f->te_chunked = name_is(v + b, e - b, "chunked");
	f->te_other = !f->te_chunked && e > 0;
}

static void set_enc(struct framer *f, const char *v, size_t n)
{
	if (name_is(v, n, "gzip") || name_is(v, n, "x-gzip"))
		f->enc = ENC_GZIP;
	else if (name_is(v, n, "deflate"))
		f->enc = ENC_DEFLATE;
	else if (n && !name_is(v, n, "identity"))
		f->enc = ENC_OTHER;
}

/* Host header: host without port (IPv6 brackets kept), port kept apart. */
static void set_host(struct slot *sl, const char *v, size_t n)
{
	size_t hn = n;
	const char *c = NULL;

	if (n && v[0] == '[') {
		const char *rb = memchr(v, ']', n);
		if (rb && (size_t)(rb - v) + 1 < n && rb[1] == ':')
			c = rb + 1;
	} else {
		c = memchr(v, ':', n);
	}
	if (c) {
		int32_t port = 0;
		hn = (size_t)(c - v);
		for (const char *d = c + 1; d < v + n && *d >= '0' && *d <= '9' && port < 65536;
		     d++)
			port = port * 10 + (*d - '0');
		sl->host_port = port > 0 && port < 65536 ? port : -1;
	}
	copy_str(sl->ex.host, sizeof(sl->ex.host), v, hn);
}

/* memchr(line, ':', n), the first 16 bytes inline when they are readable (before lim) */
static inline const char *find_colon(const char *line, size_t n, const char *lim)
{
#if defined(__x86_64__) || defined(__SSE2__)
	if (lim - line >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)line), _mm_set1_epi8(':')));

		if (n < 16)
			m &= (1u << n) - 1;
		if (m)
			return line + (unsigned)__builtin_ctz(m);
		return n > 16 ? memchr(line + 16, ':', n - 16) : NULL;
	}
#endif
	return memchr(line, ':', n);
}

/* Split "Name: value"; returns 0 for folded or malformed lines. lim: see find_colon. */
static int split_header(const char *line, size_t n, const char *lim, const char **name, size_t *nn,
			const char **val, size_t *vn)
{
	const char *colon = find_colon(line, n, lim);
	size_t s, e;

	if (!colon || colon == line || is_space(line[0]))
		return 0;
	*name = line;
	*nn = (size_t)(colon - line);
	s = *nn + 1;
	e = n;
	while (s < e && is_space(line[s]))
		s++;
	while (e > s && is_space(line[e - 1]))
		e--;
	*val = line + s;
	*vn = e - s;
	return 1;
}

/* The header names header_line reads start with c, t or h, in either case. */
static inline int header_may_matter(char c)
{
	c |= 0x20;
	return c == 'c' || c == 't' || c == 'h';
}

/* A header line (CR stripped); lim: the end of the memory readable after it. */
static void header_line(struct framer *f, struct slot *sl, int request, const char *line, size_t n,
			const char *lim)
{
	const char *name, *v;
	size_t nn, vn;

	if (!header_may_matter(line[0]))
		return;
	if (!split_header(line, n, lim, &name, &nn, &v, &vn))
		return;
	switch (nn) { /* the length tells the names apart */
	case 14:
		if (HEADER_IS(name, nn, "Content-Length", "content-length"))
			set_clen(f, v, vn);
		break;
	case 17:
		if (HEADER_IS(name, nn, "Transfer-Encoding", "transfer-encoding"))
			set_te(f, v, vn);
		break;
	case 12:
		if (HEADER_IS(name, nn, "Content-Type", "content-type"))
			set_ctype(f, v, vn, lim);
		break;
	case 16:
		if (HEADER_IS(name, nn, "Content-Encoding", "content-encoding"))
			set_enc(f, v, vn);
		break;
	case 4:
		if (request && sl && HEADER_IS(name, nn, "Host", "host") && !sl->ex.host[0])
			set_host(sl, v, vn);
		break;
	}
}

/* --- request line and request headers end --------------------------------------------------- */

#if defined(__x86_64__) || defined(__SSE2__)
/* 1 if one of the 16 bytes at p is below 0x20 but tab and CR, or is 0x7f */
static inline int ctl16(const uint8_t *p)
{
	const __m128i c1f = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t'),
		      cr = _mm_set1_epi8('\r'), del = _mm_set1_epi8(0x7f);
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, c1f), c1f);
	__m128i ok = _mm_or_si128(_mm_cmpeq_epi8(x, tab), _mm_cmpeq_epi8(x, cr));

	return _mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(ok, ctl), _mm_cmpeq_epi8(x, del))) !=
	       0;
}
#endif

/*
 * No byte of p[from..n) below 0x20 but tab and CR, and none 0x7f. The bytes before from pass
 * that test too (a method, "HTTP/1."), so the last 16-byte block may reach back over them.
 */
static int line_bytes_ok(const uint8_t *p, size_t n, size_t from)
{
	size_t i = from;

#if defined(__x86_64__) || defined(__SSE2__)
	if (n >= 16) {
		for (; i + 16 <= n; i += 16)
			if (ctl16(p + i))
				return 0;
		return i == n || !ctl16(p + n - 16);
	}
#endif
	for (; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r') || p[i] == 0x7f)
			return 0;
	return 1;
}

/* Incremental check of the request line: method is [A-Z_-]{1,20} then SP, then printable. */
static int request_line_ok(struct framer *f, const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i < n && !f->m_done; i++) {
		uint8_t c = p[i];

		if (c == ' ' && f->m_len > 0)
			f->m_done = 1;
		else if (((c >= 'A' && c <= 'Z') || c == '-' || c == '_') && f->m_len < 20)
			f->m_len++;
		else
			return 0;
	}
	return line_bytes_ok(p, n, i);
}

/* Absolute-form target "http://host:port/path": host into the slot, returns the path. */
static const char *absolute_target(struct slot *sl, const char *t, size_t *tn)
{
	const char *s = NULL, *auth, *end;

	if (*tn > 7 && memcmp(t, "http://", 7) == 0)
		s = t + 7;
	else if (*tn > 8 && memcmp(t, "https://", 8) == 0)
		s = t + 8;
	if (!s)
		return t;
	auth = s;
	for (end = s; end < t + *tn && *end != '/' && *end != '?'; end++)
		if (*end == '@')
			auth = end + 1;
	set_host(sl, auth, (size_t)(end - auth));
	*tn -= (size_t)(end - t);
	return *tn ? end : "/";
}

/* "METHOD SP target SP HTTP/1.x"; returns 0 if not HTTP/1.x. */
static int request_line(struct ap_http *h, struct slot *sl, const char *line, size_t n,
			int truncated)
{
	const char *sp1 = memchr(line, ' ', n), *t, *sp2;
	size_t tn;

	if (!sp1)
		return 0;
	t = sp1 + 1;
	sp2 = memchr(t, ' ', n - (size_t)(t - line));
	if (sp2) {
		const char *v = sp2 + 1;
		size_t vn = n - (size_t)(v - line);
		if (vn == 8 && memcmp(v, "HTTP/2.0", 8) == 0 && sp1 - line == 3 &&
		    memcmp(line, "PRI", 3) == 0)
			h->http2 = 1;
		if (vn != 8 || memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9')
			return 0;
		tn = (size_t)(sp2 - t);
	} else if (truncated) {
		tn = n - (size_t)(t - line);
	} else {
		return 0;
	}
	if (tn == 0)
		return 0;
	if (!sl)
		return 1;
	copy_str(sl->ex.method, sizeof(sl->ex.method), line, (size_t)(sp1 - line));
	sl->head = SEG_IS(line, (size_t)(sp1 - line), "HEAD");
	sl->connect = SEG_IS(line, (size_t)(sp1 - line), "CONNECT");
	t = absolute_target(sl, t, &tn);
	copy_str(sl->ex.path, sizeof(sl->ex.path), t, tn);
	ap_redact_path(sl->ex.path, sizeof(sl->ex.path));
	sl->req_ok = 1;
	return 1;
}

/* The request keys req_field reads (top-level "model" and "stream"); the rest (messages, tools,
 * the whole conversation) is skipped by the scanner. */
static int req_key_wanted(const char *path, size_t len)
{
	return (len == 5 && memcmp(path, "model", 5) == 0) ||
	       (len == 6 && memcmp(path, "stream", 6) == 0);
}

static void request_headers_end(struct ap_http *h, struct slot *sl, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = &s->out;
	uint8_t cat = 0, prov = 0;

	if (f->te_chunked)
		f->body = B_CHUNKED;
	else if (f->clen > 0 && !f->clen_bad)
		f->body = B_LENGTH;
	f->remaining = f->body == B_LENGTH ? (uint64_t)f->clen : 0;
	if (sl) {
		if (h->env && h->env->classify) {
			h->env->classify(h->env->ctx, sl->ex.host, sl->host_port, sl->ex.path, &cat,
					 &prov);
			sl->ex.category = cat;
			sl->ex.provider = prov;
		} else {
			ap_classify(h->env ? h->env->rules : NULL, sl->ex.host, sl->host_port,
				    sl->ex.path, &cat, &prov);
		}
		sl->llm = cat == AP_CAT_LLM;
		sl->api = (uint8_t)ap_usage_request(sl->ex.path,
						    sl->llm ? sl->ex.request_model : NULL,
						    sizeof(sl->ex.request_model));
		sl->scan_req = sl->llm && f->enc == ENC_NONE &&
			       (f->ctype[0] == 0 || has_json(f->ctype, strlen(f->ctype)));
		ap_hash64_init(&sl->hash);
		ap_hash64_update(&sl->hash, sl->ex.method, strlen(sl->ex.method));
		ap_hash64_update(&sl->hash, " ", 1);
		ap_hash64_update(&sl->hash, sl->ex.path, strlen(sl->ex.path));
		ap_hash64_update(&sl->hash, "\n", 1);
		ap_json_init_filtered(&s->req_js, req_key_wanted);
	}
	if (f->body == B_NONE)
		request_done(h, now);
	else
		f->phase = P_BODY;
}

static void req_field(void *ctx, const struct ap_json_value *v)
{
	struct slot *sl = ctx;

	if (v->depth != 1)
		return;
	/* paths hold no NUL: a length and memcmp is strcmp */
	if (SEG_IS(v->path, v->path_len, "model") && v->type == AP_JSON_STRING && v->len) {
		copy_str(sl->ex.request_model, sizeof(sl->ex.request_model), v->val, v->len);
		sl->req_keys |= 1;
	} else if (SEG_IS(v->path, v->path_len, "stream")) {
		sl->req_stream = v->type == AP_JSON_TRUE;
		sl->req_keys |= 2;
	}
}

static void request_body(struct ap_http *h, const uint8_t *p, size_t n, int64_t now)
{
	struct state *s = st(h);
	struct slot *sl = out_slot(s);

	if (!sl)
		return;
	ap_hash64_update(&sl->hash, p, n);
	if (sl->scan_req && sl->req_keys != 3 && !ap_json_failed(&s->req_js))
		ap_json_feed(&s->req_js, p, n, req_field, sl);
}

/* --- status line and response headers end --------------------------------------------------- */

static int status_line_ok(struct framer *f, const uint8_t *p, size_t n)
{
	static const char prefix[] = "HTTP/1.";
	size_t i = 0;

	for (; i < n && f->line_total + i < sizeof(prefix) - 1; i++)
		if (p[i] != (uint8_t)prefix[f->line_total + i])
			return 0;
	return line_bytes_ok(p, n, i);
}

static int status_line(struct ap_http *h, const char *line, size_t n)
{
	struct state *s = st(h);
	int code = 0;

	if (n < 12 || line[8] != ' ')
		return 0;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		code = code * 10 + (line[i] - '0');
	}
	if (n > 12 && line[12] != ' ')
		return 0;
	if (code < 100)
		return 0;
	s->status = code;
	s->interim = code >= 100 && code < 200 && code != 101;
	return 1;
}

static void response_headers_end(struct ap_http *h, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = &s->in;
	struct slot *sl = in_slot(s);
	int code = s->status;

	if (s->interim) { /* 100 Continue, 103 Early Hints: the final response follows */
		framer_reset(f);
		return;
	}
	if (sl) {
		sl->ex.status = code;
		sl->ex.first_byte_ns = s->resp_start_ns;
		copy_str(sl->ex.content_type, sizeof(sl->ex.content_type), f->ctype,
			 strlen(f->ctype));
	}
	if (code == 101 || (s->in_connect && code >= 200 && code < 300)) {
		if (sl)
			sl->ex.end_ns = now;
		response_done(h, now);
		give_up(h, now); /* the connection now carries another protocol */
		return;
	}
	if (s->in_head || code == 204 || code == 304) {
		response_done(h, now);
		return;
	}
	if (f->te_chunked) {
		f->body = B_CHUNKED;
	} else if (f->te_other) {
		f->body = B_CLOSE;
	} else if (f->clen_bad) {
		f->body = B_CLOSE;
		if (sl)
			sl->ex.error = AP_XERR_PROTOCOL;
	} else if (f->clen >= 0) {
		f->body = B_LENGTH;
		f->remaining = (uint64_t)f->clen;
	} else {
		f->body = B_CLOSE;
	}
	content_setup(h, sl, f);
	if (f->body == B_LENGTH && f->remaining == 0)
		response_done(h, now);
	else
		f->phase = P_BODY;
}

/* --- generic line and body machinery -------------------------------------------------------- */

/* A full header-section line (CR stripped) for direction dir (1 = out). */
static void line_done(struct ap_http *h, int out, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	struct slot *sl = out ? out_slot(s) : in_slot(s);
	size_t n = f->line_len;
	int trunc = f->line_total > f->line_len;

	if (n && f->line[n - 1] == '\r' && !trunc)
		n--;
	f->line[n] = 0;
	f->line_len = 0;
	f->line_total = 0;
	if (f->phase == P_LINE) {
		if (out ? !request_line(h, sl, f->line, n, trunc) : !status_line(h, f->line, n)) {
			give_up(h, now);
			return;
		}
		f->phase = P_HEADERS;
		return;
	}
	if (n == 0) {
		if (out)
			request_headers_end(h, sl, now);
		else
			response_headers_end(h, now);
		return;
	}
	header_line(f, sl, out, f->line, n, f->line + sizeof(f->line));
}

static void count(struct ap_http *h, int out, size_t k);

/* Consume bytes of the first line / header section. */
/* memchr(p, '\n', n), the first 16-byte blocks inline (header lines are short) */
static inline __attribute__((always_inline)) const uint8_t *find_lf(const uint8_t *p, size_t n)
{
	size_t i = 0;

#if defined(__x86_64__) || defined(__SSE2__)
	const __m128i lf = _mm_set1_epi8('\n');

	for (; i + 16 <= n && i < 128; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)(p + i)), lf));

		if (m)
			return p + i + (unsigned)__builtin_ctz(m);
	}
#endif
	return i < n ? memchr(p + i, '\n', n - i) : NULL;
}

/*
 * Whole header lines at p in this read, not the blank one: read in place, as line_done would
 * read their copies, one after another. Returns the bytes consumed (0: the first is not such).
 */
static size_t header_lines(struct ap_http *h, int out, const uint8_t *p, size_t n)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	struct slot *sl = out ? out_slot(s) : in_slot(s);
	size_t used = 0;

	while (used < n) {
		const uint8_t *q = p + used, *lf = find_lf(q, n - used);
		size_t body = lf ? (size_t)(lf - q) : 0,
		       ln = body && q[body - 1] == '\r' ? body - 1 : body;

		if (!lf || ln == 0 || body > sizeof(f->line) - 1)
			break;
		if (header_may_matter((char)q[0]))
			header_line(f, sl, out, (const char *)q, ln, (const char *)p + n);
		used += body + 1;
	}
	if (used)
		count(h, out, used);
	return used;
}

static size_t take_line(struct ap_http *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	const uint8_t *lf;
	size_t k, body, room, copy;

	if (f->phase == P_HEADERS && f->line_len == 0 && f->line_total == 0 && p[0] != '\r' &&
	    p[0] != '\n' && (k = header_lines(h, out, p, n)) > 0)
		return k;
	lf = find_lf(p, n);
	k = lf ? (size_t)(lf - p) + 1 : n;
	body = lf ? k - 1 : k;
	room = sizeof(f->line) - 1 - f->line_len;
	copy = body < room ? body : room;
	if (f->phase == P_LINE &&
	    !(out ? request_line_ok(f, p, body) : status_line_ok(f, p, body))) {
		give_up(h, now);
		return n;
	}
	memcpy(f->line + f->line_len, p, copy);
	f->line_len = (uint16_t)(f->line_len + copy);
	f->line_total += (uint32_t)(body > UINT32_MAX - f->line_total ? 0 : body);
	count(h, out, k);
	if (lf)
		line_done(h, out, now);
	return k;
}

/* Count consumed bytes for the exchange they belong to (before it can complete). */
static void count(struct ap_http *h, int out, size_t k)
{
	struct state *s = st(h);
	struct slot *sl = out ? out_slot(s) : in_slot(s);

	if (!sl)
		return;
	if (out)
		sl->ex.bytes_sent += k;
	else
		sl->ex.bytes_received += k;
}

static void body_bytes(struct ap_http *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct state *s = st(h);
	struct slot *sl;

	if (out) {
		request_body(h, p, n, now);
	} else if ((sl = in_slot(s)) != NULL) {
		s->piece = p;
		s->piece_len = n;
		s->piece_base = sl->ex.bytes_received - n; /* count() came first */
		content_body(h, p, n, now);
		s->piece = NULL;
	}
}

static void message_done(struct ap_http *h, int out, int64_t now)
{
	if (out)
		request_done(h, now);
	else
		response_done(h, now);
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Chunk framing bytes other than data; returns 0 on a protocol error. */
static int chunk_ctl(struct framer *f, uint8_t c, int *finished)
{
	int v;

	switch (f->chunk) {
	case CH_SIZE:
		if ((v = hexval(c)) >= 0 && f->ch_digits < 15) {
			f->remaining = f->remaining << 4 | (uint64_t)v;
			f->ch_digits++;
			return 1;
		}
		if (!f->ch_digits || v >= 0)
			return 0;
		if (c == '\r' || c == ';' || is_space((char)c)) {
			f->chunk = c == '\r' ? CH_SIZE_LF : CH_EXT;
			return 1;
		}
		if (c != '\n')
			return 0;
		break;
	case CH_EXT:
		if (c != '\n')
			return 1;
		break;
	case CH_SIZE_LF:
		if (c != '\n')
			return 0;
		break;
	case CH_DATA_CR:
		if (c == '\r')
			f->chunk = CH_DATA_LF;
		else if (c == '\n')
			f->chunk = CH_SIZE;
		else
			return 0;
		f->ch_digits = 0;
		f->remaining = 0;
		return 1;
	case CH_DATA_LF:
		if (c != '\n')
			return 0;
		f->chunk = CH_SIZE;
		return 1;
	case CH_TRAILER:
		if (c == '\n') {
			if (f->trailer_empty)
				*finished = 1;
			f->trailer_empty = 1;
		} else if (c != '\r') {
			f->trailer_empty = 0;
		}
		return 1;
	}
	/* end of a chunk-size line */
	if (f->remaining == 0) {
		f->chunk = CH_TRAILER;
		f->trailer_empty = 1;
	} else {
		f->chunk = CH_DATA;
	}
	return 1;
}

static size_t take_chunked(struct ap_http *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	int finished = 0;

	if (f->chunk == CH_DATA) {
		size_t k = n < f->remaining ? n : (size_t)f->remaining;
		f->remaining -= k;
		if (f->remaining == 0)
			f->chunk = CH_DATA_CR;
		count(h, out, k);
		body_bytes(h, out, p, k, now);
		return k;
	}
	if (!chunk_ctl(f, p[0], &finished)) {
		give_up(h, now);
		return n;
	}
	count(h, out, 1);
	if (finished)
		message_done(h, out, now);
	return 1;
}

static size_t take_body(struct ap_http *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	size_t k;

	switch (f->body) {
	case B_CHUNKED:
		return take_chunked(h, out, p, n, now);
	case B_LENGTH:
		k = n < f->remaining ? n : (size_t)f->remaining;
		f->remaining -= k;
		count(h, out, k);
		body_bytes(h, out, p, k, now);
		if (f->remaining == 0)
			message_done(h, out, now);
		return k;
	default: /* B_CLOSE: until the connection closes */
		count(h, out, n);
		body_bytes(h, out, p, n, now);
		return n;
	}
}

/* One step in direction out (1) or in (0); returns the bytes consumed. */
static size_t step(struct ap_http *h, int out, const uint8_t *p, size_t n, int64_t now)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;

	switch (f->phase) {
	case P_START:
		if (out) {
			begin_request(h, now);
		} else {
			if (!s->seen_out) { /* the server spoke first: not HTTP */
				give_up(h, now);
				return n;
			}
			begin_response(h, now);
		}
		return 0;
	case P_LINE:
	case P_HEADERS:
		return take_line(h, out, p, n, now);
	default:
		return take_body(h, out, p, n, now);
	}
}

static void update_mode(struct ap_http *h)
{
	const struct state *s = cst(h);

	if (h->mode == AP_HTTP_GAVE_UP)
		return;
	h->mode = s->out.phase != P_START || s->in.phase != P_START ? AP_HTTP_ACTIVE : AP_HTTP_IDLE;
	for (int i = 0; i < SLOTS; i++)
		if (s->slot[i].used)
			h->mode = AP_HTTP_ACTIVE;
}

static void feed(struct ap_http *h, int out, const void *buf, size_t n, int64_t now)
{
	const uint8_t *p = buf;

	if (!h || h->mode == AP_HTTP_GAVE_UP || !buf)
		return;
	while (n && h->mode != AP_HTTP_GAVE_UP) {
		size_t k = step(h, out, p, n, now);

		p += k;
		n -= k;
	}
	update_mode(h);
}

/* --- public API ----------------------------------------------------------------------------- */

void ap_http_init(struct ap_http *h, const struct ap_http_env *env)
{
	struct state *s = st(h);

	h->env = env;
	h->mode = AP_HTTP_IDLE;
	h->http2 = 0;
	memset(s, 0, sizeof(*s));
	s->out_slot = s->in_slot = -1;
	framer_reset(&s->out);
	framer_reset(&s->in);
}

void ap_http_out(struct ap_http *h, const void *buf, size_t n, int64_t now_ns)
{
	feed(h, 1, buf, n, now_ns);
}

void ap_http_in(struct ap_http *h, const void *buf, size_t n, int64_t now_ns)
{
	feed(h, 0, buf, n, now_ns);
}

void ap_http_close(struct ap_http *h, int64_t now_ns, unsigned err)
{
	struct state *s = st(h);

	if (h->mode != AP_HTTP_GAVE_UP) {
		if (s->in.phase == P_BODY && s->in.body == B_CLOSE && in_slot(s)) {
			if (err)
				in_slot(s)->ex.error = (uint8_t)err;
			response_done(h, now_ns);
		}
		emit_all(h, now_ns, err ? err : AP_XERR_EOF);
	}
	ap_http_reset(h);
}

void ap_http_reset(struct ap_http *h)
{
	inflate_end(h);
	ap_http_init(h, h->env);
}

int ap_http_pending(const struct ap_http *h)
{
	const struct state *s = cst(h);

	if (h->mode == AP_HTTP_GAVE_UP)
		return 0;
	for (int i = 0; i < SLOTS; i++)
		if (s->slot[i].used && s->slot[i].req_ok)
			return 1;
	return 0;
}

uint64_t ap_http_events_parsed(const struct ap_http *h)
{
	return cst(h)->events_parsed;
}

/* --- messages framed by the caller (one HTTP/2 stream per struct ap_http) -------------------- */

void ap_http_framed_request(struct ap_http *h, int64_t now_ns)
{
	ap_http_reset(h);
	begin_request(h, now_ns);
	st(h)->out.phase = P_HEADERS;
}

void ap_http_framed_response(struct ap_http *h, int64_t now_ns)
{
	struct state *s = st(h);

	framer_reset(&s->in);
	begin_response(h, now_ns);
	s->in.phase = P_HEADERS;
}

void ap_http_framed_header(struct ap_http *h, int out, const char *name, size_t nn, const char *val,
			   size_t vn)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	struct slot *sl = out ? out_slot(s) : in_slot(s);

	if (f->phase != P_HEADERS)
		return;
	if (nn && name[0] != ':') {
		if (name_is(name, nn, "content-type"))
			set_ctype(f, val, vn, val + vn);
		else if (name_is(name, nn, "content-encoding"))
			set_enc(f, val, vn);
		else if (out && sl && name_is(name, nn, "host") && !sl->ex.host[0])
			set_host(sl, val, vn);
		return;
	}
	if (!out) {
		if (name_is(name, nn, ":status") && vn == 3) {
			int code = 0;
			for (int i = 0; i < 3; i++)
				code = val[i] >= '0' && val[i] <= '9' ? code * 10 + (val[i] - '0')
								      : -1000;
			if (code >= 100) {
				s->status = code;
				s->interim = code < 200;
			}
		}
		return;
	}
	if (!sl)
		return;
	if (name_is(name, nn, ":method")) {
		copy_str(sl->ex.method, sizeof(sl->ex.method), val, vn);
		sl->head = strcmp(sl->ex.method, "HEAD") == 0;
	} else if (name_is(name, nn, ":path")) {
		copy_str(sl->ex.path, sizeof(sl->ex.path), val, vn);
		ap_redact_path(sl->ex.path, sizeof(sl->ex.path));
	} else if (name_is(name, nn, ":authority")) {
		set_host(sl, val, vn);
	}
}

int ap_http_framed_headers_end(struct ap_http *h, int out, int64_t now_ns)
{
	struct state *s = st(h);
	struct framer *f = out ? &s->out : &s->in;
	struct slot *sl = out ? out_slot(s) : in_slot(s);

	if (f->phase != P_HEADERS)
		return 0;
	/* The caller frames the body: "chunked" keeps the framer in P_BODY until framed_end. */
	f->te_chunked = 1;
	f->te_other = f->clen_bad = 0;
	f->clen = -1;
	if (out) {
		if (sl)
			sl->req_ok = 1;
		request_headers_end(h, sl, now_ns);
		return 1;
	}
	if (s->interim) {
		framer_reset(f);
		return 0;
	}
	response_headers_end(h, now_ns);
	return 1;
}

void ap_http_framed_body(struct ap_http *h, int out, const void *buf, size_t n, int64_t now_ns)
{
	struct state *s = st(h);

	if ((out ? s->out.phase : s->in.phase) == P_BODY)
		body_bytes(h, out, buf, n, now_ns);
}

void ap_http_framed_bytes(struct ap_http *h, int out, size_t n)
{
	count(h, out, n);
}

void ap_http_framed_end(struct ap_http *h, int out, int64_t now_ns)
{
	struct state *s = st(h);

	if ((out ? s->out.phase : s->in.phase) == P_BODY)
		message_done(h, out, now_ns);
}

int ap_http_framed_done(const struct ap_http *h)
{
	const struct state *s = cst(h);

	for (int i = 0; i < SLOTS; i++)
		if (s->slot[i].used)
			return 0;
	return 1;
}
