/* test_h2.c: the HTTP/2 observer on hand-built frames (header blocks from nghttp2's deflater),
 * fed whole, split at every byte and byte by byte; hostile framing; bounds. */
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"
#include "unit.h"

#define MAXX 64

_Static_assert(sizeof(struct ap_hpack_nv) == sizeof(nghttp2_nv), "nv layout");
_Static_assert(offsetof(struct ap_hpack_nv, valuelen) == offsetof(nghttp2_nv, valuelen), "nv");
_Static_assert(sizeof(struct ap_hpack_mem) == sizeof(nghttp2_mem), "mem layout");

/* --- nghttp2 behind the function-pointer interface ----------------------------------------- */

static int t_new2(void **p, struct ap_hpack_mem *mem)
{
	return nghttp2_hd_inflate_new2((nghttp2_hd_inflater **)p, (nghttp2_mem *)mem);
}
static void t_del(void *p)
{
	nghttp2_hd_inflate_del(p);
}
static ptrdiff_t t_hd(void *p, struct ap_hpack_nv *nv, int *flags, const uint8_t *in, size_t n,
		      int fin)
{
	return nghttp2_hd_inflate_hd2(p, (nghttp2_nv *)nv, flags, in, n, fin);
}
static int t_end(void *p)
{
	return nghttp2_hd_inflate_end_headers(p);
}
static int t_size(void *p, size_t n)
{
	return nghttp2_hd_inflate_change_table_size(p, n);
}
static const struct ap_hpack_api hpack = {t_new2, t_del, t_hd, t_end, t_size};

static struct ap_exchange got[MAXX];
static int ngot;

static void on_emit(void *ctx, struct ap_exchange *ex)
{
	if (ngot < MAXX)
		got[ngot] = *ex;
	ngot++;
}

static const struct ap_zlib_api zapi = {inflateInit2_, inflate, inflateEnd};
static struct ap_http_env henv = {.emit = on_emit, .zlib = &zapi};
static struct ap_h2_env env = {.http = &henv, .hpack = &hpack};

/* --- building a conversation ---------------------------------------------------------------- */

struct ev {
	char dir; /* 'o' client wrote, 'i' client read */
	size_t off, n;
	int64_t t;
};

static uint8_t wire[1 << 20];
static size_t wlen;
static struct ev evs[2048];
static int nev;
static nghttp2_hd_deflater *def[2]; /* 0 client encoder, 1 server encoder */

static void conv_reset(void)
{
	wlen = 0;
	nev = 0;
	for (int i = 0; i < 2; i++) {
		if (def[i])
			nghttp2_hd_deflate_del(def[i]);
		nghttp2_hd_deflate_new(&def[i], 4096);
	}
}

/* Append bytes as one write/read event at time t. */
static void put(char dir, const void *p, size_t n, int64_t t)
{
	memcpy(wire + wlen, p, n);
	evs[nev++] = (struct ev){dir, wlen, n, t};
	wlen += n;
}

static size_t frame_hdr(uint8_t *b, size_t len, int type, int flags, uint32_t sid)
{
	b[0] = (uint8_t)(len >> 16);
	b[1] = (uint8_t)(len >> 8);
	b[2] = (uint8_t)len;
	b[3] = (uint8_t)type;
	b[4] = (uint8_t)flags;
	b[5] = (uint8_t)(sid >> 24);
	b[6] = (uint8_t)(sid >> 16);
	b[7] = (uint8_t)(sid >> 8);
	b[8] = (uint8_t)sid;
	return 9;
}

static void frame(char dir, int type, int flags, uint32_t sid, const void *p, size_t n, int64_t t)
{
	uint8_t b[9 + 70000];

	frame_hdr(b, n, type, flags, sid);
	if (n)
		memcpy(b + 9, p, n);
	put(dir, b, 9 + n, t);
}

static void preface(int64_t t)
{
	uint8_t s[6] = {0, 3, 0, 0, 0, 100}; /* MAX_CONCURRENT_STREAMS 100 */

	put('o', AP_H2_PREFACE, AP_H2_PREFACE_LEN, t);
	frame('o', 4, 0, 0, s, 6, t);
	frame('i', 4, 0, 0, s, 6, t + 1);
	frame('i', 4, 1, 0, NULL, 0, t + 1);
	frame('o', 4, 1, 0, NULL, 0, t + 2);
}

