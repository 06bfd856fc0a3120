/* test_codec.c: round trip of every record type, unknown fields and types, truncation, header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_codec.h"
#include "ap_records.h"
#include "unit.h"

static void fill_str(char *s, size_t cap, const char *v)
{
	size_t n = strlen(v) < cap - 1 ? strlen(v) : cap - 1;

	memcpy(s, v, n);
	s[n] = 0;
}
#define S(field, v) fill_str(field, sizeof(field), v)

/* A record of each type with every field set to a distinctive known value. */
static void make(struct ap_record *r, uint32_t type)
{
	memset(r, 0, sizeof(*r));
	ap_record_init(r, type);
	switch (type) {
	case AP_REC_PROCESS: {
		struct ap_process *p = &r->u.process;
		static const char argv[] = "python3\0\0agent.py\0--key=REDACTED";
		p->pid = 1234;
		p->ppid = 1;
		S(p->exe, "/usr/bin/python3");
		memcpy(p->argv, argv, sizeof(argv));
		p->argc = 4; /* includes an empty argument */
		p->start_ns = 123456789012345;
		p->start_real_ns = 1763700000000000000;
		S(p->agent, "planner");
		p->sample_ppm = 500000;
		p->format_version = AP_FORMAT_VERSION;
		S(p->tool_version, "0.1.0");
		break;
	}
	case AP_REC_PROCESS_END: {
		struct ap_process_end *e = &r->u.process_end;
		e->end_ns = 99;
		e->exit_code = -2; /* negative but not AP_UNKNOWN */
		e->dropped = 3;
		e->dropped_bytes = 300;
		e->overhead_ns = 0; /* a known 0 */
		e->calls = 1ull << 40;
		e->clean = 1;
		break;
	}
	case AP_REC_CONNECTION: {
		struct ap_connection *c = &r->u.connection;
		c->id = 7;
		c->fd = 0;
		c->tid = 42;
		S(c->peer, "2001:db8::1");
		c->port = 443;
		S(c->host, "api.openai.com");
		c->tls = 1;
		c->visibility = AP_VIS_PLAINTEXT;
		c->category = AP_CAT_LLM;
		c->provider = AP_PROV_OPENAI;
		c->open_ns = 1;
		c->close_ns = 2;
		c->connect_ns = 3;
		c->bytes_sent = 4;
		c->bytes_received = 5;
		c->exchanges = 6;
		c->error = AP_XERR_RESET;
		break;
	}
	case AP_REC_EXCHANGE: {
		struct ap_exchange *x = &r->u.exchange;
		x->id = 1;
		x->conn_id = 2;
		x->tid = 3;
		S(x->method, "POST");
		S(x->path, "/v1/chat/completions?key=REDACTED");
		S(x->host, "api.openai.com");
		x->port = 443;
		x->status = 200;
		S(x->content_type, "text/event-stream");
		x->category = AP_CAT_LLM;
		x->provider = AP_PROV_OPENAI;
		x->visibility = AP_VIS_PLAINTEXT;
		x->tls = 1;
		x->stream = 1;
		x->error = AP_XERR_EOF;
		x->new_conn = 1;
		x->start_ns = 10;
		x->req_sent_ns = 11;
		x->first_byte_ns = 12;
		x->end_ns = 13;
		x->dns_ns = 0;
		x->connect_ns = 14;
		x->tls_ns = 15;
		x->bytes_sent = 512;
		x->bytes_received = 734;
		x->events = 9;
		x->first_event_ns = 16;
		S(x->request_model, "gpt-4o");
		S(x->response_model, "gpt-4o-2024-08-06");
		x->usage.input = 1200;
		x->usage.output = 80;
		x->usage.cache_read = 0;
		x->usage.cache_write = 5;
		x->usage.reasoning = 6;
		x->request_hash = 0xcbf29ce484222325ull;
		x->stack_id = UINT64_MAX;
		x->pystack_id = UINT64_MAX - 1;
		x->span_id = 8;
		S(x->agent, "coder");
		break;
	}
	case AP_REC_PROC_EVENT: {
		struct ap_proc_event *e = &r->u.proc_event;
		static const char argv[] = "sh\0-c\0\0";
		e->kind = AP_PEV_SPAWN;
		e->tid = 5;
		e->time_ns = 6;
		e->end_ns = 7;
		e->child_pid = 8;
		e->status = 0;
		S(e->path, "/bin/sh");
		memcpy(e->argv, argv, sizeof(argv));
		e->argc = 3; /* the last argument is empty */
		e->stack_id = 9;
		e->pystack_id = 10;
		e->span_id = 10;
		e->profiled = 1;
		break;
	}
	case AP_REC_SPAN: {
		struct ap_span *s = &r->u.span;
		s->id = 1;
		s->parent_id = 2;
		s->tid = 3;
		S(s->name, "plan");
		s->category = AP_CAT_TOOL;
		s->start_ns = 4;
		s->end_ns = 5;
		S(s->agent, "a");
		s->stack_id = 6;
		s->pystack_id = 7;
		break;
	}
	case AP_REC_COUNTER:
		r->u.counter.kind = AP_CNT_RSS_BYTES;
		r->u.counter.time_ns = 1;
		r->u.counter.value = INT64_MAX;
		break;
	case AP_REC_STACK:
		r->u.stack.id = 77;
		r->u.stack.nframes = AP_MAX_FRAMES;
		for (int i = 0; i < AP_MAX_FRAMES; i++)
			r->u.stack.frames[i] = 0x7f0000000000ull + (uint64_t)i * 0x1234567;
		break;
	case AP_REC_MODULE:
		r->u.module.id = 1;
		r->u.module.base = 0x7f0000000000ull;
		r->u.module.start = 0x1000;
		r->u.module.end = 0x2000;
		S(r->u.module.path, "/lib/x86_64-linux-gnu/libssl.so.3");
		S(r->u.module.build_id, "0123456789abcdef0123456789abcdef01234567");
		break;
	case AP_REC_DIAG:
		r->u.diag.code = AP_DIAG_HTTP2;
		r->u.diag.time_ns = INT64_MIN + 5;
		S(r->u.diag.msg, "HTTP/2 seen on fd 7");
		break;
	case AP_REC_DNS:
		r->u.dns.tid = 1;
		S(r->u.dns.host, "api.anthropic.com");
		r->u.dns.start_ns = 2;
		r->u.dns.end_ns = 3;
		r->u.dns.result = -2;
		S(r->u.dns.addr, "160.79.104.10");
		break;
	case AP_REC_PYCODE:
		r->u.pycode.id = UINT64_MAX;
		S(r->u.pycode.qualname, "Agent.research.<locals>.ask_llm");
		S(r->u.pycode.filename, "/home/user/agent/agent.py");
		r->u.pycode.firstlineno = 42;
		break;
	case AP_REC_PYSTACK:
		r->u.pystack.id = 1ull << 63;
		r->u.pystack.nframes = r->u.pystack.nlines = AP_MAX_FRAMES;
		for (int i = 0; i < AP_MAX_FRAMES; i++) {
			r->u.pystack.code[i] = UINT64_MAX - (uint64_t)i;
			r->u.pystack.line[i] = (uint64_t)i * 1000;
		}
		r->u.pystack.truncated = 1;
		break;
	}
}

