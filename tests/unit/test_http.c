/* test_http.c: the HTTP/1.1 exchange parser, fed whole, split at every byte and byte by byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

#define U    AP_UNKNOWN
#define MAXX 16

/* --- harness -------------------------------------------------------------------------------- */

struct ev {
	char dir; /* 'o' client wrote, 'i' client read, 'c' close */
	const char *p;
	size_t n;
	int64_t t;
	unsigned err; /* for 'c' */
};

static struct ap_exchange got[MAXX];
static int ngot;

static int drops;
static void on_drop(void *ctx)
{
	(void)ctx;
	drops++;
}

static void on_emit(void *ctx, struct ap_exchange *ex)
{
	if (ngot < MAXX)
		got[ngot] = *ex;
	ngot++;
}

static int zallocs;
static void *my_zalloc(void *opaque, unsigned items, unsigned size)
{
	zallocs++;
	return calloc(items, size);
}

static void my_zfree(void *opaque, void *ptr)
{
	zallocs--;
	free(ptr);
}

static const struct ap_zlib_api zapi = {inflateInit2_, inflate, inflateEnd};
static struct ap_http_env env = {
	.emit = on_emit, .zlib = &zapi, .zalloc = my_zalloc, .zfree = my_zfree, .dropped = on_drop};
static struct ap_http h;

/* Each read is handed over in a heap block of exactly its size, so that the sanitizer stops
 * any parser (the AVX2 counters' 32-byte loads included) that reads a byte past what it was
 * given, as a host's buffer at the end of a page would. */
static void feed(char dir, const char *p, size_t n, int64_t t)
{
	char *exact = malloc(n ? n : 1);

	if (!exact)
		abort();
	memcpy(exact, p, n);
	if (dir == 'o')
		ap_http_out(&h, exact, n, t);
	else
		ap_http_in(&h, exact, n, t);
	free(exact);
}

/* split: 0 = whole, SIZE_MAX = byte by byte, else every event cut once at byte split. */
static int run(const struct ev *ev, int nev, size_t split)
{
	ngot = 0;
	ap_http_init(&h, &env);
	for (int i = 0; i < nev; i++) {
		const struct ev *e = &ev[i];
		if (e->dir == 'c') {
			ap_http_close(&h, e->t, e->err);
			continue;
		}
		if (split == SIZE_MAX) {
			for (size_t k = 0; k < e->n; k++)
				feed(e->dir, e->p + k, 1, e->t);
		} else if (split && split < e->n) {
			feed(e->dir, e->p, split, e->t);
			feed(e->dir, e->p + split, e->n - split, e->t);
		} else {
			feed(e->dir, e->p, e->n, e->t);
		}
	}
	return ngot;
}

/* Compressed streams recorded at their terminal event count the raw bytes read by then. */
static int ignore_received;

static int same_ex(const struct ap_exchange *a, const struct ap_exchange *b)
{
	return strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->host, b->host) == 0 && a->status == b->status &&
	       strcmp(a->content_type, b->content_type) == 0 && a->stream == b->stream &&
	       a->error == b->error && a->start_ns == b->start_ns &&
	       a->req_sent_ns == b->req_sent_ns && a->first_byte_ns == b->first_byte_ns &&
	       a->end_ns == b->end_ns && a->bytes_sent == b->bytes_sent &&
	       (ignore_received || a->bytes_received == b->bytes_received) &&
	       a->events == b->events && a->unscanned_bytes == b->unscanned_bytes &&
	       a->first_event_ns == b->first_event_ns &&
	       strcmp(a->request_model, b->request_model) == 0 &&
	       strcmp(a->response_model, b->response_model) == 0 &&
	       memcmp(&a->usage, &b->usage, sizeof(a->usage)) == 0 &&
	       a->request_hash == b->request_hash;
}

/* Run whole (result left in got[]), then at every split point and byte by byte: same result. */
static int run_all(const struct ev *ev, int nev)
{
	struct ap_exchange ref[MAXX];
	int nref = run(ev, nev, 0), ok = 1;
	size_t maxn = 0;

	memcpy(ref, got, sizeof(ref));
	for (int i = 0; i < nev; i++)
		if (ev[i].n > maxn)
			maxn = ev[i].n;
	for (size_t split = 1; split <= maxn + 1; split++) {
		size_t s = split > maxn ? SIZE_MAX : split;
		int n = run(ev, nev, s);
		int same = n == nref;
		for (int i = 0; same && i < n && i < MAXX; i++)
			same = same_ex(&ref[i], &got[i]);
		if (!same) {
			fprintf(stderr, "split %zu differs (%d vs %d exchanges)\n", split, n, nref);
			if (getenv("UNIT_VERBOSE") && n && nref)
				fprintf(stderr,
					"  events %llu/%llu recv %llu/%llu end %lld/%lld out "
					"%lld/%lld\n",
					(unsigned long long)got[0].events,
					(unsigned long long)ref[0].events,
					(unsigned long long)got[0].bytes_received,
					(unsigned long long)ref[0].bytes_received,
					(long long)got[0].end_ns, (long long)ref[0].end_ns,
					(long long)got[0].usage.output,
					(long long)ref[0].usage.output);
			ok = 0;
			break;
		}
	}
	CHECK(ok);
	CHECK_EQ_INT(zallocs, 0); /* inflate state released */
	/* leave the whole-run result in got[] */
	memcpy(got, ref, sizeof(ref));
	ngot = nref;
	return nref;
}

#define EV(d, s, t)                       \
	{                                 \
		d, s, sizeof(s) - 1, t, 0 \
	}
#define EVB(d, b, n, t)       \
	{                     \
		d, b, n, t, 0 \
	}
#define CLOSE(t, e)                \
	{                          \
		'c', NULL, 0, t, e \
	}

static void check_usage(const struct ap_usage *u, int64_t in, int64_t out, int64_t cr, int64_t cw,
			int64_t rs, int line)
{
	if (u->input != in || u->output != out || u->cache_read != cr || u->cache_write != cw ||
	    u->reasoning != rs) {
		unit_failed++;
		fprintf(stderr, "line %d: usage %lld/%lld/%lld/%lld/%lld\n", line,
			(long long)u->input, (long long)u->output, (long long)u->cache_read,
			(long long)u->cache_write, (long long)u->reasoning);
	} else {
		unit_passed++;
	}
}
#define USAGE(u, a, b, c, d, e) check_usage(u, a, b, c, d, e, __LINE__)

/* Body as chunked transfer coding, chunks of size cs, with extensions and a trailer. */
static size_t chunkify(const char *body, size_t n, size_t cs, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += cs) {
		size_t k = n - i < cs ? n - i : cs;
		o += (size_t)sprintf(out + o, i == 0 ? "%zX;name=\"v\"\r\n" : "%zx\r\n", k);
		memcpy(out + o, body + i, k);
		o += k;
		o += (size_t)sprintf(out + o, "\r\n");
	}
	o += (size_t)sprintf(out + o, "0;final\r\nX-Trailer: yes\r\n\r\n");
	return o;
}

/* zlib compression made here: gzip (wbits 31), zlib (15) or raw deflate (-15). */
static size_t compress_body(const char *in, size_t n, char *out, size_t cap, int wbits)
{
	z_stream z;
	size_t got_n;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	got_n = cap - z.avail_out;
	deflateEnd(&z);
	return got_n;
}

/* Offset in a chunked response (headers included) just past body byte body_off. */
static uint64_t raw_offset(const char *resp, size_t n, size_t body_off)
{
	const char *e = strstr(resp, "\r\n\r\n");
	size_t i = (size_t)(e + 4 - resp), body = 0;

	while (i < n) {
		size_t size = strtoul(resp + i, NULL, 16);
		i = (size_t)(strchr(resp + i, '\n') + 1 - resp);
		if (body_off <= body + size)
			return i + (body_off - body);
		body += size;
		i += size + 2;
	}
	return 0;
}