#define NV(n, v)                                                                               \
	{                                                                                      \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

static size_t hblock(int server, const nghttp2_nv *nv, size_t n, uint8_t *out, size_t cap)
{
	ssize_t r = nghttp2_hd_deflate_hd(def[server], out, cap, nv, n);
	return r < 0 ? 0 : (size_t)r;
}

static void req_headers(uint32_t sid, const char *method, const char *path, int end_stream,
			int64_t t)
{
	nghttp2_nv nv[] = {NV(":method", method),
			   NV(":scheme", "https"),
			   NV(":authority", "api.openai.com"),
			   NV(":path", path),
			   NV("content-type", "application/json"),
			   NV("authorization", "Bearer SECRET")};
	uint8_t b[4096];
	size_t n = hblock(0, nv, 6, b, sizeof(b));

	frame('o', 1, 4 | (end_stream ? 1 : 0), sid, b, n, t);
}

static void resp_headers(uint32_t sid, const char *status, const char *ctype, int64_t t)
{
	nghttp2_nv nv[] = {NV(":status", status), NV("content-type", ctype), NV("server", "nginx")};
	uint8_t b[4096];
	size_t n = hblock(1, nv, 3, b, sizeof(b));

	frame('i', 1, 4, sid, b, n, t);
}

static const char CHAT_REQ[] = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":"
			       "\"user\",\"content\":\"hi\"}]}";
static const char *SSE[] = {
	"data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
	"data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n",
	"data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":21,"
	"\"completion_tokens\":2}}\n\n",
	"data: [DONE]\n\n"};

/* A streamed chat on stream sid: request at t, response headers at t+100, events after. */
static void chat_stream(uint32_t sid, int64_t t)
{
	req_headers(sid, "POST", "/v1/chat/completions", 0, t);
	frame('o', 0, 1, sid, CHAT_REQ, strlen(CHAT_REQ), t + 1);
	resp_headers(sid, "200", "text/event-stream", t + 100);
	for (int i = 0; i < 4; i++)
		frame('i', 0, i == 3 ? 1 : 0, sid, SSE[i], strlen(SSE[i]), t + 110 + i * 10);
}

/* Each read in a heap block of exactly its size: the sanitizer stops a read past it. */
static void feed_exact(struct ap_h2 *h, int out, const uint8_t *p, size_t n, int64_t t)
{
	uint8_t *exact = malloc(n ? n : 1);

	if (!exact)
		abort();
	memcpy(exact, p, n);
	(out ? ap_h2_out : ap_h2_in)(h, exact, n, t);
	free(exact);
}

static void feed_out(struct ap_h2 *h, const void *p, size_t n, int64_t t)
{
	feed_exact(h, 1, p, n, t);
}

static void feed_in(struct ap_h2 *h, const void *p, size_t n, int64_t t)
{
	feed_exact(h, 0, p, n, t);
}

/* split: 0 whole, SIZE_MAX byte by byte, else each event cut once at split. */
static int run(struct ap_h2 *h, size_t split)
{
	ngot = 0;
	ap_h2_init(h, &env);
	for (int i = 0; i < nev; i++) {
		const struct ev *e = &evs[i];
		const uint8_t *p = wire + e->off;
		void (*fn)(struct ap_h2 *, const void *, size_t, int64_t) =
			e->dir == 'o' ? feed_out : feed_in;

		if (split == SIZE_MAX) {
			for (size_t k = 0; k < e->n; k++)
				fn(h, p + k, 1, e->t);
		} else if (split && split < e->n) {
			fn(h, p, split, e->t);
			fn(h, p + split, e->n - split, e->t);
		} else {
			fn(h, p, e->n, e->t);
		}
	}
	return ngot;
}

static struct ap_h2 *newh2(void)
{
	return calloc(1, ap_h2_size());
}

/* --- tests ---------------------------------------------------------------------------------- */

static void check_chat(const struct ap_exchange *x, int64_t t)
{
	CHECK_EQ_STR(x->method, "POST");
	CHECK_EQ_STR(x->path, "/v1/chat/completions");
	CHECK_EQ_STR(x->host, "api.openai.com");
	CHECK_EQ_INT(x->status, 200);
	CHECK_EQ_STR(x->content_type, "text/event-stream");
	CHECK_EQ_INT(x->stream, 1);
	CHECK_EQ_INT(x->events, 3);
	CHECK_EQ_STR(x->request_model, "gpt-4o");
	CHECK_EQ_STR(x->response_model, "gpt-4o-2024-08-06");
	CHECK_EQ_INT(x->usage.input, 21);
	CHECK_EQ_INT(x->usage.output, 2);
	CHECK_EQ_INT(x->start_ns, t);
	CHECK_EQ_INT(x->req_sent_ns, t + 1);
	CHECK_EQ_INT(x->first_byte_ns, t + 100);
	CHECK_EQ_INT(x->first_event_ns, t + 110);
	CHECK_EQ_INT(x->end_ns, t + 140);
	CHECK_EQ_INT(x->error, 0);
	CHECK(x->request_hash != 0);
	CHECK(x->bytes_sent > strlen(CHAT_REQ));
	CHECK(x->bytes_received > 200);
}

static void test_one_stream(void)
{
	struct ap_h2 *h = newh2();
	struct ap_exchange ref;
	size_t total = 0;
	int bad = 0;

	conv_reset();
	preface(1000);
	chat_stream(1, 2000);
	CHECK_EQ_INT(run(h, 0), 1);
	check_chat(&got[0], 2000);
	ref = got[0];
	for (int i = 0; i < nev; i++)
		total = evs[i].n > total ? evs[i].n : total;
	for (size_t s = 1; s < total; s++) {
		if (run(h, s) != 1 || memcmp(&got[0], &ref, sizeof(ref)) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(run(h, SIZE_MAX), 1);
	CHECK(memcmp(&got[0], &ref, sizeof(ref)) == 0);
	CHECK_EQ_INT(ap_h2_open_streams(h), 0);
	CHECK_EQ_INT(ap_h2_drops(h), 0);
	ap_h2_close(h, 9999, 0);
	CHECK_EQ_INT(ngot, 1);
	free(h);
}

/* Two streams interleaved frame by frame stay two exchanges with their own times. */
static void test_interleaved(void)
{
	struct ap_h2 *h = newh2();
	static const char BODY3[] = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
	static const char RESP3[] =
		"{\"model\":\"gpt-4o-mini-2024-07-18\",\"usage\":{\"prompt_tokens\":9,"
		"\"completion_tokens\":4}}";

	conv_reset();
	preface(1000);
	req_headers(1, "POST", "/v1/chat/completions", 0, 2000);
	req_headers(3, "POST", "/v1/chat/completions", 0, 2005);
	frame('o', 0, 1, 3, BODY3, strlen(BODY3), 2006);
	frame('o', 0, 1, 1, CHAT_REQ, strlen(CHAT_REQ), 2007);
	resp_headers(1, "200", "text/event-stream", 2100);
	frame('i', 0, 0, 1, SSE[0], strlen(SSE[0]), 2110);
	resp_headers(3, "200", "application/json", 2300);
	frame('i', 0, 0, 1, SSE[1], strlen(SSE[1]), 2310);
	frame('i', 0, 1, 3, RESP3, strlen(RESP3), 2320);
	frame('i', 0, 0, 1, SSE[2], strlen(SSE[2]), 2330);
	frame('i', 0, 1, 1, SSE[3], strlen(SSE[3]), 2340);
	CHECK_EQ_INT(run(h, 0), 2);
	/* stream 3 completes first */
	CHECK_EQ_STR(got[0].request_model, "gpt-4o-mini");
	CHECK_EQ_STR(got[0].response_model, "gpt-4o-mini-2024-07-18");
	CHECK_EQ_INT(got[0].usage.input, 9);
	CHECK_EQ_INT(got[0].usage.output, 4);
	CHECK_EQ_INT(got[0].stream, 0);
	CHECK_EQ_INT(got[0].start_ns, 2005);
	CHECK_EQ_INT(got[0].first_byte_ns, 2300);
	CHECK_EQ_INT(got[0].end_ns, 2320);
	CHECK_EQ_STR(got[1].request_model, "gpt-4o");
	CHECK_EQ_INT(got[1].stream, 1);
	CHECK_EQ_INT(got[1].events, 3);
	CHECK_EQ_INT(got[1].usage.input, 21);
	CHECK_EQ_INT(got[1].start_ns, 2000);
	CHECK_EQ_INT(got[1].first_byte_ns, 2100);
	CHECK_EQ_INT(got[1].end_ns, 2340);
	CHECK_EQ_INT(run(h, SIZE_MAX), 2);
	CHECK_EQ_INT(got[1].events, 3);
	CHECK_EQ_INT(got[0].usage.output, 4);
	free(h);
}

/* Padding, priority, CONTINUATION, padded DATA, a 1xx before the final response, trailers. */
static void test_padding_continuation(void)
{
	struct ap_h2 *h = newh2();
	nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "https"),
			   NV(":authority", "api.anthropic.com:443"), NV(":path", "/v1/messages"),
			   NV("content-type", "application/json")};
	static const char BODY[] = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":5}";
	static const char RESP[] =
		"{\"model\":\"claude-sonnet-4-5-20250929\",\"usage\":{\"input_tokens\":7,"
		"\"output_tokens\":3}}";
	uint8_t blk[512], b[1024];
	size_t n = hblock(0, nv, 5, blk, sizeof(blk)), k;

	conv_reset();
	preface(1000);
	/* HEADERS: PADDED|PRIORITY, 3 pad bytes, first 10 bytes of the block; then CONTINUATION */
	b[0] = 3;
	memset(b + 1, 0, 5);
	memcpy(b + 6, blk, 10);
	memset(b + 16, 0, 3);
	frame('o', 1, 0x08 | 0x20, 1, b, 19, 2000);
	frame('o', 9, 0, 1, blk + 10, 5, 2000);
	frame('o', 9, 4, 1, blk + 15, n - 15, 2001);
	/* padded DATA with END_STREAM */
	b[0] = 4;
	memcpy(b + 1, BODY, strlen(BODY));
	memset(b + 1 + strlen(BODY), 0, 4);
	frame('o', 0, 0x08 | 1, 1, b, 1 + strlen(BODY) + 4, 2002);
	frame('o', 8, 0, 0, "\0\0\1\0", 4, 2003);    /* WINDOW_UPDATE */
	frame('o', 6, 0, 0, "12345678", 8, 2003);    /* PING */
	frame('o', 2, 0, 1, "\0\0\0\0\20", 5, 2003); /* PRIORITY */
	resp_headers(1, "103", "text/plain", 2050);
	resp_headers(1, "200", "application/json", 2200);
	k = strlen(RESP);
	frame('i', 0, 0, 1, RESP, 20, 2210);
	b[0] = 0; /* padded with 0 bytes of padding */
	memcpy(b + 1, RESP + 20, k - 20);
	frame('i', 0, 0x08, 1, b, 1 + k - 20, 2220);
	{
		nghttp2_nv tr[] = {NV("x-trailer", "1")};
		n = hblock(1, tr, 1, blk, sizeof(blk));
		frame('i', 1, 4 | 1, 1, blk, n, 2230);
	}
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_STR(got[0].path, "/v1/messages");
	CHECK_EQ_STR(got[0].host, "api.anthropic.com");
	CHECK_EQ_STR(got[0].request_model, "claude-sonnet-4-5");
	CHECK_EQ_STR(got[0].response_model, "claude-sonnet-4-5-20250929");
	CHECK_EQ_INT(got[0].usage.input, 7);
	CHECK_EQ_INT(got[0].usage.output, 3);
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_INT(got[0].first_byte_ns, 2200);
	CHECK_EQ_INT(got[0].req_sent_ns, 2002);
	CHECK_EQ_INT(got[0].end_ns, 2230);
	CHECK_EQ_INT(got[0].error, 0);
	CHECK_EQ_INT(run(h, SIZE_MAX), 1);
	CHECK_EQ_INT(got[0].usage.output, 3);
	CHECK_EQ_INT(got[0].first_byte_ns, 2200);
	free(h);
}

/* PUSH_PROMISE (padded) is decoded, so the server's table stays in step, and then ignored; so is
 * the pushed stream. */
static void test_push(void)
{
	struct ap_h2 *h = newh2();
	nghttp2_nv pp[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "api.openai.com"), NV(":path", "/pushed.css"),
			   NV("content-type", "text/x-pushed-type")};
	uint8_t blk[512], b[600];
	size_t n = hblock(1, pp, 5, blk, sizeof(blk));

	conv_reset();
	preface(1000);
	req_headers(1, "GET", "/tool/page", 1, 2000);
	b[0] = 2;		      /* pad length */
	memcpy(b + 1, "\0\0\0\2", 4); /* promised stream 2 */
	memcpy(b + 5, blk, n);
	memset(b + 5 + n, 0, 2);
	frame('i', 5, 0x08 | 4, 1, b, 5 + n + 2, 2050);
	resp_headers(2, "200", "text/x-pushed-type", 2060);
	frame('i', 0, 1, 2, "body", 4, 2070);
	/* the push block added content-type to the server's table: the responses refer to it by
	 * index, which decodes right only if the push block was decoded too */
	resp_headers(1, "200", "text/x-pushed-type", 2100);
	frame('i', 0, 1, 1, "{}", 2, 2110);
	CHECK(evs[nev - 2].n < evs[7].n); /* the second response block is all indexed */
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_STR(got[0].path, "/tool/page");
	CHECK_EQ_STR(got[0].content_type, "text/x-pushed-type");
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_INT(got[0].end_ns, 2110);
	CHECK_EQ_INT(ap_h2_drops(h), 0);
	CHECK_EQ_INT(run(h, SIZE_MAX), 1);
	CHECK_EQ_STR(got[0].content_type, "text/x-pushed-type");
	free(h);
}