static int rec_equal(const struct ap_record *a, const struct ap_record *b)
{
	return a->type == b->type && memcmp(&a->u, &b->u, ap_record_size(a->type)) == 0;
}

static void test_round_trip(void)
{
	for (uint32_t t = 1; t < AP_REC_TYPE_MAX; t++) {
		struct ap_record a, b, u;
		uint8_t buf[4096];
		size_t n, used = 0;

		make(&a, t);
		n = ap_encode(buf, sizeof(buf), &a);
		CHECK(n > 2);
		memset(&b, 0x5a, sizeof(b));
		CHECK_EQ_INT(ap_decode(buf, n, &b, &used), AP_DEC_OK);
		CHECK_EQ_INT(used, n);
		if (!rec_equal(&a, &b))
			fprintf(stderr, "type %u differs after round trip\n", t);
		CHECK(rec_equal(&a, &b));

		/* a record with only unknown values is tiny and decodes to unknown values */
		memset(&u, 0, sizeof(u));
		ap_record_init(&u, t);
		n = ap_encode(buf, sizeof(buf), &u);
		CHECK(n == 2);
		CHECK_EQ_INT(ap_encode(buf, 2, &u), 2); /* exact fit */
		CHECK_EQ_INT(ap_encode(buf, 1, &u), 0);
		CHECK_EQ_INT(ap_decode(buf, n, &b, &used), AP_DEC_OK);
		CHECK(rec_equal(&u, &b));
	}
}