static int contains(const void *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* --- tests ---------------------------------------------------------------------------------- */

static const char chat_req[] = "POST /v1/chat/completions HTTP/1.1\r\n"
			       "Host: api.openai.com\r\n"
			       "Authorization: Bearer sk-SECRET123\r\n"
			       "Content-Type: application/json\r\n"
			       "Content-Length: 44\r\n"
			       "\r\n"
			       "{\"model\":\"gpt-4o\",\"messages\":[],\"n\":{\"x\":1}}";
static const char chat_body[] = "{\"id\":\"x\",\"model\":\"gpt-4o-2024-08-06\",\"usage\":"
				"{\"prompt_tokens\":1200,\"completion_tokens\":80,"
				"\"prompt_tokens_details\":{\"cached_tokens\":0}}}";

static void test_simple(void)
{
	char resp[512];
	int rn = sprintf(resp,
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
			 "Set-Cookie: session=SECRETCOOKIE\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(chat_body), chat_body);
	struct ev ev[] = {EV('o', chat_req, 1000), EVB('i', resp, (size_t)rn, 2000)};
	struct ap_exchange *x = &got[0];

	CHECK_EQ_INT(run_all(ev, 2), 1);
	CHECK_EQ_STR(x->method, "POST");
	CHECK_EQ_STR(x->path, "/v1/chat/completions");
	CHECK_EQ_STR(x->host, "api.openai.com");
	CHECK_EQ_INT(x->status, 200);
	CHECK_EQ_STR(x->content_type, "application/json");
	CHECK_EQ_STR(x->request_model, "gpt-4o");
	CHECK_EQ_STR(x->response_model, "gpt-4o-2024-08-06");
	USAGE(&x->usage, 1200, 80, 0, U, U);
	CHECK_EQ_INT(x->start_ns, 1000);
	CHECK_EQ_INT(x->req_sent_ns, 1000);
	CHECK_EQ_INT(x->first_byte_ns, 2000);
	CHECK_EQ_INT(x->end_ns, 2000);
	CHECK_EQ_INT(x->bytes_sent, sizeof(chat_req) - 1);
	CHECK_EQ_INT(x->bytes_received, rn);
	CHECK_EQ_INT(x->stream, 0);
	CHECK_EQ_INT(x->events, 0);
	CHECK_EQ_INT(x->first_event_ns, U);
	CHECK_EQ_INT(x->error, 0);
	CHECK(x->request_hash != 0);
	/* unset fields stay as ap_record_init left them */
	CHECK_EQ_INT(x->port, U);
	CHECK_EQ_INT(x->dns_ns, U);
	CHECK_EQ_INT(x->conn_id, 0);
	/* no secret reached the record */
	CHECK(!contains(x, sizeof(*x), "SECRET"));
	CHECK_EQ_INT(h.mode, AP_HTTP_IDLE);
	CHECK(!ap_http_pending(&h));
}

/* Header lines read in place or gathered across reads give the same fields: name spellings, an
 * over-long line (cut at AP_HTTP_LINE_MAX), names that share a first letter with the read ones,
 * a value without a space, every split. */
static void test_header_lines(void)
{
	static char req[2600], resp[2600];
	char pad[1200];
	int qn, rn;

	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	qn = sprintf(req,
		     "POST /v1/chat/completions HTTP/1.1\r\nhOST: Api.Example.com:8443\r\n"
		     "X-Long: %s\r\nCONTENT-TYPE:application/json\r\nConnection: keep-alive\r\n"
		     "content-length: 2\r\n\r\n{}",
		     pad);
	rn = sprintf(resp,
		     "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nContent-encoding: identity\r\n"
		     "Content-type: Application/JSON; x=%s\r\ncontent-LENGTH:%zu\r\nHostile: x\r\n"
		     "\r\n%s",
		     pad, strlen(chat_body), chat_body);
	{
		struct ev ev[] = {EVB('o', req, (size_t)qn, 1000),
				  EVB('i', resp, (size_t)rn, 2000)};
		struct ap_exchange *x = &got[0];

		CHECK_EQ_INT(run_all(ev, 2), 1);
		CHECK_EQ_STR(x->host, "Api.Example.com");
		CHECK_EQ_STR(x->content_type, "application/json");
		CHECK_EQ_INT(x->bytes_received, rn);
		CHECK_EQ_INT(x->end_ns, 2000); /* Content-Length, not the close */
		USAGE(&x->usage, 1200, 80, 0, U, U);
		CHECK_EQ_INT(x->error, 0);
	}
	/* a Content-Length line longer than the line buffer: cut, so its value is bad */
	rn = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Length: %zu%s\r\n\r\n%s", strlen(chat_body),
		     pad, chat_body);
	{
		struct ev ev[] = {EV('o', chat_req, 1000), EVB('i', resp, (size_t)rn, 2000),
				  CLOSE(3000, 0)};

		CHECK_EQ_INT(run_all(ev, 3), 1);
		CHECK_EQ_INT(got[0].error, AP_XERR_PROTOCOL);
		CHECK_EQ_INT(got[0].end_ns, 3000); /* read to the close */
	}
}

static void test_hash(void)
{
	static const char a[] = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	static const char b[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				"1\r\na\r\n2\r\nbc\r\n0\r\n\r\n";
	static const char c[] = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabd";
	static const char r[] = "HTTP/1.1 204 No Content\r\n\r\n";
	struct ev ea[] = {EV('o', a, 1), EV('i', r, 2)}, eb[] = {EV('o', b, 1), EV('i', r, 2)},
		  ec[] = {EV('o', c, 1), EV('i', r, 2)};
	uint64_t ha, hb, hc;

	run(ea, 2, 0);
	ha = got[0].request_hash;
	run(eb, 2, 0);
	hb = got[0].request_hash;
	run(ec, 2, 0);
	hc = got[0].request_hash;
	CHECK(ha == hb); /* de-chunked body bytes are hashed */
	CHECK(ha != hc);
	CHECK(ha != 0);
}

static void test_chunked_sse(void)
{
	static const char sse[] =
		": ping\r\n\r\n"
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
		"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n"
		"event: message\ndata: {\"model\":\"gpt-4o\",\ndata: \"choices\":[]}\n\n"
		"data: "
		"{\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":79,"
		"\"completion_tokens\":1,\"completion_tokens_details\":{\"reasoning_tokens\":0}}}"
		"\r\r"
		"retry: 100\nid: 7\ndata\n\n"
		"data: [DONE]\n\n"
		"event: ignored-without-data\n\n"
		"data: {\"incomplete\":";
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:8000\r\n"
				  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
				  "\r\n"
				  "10\r\n{\"stream\": true,\r\n"
				  "11\r\n \"model\": \"qwen\"}\r\n0\r\n\r\n";
	static char resp[4096];
	int n = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n");
	struct ev ev[3];
	struct ap_exchange *x = &got[0];

	n += (int)chunkify(sse, sizeof(sse) - 1, 37, resp + n);
	ev[0] = (struct ev)EV('o', req, 10);
	ev[1] = (struct ev)EVB('i', resp, 60, 20);
	ev[2] = (struct ev)EVB('i', resp + 60, (size_t)n - 60, 30);
	CHECK_EQ_INT(run_all(ev, 3), 1);
	CHECK_EQ_STR(x->host, "localhost");
	CHECK_EQ_STR(x->request_model, "qwen");
	CHECK_EQ_STR(x->response_model, "gpt-4o-2024-08-06");
	CHECK_EQ_INT(x->stream, 1);
	CHECK_EQ_INT(x->events, 4); /* 3 JSON events + the empty "data" event; not [DONE] */
	CHECK_EQ_INT(x->first_event_ns, 30);
	CHECK_EQ_INT(x->first_byte_ns, 20);
	CHECK_EQ_INT(x->end_ns, 30);
	/* recorded at "data: [DONE]": the bytes up to its blank line, not the rest */
	CHECK_EQ_INT(x->bytes_received,
		     raw_offset(resp, (size_t)n, strstr(sse, "[DONE]\n\n") + 8 - sse));
	USAGE(&x->usage, 79, 1, U, U, 0);
}

static void test_gzip(int wbits, const char *enc)
{
	static char resp[8192], zbody[4096], body[4096];
	size_t bn, zn;
	int n;
	struct ev ev[2];
	struct ap_exchange *x = &got[0];

	/* a body larger than the inflate window, usage at the end (Anthropic non-stream) */
	bn = (size_t)sprintf(body, "{\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[");
	for (int i = 0; i < 60; i++)
		bn += (size_t)sprintf(body + bn,
				      "%s{\"type\":\"text\",\"text\":\"chunk %d of text\"}",
				      i ? "," : "", i);
	bn += (size_t)sprintf(body + bn, "],\"usage\":{\"input_tokens\":406,"
					 "\"cache_creation_input_tokens\":5,"
					 "\"cache_read_input_tokens\":7,\"output_tokens\":50}}");
	zn = compress_body(body, bn, zbody, sizeof(zbody), wbits);
	n = sprintf(resp,
		    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
		    enc, zn);
	memcpy(resp + n, zbody, zn);
	n += (int)zn;
	ev[0] = (struct ev)EV('o',
			      "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
			      "x-api-key: sk-ant-SECRET\r\nContent-Length: 2\r\n\r\n{}",
			      5);
	ev[1] = (struct ev)EVB('i', resp, (size_t)n, 6);
	CHECK_EQ_INT(run_all(ev, 2), 1);
	USAGE(&x->usage, 406, 50, 7, 5, U);
	CHECK_EQ_STR(x->response_model, "claude-sonnet-4-5-20250929");
	CHECK_EQ_INT(x->bytes_received, n);

	/* without zlib: timed and counted, usage unknown */
	env.zlib = NULL;
	CHECK_EQ_INT(run(ev, 2, 0), 1);
	USAGE(&got[0].usage, U, U, U, U, U);
	CHECK_EQ_INT(got[0].status, 200);
	env.zlib = &zapi;
}

/* gzip inside chunked, SSE: the Anthropic SDK's "accept-encoding: gzip, deflate" case */
static void test_gzip_chunked_sse(void)
{
	static const char sse[] =
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":"
		"\"claude-3-opus-latest\",\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n"
		"event: message_delta\ndata: "
		"{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":"
		"6}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	static char resp[4096], z[2048];
	size_t zn = compress_body(sse, sizeof(sse) - 1, z, sizeof(z), 31);
	int n = sprintf(resp,
			"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
			"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
	struct ev ev[2];

	n += (int)chunkify(z, zn, 50, resp + n);
	ev[0] = (struct ev)EV('o', "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n",
			      1);
	ev[1] = (struct ev)EVB('i', resp, (size_t)n, 2);
	ignore_received =
		1; /* message_stop ends it: the raw bytes read by then depend on the cut */
	CHECK_EQ_INT(run_all(ev, 2), 1);
	ignore_received = 0;
	USAGE(&got[0].usage, 11, 6, U, U, U);
	CHECK_EQ_INT(got[0].events, 3);
	CHECK_EQ_INT(got[0].stream, 1);
	CHECK(got[0].bytes_received <= (uint64_t)n && got[0].bytes_received > (uint64_t)n - 80);
	CHECK_EQ_INT(got[0].unscanned_bytes, 0);
}

static void test_keepalive(void)
{
	static const char r1[] = "GET /tools/search?q=cats&api_key=SECRETKEY HTTP/1.1\r\n"
				 "Host: tools.example.com\r\n\r\n";
	static const char a1[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
				 "Content-Type: text/plain\r\n\r\nhello";
	static const char r2[] = "POST /v1/embeddings HTTP/1.1\r\nHost: api.openai.com\r\n"
				 "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n";
	static const char r2b[] = "10\r\n{\"model\":\"te-3\"}\r\n0\r\n\r\n";
	static const char a2a[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char a2[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n"
				 "4\r\n{\"us\r\n19\r\nage\":{\"prompt_tokens\":8}}\r\n0\r\n\r\n";
	static const char r3[] = "HEAD /health HTTP/1.1\r\nHost: tools.example.com\r\n\r\n";
	static const char a3[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
	static const char r4[] = "DELETE /item/1 HTTP/1.1\r\nHost: tools.example.com\r\n\r\n";
	static const char a4[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
	struct ev ev[] = {EV('o', r1, 1),  EV('i', a1, 2),  EV('o', r2, 3), EV('i', a2a, 4),
			  EV('o', r2b, 5), EV('i', a2, 6),  EV('o', r3, 7), EV('i', a3, 8),
			  EV('o', r4, 9),  EV('i', a4, 10), CLOSE(11, 0)};

	CHECK_EQ_INT(run_all(ev, 11), 4);
	CHECK_EQ_STR(got[0].path, "/tools/search?q=cats&api_key=REDACTED");
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_INT(got[0].end_ns, 2);
	CHECK_EQ_INT(got[0].bytes_received, sizeof(a1) - 1);
	USAGE(&got[0].usage, U, U, U, U, U);
	CHECK_EQ_STR(got[1].path, "/v1/embeddings");
	CHECK_EQ_STR(got[1].request_model, "te-3");
	CHECK_EQ_INT(got[1].status, 200);
	CHECK_EQ_INT(got[1].start_ns, 3);
	CHECK_EQ_INT(got[1].req_sent_ns, 5);
	CHECK_EQ_INT(got[1].first_byte_ns, 6); /* the final response, not 100 Continue */
	CHECK_EQ_INT(got[1].bytes_sent, sizeof(r2) + sizeof(r2b) - 2);
	CHECK_EQ_INT(got[1].bytes_received, sizeof(a2a) + sizeof(a2) - 2);
	USAGE(&got[1].usage, 8, U, U, U, U);
	CHECK_EQ_STR(got[2].method, "HEAD");
	CHECK_EQ_INT(got[2].end_ns, 8);
	CHECK_EQ_INT(got[3].status, 204);
	CHECK_EQ_INT(got[3].error, 0);
}

static void test_ndjson(void)
{
	static const char body[] =
		"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"The\"},"
		"\"done\":false}\n"
		"\n"
		"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"done\":true,\"total_duration\":4883583458,\"prompt_eval_count\":26,"
		"\"eval_count\":282}";
	static char resp[1024];
	int n = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			      "Date: now\r\nTransfer-Encoding: chunked\r\n\r\n");
	struct ev ev[3];

	n += (int)chunkify(body, sizeof(body) - 1, 64, resp + n);
	ev[0] = (struct ev)EV('o',
			      "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n"
			      "Content-Length: 22\r\n\r\n{\"model\":\"llama3.2\"}\r\n",
			      1);
	ev[1] = (struct ev)EVB('i', resp, (size_t)n, 2);
	CHECK_EQ_INT(run_all(ev, 2), 1);
	CHECK_EQ_INT(got[0].stream, 1);
	CHECK_EQ_INT(got[0].events,
		     2); /* the last line has no newline; the blank one is no event */
	USAGE(&got[0].usage, 26, 282, U, U, U);
	CHECK_EQ_STR(got[0].request_model, "llama3.2");
	CHECK_EQ_STR(got[0].response_model, "llama3.2");
	CHECK_EQ_STR(got[0].host, "127.0.0.1");
}

static void test_close_delimited(void)
{
	static const char req[] = "GET /v1/chat/completions HTTP/1.0\r\n\r\n";
	static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
				   "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
	struct ev ev[] = {EV('o', req, 1), EV('i', resp, 2), CLOSE(3, AP_XERR_NONE)};
	struct ev bad_cl[] = {EV('o', req, 1),
			      EV('i', "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabc", 2),
			      CLOSE(3, AP_XERR_NONE)};

	CHECK_EQ_INT(run_all(ev, 3), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_NONE);
	CHECK_EQ_INT(got[0].end_ns, 3);
	USAGE(&got[0].usage, 3, 4, U, U, U);
	CHECK_EQ_INT(got[0].bytes_received, sizeof(resp) - 1);

	/* a negative Content-Length: read until close, flagged as a protocol error */
	CHECK_EQ_INT(run_all(bad_cl, 3), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_PROTOCOL);
	CHECK_EQ_INT(got[0].status, 200);
}

static void test_errors(void)
{
	static const char req[] = "POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
	struct ev no_resp[] = {EV('o', req, 1), CLOSE(9, AP_XERR_NONE)};
	struct ev reset[] = {EV('o', req, 1), CLOSE(9, AP_XERR_RESET)};
	struct ev cut[] = {
		EV('o', req, 1),
		EV('i',
		   "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "
		   "900\r\n\r\n"
		   "event: message_start\ndata: {\"message\":{\"usage\":{\"input_tokens\":11}}}\n\n"
		   "data: {\"partial",
		   2),
		CLOSE(3, AP_XERR_NONE)};
	struct ev idle[] = {EV('o', req, 1), EV('i', "HTTP/1.1 204 OK\r\n\r\n", 2), CLOSE(3, 0)};
	struct ev partial_req[] = {EV('o', "POS", 1), CLOSE(3, 0)};

	CHECK_EQ_INT(run_all(no_resp, 2), 1);
	CHECK_EQ_INT(got[0].status, U);
	CHECK_EQ_INT(got[0].error, AP_XERR_EOF);
	CHECK_EQ_INT(got[0].first_byte_ns, U);
	CHECK_EQ_INT(got[0].end_ns, 9);
	CHECK_EQ_INT(got[0].req_sent_ns, 1);
	CHECK_EQ_INT(run_all(reset, 2), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_RESET);
	CHECK_EQ_INT(run_all(cut, 3), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_EOF);
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_INT(got[0].events, 1);
	USAGE(&got[0].usage, 11, U, U, U, U); /* what the cut stream did say */
	CHECK_EQ_INT(run_all(idle, 3), 1);    /* an idle keep-alive close adds nothing */
	CHECK_EQ_INT(run_all(partial_req, 2), 0);
}

/* The server answers (413) while the request body is still being written. */
static void test_early_response(void)
{
	static const char r1[] = "POST /upload HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789";
	static const char a1[] = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\nno";
	static const char r1b[] = "0123456789";
	static const char r2[] = "GET /next HTTP/1.1\r\n\r\n";
	static const char a2[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct ev ev[] = {EV('o', r1, 1), EV('i', a1, 2), EV('o', r1b, 3), EV('o', r2, 4),
			  EV('i', a2, 5)};

	CHECK_EQ_INT(run_all(ev, 5), 2);
	CHECK_EQ_INT(got[0].status, 413);
	CHECK_EQ_INT(got[0].req_sent_ns, U); /* not all of it was written yet */
	CHECK_EQ_INT(got[0].end_ns, 2);
	CHECK_EQ_STR(got[1].path, "/next");
	CHECK_EQ_INT(got[1].status, 200);
	CHECK_EQ_INT(got[1].start_ns, 4);
}

static void test_pipelining(void)
{
	static const char reqs[] =
		"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
	static const char resps[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
				    "HTTP/1.1 201 OK\r\nContent-Length: 1\r\n\r\nB"
				    "HTTP/1.1 202 OK\r\nContent-Length: 1\r\n\r\nC"
				    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nD";
	struct ev ev[] = {EV('o', reqs, 1), EV('i', resps, 2),
			  EV('o', "GET /d HTTP/1.1\r\n\r\n", 3), CLOSE(4, 0)};

	CHECK_EQ_INT(run(ev, 4, 0), 4);
	CHECK_EQ_STR(got[0].path, "/a");
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_STR(got[1].path, "/b");
	CHECK_EQ_INT(got[1].status, 201);
	CHECK_EQ_STR(got[2].path, "/c");
	CHECK_EQ_INT(got[2].status, 202);
	CHECK_EQ_STR(got[3].path, "/d"); /* D came before /d was written: not its answer */
	CHECK_EQ_INT(got[3].status, U);
	CHECK_EQ_INT(got[3].error, AP_XERR_EOF);
	CHECK_EQ_INT(drops, 0);
}

/* Deeper than the parser tracks: the excess is counted as dropped, later answers stay matched. */
static void test_pipelining_deep(void)
{
	char reqs[512], resps[1024];
	int rn = 0, sn = 0;

	for (int i = 0; i < 7; i++) {
		rn += sprintf(reqs + rn, "GET /r%d HTTP/1.1\r\n\r\n", i);
		sn += sprintf(resps + sn, "HTTP/1.1 %d OK\r\nContent-Length: 1\r\n\r\n%d", 210 + i,
			      i);
	}
	rn += sprintf(reqs + rn, "GET /after HTTP/1.1\r\n\r\n");
	sn += sprintf(resps + sn, "HTTP/1.1 299 OK\r\nContent-Length: 1\r\n\r\nZ");
	{
		struct ev ev[] = {EVB('o', reqs, (size_t)rn - 23, 1),
				  EVB('i', resps, (size_t)sn, 2), EVB('o', reqs + rn - 23, 23, 3),
				  EVB('i', resps, 0, 4)};
		/* 7 at once: 4 tracked, 3 dropped; /after (written once slots were free) is
		 * answered */
		drops = 0;
		CHECK_EQ_INT(run(ev, 3, 0), 4);
		CHECK_EQ_INT(drops, 3);
		for (int i = 0; i < 4; i++) {
			char path[8];
			sprintf(path, "/r%d", i);
			CHECK_EQ_STR(got[i].path, path);
			CHECK_EQ_INT(got[i].status, 210 + i);
		}
	}
	{
		struct ev ev[] = {
			EVB('o', reqs, (size_t)rn - 23, 1), EVB('i', resps, (size_t)sn - 39, 2),
			EVB('o', reqs + rn - 23, 23, 3), EVB('i', resps + sn - 39, 39, 4)};
		drops = 0;
		CHECK_EQ_INT(run(ev, 4, 0), 5);
		CHECK_EQ_INT(drops, 3);
		CHECK_EQ_STR(got[4].path, "/after");
		CHECK_EQ_INT(got[4].status, 299);
	}
}

static void test_not_http(void)
{
	static const char h2[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static const unsigned char tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};
	static const char resp_cmd[] = "*1\r\n$4\r\nPING\r\n";
	static const char inline_cmd[] = "PING\r\n";
	static const unsigned char pg[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
	static const char server_first[] = "220 smtp.example.com ESMTP\r\n";
	struct ev e1[] = {EV('o', h2, 1), EV('i', "HTTP/1.1 200 OK\r\n\r\n", 2)};
	struct ev e2[] = {EVB('o', (const char *)tls, sizeof(tls), 1)};
	struct ev e3[] = {EV('o', resp_cmd, 1), EV('i', "+PONG\r\n", 2)};
	struct ev e4[] = {EV('o', inline_cmd, 1)};
	struct ev e5[] = {EVB('o', (const char *)pg, sizeof(pg), 1)};
	struct ev e6[] = {EV('i', server_first, 1), EV('o', "GET / HTTP/1.1\r\n\r\n", 2)};
	struct ev e7[] = {EV('o', "GET / HTTP/1.1\r\n\r\n", 1), EV('i', "SSH-2.0-x\r\n", 2),
			  CLOSE(3, 0)};

	CHECK_EQ_INT(run(e1, 2, 0), 0);
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK_EQ_INT(h.http2, 1);
	CHECK_EQ_INT(run(e2, 1, 0), 0);
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK_EQ_INT(h.http2, 0);
	CHECK_EQ_INT(run(e3, 2, 0), 0);
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK_EQ_INT(run(e4, 1, 0), 0);
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK_EQ_INT(run(e5, 1, 0), 0);
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK_EQ_INT(run(e6, 2, 0), 0);
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK(!ap_http_pending(&h));
	/* a valid request answered by garbage: the exchange is emitted as a protocol error */
	CHECK_EQ_INT(run(e7, 3, 0), 1);
	CHECK_EQ_INT(got[0].error, AP_XERR_PROTOCOL);
	CHECK_EQ_INT(got[0].status, U);
	/* a control byte anywhere after the method (in and across the 16-byte blocks the check
	 * reads at once) makes the stream not HTTP; bytes >= 0x80 do not */
	static const unsigned char bad[] = {0x01, 0x0a, 0x1f, 0x7f, 0x00};
	for (size_t b = 0; b < sizeof(bad); b++) {
		for (size_t at = 5; at < 45; at++) {
			char line[] =
				"POST /v1/chat/completions/aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n";
			line[at] = (char)bad[b];
			struct ev e[] = {EVB('o', line, sizeof(line) - 1, 1)};
			if (bad[b] == 0x0a)
				continue; /* a line end: the line is cut there instead */
			CHECK_EQ_INT(run(e, 1, 0), 0);
			CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
		}
	}
	struct ev e8[] = {EV('o',
			     "GET /aaaa\x80\xff"
			     "~bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\tc HTTP/1.1\r\n\r\n",
			     1),
			  EV('i', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2)};
	CHECK_EQ_INT(run(e8, 2, 0), 1);
	CHECK_EQ_INT(got[0].status, 200);
}

static void test_upgrade(void)
{
	struct ev ws[] = {EV('o', "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 1),
			  EV('i', "HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello", 2),
			  EV('o', "\x81\x85xxxxhello", 3), CLOSE(4, 0)};
	struct ev tunnel[] = {EV('o', "CONNECT api.openai.com:443 HTTP/1.1\r\n\r\n", 1),
			      EV('i', "HTTP/1.1 200 Connection established\r\n\r\n", 2),
			      EV('o', "\x16\x03\x01\x00\x05hello", 3), CLOSE(4, 0)};
	struct ev abs[] = {
		EV('o', "GET http://user:pw@example.com:8080/p?token=abc HTTP/1.1\r\n\r\n", 1),
		EV('i', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2)};

	CHECK_EQ_INT(run(ws, 4, 0), 1);
	CHECK_EQ_INT(got[0].status, 101);
	CHECK_EQ_INT(h.mode, AP_HTTP_IDLE); /* closed: state reset */
	CHECK_EQ_INT(run(tunnel, 3, 0), 1);
	CHECK_EQ_INT(got[0].status, 200);
	CHECK_EQ_STR(got[0].path, "api.openai.com:443");
	CHECK_EQ_INT(h.mode, AP_HTTP_GAVE_UP);
	CHECK_EQ_INT(run(abs, 2, 0), 1);
	CHECK_EQ_STR(got[0].host, "example.com");
	CHECK_EQ_STR(got[0].path, "/p?token=REDACTED");
	CHECK(!contains(&got[0], sizeof(got[0]), "pw"));
}

/* Long lines, bogus framing, random bytes: bounded, no crash, no hang. */
static void test_hostile(void)
{
	static char big[200000], buf[4096];
	struct ev ev[3];
	int n;

	/* a 200 KB header line */
	n = sprintf(big, "GET /%s HTTP/1.1\r\nX-Big: ", "very/long/path");
	memset(big + n, 'a', sizeof(big) - (size_t)n - 40);
	strcpy(big + sizeof(big) - 40, "\r\nHost: h\r\n\r\n");
	ev[0] = (struct ev)EVB('o', big, strlen(big), 1);
	ev[1] = (struct ev)EV('i', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
	CHECK_EQ_INT(run(ev, 2, 0), 1);
	CHECK_EQ_STR(got[0].host, "h");

	/* a 200 KB request line: method and start of the path kept */
	memset(big, 'p', sizeof(big) - 1);
	memcpy(big, "GET /", 5);
	strcpy(big + sizeof(big) - 40, " HTTP/1.1\r\n\r\n");
	ev[0] = (struct ev)EVB('o', big, strlen(big), 1);
	CHECK_EQ_INT(run(ev, 2, 0), 1);
	CHECK_EQ_INT(strlen(got[0].path), AP_STR_PATH - 1);

	/* bogus chunk sizes */
	const char *bogus[] = {"zz\r\n", "-1\r\n", "fffffffffffffffffff\r\n", "\r\n",
			       "5\r\nabcdeXX"};
	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		n = sprintf(buf, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s",
			    bogus[i]);
		ev[0] = (struct ev)EV('o', "GET / HTTP/1.1\r\n\r\n", 1);
		ev[1] = (struct ev)EVB('i', buf, (size_t)n, 2);
		ev[2] = (struct ev)CLOSE(3, 0);
		CHECK_EQ_INT(run(ev, 3, 0), 1);
		CHECK_EQ_INT(got[0].error, AP_XERR_PROTOCOL);
	}

	/* a request with a negative Content-Length carries no body */
	ev[0] = (struct ev)EV('o', "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 1);
	ev[1] = (struct ev)EV('i', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
	CHECK_EQ_INT(run(ev, 2, 0), 1);

	/* gzip that is not gzip */
	ev[0] = (struct ev)EV('o', "POST /v1/chat/completions HTTP/1.1\r\n\r\n", 1);
	ev[1] = (struct ev)EV(
		'i',
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
		"notgzip!!!",
		2);
	CHECK_EQ_INT(run(ev, 2, 0), 1);
	USAGE(&got[0].usage, U, U, U, U, U);
	CHECK_EQ_INT(zallocs, 0);

	/* random bytes, and random mutations of a valid exchange, at random splits */
	srand(1);
	for (int iter = 0; iter < 3000; iter++) {
		char r[600], q[600];
		int m = sprintf(
			q, "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			   "\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n");
		int k = sprintf(r,
				"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				"Content-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
				"1a\r\ndata: {\"usage\":{\"a\":1}}\n\n\r\n0\r\n\r\n",
				iter % 3 ? "identity" : "deflate");
		int mut = 1 + rand() % 6;
		for (int j = 0; j < mut; j++) {
			if (iter % 4 == 0)
				q[rand() % m] = (char)rand();
			else
				r[rand() % k] = (char)rand();
		}
		if (iter % 50 == 0)
			for (int j = 0; j < k; j++)
				r[j] = (char)rand();
		ev[0] = (struct ev)EVB('o', q, (size_t)m, 1);
		ev[1] = (struct ev)EVB('i', r, (size_t)k, 2);
		ev[2] = (struct ev)CLOSE(3, 0);
		run(ev, 3, (size_t)(rand() % 40));
		CHECK_EQ_INT(zallocs, 0);
		CHECK(ngot <= 2);
	}
}

static void test_reset(void)
{
	static char z[256];
	static char resp[512];
	const char *body = "{\"usage\":{\"prompt_tokens\":1}}";
	size_t zn = compress_body(body, strlen(body), z, sizeof(z), 31);
	int n = sprintf(resp,
			"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
			zn + 100);

	memcpy(resp + n, z, zn / 2);
	ap_http_init(&h, &env);
	ngot = 0;
	ap_http_out(&h, "POST /v1/chat/completions HTTP/1.1\r\n\r\n", 38, 1);
	ap_http_in(&h, resp, (size_t)n + zn / 2, 2);
	CHECK(ap_http_pending(&h));
	CHECK_EQ_INT(h.mode, AP_HTTP_ACTIVE);
	CHECK(zallocs > 0);
	ap_http_reset(&h); /* e.g. in a fork child: no emit, inflate state released */
	CHECK_EQ_INT(zallocs, 0);
	CHECK_EQ_INT(ngot, 0);
	CHECK(!ap_http_pending(&h));
	CHECK_EQ_INT(h.mode, AP_HTTP_IDLE);
}

/*
 * A streamed response ends at the provider's terminal event: the exchange is handed over when
 * that event arrives (SDKs stop reading there), and what follows on the wire (the chunked
 * terminator, late bytes) neither emits a second record nor disturbs the next exchange.
 */
static void terminal_case(const char *req, const char *ctype, const char *body, size_t cut,
			  int events, int64_t in, int64_t out, const char *model, int line)
{
	static char resp[8192], rest[64];
	static const char next_req[] = "GET /tools/x HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char next_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	int n = sprintf(resp,
			"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
			ctype);
	size_t bl = strlen(body);
	int rn;
	int fails = unit_failed;

	/* the body in one chunk up to (and including) the terminal event, the rest later */
	n += sprintf(resp + n, "%zx\r\n", cut);
	memcpy(resp + n, body, cut);
	n += (int)cut;
	n += sprintf(resp + n, "\r\n");
	rn = bl > cut ? sprintf(rest, "%zx\r\n%s\r\n0\r\n\r\n", bl - cut, body + cut)
		      : sprintf(rest, "0\r\n\r\n");
	{
		struct ev ev[] = {EVB('o', req, strlen(req), 1), EVB('i', resp, (size_t)n, 2),
				  EVB('i', rest, (size_t)rn, 3), EV('o', next_req, 4),
				  EV('i', next_resp, 5)};
		CHECK_EQ_INT(run(ev, 2, 0), 1); /* complete before the chunked terminator */
		CHECK_EQ_INT(got[0].end_ns, 2);
		/* up to the terminal event's blank line (its first CR or LF); not the chunk's CRLF
		 */
		CHECK_EQ_INT(got[0].bytes_received,
			     (uint64_t)n - 2 - (cut >= 2 && body[cut - 2] == '\r' ? 1 : 0));
		CHECK_EQ_INT(got[0].events, events);
		CHECK_EQ_INT(got[0].usage.input, in);
		CHECK_EQ_INT(got[0].usage.output, out);
		CHECK_EQ_STR(got[0].response_model, model);
		CHECK_EQ_INT(got[0].error, 0);
		CHECK_EQ_INT(run_all(ev, 5), 2); /* no second record; the next exchange is intact */
		CHECK_EQ_INT(got[0].end_ns, 2);
		CHECK_EQ_STR(got[1].path, "/tools/x");
		CHECK_EQ_INT(got[1].status, 200);
		CHECK_EQ_INT(got[1].start_ns, 4);
		CHECK_EQ_INT(got[1].bytes_received, sizeof(next_resp) - 1);
		CHECK_EQ_INT(h.mode, AP_HTTP_IDLE);
		/* a close right after the terminal event adds nothing either */
		{
			struct ev ev2[] = {EVB('o', req, strlen(req), 1),
					   EVB('i', resp, (size_t)n, 2), CLOSE(3, 0)};
			CHECK_EQ_INT(run(ev2, 3, 0), 1);
			CHECK_EQ_INT(got[0].error, 0);
		}
	}
	if (unit_failed != fails)
		fprintf(stderr, "  (terminal case at line %d)\n", line);
}
#define TERMINAL(req, ct, body, marker, ev, in, out, model)                                        \
	terminal_case(req, ct, body, (size_t)(strstr(body, marker) - (body)) + strlen(marker), ev, \
		      in, out, model, __LINE__)

static void test_terminal_openai(void)
{
	static const char req[] =
		"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		"Content-Length: 42\r\n\r\n{\"model\":\"gpt-4o\",\"stream\":true,\"x\":12345}";
	static const char body[] =
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
		"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}"
		"\n\n"
		"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},"
		"\"finish_reason\":\"stop\"}]}\n\n"
		"data: {\"id\":\"c\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":"
		"{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
		"data: [DONE]\n\n";

	TERMINAL(req, "text/event-stream", body, "[DONE]\n\n", 3, 9, 2, "gpt-4o-2024-08-06");
	/* late bytes after [DONE] (a keep-alive comment) are framed, not recorded */
	{
		char b2[1024];
		sprintf(b2, "%s: keep-alive\n\n", body);
		TERMINAL(req, "text/event-stream", b2, "[DONE]\n\n", 3, 9, 2, "gpt-4o-2024-08-06");
	}
}

static void test_terminal_anthropic(void)
{
	static const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n";
	static const char body[] =
		"event: message_start\r\ndata: "
		"{\"type\":\"message_start\",\"message\":{\"id\":\"m\","
		"\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":25,\"output_tokens\":"
		"1}}}\r\n\r\n"
		"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\r\n\r\n"
		"event: message_delta\r\ndata: "
		"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
		"\"end_turn\"},\"usage\":{\"output_tokens\":15}}\r\n\r\n"
		"event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

	/* CRLF line ends: the event ends at its blank line's CR */
	TERMINAL(req, "text/event-stream", body, "{\"type\":\"message_stop\"}\r\n\r\n", 4, 25, 15,
		 "claude-sonnet-4-5");
}

static void test_terminal_responses(void)
{
	static const char req[] = "POST /v1/responses HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
	static const char body[] =
		"event: response.created\ndata: "
		"{\"type\":\"response.created\",\"response\":{\"id\":\"r\","
		"\"model\":\"gpt-4.1\",\"status\":\"in_progress\",\"usage\":null}}\n\n"
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
		"\"item_id\":\"msg\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
		"event: response.completed\ndata: "
		"{\"type\":\"response.completed\",\"response\":{\"id\":"
		"\"r\",\"model\":\"gpt-4.1-2025-04-14\",\"status\":\"completed\",\"usage\":{"
		"\"input_tokens\":"
		"31,\"output_tokens\":7,\"total_tokens\":38}}}\n\n";

	TERMINAL(req, "text/event-stream", body, "}}}\n\n", 3, 31, 7, "gpt-4.1-2025-04-14");
}

static void test_terminal_gemini(void)
{
	static const char req[] =
		"POST /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n"
		"Host: generativelanguage.googleapis.com\r\n\r\n";
	static const char body[] =
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": "
		"\"model\"}}],"
		"\"usageMetadata\": {\"promptTokenCount\": 4,\"totalTokenCount\": "
		"4},\"modelVersion\": "
		"\"gemini-2.0-flash\"}\r\n\r\n"
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" "
		"there\"}],\"role\": "
		"\"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": "
		"4,"
		"\"candidatesTokenCount\": 2,\"totalTokenCount\": 6},\"modelVersion\": "
		"\"gemini-2.0-flash-001\"}\r\n\r\n";

	TERMINAL(req, "text/event-stream", body, "-001\"}\r\n\r\n", 2, 4, 2,
		 "gemini-2.0-flash-001");
}

static void test_terminal_ollama(void)
{
	static const char req[] = "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n\r\n";
	static const char body[] =
		"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"The\"},"
		"\"done\":false}\n"
		"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"done\": "
		"true,\"done_reason\":\"stop\",\"total_duration\":48835,\"prompt_eval_count\":26,"
		"\"eval_count\":282}\n";

	TERMINAL(req, "application/x-ndjson", body, "282}\n", 2, 26, 282, "llama3.2");
}

/* No terminal event: a finish_reason, a Gemini chunk without finishReason, an Ollama
 * "done": false stay open until the body ends. */
static void test_not_terminal(void)
{
	static const char req[] =
		"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
	static const char body[] =
		"data: {\"model\":\"m\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":1},\"done\":false,\"type\":\"message_"
		"delta\"}\n\n";
	char resp[1024];
	int n = sprintf(resp,
			"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			"Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n",
			strlen(body), body);
	struct ev ev[] = {EV('o', req, 1), EVB('i', resp, (size_t)n, 2), EV('i', "0\r\n\r\n", 3)};

	CHECK_EQ_INT(run(ev, 2, 0), 0);
	CHECK_EQ_INT(run(ev, 3, 0), 1);
	CHECK_EQ_INT(got[0].end_ns, 3);
	CHECK_EQ_INT(got[0].events, 1);
	CHECK_EQ_STR(got[0].response_model, "m");
}

/* A gzip bomb: inflate stops at its cap; the rest of the body is counted as unscanned. */
static void test_gzip_bomb(void)
{
	static const size_t total = 200u << 20;
	static char zero[1 << 16];
	static char zbuf[1 << 16];
	char head[256];
	z_stream z;
	uint64_t zbytes = 0;
	int hn;

	ap_http_init(&h, &env);
	ngot = 0;
	ap_http_out(&h, chat_req, sizeof(chat_req) - 1, 1);
	hn = sprintf(head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Content-Encoding: gzip\r\nConnection: close\r\n\r\n");
	ap_http_in(&h, head, (size_t)hn, 2);
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	for (size_t fed = 0; fed < total || z.avail_in;) {
		int last = fed + sizeof(zero) >= total;
		z.next_in = (Bytef *)zero;
		z.avail_in = sizeof(zero);
		fed += sizeof(zero);
		do {
			z.next_out = (Bytef *)zbuf;
			z.avail_out = sizeof(zbuf);
			deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
			ap_http_in(&h, zbuf, sizeof(zbuf) - z.avail_out, 3);
			zbytes += sizeof(zbuf) - z.avail_out;
		} while (z.avail_out == 0);
		if (last)
			break;
	}
	deflateEnd(&z);
	ap_http_close(&h, 4, 0);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].bytes_received, (uint64_t)hn + zbytes);
	/* about 1 MiB of zeros inflated (a few KiB compressed); the rest only counted */
	CHECK(got[0].unscanned_bytes > zbytes - 16384 && got[0].unscanned_bytes < zbytes);
	CHECK_EQ_INT(got[0].error, 0);
	CHECK_EQ_INT(zallocs, 0);
	/* a normal gzip body is read to its end: nothing unscanned */
	test_gzip(31, "gzip");
	CHECK_EQ_INT(got[0].unscanned_bytes, 0);
}

/* An event larger than the key-check buffer streams through the JSON scanner instead. */
static void test_sse_big_event(void)
{
	static char body[8192], resp[9000];
	static const char req[] = "POST /v1/responses HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
	int bn = sprintf(body,
			 "data: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-5\","
			 "\"output\":[{\"text\":\"");
	int n;

	memset(body + bn, 'x', 5000);
	bn += 5000;
	bn += sprintf(body + bn, "\"}],\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}\n\n");
	n = sprintf(resp,
		    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "
		    "%d\r\n\r\n%s",
		    bn + 7, body);
	n += sprintf(resp + n, ": tail\n");
	{
		struct ev ev[] = {EV('o', req, 1), EVB('i', resp, (size_t)n, 2)};
		CHECK_EQ_INT(run_all(ev, 2), 1);
		CHECK_EQ_INT(got[0].usage.input, 3);
		CHECK_EQ_INT(got[0].usage.output, 4);
		CHECK_EQ_STR(got[0].response_model, "gpt-5");
		CHECK_EQ_INT(got[0].events, 1);
		CHECK_EQ_INT(got[0].bytes_received, (uint64_t)n - 7);
	}
}

/*
 * OpenAI's stream_options.include_usage: "usage":null on every chunk but the last. The null ones
 * are counted, not parsed (fed whole, cut at every byte and byte by byte); a usage with a value
 * is parsed wherever it is, and the last one's counts are the exchange's.
 */
static void test_usage_null(void)
{
	static const char req[] =
		"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
		"Content-Length: 42\r\n\r\n{\"model\":\"gpt-4o\",\"stream\":true,\"x\":12345}";
	static const char *const tails[] = {"\"usage\":null}", "\"usage\": null}",
					    "\"usage\" :\tnull ,\"x\":1}"};
	static const char mid[] = "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],"
				  "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n";
	static const char last[] = "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],"
				   "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
				   "data: [DONE]\n\n";
	char body[4096], resp[4600];
	size_t bn = 0;
	int rn;

	for (int with_mid = 0; with_mid < 2; with_mid++) {
		bn = 0;
		for (int i = 0; i < 12; i++) {
			bn += (size_t)sprintf(
				body + bn,
				"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
				"\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":"
				"{\"content\":\"Hi\"},\"finish_reason\":null}],%s\n\n",
				tails[i % 3]);
			if (with_mid && i == 6)
				bn += (size_t)sprintf(body + bn, "%s", mid);
		}
		bn += (size_t)sprintf(body + bn, "%s", last);
		rn = sprintf(resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     bn, body);
		{
			struct ev ev[] = {EVB('o', req, strlen(req), 1),
					  EVB('i', resp, (size_t)rn, 2)};
			uint64_t want = 2 + (uint64_t)with_mid; /* the first (no model yet), the
								    usages */
			CHECK_EQ_INT(run(ev, 2, 0), 1);
			CHECK_EQ_INT(got[0].events, 13 + with_mid);
			CHECK_EQ_INT(got[0].usage.input, 9);
			CHECK_EQ_INT(got[0].usage.output, 2);
			CHECK_EQ_INT(ap_http_events_parsed(&h), want);
			CHECK_EQ_INT(run(ev, 2, SIZE_MAX), 1);
			CHECK_EQ_INT(got[0].usage.input, 9);
			CHECK_EQ_INT(ap_http_events_parsed(&h), want);
			CHECK_EQ_INT(run_all(ev, 2), 1);
		}
	}
}

/*
 * Named events as Anthropic sends them (LF only): the deltas between message_start and
 * message_delta are counted without a parse, a terminal name ("error") still ends the stream
 * there, and every way of cutting the reads gives the same exchange.
 */
static void test_named_events(void)
{
	static const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n";
	static const char start[] =
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
		"\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":25,\"output_tokens\":"
		"1}}}"
		"\n\n"
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
		"event: ping\ndata: {\"type\": \"ping\"}\n\n";
	static const char delta[] =
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n";
	static const char end[] = "event: message_delta\ndata: "
				  "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
				  "\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
				  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	static const char error[] = /* after "event: " or "event:" */
		"error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
		"\"message\":\"Overloaded\"}}\n\n";
	char body[4096], resp[4600];

	/* 0: no error; 1: "event: error"; 2: "event:error" (the space is optional) */
	for (int with_error = 0; with_error < 3; with_error++) {
		size_t bn = (size_t)sprintf(body, "%s", start);
		int rn;

		for (int i = 0; i < 10; i++) {
			if (with_error && i == 6)
				bn += (size_t)sprintf(
					body + bn, "%s%s",
					with_error == 1 ? "event: " : "event:", error);
			bn += (size_t)sprintf(body + bn, "%s", delta);
		}
		bn += (size_t)sprintf(body + bn, "%s", end);
		rn = sprintf(resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     bn, body);
		{
			struct ev ev[] = {EVB('o', req, strlen(req), 1),
					  EVB('i', resp, (size_t)rn, 2)};

			CHECK_EQ_INT(run(ev, 2, 0), 1);
			CHECK_EQ_STR(got[0].response_model, "claude-sonnet-4-5");
			CHECK_EQ_INT(got[0].usage.input, 25);
			if (with_error) { /* ended at the error event: 3 + 6 deltas + the error */
				CHECK_EQ_INT(got[0].events, 10);
				CHECK_EQ_INT(got[0].usage.output, 1);
				CHECK_EQ_INT(got[0].bytes_received,
					     (uint64_t)(strstr(resp, "Overloaded") - resp) + 15);
			} else { /* 3 + 10 deltas + message_delta + message_stop */
				CHECK_EQ_INT(got[0].events, 15);
				CHECK_EQ_INT(got[0].usage.output, 15);
				CHECK_EQ_INT(ap_http_events_parsed(&h), 3);
			}
			CHECK_EQ_INT(run_all(ev, 2), 1);
		}
	}
}

/*
 * Gemini puts its cumulative usageMetadata on every chunk: the chunks before the last are kept,
 * not parsed, each superseding the one before; the counts are the last chunk's, also when the
 * stream is cut before its finishReason (the kept chunk is parsed then), whatever the reads.
 */
static void test_gemini_usage(void)
{
	static const char req[] =
		"POST /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n"
		"Host: generativelanguage.googleapis.com\r\n\r\n";
	char body[8192], resp[8800];

	for (int cut = 0; cut < 2; cut++) {
		size_t bn = 0;
		int rn;

		for (int i = 1; i <= 12; i++)
			bn += (size_t)sprintf(body + bn,
					      "data: {\"candidates\": [{\"content\": {\"parts\": "
					      "[{\"text\": \"w%d\"}],"
					      "\"role\": \"model\"},\"index\": "
					      "0}],\"usageMetadata\": {\"promptTokenCount\": "
					      "4,\"candidatesTokenCount\": %d,\"totalTokenCount\": "
					      "%d},\"modelVersion\": "
					      "\"gemini-2.0-flash\"}\r\n\r\n",
					      i, i, 4 + i);
		if (!cut)
			bn += (size_t)sprintf(
				body + bn,
				"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
				"\"\"}],"
				"\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
				"\"usageMetadata\": {\"promptTokenCount\": "
				"4,\"candidatesTokenCount\": 13,"
				"\"totalTokenCount\": 17,\"thoughtsTokenCount\": "
				"5},\"modelVersion\": "
				"\"gemini-2.0-flash-001\"}\r\n\r\n"
				": a comment long enough that the last chunk is not the read's "
				"end\r\n\r\n");
		rn = sprintf(resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n%s",
			     bn, body, cut ? "" : "0\r\n\r\n");
		{
			struct ev ev[] = {EVB('o', req, strlen(req), 1),
					  EVB('i', resp, (size_t)rn, 2), CLOSE(3, 0)};

			CHECK_EQ_INT(run(ev, cut ? 3 : 2, 0), 1);
			CHECK_EQ_INT(got[0].usage.input, 4);
			CHECK_EQ_INT(got[0].usage.output, cut ? 12 : 13);
			CHECK_EQ_INT(got[0].usage.reasoning, cut ? AP_UNKNOWN : 5);
			CHECK_EQ_INT(got[0].events, cut ? 12 : 13);
			CHECK_EQ_STR(got[0].response_model,
				     cut ? "gemini-2.0-flash" : "gemini-2.0-flash-001");
			/* the first (no model yet), the last kept one (before the last, in stream
			 * order) and the last; cut: the close parses the kept one (output 12 says
			 * so), and the close resets the parser's counts */
			if (!cut)
				CHECK_EQ_INT(ap_http_events_parsed(&h), 3);
			CHECK_EQ_INT(run(ev, cut ? 3 : 2, SIZE_MAX), 1);
			CHECK_EQ_INT(got[0].usage.output, cut ? 12 : 13);
			if (!cut)
				CHECK_EQ_INT(ap_http_events_parsed(&h), 3);
			CHECK_EQ_INT(run_all(ev, cut ? 3 : 2), 1);
		}
	}
}

/*
 * Streams built at random from the shapes the fast paths take and the ones they must leave to
 * the line-by-line path (OpenAI chunks with and without "usage":null, a usage with a value,
 * Anthropic's named events, Gemini's usageMetadata chunks and finishReason, comments, "[DONE]",
 * short events, LF or CRLF): read whole, cut at random points and byte by byte, each gives the
 * same exchange.
 */
static void test_sse_shapes_random(void)
{
	static const char *const shapes[] = {
		"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":"
		"{\"content\":\"Hi\"},\"finish_reason\":null}]}",
		"data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":"
		"{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}",
		"data: "
		"{\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
		"9,\"completion_tokens\":2}}",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello there\"}}",
		"event: message_delta\ndata: "
		"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
		"\"end_turn\"},\"usage\":{\"output_tokens\":15}}",
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"w\"}],\"role\": "
		"\"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 4,"
		"\"candidatesTokenCount\": 3,\"totalTokenCount\": 7},\"modelVersion\": \"g-2\"}",
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": "
		"\"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": "
		"4,"
		"\"candidatesTokenCount\": 5,\"totalTokenCount\": 9},\"modelVersion\": \"g-2\"}",
		": keep-alive comment",
		"data: {\"type\": \"ping\"}",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
		"\"message\":\"Overloaded\"}}",
		"data: [DONE]",
		/* a usageMetadata chunk that also names a terminal "type" (and a "ty..." value that
		 * is not one): parsed, never kept */
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"tyres\"}],"
		"\"role\": \"model\"},\"index\": 0}],\"type\": \"message_stop\",\"usageMetadata\": "
		"{\"promptTokenCount\": 4,\"candidatesTokenCount\": 6,\"totalTokenCount\": 10},"
		"\"modelVersion\": \"g-2\"}",
	};
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	static char body[16384], resp[17000];
	struct ap_exchange ref;
	int bad = 0;

	srand(7);
	for (int round = 0; round < 300 && !bad; round++) {
		int crlf = rand() % 2, nev = 2 + rand() % 40, rn;
		size_t bn = 0;

		for (int e = 0; e < nev; e++) {
			/* the rare shapes rarely, so that streams run on past them */
			int k = rand() % 20;
			const char *sh = shapes[k < 12	 ? k % 2
						: k < 14 ? 3
						: k < 17 ? 5
							 : 2 + rand() % 10];

			for (const char *q = sh; *q; q++) {
				if (*q == '\n' && crlf)
					body[bn++] = '\r';
				body[bn++] = *q;
			}
			bn += (size_t)sprintf(body + bn, crlf ? "\r\n\r\n" : "\n\n");
		}
		rn = sprintf(resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			     "Content-Length: %zu\r\n\r\n",
			     bn);
		memcpy(resp + rn, body, bn);
		rn += (int)bn;
		{
			struct ev ev[] = {EVB('o', req, strlen(req), 1),
					  EVB('i', resp, (size_t)rn, 2)};

			if (run(ev, 2, 0) != 1) {
				bad = 1;
				break;
			}
			ref = got[0];
			for (int cut = 0; cut < 8 && !bad; cut++) {
				size_t at =
					cut == 7 ? SIZE_MAX : 1 + (size_t)rand() % ((size_t)rn - 1);

				if (run(ev, 2, at) != 1 || !same_ex(&ref, &got[0])) {
					fprintf(stderr,
						"round %d cut %zu differs: events %llu/%llu\n",
						round, at, (unsigned long long)got[0].events,
						(unsigned long long)ref.events);
					bad = 1;
				}
			}
		}
	}
	CHECK(!bad);
}

/*
 * Gemini chunks in one read, the second also naming a terminal "type" (message_stop) beside
 * its usageMetadata, after "text" values starting "ty" and "t": the AVX2 pass that keeps
 * usageMetadata chunks must hand that one to the parse, which ends the stream there (2 events,
 * its 6 output tokens), whole, cut anywhere and byte by byte.
 */
static void test_gemini_terminal_type(void)
{
#define GEM_CHUNK(text, type, out)                                                               \
	"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"" text "\"}],"          \
	"\"role\": \"model\"},\"index\": 0}]," type "\"usageMetadata\": {\"promptTokenCount\": " \
	"4,\"candidatesTokenCount\": " out ",\"totalTokenCount\": 10},\"modelVersion\": "        \
	"\"g-2\"}\r\n\r\n"
	static const char body[] =
		GEM_CHUNK("tyres", "", "3") GEM_CHUNK("t", "\"type\": \"message_stop\",", "6")
			GEM_CHUNK("tok", "", "9") GEM_CHUNK("tok", "", "12");
#undef GEM_CHUNK
	static const char req[] =
		"POST /v1beta/models/g-2:streamGenerateContent?alt=sse HTTP/1.1\r\n"
		"Host: generativelanguage.googleapis.com\r\nContent-Length: 2\r\n\r\n{}";
	static char resp[4096];
	int rn = sprintf(resp,
			 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 sizeof(body) - 1, body);
	struct ev ev[] = {EVB('o', req, strlen(req), 1), EVB('i', resp, (size_t)rn, 2)};

	CHECK_EQ_INT(run_all(ev, 2), 1);
	CHECK_EQ_INT(got[0].events, 2);
	CHECK_EQ_INT(got[0].usage.output, 6);
}

/*
 * Ollama's NDJSON at random: content lines, lines with a "type" or "usage" key, blank and
 * whitespace lines, CRLF, the last line with "done": true and the counts: whole, cut at random
 * and byte by byte, the same exchange (the AVX2 line counter against the line-by-line path).
 */
static void test_ndjson_random(void)
{
	static const char *const lines[] = {
		"{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":"
		"{\"role\":\"assistant\",\"content\":\"tok\"},\"done\":false}",
		"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"type\","
		"\"thinking\":\"done\"},\"done\": false}",
		"{\"model\":\"llama3.2\",\"type\":\"error\",\"message\":{\"content\":\"x\"}}",
		"{\"model\":\"llama3.2\",\"usage\":{\"prompt_tokens\":3},\"message\":{}}",
		"   ",
		"",
		"{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"done\":true,\"total_duration\":48835,\"prompt_eval_count\":26,\"eval_count\":9}",
	};
	static const char req[] = "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n"
				  "Content-Length: 22\r\n\r\n{\"model\":\"llama3.2\"}\r\n";
	static char body[16384], resp[17000];
	struct ap_exchange ref;
	int bad = 0;

	srand(11);
	for (int round = 0; round < 300 && !bad; round++) {
		int crlf = rand() % 2, nl = 2 + rand() % 40, rn;
		size_t bn = 0;

		for (int e = 0; e < nl; e++) {
			int k = rand() % 24;
			const char *ln = lines[k < 16 ? 0 : k - 16 < 6 ? k - 16 : 6];

			bn += (size_t)sprintf(body + bn, "%s%s", ln, crlf ? "\r\n" : "\n");
		}
		rn = sprintf(resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			     "Content-Length: %zu\r\n\r\n",
			     bn);
		memcpy(resp + rn, body, bn);
		rn += (int)bn;
		{
			struct ev ev[] = {EVB('o', req, strlen(req), 1),
					  EVB('i', resp, (size_t)rn, 2)};

			if (run(ev, 2, 0) != 1) {
				bad = 1;
				break;
			}
			ref = got[0];
			for (int cut = 0; cut < 8 && !bad; cut++) {
				size_t at =
					cut == 7 ? SIZE_MAX : 1 + (size_t)rand() % ((size_t)rn - 1);

				if (run(ev, 2, at) != 1 || !same_ex(&ref, &got[0])) {
					fprintf(stderr,
						"round %d cut %zu differs: events %llu/%llu\n",
						round, at, (unsigned long long)got[0].events,
						(unsigned long long)ref.events);
					bad = 1;
				}
			}
		}
	}
	CHECK(!bad);
}

/*
 * A response of 30 copies of unit, each ending in a key cut by the event's (or line's) end
 * ("u at the end): event_wanted and event_keys take such a "usage" as wanted, so every copy is
 * parsed byte by byte, and must be parsed too when the read is whole (the AVX2 counters) or cut
 * in two.
 */
static void check_cut_key(const char *req, const char *ctype, const char *unit)
{
	static char resp[16384];
	size_t un = strlen(unit);
	int rn = sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 ctype, 30 * un);
	uint64_t parsed[3];

	for (int i = 0; i < 30; i++, rn += (int)un)
		memcpy(resp + rn, unit, un);
	for (int k = 0; k < 3; k++) {
		struct ev ev[] = {EVB('o', req, strlen(req), 1), EVB('i', resp, (size_t)rn, 2)};

		CHECK_EQ_INT(run(ev, 2, k == 0 ? 0 : k == 1 ? (size_t)rn / 2 : SIZE_MAX), 1);
		CHECK_EQ_INT(got[0].events, 30);
		parsed[k] = ap_http_events_parsed(&h);
	}
	CHECK_EQ_INT(parsed[2], 30);
	CHECK_EQ_INT(parsed[0], parsed[2]);
	CHECK_EQ_INT(parsed[1], parsed[2]);
}

/* Ollama's lines: fails when the NDJSON counter rejects a 'u' key on its first bytes. */
static void test_ndjson_cut_key(void)
{
	check_cut_key("POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n"
		      "Content-Length: 22\r\n\r\n{\"model\":\"llama3.2\"}\r\n",
		      "application/x-ndjson",
		      "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\","
		      "\"content\":\"x\"},\"u\n");
}

/* Gemini's chunks (usageMetadata on each): fails when the kept-chunk counter rejects a 'u'
 * that is not usageMetadata in its scan (and keeps the chunk). */
static void test_gemini_cut_key(void)
{
	check_cut_key(
		"POST /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n"
		"Host: generativelanguage.googleapis.com\r\nContent-Length: 2\r\n\r\n{}",
		"text/event-stream",
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"tok\"}]}}],"
		"\"usageMetadata\": {\"promptTokenCount\": 12,\"totalTokenCount\": 15},"
		"\"modelVersion\": \"gemini-2.0-flash\",\"u\r\n\r\n");
}

int main(void)
{
	test_header_lines();
	test_simple();
	test_hash();
	test_chunked_sse();
	test_gzip(31, "gzip");
	test_gzip(15, "deflate");
	test_gzip(-15, "deflate");
	test_gzip_chunked_sse();
	test_keepalive();
	test_ndjson();
	test_close_delimited();
	test_errors();
	test_early_response();
	test_pipelining();
	test_pipelining_deep();
	test_terminal_openai();
	test_terminal_anthropic();
	test_terminal_responses();
	test_terminal_gemini();
	test_terminal_ollama();
	test_not_terminal();
	test_gzip_bomb();
	test_sse_big_event();
	test_usage_null();
	test_named_events();
	test_gemini_usage();
	test_sse_shapes_random();
	test_gemini_terminal_type();
	test_ndjson_random();
	test_ndjson_cut_key();
	test_gemini_cut_key();
	test_not_http();
	test_upgrade();
	test_hostile();
	test_reset();
	UNIT_DONE();
}