/* Many requests on one connection: the dynamic tables (both directions) stay in step. */
static void test_dynamic_table(void)
{
	struct ap_h2 *h = newh2();
	char path[64];
	int bad = 0;

	conv_reset();
	preface(1000);
	for (int i = 0; i < 200; i++) {
		nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "https"),
				   NV(":authority", "api.openai.com"), NV(":path", path),
				   NV("x-request", path)};
		uint8_t b[512];
		size_t n;
		uint32_t sid = 1 + 2 * (uint32_t)i;

		snprintf(path, sizeof(path), "/tool/item/%d", i % 7);
		nv[3].valuelen = nv[4].valuelen = strlen(path);
		n = hblock(0, nv, 5, b, sizeof(b));
		frame('o', 1, 5, sid, b, n, 2000 + i * 10);
		resp_headers(sid, i % 3 ? "200" : "404", "application/json", 2005 + i * 10);
		frame('i', 0, 1, sid, "{}", 2, 2006 + i * 10);
	}
	CHECK_EQ_INT(run(h, 0), 200);
	for (int i = 0; i < 200 && i < MAXX; i++) {
		snprintf(path, sizeof(path), "/tool/item/%d", i % 7);
		if (strcmp(got[i].path, path) || got[i].status != (i % 3 ? 200 : 404) ||
		    strcmp(got[i].method, "GET"))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(ap_h2_drops(h), 0);
	/* the second request's header block is much smaller: it was indexed */
	CHECK(evs[8].n < evs[5].n);
	free(h);
}