/* Fields a newer writer might add (varint 99, bytes 100) are skipped. */
static void test_unknown_fields(void)
{
	struct ap_record a, b;
	uint8_t buf[4096], ext[4200];
	size_t n, used, o = 0, hdr, body;
	static const uint8_t extra[] = {
		0x98, 0x06, 0x96, 0x01,		  /* field 99, varint 150 */
		0xa2, 0x06, 3,	  'a',	'b', 'c', /* field 100, bytes "abc" */
		0x88, 0x08, 0x7f,		  /* field 129, varint 127 */
	};

	make(&a, AP_REC_EXCHANGE);
	n = ap_encode(buf, sizeof(buf), &a);
	/* re-frame: type, new length, old payload + extra fields */
	hdr = 1;	    /* type varint */
	body = n - hdr - 2; /* payload length fits in 2 varint bytes here */
	CHECK(buf[1] & 0x80);
	ext[o++] = buf[0];
	{
		size_t len = body + sizeof(extra);
		ext[o++] = (uint8_t)(0x80 | (len & 0x7f));
		ext[o++] = (uint8_t)(len >> 7);
	}
	memcpy(ext + o, extra, 4); /* an unknown field first ... */
	memcpy(ext + o + 4, buf + 3, body);
	memcpy(ext + o + 4 + body, extra + 4, sizeof(extra) - 4); /* ... and last */
	o += body + sizeof(extra);
	CHECK_EQ_INT(ap_decode(ext, o, &b, &used), AP_DEC_OK);
	CHECK_EQ_INT(used, o);
	CHECK(rec_equal(&a, &b));
}

static void test_truncated(void)
{
	for (uint32_t t = 1; t < AP_REC_TYPE_MAX; t++) {
		struct ap_record a, b;
		uint8_t buf[4096];
		size_t n, used;
		int ok = 1;

		make(&a, t);
		n = ap_encode(buf, sizeof(buf), &a);
		for (size_t k = 0; k < n; k++) {
			uint8_t *copy = malloc(k ? k : 1); /* exact size: ASan catches overreads */
			enum ap_dec_status st;
			memcpy(copy, buf, k);
			st = ap_decode(copy, k, &b, &used);
			free(copy);
			if (st != AP_DEC_SHORT)
				ok = 0;
		}
		CHECK(ok);
		/* the encoder never writes past cap, and fails cleanly when it does not fit */
		for (size_t cap = 0; cap < n; cap++) {
			uint8_t *out = malloc(cap ? cap : 1);
			CHECK_EQ_INT(ap_encode(out, cap, &a), 0);
			free(out);
		}
		{
			uint8_t *out = malloc(n);
			CHECK_EQ_INT(ap_encode(out, n, &a), n);
			free(out);
		}
	}
}

static void test_bad_and_skip(void)
{
	struct ap_record b, a;
	uint8_t buf[64];
	size_t used = 0, n;
	static const uint8_t unknown_type[] = {50, 4, 8, 1, 16, 2};
	static const uint8_t type0[] = {0, 0};
	static const uint8_t bad_wire[] = {AP_REC_COUNTER, 2, 1 << 3 | 1, 0};
	static const uint8_t long_string[] = {AP_REC_DIAG, 3, 3 << 3 | 2, 9, 'x'};
	static const uint8_t overlong_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						  0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t odd_frames[] = {
		AP_REC_STACK, 13, 2 << 3 | 2, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

	CHECK_EQ_INT(ap_decode(unknown_type, sizeof(unknown_type), &b, &used), AP_DEC_SKIP);
	CHECK_EQ_INT(used, sizeof(unknown_type));
	CHECK_EQ_INT(ap_decode(type0, sizeof(type0), &b, &used), AP_DEC_BAD);
	CHECK_EQ_INT(ap_decode(bad_wire, sizeof(bad_wire), &b, &used), AP_DEC_BAD);
	CHECK_EQ_INT(ap_decode(long_string, sizeof(long_string), &b, &used), AP_DEC_BAD);
	CHECK_EQ_INT(ap_decode(overlong_varint, sizeof(overlong_varint), &b, &used), AP_DEC_BAD);
	CHECK_EQ_INT(ap_decode(odd_frames, sizeof(odd_frames), &b, &used), AP_DEC_OK);
	CHECK_EQ_INT(b.u.stack.nframes, 1);
	CHECK(b.u.stack.frames[0] == 0x0807060504030201ull);
	CHECK_EQ_INT(ap_decode(buf, 0, &b, &used), AP_DEC_SHORT);

	/* type 0 and unknown types are not encoded */
	memset(&a, 0, sizeof(a));
	a.type = 0;
	CHECK_EQ_INT(ap_encode(buf, sizeof(buf), &a), 0);
	a.type = AP_REC_TYPE_MAX;
	CHECK_EQ_INT(ap_encode(buf, sizeof(buf), &a), 0);

	/* more frames than fit are capped, argc beyond the argv bytes is not trusted */
	make(&a, AP_REC_STACK);
	a.u.stack.nframes = 1000;
	{
		uint8_t big[1024];
		n = ap_encode(big, sizeof(big), &a);
		CHECK(n > 0);
		CHECK_EQ_INT(ap_decode(big, n, &b, &used), AP_DEC_OK);
		CHECK_EQ_INT(b.u.stack.nframes, AP_MAX_FRAMES);
	}
	{
		/* argv "a\0b" (3 bytes) with argc 1000 */
		static const uint8_t w[] = {AP_REC_PROCESS, 8,	  4 << 3 | 2, 3, 'a', 0, 'b',
					    5 << 3 | 0,	    0xe8, 0x07};
		CHECK_EQ_INT(ap_decode(w, sizeof(w), &b, &used), AP_DEC_OK);
		CHECK_EQ_INT(b.u.process.argc, 2);
	}
}

static void test_sequence_and_fuzz(void)
{
	uint8_t buf[16384];
	size_t o = 0, used;
	struct ap_record a, b;
	int count = 0;

	for (uint32_t t = 1; t < AP_REC_TYPE_MAX; t++) {
		make(&a, t);
		o += ap_encode(buf + o, sizeof(buf) - o, &a);
	}
	for (size_t p = 0; p < o; p += used) {
		if (ap_decode(buf + p, o - p, &b, &used) != AP_DEC_OK)
			break;
		count++;
	}
	CHECK_EQ_INT(count, AP_REC_TYPE_MAX - 1);

	srand(11);
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t m[512];
		size_t n = (size_t)(rand() % (int)sizeof(m));
		size_t start = (size_t)rand() % (o - n);
		memcpy(m, buf + start, n);
		for (int j = 0; j < rand() % 4; j++)
			m[rand() % (n ? n : 1)] = (uint8_t)rand();
		for (size_t p = 0; p < n;) {
			enum ap_dec_status st = ap_decode(m + p, n - p, &b, &used);
			if (st != AP_DEC_OK && st != AP_DEC_SKIP)
				break;
			CHECK(used > 0 && used <= n - p);
			p += used;
		}
	}
}

/* One random value of the kinds the encoder treats differently: unknown, zero, one-byte varint,
 * a long varint, a negative number. */
static int64_t any_value(void)
{
	switch (rand() % 6) {
	case 0:
		return AP_UNKNOWN;
	case 1:
		return 0;
	case 2:
		return rand() % 128;
	case 3:
		return (int64_t)(((uint64_t)rand() << 31 | (uint64_t)rand()) << (rand() % 20));
	case 4:
		return -(int64_t)(rand() % 100000) - 2;
	default:
		return rand() % 300;
	}
}