/* SETTINGS_HEADER_TABLE_SIZE: the server's encoder may grow its table once the client's value
 * is acknowledged. */
static void test_table_size(void)
{
	struct ap_h2 *h = newh2();
	uint8_t s[6] = {0, 1, 0, 1, 0, 0}; /* HEADER_TABLE_SIZE 65536 */
	char big[3000];

	conv_reset();
	put('o', AP_H2_PREFACE, AP_H2_PREFACE_LEN, 1000);
	frame('o', 4, 0, 0, s, 6, 1000);
	frame('i', 4, 0, 0, NULL, 0, 1001);
	frame('i', 4, 1, 0, NULL, 0, 1001);
	nghttp2_hd_deflate_change_table_size(def[1], 65536);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int i = 0; i < 30; i++) {
		nghttp2_nv nv[] = {NV(":status", "200"), NV("x-big", big)};
		uint8_t b[8192];
		size_t n;
		uint32_t sid = 1 + 2 * (uint32_t)i;

		big[0] = (char)('a' + i % 20);
		req_headers(sid, "GET", "/tool/x", 1, 2000 + i);
		n = hblock(1, nv, 2, b, sizeof(b));
		frame('i', 1, 5, sid, b, n, 2001 + i);
	}
	CHECK_EQ_INT(run(h, 0), 30);
	CHECK_EQ_INT(got[29].status, 200);
	CHECK_EQ_INT(ap_h2_drops(h), 0);
	free(h);
}

/* A response with content-length completes at its last byte, before a late empty END_STREAM. */
static void test_content_length(void)
{
	struct ap_h2 *h = newh2();
	nghttp2_nv nv[] = {NV(":status", "200"), NV("content-type", "application/json"),
			   NV("content-length", "2")};
	nghttp2_nv nv0[] = {NV(":status", "200"), NV("content-length", "0")};
	uint8_t b[256];
	size_t n;

	conv_reset();
	preface(1000);
	req_headers(1, "GET", "/tool/x", 1, 2000);
	n = hblock(1, nv, 3, b, sizeof(b));
	frame('i', 1, 4, 1, b, n, 2100);
	frame('i', 0, 0, 1, "{", 1, 2110);
	frame('i', 0, 0, 1, "}", 1, 2120);
	req_headers(3, "GET", "/tool/y", 1, 2200);
	frame('i', 0, 1, 1, NULL, 0, 2300); /* the late END_STREAM of stream 1 */
	n = hblock(1, nv0, 2, b, sizeof(b));
	frame('i', 1, 4, 3, b, n, 2400);
	CHECK_EQ_INT(run(h, 0), 2);
	CHECK_EQ_STR(got[0].path, "/tool/x");
	CHECK_EQ_INT(got[0].end_ns, 2120);
	CHECK_EQ_INT(got[0].error, 0);
	CHECK_EQ_STR(got[1].path, "/tool/y");
	CHECK_EQ_INT(got[1].end_ns, 2400);
	CHECK_EQ_INT(ap_h2_open_streams(h), 0);
	free(h);
}

/* gRPC: service/method path, application/grpc, protobuf model and usage, grpc-status trailer,
 * a trailers-only error, a server stream counted message by message. */