static void any_string(char *s, size_t cap)
{
	size_t n = (size_t)rand() % 4 == 0 ? 0 : (size_t)rand() % (cap + 1);

	for (size_t i = 0; i < cap; i++)
		s[i] = (char)(i < n ? 'a' + rand() % 26 : 0);
	/* n == cap: no terminator at all; the encoder takes cap - 1 bytes */
}
#define ANY_STR(f) any_string(f, sizeof(f))
#define ANY(f)	   ((f) = (__typeof__(f))any_value())

/* The exchange fast path writes exactly the bytes of the table-driven encoder, for every mix of
 * unknown, zero, small, large and negative values, empty, short and full strings. */
static void test_exchange_fast_path(void)
{
	int same = 1, decoded = 1;

	for (int k = 0; k < 20000; k++) {
		struct ap_record a, b;
		struct ap_exchange *x = &a.u.exchange;
		uint8_t fast[4096], slow[4096];
		size_t nf, ns, used;

		memset(&a, 0, sizeof(a));
		ap_record_init(&a, AP_REC_EXCHANGE);
		ANY(x->id), ANY(x->conn_id), ANY(x->tid), ANY(x->port), ANY(x->status);
		ANY(x->category), ANY(x->provider), ANY(x->visibility), ANY(x->tls);
		ANY(x->stream), ANY(x->error), ANY(x->new_conn), ANY(x->start_ns);
		ANY(x->req_sent_ns), ANY(x->first_byte_ns), ANY(x->end_ns), ANY(x->dns_ns);
		ANY(x->connect_ns), ANY(x->tls_ns), ANY(x->bytes_sent), ANY(x->bytes_received);
		ANY(x->events), ANY(x->first_event_ns), ANY(x->usage.input), ANY(x->usage.output);
		ANY(x->usage.cache_read), ANY(x->usage.cache_write), ANY(x->usage.reasoning);
		ANY(x->request_hash), ANY(x->stack_id), ANY(x->span_id), ANY(x->unscanned_bytes);
		ANY(x->pystack_id), ANY(x->grpc_status), ANY(x->provisional);
		ANY_STR(x->method), ANY_STR(x->path), ANY_STR(x->host), ANY_STR(x->content_type);
		ANY_STR(x->request_model), ANY_STR(x->response_model), ANY_STR(x->agent);
		if (k == 0) /* every string full and every number long: the largest record */
			for (size_t i = 0; i < sizeof(*x); i++)
				((uint8_t *)x)[i] = 0xfe;
		if (k % 8 == 1) /* random bytes everywhere, in fields this list may not name */
			for (size_t i = 0; i < sizeof(*x); i++)
				((uint8_t *)x)[i] = (uint8_t)(rand() % 4 ? rand() : 0);
		nf = ap_encode(fast, sizeof(fast), &a);
		ns = ap_encode_generic(slow, sizeof(slow), &a);
		if (nf != ns || !nf || memcmp(fast, slow, nf) != 0)
			same = 0;
		/* from the exchange itself, into the large buffer and into one just big enough
		 * (the table path) */
		if (ap_encode_exchange(slow, sizeof(slow), x) != nf ||
		    memcmp(fast, slow, nf) != 0 || ap_encode_exchange(slow, nf, x) != nf ||
		    memcmp(fast, slow, nf) != 0 || ap_encode_exchange(slow, nf - 1, x) != 0)
			same = 0;
		if (ap_decode(fast, nf, &b, &used) != AP_DEC_OK || used != nf ||
		    b.u.exchange.start_ns != x->start_ns ||
		    b.u.exchange.req_sent_ns != x->req_sent_ns ||
		    b.u.exchange.first_byte_ns != x->first_byte_ns ||
		    b.u.exchange.end_ns != x->end_ns ||
		    b.u.exchange.first_event_ns != x->first_event_ns)
			decoded = 0;
	}
	CHECK(same);
	CHECK(decoded);
}