static size_t pb_varint(uint8_t *b, uint64_t v)
{
	size_t n = 0;

	do {
		b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static size_t pb_str(uint8_t *b, uint32_t field, const char *s)
{
	size_t n = pb_varint(b, field << 3 | 2);

	n += pb_varint(b + n, strlen(s));
	memcpy(b + n, s, strlen(s));
	return n + strlen(s);
}

static size_t pb_int(uint8_t *b, uint32_t field, uint64_t v)
{
	size_t n = pb_varint(b, field << 3);
	return n + pb_varint(b + n, v);
}

/* One gRPC message (5-byte prefix) holding a GenerateContentResponse-like body. */
static size_t grpc_resp(uint8_t *out, uint32_t usage_field, uint32_t model_field, int in, int outn)
{
	uint8_t u[64], body[256];
	size_t un = 0, bn = 0;

	un += pb_int(u + un, 1, (uint64_t)in);
	un += pb_int(u + un, 2, (uint64_t)outn);
	un += pb_int(u + un, 3, (uint64_t)(in + outn));
	un += pb_str(u + un, 5, "nested-len-field");
	bn += pb_str(body + bn, 1, "candidate text, skipped");
	bn += pb_varint(body + bn, 7 << 3 | 1); /* a fixed64 */
	memcpy(body + bn, "12345678", 8);
	bn += 8;
	bn += pb_varint(body + bn, usage_field << 3 | 2);
	bn += pb_varint(body + bn, un);
	memcpy(body + bn, u, un);
	bn += un;
	if (model_field)
		bn += pb_str(body + bn, model_field, "gemini-2.0-flash-001");
	out[0] = 0;
	out[1] = out[2] = 0;
	out[3] = (uint8_t)(bn >> 8);
	out[4] = (uint8_t)bn;
	memcpy(out + 5, body, bn);
	return 5 + bn;
}

static void grpc_req(uint32_t sid, const char *path, uint32_t model_field, const char *model,
		     int64_t t)
{
	nghttp2_nv nv[] = {NV(":method", "POST"),
			   NV(":scheme", "http"),
			   NV(":authority", "generativelanguage.googleapis.com"),
			   NV(":path", path),
			   NV("content-type", "application/grpc"),
			   NV("te", "trailers")};
	uint8_t b[512], m[256];
	size_t n = hblock(0, nv, 6, b, sizeof(b)), k;

	frame('o', 1, 4, sid, b, n, t);
	k = pb_str(m + 5, model_field, model);
	m[0] = m[1] = m[2] = m[3] = 0;
	m[4] = (uint8_t)k;
	frame('o', 0, 1, sid, m, 5 + k, t + 1);
}

static void test_grpc(void)
{
	struct ap_h2 *h = newh2();
	nghttp2_nv rh[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_nv ok[] = {NV("grpc-status", "0")};
	nghttp2_nv err[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
			    NV("grpc-status", "5"), NV("grpc-message", "model not found")};
	uint8_t b[512], msg[512];
	size_t n, mn;

	conv_reset();
	preface(1000);
	/* Gemini unary */
	grpc_req(1, "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent", 1,
		 "models/gemini-2.0-flash", 2000);
	n = hblock(1, rh, 2, b, sizeof(b));
	frame('i', 1, 4, 1, b, n, 2150);
	mn = grpc_resp(msg, 3, 4, 17, 9);
	frame('i', 0, 0, 1, msg, 7, 2160); /* the message split across DATA frames */
	frame('i', 0, 0, 1, msg + 7, mn - 7, 2170);
	n = hblock(1, ok, 1, b, sizeof(b));
	frame('i', 1, 5, 1, b, n, 2180);
	/* Vertex server stream: three messages, cumulative usage */
	grpc_req(3, "/google.cloud.aiplatform.v1.PredictionService/StreamGenerateContent", 5,
		 "projects/p/locations/us/publishers/google/models/gemini-1.5-pro", 3000);
	n = hblock(1, rh, 2, b, sizeof(b));
	frame('i', 1, 4, 3, b, n, 3100);
	for (int i = 0; i < 3; i++) {
		mn = grpc_resp(msg, 4, 0, 30, 2 + i * 2);
		frame('i', 0, 0, 3, msg, mn, 3200 + i * 10);
	}
	n = hblock(1, ok, 1, b, sizeof(b));
	frame('i', 1, 5, 3, b, n, 3300);
	/* trailers-only error */
	grpc_req(5, "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent", 1,
		 "models/nope", 4000);
	n = hblock(1, err, 4, b, sizeof(b));
	frame('i', 1, 5, 5, b, n, 4100);
	CHECK_EQ_INT(run(h, 0), 3);
	CHECK_EQ_STR(got[0].path,
		     "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent");
	CHECK_EQ_STR(got[0].content_type, "application/grpc");
	CHECK_EQ_INT(got[0].grpc_status, 0);
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_STR(got[0].request_model, "gemini-2.0-flash");
	CHECK_EQ_STR(got[0].response_model, "gemini-2.0-flash-001");
	CHECK_EQ_INT(got[0].usage.input, 17);
	CHECK_EQ_INT(got[0].usage.output, 9);
	CHECK_EQ_INT(got[0].stream, 0);
	CHECK_EQ_INT(got[0].first_byte_ns, 2150);
	CHECK_EQ_INT(got[0].end_ns, 2180);
	CHECK_EQ_STR(got[1].request_model, "gemini-1.5-pro");
	CHECK_EQ_STR(got[1].response_model, "");
	CHECK_EQ_INT(got[1].usage.input, 30);
	CHECK_EQ_INT(got[1].usage.output, 6);
	CHECK_EQ_INT(got[1].stream, 1);
	CHECK_EQ_INT(got[1].events, 3);
	CHECK_EQ_INT(got[1].first_event_ns, 3200);
	CHECK_EQ_INT(got[1].grpc_status, 0);
	CHECK_EQ_INT(got[2].grpc_status, 5);
	CHECK_EQ_INT(got[2].usage.input, AP_UNKNOWN);
	CHECK_EQ_INT(got[2].end_ns, 4100);
	CHECK_EQ_INT(run(h, SIZE_MAX), 3);
	CHECK_EQ_INT(got[1].usage.output, 6);
	CHECK_EQ_INT(got[0].usage.input, 17);
	CHECK_EQ_STR(got[0].request_model, "gemini-2.0-flash");
	/* a plain HTTP/2 exchange is not gRPC */
	conv_reset();
	preface(1000);
	chat_stream(1, 2000);
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_INT(got[0].grpc_status, AP_UNKNOWN);
	free(h);
}

/* At most AP_H2_STREAMS streams at once; the rest are counted as drops, not recorded. */
static void test_stream_cap(void)
{
	struct ap_h2 *h = newh2();

	conv_reset();
	preface(1000);
	for (int i = 0; i < AP_H2_STREAMS + 4; i++)
		req_headers(1 + 2 * (uint32_t)i, "GET", "/tool/x", 1, 2000 + i);
	for (int i = 0; i < AP_H2_STREAMS + 4; i++) {
		resp_headers(1 + 2 * (uint32_t)i, "200", "application/json", 3000 + i);
		frame('i', 0, 1, 1 + 2 * (uint32_t)i, "{}", 2, 3000 + i);
	}
	CHECK_EQ_INT(run(h, 0), AP_H2_STREAMS);
	CHECK_EQ_INT(ap_h2_drops(h), 4);
	CHECK_EQ_INT(ap_h2_open_streams(h), 0);
	free(h);
}

/* RST_STREAM, GOAWAY, stream-id reuse, close with streams open. */
static void test_resets(void)
{
	struct ap_h2 *h = newh2();

	conv_reset();
	preface(1000);
	chat_stream(1, 2000);
	req_headers(3, "POST", "/v1/chat/completions", 1, 3000);
	resp_headers(3, "200", "text/event-stream", 3100);
	frame('i', 3, 0, 3, "\0\0\0\2", 4, 3200);  /* RST_STREAM INTERNAL_ERROR */
	req_headers(1, "GET", "/reused", 1, 3300); /* stream 1 again: ignored */
	resp_headers(1, "200", "application/json", 3301);
	frame('i', 0, 1, 1, "{}", 2, 3302);
	req_headers(5, "GET", "/tool/a", 1, 3400);
	req_headers(7, "GET", "/tool/b", 1, 3401);
	req_headers(9, "GET", "/tool/c", 1, 3402);
	frame('i', 7, 0, 0, "\0\0\0\7\0\0\0\0", 8, 3500); /* GOAWAY last stream 7 */
	frame('o', 3, 0, 5, "\0\0\0\x8", 4, 3600);	  /* client cancels 5 */
	CHECK_EQ_INT(run(h, 0), 4);
	CHECK_EQ_INT(got[0].error, 0);
	CHECK_EQ_STR(got[1].path, "/v1/chat/completions");
	CHECK_EQ_INT(got[1].error, AP_XERR_RESET);
	CHECK_EQ_INT(got[1].first_byte_ns, 3100);
	CHECK_EQ_INT(got[1].end_ns, 3200);
	CHECK_EQ_STR(got[2].path, "/tool/c");
	CHECK_EQ_INT(got[2].error, AP_XERR_RESET);
	CHECK_EQ_STR(got[3].path, "/tool/a");
	CHECK_EQ_INT(got[3].error, AP_XERR_CLOSED);
	ap_h2_close(h, 4000, 0);
	CHECK_EQ_INT(ngot, 5);
	CHECK_EQ_STR(got[4].path, "/tool/b");
	CHECK_EQ_INT(got[4].error, AP_XERR_EOF);
	CHECK_EQ_INT(got[4].status, AP_UNKNOWN);
	free(h);
}

/* Framing errors end parsing: pending streams are emitted with a protocol error, and nothing
 * after is read. */
static void hostile_case(int kind)
{
	struct ap_h2 *h = newh2();

	conv_reset();
	preface(1000);
	req_headers(1, "GET", "/tool/x", 1, 2000);
	switch (kind) {
	case 0:
		frame('i', 6, 0, 0, "123", 3, 2100); /* PING of 3 bytes */
		break;
	case 1: {
		uint8_t b[10] = {200}; /* pad length beyond the frame */
		frame('i', 0, 0x08, 1, b, 10, 2100);
		break;
	}
	case 2:
		frame('i', 9, 4, 1, "\x88", 1, 2100); /* CONTINUATION without HEADERS */
		break;
	case 3:
		frame('i', 4, 0, 0, "\0\1\0\0\0", 5, 2100); /* SETTINGS of 5 bytes */
		break;
	case 4:
		frame('i', 1, 0, 1, "\x88", 1, 2100); /* HEADERS without END_HEADERS, then DATA */
		frame('i', 0, 1, 1, "{}", 2, 2101);
		break;
	case 5:
		frame('i', 0, 1, 0, "{}", 2, 2100); /* DATA on stream 0 */
		break;
	case 6:
		frame('i', 3, 0, 1, "\0\0\0", 3, 2100); /* RST_STREAM of 3 bytes */
		break;
	case 7:
		frame('i', 8, 0, 0, "\0\0\0", 3, 2100); /* WINDOW_UPDATE of 3 bytes */
		break;
	}
	resp_headers(1, "200", "application/json", 2200);
	frame('i', 0, 1, 1, "{}", 2, 2201);
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_PROTOCOL);
	CHECK_EQ_INT(ap_h2_mode(h), AP_H2_GAVE_UP);
	CHECK_EQ_INT(run(h, SIZE_MAX), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_PROTOCOL);
	free(h);
}

static void test_hostile(void)
{
	struct ap_h2 *h = newh2();
	static uint8_t big[70000];

	for (int k = 0; k < 8; k++)
		hostile_case(k);

	/* a wrong preface: not HTTP/2, nothing recorded */
	conv_reset();
	put('o', "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 24, 1000);
	req_headers(1, "GET", "/x", 1, 2000);
	CHECK_EQ_INT(run(h, 0), 0);
	CHECK_EQ_INT(ap_h2_mode(h), AP_H2_GAVE_UP);

	/* an oversized header block (one frame of 66 KiB garbage): decoding stops in that
	 * direction, the stream is still timed, the other direction still decodes */
	conv_reset();
	preface(1000);
	req_headers(1, "GET", "/tool/x", 1, 2000);
	memset(big, 0x7f, sizeof(big));
	frame('i', 1, 4, 1, big, 66000, 2100);
	frame('i', 0, 1, 1, "{}", 2, 2200);
	req_headers(3, "GET", "/tool/y", 1, 2300);
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_STR(got[0].path, "/tool/x");
	CHECK_EQ_INT(got[0].status, AP_UNKNOWN);
	CHECK_EQ_INT(got[0].first_byte_ns, 2100);
	CHECK_EQ_INT(got[0].end_ns, 2200);
	CHECK_EQ_INT(ap_h2_drops(h), 1);
	CHECK_EQ_INT(ap_h2_open_streams(h), 1);
	CHECK_EQ_INT(ap_h2_mode(h), AP_H2_ACTIVE);
	ap_h2_close(h, 3000, 0);
	CHECK_EQ_STR(got[1].path, "/tool/y");

	/* garbage HPACK (an index beyond both tables): decoding stops, framing goes on */
	conv_reset();
	preface(1000);
	frame('o', 1, 5, 1, "\xff\xff\xff\x0f", 4, 2000);
	req_headers(3, "GET", "/tool/z", 1, 2100);
	resp_headers(1, "200", "application/json", 2200);
	frame('i', 0, 1, 1, "{}", 2, 2201);
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_STR(got[0].path, "");
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_INT(ap_h2_drops(h), 1);
	ap_h2_close(h, 3000, 0);
	CHECK_EQ_INT(ngot, 2);

	/* a huge header value in CONTINUATIONs beyond the block cap */
	conv_reset();
	preface(1000);
	{
		static char v[80000];
		nghttp2_nv nv[] = {NV(":method", "GET"), NV(":path", "/big"), NV("x", "")};
		static uint8_t b[90000];
		size_t n;

		memset(v, 'q', sizeof(v) - 1);
		nv[2].value = (uint8_t *)v;
		nv[2].valuelen = sizeof(v) - 1;
		n = hblock(0, nv, 3, b, sizeof(b));
		frame('o', 1, 0, 1, b, 16384, 2000);
		for (size_t off = 16384; off < n; off += 16384)
			frame('o', 9, off + 16384 >= n ? 5 : 0, 1, b + off,
			      n - off < 16384 ? n - off : 16384, 2001);
	}
	resp_headers(1, "200", "application/json", 2200);
	frame('i', 0, 1, 1, "{}", 2, 2201);
	CHECK_EQ_INT(run(h, 0), 1);
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_INT(ap_h2_drops(h), 1);
	free(h);
}

/* Random bytes after a valid preface never crash and never emit more than was opened. */
static void test_fuzz(void)
{
	struct ap_h2 *h = newh2();
	uint32_t x = 12345;
	static uint8_t buf[4096];

	for (int round = 0; round < 300; round++) {
		ngot = 0;
		ap_h2_init(h, &env);
		ap_h2_out(h, AP_H2_PREFACE, AP_H2_PREFACE_LEN, 1);
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
			if (round % 3 == 0 && i % 9 == 3)
				buf[i] = (uint8_t)(x >> 24) % 10; /* plausible frame types */
		}
		ap_h2_out(h, buf, sizeof(buf) / 2, 2);
		ap_h2_in(h, buf + sizeof(buf) / 2, sizeof(buf) / 2, 3);
		ap_h2_close(h, 4, 0);
	}
	CHECK(ngot <= AP_H2_STREAMS);
	free(h);
}

int main(void)
{
	test_one_stream();
	test_interleaved();
	test_padding_continuation();
	test_dynamic_table();
	test_push();
	test_table_size();
	test_stream_cap();
	test_content_length();
	test_grpc();
	test_resets();
	test_hostile();
	test_fuzz();
	CHECK(ap_h2_preface_start("PRI * HTTP/2.0", 14));
	CHECK(!ap_h2_preface_start("POST /", 6));
	CHECK(!ap_h2_preface_start("PRI", 3));
	conv_reset();
	nghttp2_hd_deflate_del(def[0]);
	nghttp2_hd_deflate_del(def[1]);
	UNIT_DONE();
}