/* ap_decode's exchange path (a switch on the field number) reads what the table-driven decoder
 * reads, from valid records and from damaged ones (bytes changed, cut, keys of other types,
 * fields repeated): the same status, length used and record, byte for byte. */
static void test_exchange_decode(void)
{
	int same = 1;

	for (int k = 0; k < 40000; k++) {
		static struct ap_record a, b, c;
		struct ap_exchange *x = &a.u.exchange;
		uint8_t buf[4096];
		size_t n, ub = 0, uc = 0;
		enum ap_dec_status sb, sc;

		memset(&a, 0, sizeof(a));
		ap_record_init(&a, AP_REC_EXCHANGE);
		ANY(x->id), ANY(x->conn_id), ANY(x->tid), ANY(x->port), ANY(x->status);
		ANY(x->category), ANY(x->provider), ANY(x->start_ns), ANY(x->req_sent_ns);
		ANY(x->first_byte_ns), ANY(x->end_ns), ANY(x->first_event_ns), ANY(x->dns_ns);
		ANY(x->usage.input), ANY(x->usage.output), ANY(x->request_hash), ANY(x->stack_id);
		ANY(x->grpc_status), ANY(x->provisional), ANY(x->events), ANY(x->bytes_received);
		ANY_STR(x->method), ANY_STR(x->path), ANY_STR(x->host), ANY_STR(x->agent);
		ANY_STR(x->request_model), ANY_STR(x->content_type);
		if (k % 8 == 1)
			for (size_t i = 0; i < sizeof(*x); i++)
				((uint8_t *)x)[i] = (uint8_t)(rand() % 4 ? rand() : 0);
		n = ap_encode(buf, sizeof(buf), &a);
		if (k % 2) { /* damage: change a few bytes of the payload, or cut it */
			for (int d = rand() % 4; d >= 0 && n > 3; d--)
				buf[3 + (size_t)rand() % (n - 3)] = (uint8_t)rand();
			if (rand() % 4 == 0 && n > 3)
				n = 3 + (size_t)rand() % (n - 3);
		}
		memset(&b, 0xa5, sizeof(b));
		memset(&c, 0xa5, sizeof(c));
		sb = ap_decode(buf, n, &b, &ub);
		sc = ap_decode_generic(buf, n, &c, &uc);
		if (sb != sc || (sb == AP_DEC_OK && (ub != uc || memcmp(&b, &c, sizeof(b)) != 0)))
			same = 0;
	}
	CHECK(same);
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* An exchange whose payload is fields[0..n) of (number, signed value), decoded. */
static void decode_exchange(const unsigned (*fields)[2], const int64_t *vals, size_t n,
			    struct ap_record *b)
{
	uint8_t buf[256];
	size_t o = 3, used;

	for (size_t i = 0; i < n; i++)
		o += unit_varint_field(buf + o, fields[i][0], zz(vals[i]));
	buf[0] = AP_REC_EXCHANGE;
	buf[1] = (uint8_t)((o - 3) | 0x80);
	buf[2] = (uint8_t)((o - 3) >> 7);
	CHECK_EQ_INT(ap_decode(buf, o, b, &used), AP_DEC_OK);
	CHECK_EQ_INT(used, o);
}

/* Format 2 writes the times after start_ns as offsets from it (fields 43-46); files of format
 * 1 hold them whole (18-20, 27) and still read the same. */
static void test_exchange_times(void)
{
	const int64_t t0 = 171234567890123, ms = 1000000;
	struct ap_record a, b;
	struct ap_exchange *x = &a.u.exchange;
	uint8_t buf[4096];
	size_t n_known, n_unknown, used;

	{ /* a format-1 record: absolute times in any field order */
		static const unsigned f[][2] = {{20, 0}, {17, 0}, {18, 0}, {19, 0}, {27, 0}};
		const int64_t v[] = {t0 + 9 * ms, t0, t0 + 1, t0 + 2 * ms, t0 + 3 * ms};

		decode_exchange(f, v, 5, &b);
		CHECK_EQ_INT(b.u.exchange.start_ns, t0);
		CHECK_EQ_INT(b.u.exchange.req_sent_ns, t0 + 1);
		CHECK_EQ_INT(b.u.exchange.first_byte_ns, t0 + 2 * ms);
		CHECK_EQ_INT(b.u.exchange.first_event_ns, t0 + 3 * ms);
		CHECK_EQ_INT(b.u.exchange.end_ns, t0 + 9 * ms);
	}
	{ /* offsets before their base, and a negative one */
		static const unsigned f[][2] = {{45, 0}, {44, 0}, {17, 0}};
		const int64_t v[] = {9 * ms, -5, t0};

		decode_exchange(f, v, 3, &b);
		CHECK_EQ_INT(b.u.exchange.end_ns, t0 + 9 * ms);
		CHECK_EQ_INT(b.u.exchange.first_byte_ns, t0 - 5);
		CHECK_EQ_INT(b.u.exchange.req_sent_ns, AP_UNKNOWN);
	}
	{ /* an offset without its base (a hostile file) stays unknown */
		static const unsigned f[][2] = {{45, 0}, {43, 0}};
		const int64_t v[] = {9 * ms, 1};

		decode_exchange(f, v, 2, &b);
		CHECK_EQ_INT(b.u.exchange.end_ns, AP_UNKNOWN);
		CHECK_EQ_INT(b.u.exchange.req_sent_ns, AP_UNKNOWN);
		CHECK_EQ_INT(b.u.exchange.start_ns, AP_UNKNOWN);
	}
	/* written: the end 9 ms after the start costs 6 bytes (key 2, varint 4), not 9 (2, 7) */
	ap_record_init(&a, AP_REC_EXCHANGE);
	x->start_ns = t0;
	n_unknown = ap_encode(buf, sizeof(buf), &a);
	x->end_ns = t0 + 9 * ms;
	n_known = ap_encode(buf, sizeof(buf), &a);
	CHECK_EQ_INT(n_known - n_unknown, 6);
	CHECK_EQ_INT(ap_decode(buf, n_known, &b, &used), AP_DEC_OK);
	CHECK_EQ_INT(b.u.exchange.end_ns, t0 + 9 * ms);
	/* without a start, the end is written whole (field 20) and read back */
	x->start_ns = AP_UNKNOWN;
	n_known = ap_encode(buf, sizeof(buf), &a);
	CHECK(n_known > 3 && buf[2] == (0x80 | (20 << 3 & 0x7f)) && buf[3] == (20 << 3) >> 7);
	CHECK_EQ_INT(ap_decode(buf, n_known, &b, &used), AP_DEC_OK);
	CHECK_EQ_INT(b.u.exchange.end_ns, t0 + 9 * ms);
	CHECK_EQ_INT(b.u.exchange.start_ns, AP_UNKNOWN);
}

static void test_header(void)
{
	uint8_t h[AP_HEADER_SIZE + 4];

	CHECK_EQ_INT(ap_encode_file_header(h, AP_HEADER_SIZE - 1), 0);
	CHECK_EQ_INT(ap_encode_file_header(h, sizeof(h)), AP_HEADER_SIZE);
	CHECK_EQ_INT(ap_decode_file_header(h, AP_HEADER_SIZE), AP_FORMAT_VERSION);
	CHECK(h[0] == 0x5a && h[1] == 0x2a && h[2] == 0x4d && h[3] == 0x18); /* zstd skippable */
	CHECK_EQ_INT(ap_decode_file_header(h, AP_HEADER_SIZE - 1), 0);
	h[9] ^= 1;
	CHECK_EQ_INT(ap_decode_file_header(h, AP_HEADER_SIZE), 0);
	h[9] ^= 1;
	h[0] = 0x28; /* an ordinary zstd frame */
	CHECK_EQ_INT(ap_decode_file_header(h, AP_HEADER_SIZE), 0);
}

int main(void)
{
	test_round_trip();
	test_unknown_fields();
	test_truncated();
	test_bad_and_skip();
	test_sequence_and_fuzz();
	test_exchange_fast_path();
	test_exchange_times();
	test_exchange_decode();
	test_header();
	UNIT_DONE();
}
