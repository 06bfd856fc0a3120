/*
 * gen_spans.c: the one generator of synthetic span files, for the viewer, export and benchmark
 * tests (built into build/targets/gen_spans, and sanitized as the unit test test_gen_spans):
 *   gen_spans scenario DIR NAME  write scripted scenario NAME's files into DIR (the viewer's golden
 *                                scenarios: seq, conc, spans, procs, findings, ..., t30/t31/t9x)
 *   gen_spans stacks DIR N [odd] a run of N exchanges (LLM, tool, memory) on 3 threads of a parent
 *                                process, some overlapping on one thread, inside manual spans,
 *                                with call stacks that point into this very binary (so they
 *                                symbolize to real function names: path_plan, path_review,
 *                                path_search), RSS/CPU counters, and a child process with its own
 *                                tool call (t41-t48, t97). "odd" gives names that exporters must
 *                                sanitise: "my model 42", "a;b c 7", a quote in a host.
 *   gen_spans flat FILE N [distinct]
 *                                one file, one process and N exchanges (one zstd frame per 10,000
 *                                records), for large-file tests and the viewer benchmarks (t71,
 *                                scripts/bench-viewer.sh); with "distinct", every tool call has its
 *                                own path with a query string ("/tool/item/17?page=17").
 *   gen_spans                    self-test: every scenario and both other shapes encode and decode.
 * Scenario times are milliseconds from the run start; every process gets its own monotonic base so
 * the viewer's anchoring (mono - start_ns + start_real_ns) is exercised.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "ap_codec.h"
#include "ap_records.h"
#include "unit.h"

/* ---- the writer and the scripted scenarios (gen_spans scenario DIR NAME) ---------------- */

#define REAL0 1763700000000000000ll /* 2025-11-21 04:40:00 UTC */
#define MS    1000000ll

struct gen {
	int fd;
	int64_t mono0; /* this process's monotonic time at run start */
	uint8_t buf[1 << 20];
	size_t n;
	int frames;
};

static int64_t T(const struct gen *g, double ms)
{
	return g->mono0 + (int64_t)(ms * MS);
}

static void gen_flush(struct gen *g)
{
	size_t cap = ZSTD_compressBound(g->n);
	uint8_t *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t k;

	if (!g->n || !out || !c)
		goto out;
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	k = ZSTD_compress2(c, out, cap, g->buf, g->n);
	if (ZSTD_isError(k) || write(g->fd, out, k) != (ssize_t)k) {
		perror("gen_spans: write");
		exit(1);
	}
	g->frames++;
	g->n = 0;
out:
	ZSTD_freeCCtx(c);
	free(out);
}

static void put(struct gen *g, const struct ap_record *r)
{
	size_t k = ap_encode(g->buf + g->n, sizeof(g->buf) - g->n, r);

	if (!k) {
		gen_flush(g);
		k = ap_encode(g->buf, sizeof(g->buf), r);
	}
	g->n += k;
}

static int gen_open(struct gen *g, const char *dir, const char *prog, int pid, double mono0_s)
{
	char path[4096];
	uint8_t hdr[AP_HEADER_SIZE];

	snprintf(path, sizeof(path), "%s/agentprof.%s.%d.zst", dir, prog, pid);
	memset(g, 0, sizeof(*g));
	g->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	g->mono0 = (int64_t)(mono0_s * 1e9);
	ap_encode_file_header(hdr, sizeof(hdr));
	return g->fd >= 0 && write(g->fd, hdr, sizeof(hdr)) == sizeof(hdr) ? 0 : -1;
}

static void gen_close(struct gen *g)
{
	gen_flush(g);
	close(g->fd);
}

static void set_argv(char *dst, size_t cap, uint32_t *argc, const char *const *argv)
{
	size_t o = 0;

	*argc = 0;
	for (; *argv && o + strlen(*argv) + 1 < cap; argv++) {
		memcpy(dst + o, *argv, strlen(*argv) + 1);
		o += strlen(*argv) + 1;
		(*argc)++;
	}
}

static void process(struct gen *g, int pid, int ppid, double start_ms, const char *exe,
		    const char *const *argv, const char *agent, uint32_t ppm)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROCESS);
	r.u.process.pid = pid;
	r.u.process.ppid = ppid;
	snprintf(r.u.process.exe, sizeof(r.u.process.exe), "%s", exe);
	set_argv(r.u.process.argv, sizeof(r.u.process.argv), &r.u.process.argc, argv);
	r.u.process.start_ns = T(g, start_ms);
	r.u.process.start_real_ns = REAL0 + (int64_t)(start_ms * MS);
	snprintf(r.u.process.agent, sizeof(r.u.process.agent), "%s", agent ? agent : "");
	r.u.process.sample_ppm = ppm;
	r.u.process.format_version = AP_FORMAT_VERSION;
	snprintf(r.u.process.tool_version, sizeof(r.u.process.tool_version), "test");
	put(g, &r);
	gen_flush(g); /* the process record is alone in the first frame */
}

static void process_end(struct gen *g, double end_ms, int code, uint64_t dropped)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROCESS_END);
	r.u.process_end.end_ns = T(g, end_ms);
	r.u.process_end.exit_code = code;
	r.u.process_end.dropped = dropped;
	r.u.process_end.dropped_bytes = dropped * 100;
	r.u.process_end.overhead_ns = 2 * MS;
	r.u.process_end.calls = 1000;
	r.u.process_end.clean = 1;
	put(g, &r);
}

/* One exchange; fb_ms < 0 means no first byte seen. */
struct xspec {
	uint32_t tid;
	int cat, prov;
	const char *host, *method, *path, *req_model, *resp_model;
	int port, status, stream;
	double start, fb, end; /* ms */
	int64_t in, out, cache_read, reasoning;
	uint64_t hash, span, conn;
	int new_conn;
	double connect_ms, tls_ms;
	const char *agent;
};

static uint64_t next_xid = 1;

static void exchange(struct gen *g, const struct xspec *s)
{
	struct ap_record r;
	struct ap_exchange *x = &r.u.exchange;

	ap_record_init(&r, AP_REC_EXCHANGE);
	x->id = next_xid++;
	x->conn_id = s->conn ? s->conn : x->id;
	x->tid = s->tid;
	snprintf(x->method, sizeof(x->method), "%s", s->method ? s->method : "POST");
	snprintf(x->path, sizeof(x->path), "%s", s->path ? s->path : "/");
	snprintf(x->host, sizeof(x->host), "%s", s->host);
	x->port = s->port ? s->port : 443;
	x->status = s->status ? s->status : 200;
	x->category = (uint8_t)s->cat;
	x->provider = (uint8_t)s->prov;
	x->visibility = AP_VIS_PLAINTEXT;
	x->tls = x->port == 443;
	x->stream = (uint8_t)s->stream;
	x->new_conn = (uint8_t)s->new_conn;
	x->start_ns = T(g, s->start);
	x->req_sent_ns = T(g, s->start + 1);
	if (s->fb >= 0)
		x->first_byte_ns = T(g, s->fb);
	x->end_ns = T(g, s->end);
	if (s->stream && s->fb >= 0)
		x->first_event_ns = T(g, s->fb);
	if (s->connect_ms > 0)
		x->connect_ns = (int64_t)(s->connect_ms * MS);
	if (s->tls_ms > 0)
		x->tls_ns = (int64_t)(s->tls_ms * MS);
	x->bytes_sent = 500;
	x->bytes_received = 800;
	snprintf(x->request_model, sizeof(x->request_model), "%s",
		 s->req_model ? s->req_model : "");
	snprintf(x->response_model, sizeof(x->response_model), "%s",
		 s->resp_model ? s->resp_model : "");
	if (s->in)
		x->usage.input = s->in;
	if (s->out)
		x->usage.output = s->out;
	if (s->cache_read)
		x->usage.cache_read = s->cache_read;
	if (s->reasoning)
		x->usage.reasoning = s->reasoning;
	x->request_hash = s->hash ? s->hash : 0x1000 + x->id;
	x->span_id = s->span;
	snprintf(x->agent, sizeof(x->agent), "%s", s->agent ? s->agent : "");
	put(g, &r);
	if (s->cat == AP_CAT_LLM)
		gen_flush(g); /* the preload writes an LLM exchange when it completes */
}

static void span(struct gen *g, uint64_t id, uint64_t parent, uint32_t tid, const char *name,
		 int cat, double a, double b, const char *agent)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_SPAN);
	r.u.span.id = id;
	r.u.span.parent_id = parent;
	r.u.span.tid = tid;
	snprintf(r.u.span.name, sizeof(r.u.span.name), "%s", name);
	r.u.span.category = (uint8_t)cat;
	r.u.span.start_ns = T(g, a);
	r.u.span.end_ns = T(g, b);
	snprintf(r.u.span.agent, sizeof(r.u.span.agent), "%s", agent ? agent : "");
	put(g, &r);
}

static void pevent(struct gen *g, int kind, uint32_t tid, double a, double b, int child,
		   const char *path, int profiled)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROC_EVENT);
	r.u.proc_event.kind = (uint8_t)kind;
	r.u.proc_event.tid = tid;
	r.u.proc_event.time_ns = T(g, a);
	if (b >= 0)
		r.u.proc_event.end_ns = T(g, b);
	r.u.proc_event.child_pid = child;
	snprintf(r.u.proc_event.path, sizeof(r.u.proc_event.path), "%s", path);
	r.u.proc_event.profiled = (uint8_t)profiled;
	put(g, &r);
}

static void diag(struct gen *g, int code, double t, const char *msg)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_DIAG);
	r.u.diag.code = (uint32_t)code;
	r.u.diag.time_ns = T(g, t);
	snprintf(r.u.diag.msg, sizeof(r.u.diag.msg), "%s", msg);
	put(g, &r);
}

/* --- scenarios ------------------------------------------------------------------------------ */

static const char *const py_agent[] = {"python3", "agent.py", NULL};

static struct xspec llm(uint32_t tid, double a, double fb, double b)
{
	return (struct xspec){.tid = tid,
			      .cat = AP_CAT_LLM,
			      .prov = AP_PROV_OPENAI,
			      .host = "api.openai.com",
			      .path = "/v1/chat/completions",
			      .req_model = "gpt-4o",
			      .resp_model = "gpt-4o-2024-08-06",
			      .start = a,
			      .fb = fb,
			      .end = b,
			      .in = 1000,
			      .out = 100,
			      .stream = 1};
}

static struct xspec tool(uint32_t tid, double a, double fb, double b)
{
	return (struct xspec){.tid = tid,
			      .cat = AP_CAT_TOOL,
			      .host = "api.search.example",
			      .method = "GET",
			      .path = "/search?q=weather",
			      .start = a,
			      .fb = fb,
			      .end = b};
}

static struct xspec memory(uint32_t tid, double a, double b)
{
	return (struct xspec){.tid = tid,
			      .cat = AP_CAT_MEMORY,
			      .host = "localhost",
			      .port = 6379,
			      .method = "",
			      .path = "",
			      .status = 0,
			      .start = a,
			      .fb = b - 1,
			      .end = b};
}

/* Three LLM calls one after another on one thread, then a slow tool, then a memory call. */
static int sc_seq(const char *dir)
{
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "python3", 100, 1000))
		return -1;
	process(&g, 100, 99, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 0; i < 3; i++) {
		x = llm(100, 100 + i * 810, 500 + i * 810, 900 + i * 810);
		x.new_conn = i == 0;
		x.conn = 7;
		exchange(&g, &x);
	}
	x = tool(100, 2600, 3150, 3200);
	exchange(&g, &x);
	x = memory(100, 3300, 3305);
	exchange(&g, &x);
	process_end(&g, 4000, 0, 0);
	gen_close(&g);
	return 0;
}

/* The same three LLM calls, concurrent on three threads. */
static int sc_conc(const char *dir)
{
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "python3", 200, 2000))
		return -1;
	process(&g, 200, 199, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 0; i < 3; i++) {
		x = llm(201 + i, 100 + i * 50, 500 + i * 50, 900 + i * 50);
		exchange(&g, &x);
	}
	x = tool(200, 1100, 1650, 1700);
	exchange(&g, &x);
	x = memory(200, 1800, 1805);
	exchange(&g, &x);
	process_end(&g, 2000, 0, 0);
	gen_close(&g);
	return 0;
}

/* Nested manual spans with exchanges inside, and agent labels. */
static int sc_spans(const char *dir)
{
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "python3", 300, 3000))
		return -1;
	process(&g, 300, 299, 0, "/usr/bin/python3", py_agent, "demo-agent", 0);
	x = llm(300, 200, 600, 900);
	x.span = 2;
	exchange(&g, &x);
	x = tool(300, 1100, 1450, 1500);
	x.span = 3;
	exchange(&g, &x);
	span(&g, 2, 1, 300, "plan", AP_CAT_LLM, 150, 1000, "planner");
	span(&g, 3, 1, 300, "search", AP_CAT_TOOL, 1000, 1800, NULL);
	span(&g, 1, 0, 300, "agent-step", AP_CAT_UNKNOWN, 100, 1900, NULL);
	process_end(&g, 2000, 0, 0);
	gen_close(&g);
	return 0;
}

/* A shell that spawns a profiled python child (LLM call) and an unprofiled sleep. */
static int sc_procs(const char *dir)
{
	static const char *const sh[] = {"bash", "run.sh", NULL};
	static const char *const py[] = {"python3", "tool.py", "--fast", NULL};
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "bash", 400, 4000))
		return -1;
	process(&g, 400, 1, 0, "/usr/bin/bash", sh, NULL, 0);
	pevent(&g, AP_PEV_SPAWN, 400, 100, 2100, 401, "/usr/bin/python3", 1);
	x = tool(400, 2200, 2450, 2500);
	exchange(&g, &x);
	pevent(&g, AP_PEV_SPAWN, 400, 2600, 2900, 402, "/bin/sleep", 0);
	diag(&g, AP_DIAG_STATIC_CHILD, 2600, "exec of /bin/sleep: not profiled");
	process_end(&g, 3000, 0, 0);
	gen_close(&g);

	if (gen_open(&g, dir, "python3", 401, 77)) /* a different monotonic base */
		return -1;
	process(&g, 401, 400, 150, "/usr/bin/python3", py, NULL, 0);
	x = llm(401, 300, 700, 1300);
	x.prov = AP_PROV_ANTHROPIC;
	x.host = "api.anthropic.com";
	x.path = "/v1/messages";
	x.req_model = "claude-haiku-4-5";
	x.resp_model = "claude-haiku-4-5-20251001";
	x.in = 2000;
	x.out = 200;
	x.cache_read = 500;
	exchange(&g, &x);
	process_end(&g, 2000, 3, 5);
	gen_close(&g);
	return 0;
}

/* Ten sequential gpt-4o-mini calls: 100..1000 ms (A) or 150..1500 ms with twice the tokens (B). */
static int sc_regress(const char *dir, double scale, int64_t tok)
{
	struct gen g;
	double t = 100;

	if (gen_open(&g, dir, "python3", 500, 5000))
		return -1;
	process(&g, 500, 499, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 1; i <= 10; i++) {
		struct xspec x = llm(500, t, t + 50 * i * scale, t + 100 * i * scale);

		x.req_model = x.resp_model = "gpt-4o-mini";
		x.in = tok;
		x.out = tok / 10;
		x.stream = 0;
		exchange(&g, &x);
		t += 100 * i * scale + 200;
	}
	process_end(&g, t + 100, 0, 0);
	gen_close(&g);
	return 0;
}

/* Patterns for bottlenecks: repeats, slow first byte, no reuse, heavy prompts, many tool calls. */
static int sc_findings(const char *dir)
{
	struct gen g;

	if (gen_open(&g, dir, "python3", 600, 6000))
		return -1;
	process(&g, 600, 599, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 0; i < 4; i++) {
		double a = 200 + i * 2600;
		struct xspec x = llm(600, a, a + 1500, a + 2000);

		x.new_conn = 1;
		x.connect_ms = 20;
		x.tls_ms = 50;
		x.in = 100000;
		x.out = 100;
		x.hash = i < 3 ? 0xabcull : 0;
		x.conn = 10 + (uint64_t)i;
		exchange(&g, &x);
	}
	for (int j = 0; j < 25; j++) {
		struct xspec x = tool(601, 300 + j * 20, 308 + j * 20, 310 + j * 20);

		x.host = "tools.internal";
		x.port = 8080;
		x.path = "/lookup";
		x.conn = 99;
		exchange(&g, &x);
	}
	process_end(&g, 10100, 0, 0);
	gen_close(&g);
	return 0;
}

/* The same 100k-token prompts to a 128k-token model (gpt-4o: context pressure) and to a
 * 1M-token one (gpt-4.1: none), interleaved, so that a window remembered for the wrong model
 * shows. */
static int sc_windows(const char *dir)
{
	struct gen g;

	if (gen_open(&g, dir, "python3", 800, 8000))
		return -1;
	process(&g, 800, 799, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 0; i < 4; i++) {
		double a = 100 + i * 500;
		struct xspec x = llm(800, a, a + 100, a + 400);

		if (i % 2) {
			x.req_model = "gpt-4.1";
			x.resp_model = "gpt-4.1-2025-04-14";
		}
		x.in = 100000;
		x.conn = 20;
		exchange(&g, &x);
	}
	process_end(&g, 2500, 0, 0);
	gen_close(&g);
	return 0;
}

/* Exchanges recorded at 25% (AGENTPROF_SAMPLE=0.25). */
static int sc_sampled(const char *dir)
{
	struct gen g;

	if (gen_open(&g, dir, "python3", 700, 7000))
		return -1;
	process(&g, 700, 699, 0, "/usr/bin/python3", py_agent, NULL, 250000);
	for (int i = 0; i < 2; i++) {
		struct xspec x = llm(700, 100 + i * 1000, 300 + i * 1000, 600 + i * 1000);

		exchange(&g, &x);
	}
	process_end(&g, 2000, 0, 0);
	gen_close(&g);
	return 0;
}

/* Strings that need escaping, unknown usage, an unfinished process (no end record). */
static int sc_odd(const char *dir)
{
	static const char *const argv[] = {"odd\"prog",	   "tab\there",	      "nl\nx",
					   "\xff\xfe bad", "\xe2\x82\xac ok", NULL};
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "odd", 800, 8000))
		return -1;
	process(&g, 800, 799, 0, "/tmp/odd\\exe", argv, "agent\x01\"x", 0);
	x = llm(800, 100, -1, 300);
	x.in = x.out = 0; /* usage unknown */
	x.req_model = "weird\x7fmodel\"";
	x.resp_model = NULL;
	x.path = "/v1/chat/completions?key=REDACTED";
	x.status = 500;
	x.prov = AP_PROV_OPENAI_COMPATIBLE;
	x.host = "llm.local";
	exchange(&g, &x);
	gen_close(&g); /* no PROCESS_END: killed */
	return 0;
}

/* Many exchanges (AP_GEN_COUNT, default 100000) on 8 threads, for timing the viewer. */
static int sc_bulk(const char *dir)
{
	const char *env = getenv("AP_GEN_COUNT");
	long n = env ? atol(env) : 100000;
	struct gen g;

	if (gen_open(&g, dir, "python3", 900, 9000))
		return -1;
	process(&g, 900, 899, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (long i = 0; i < n; i++) {
		double a = (double)i * 0.5;
		struct xspec x = i % 3 ? tool(900 + (uint32_t)(i % 8), a, a + 2, a + 3)
				       : llm(900 + (uint32_t)(i % 8), a, a + 2, a + 3);

		x.hash = (uint64_t)(i % 1000) + 1;
		x.conn = (uint64_t)(i % 64) + 1;
		exchange(&g, &x);
	}
	process_end(&g, (double)n * 0.5 + 10, 0, 0);
	gen_close(&g);
	return 0;
}

/*
 * A pyenv-style shim: bash (pid 1000) forks 41 bash, 16 env and 5 readlink helpers (2 ms each,
 * no exchanges), then execs python3, which makes 9 LLM calls on one keep-alive connection.
 */
static int sc_shim(const char *dir)
{
	static const char *const shim[] = {"bash", "/home/u/.pyenv/shims/python3", "agent.py",
					   NULL};
	static const char *const progs[][2] = {{"/usr/bin/bash", "bash"},
					       {"/usr/bin/env", "env"},
					       {"/usr/bin/readlink", "readlink"}};
	static const int counts[] = {41, 16, 5};
	struct gen g;
	int pid = 1001;
	double t = 10;

	if (gen_open(&g, dir, "bash", 1000, 10000))
		return -1;
	process(&g, 1000, 999, 0, "/usr/bin/bash", shim, NULL, 0);
	process_end(&g, 200, 0, 0);
	gen_close(&g);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < counts[k]; i++, pid++, t += 3) {
			const char *const argv[] = {progs[k][1], "--x", NULL};

			if (gen_open(&g, dir, progs[k][1], pid, 10000 + pid))
				return -1;
			process(&g, pid, 1000, t, progs[k][0], argv, NULL, 0);
			process_end(&g, t + 2, 0, 0);
			gen_close(&g);
		}
	if (gen_open(&g, dir, "python3", 1000, 20000))
		return -1;
	process(&g, 1000, 999, 201, "/usr/bin/python3.12", py_agent, NULL, 0);
	for (int i = 0; i < 9; i++) {
		struct xspec x = llm(1000, 300 + i * 400, 500 + i * 400, 650 + i * 400);

		x.conn = 5;
		x.new_conn = i == 0;
		exchange(&g, &x);
	}
	process_end(&g, 4000, 0, 0);
	gen_close(&g);
	return 0;
}

/* A 300-exchange agent loop: 100 iterations of gpt-4o, a search tool, gpt-4o, back to back. */
static int sc_loop(const char *dir)
{
	struct gen g;
	double t = 10;

	if (gen_open(&g, dir, "python3", 1100, 11000))
		return -1;
	process(&g, 1100, 1099, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 0; i < 100; i++) {
		struct xspec a = llm(1100, t, t + 20, t + 40),
			     s = tool(1100, t + 41, t + 45, t + 50),
			     b = llm(1100, t + 51, t + 70, t + 90);

		a.conn = b.conn = 3;
		s.conn = 4;
		s.hash = 0x5000 + (uint64_t)i;
		exchange(&g, &a);
		exchange(&g, &s);
		exchange(&g, &b);
		t += 95;
	}
	process_end(&g, t + 10, 0, 0);
	gen_close(&g);
	return 0;
}

/* Two calls on two threads ending at the same instant, one started 200 ms earlier: the
 * critical path takes the longer one whole (equal ends: the earliest start wins). */
static int sc_ties(const char *dir)
{
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "python3", 1300, 13000))
		return -1;
	process(&g, 1300, 1299, 0, "/usr/bin/python3", py_agent, NULL, 0);
	x = llm(1302, 300, 400, 900);
	x.req_model = x.resp_model = "gpt-4o-mini";
	exchange(&g, &x);
	x = llm(1301, 100, 400, 900);
	exchange(&g, &x);
	process_end(&g, 1000, 0, 0);
	gen_close(&g);
	return 0;
}

/* Two concurrent 150 ms calls (the second starts 0.228 ms later), then a Gemini call. */
static int sc_pair(const char *dir)
{
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "python3", 1200, 12000))
		return -1;
	process(&g, 1200, 1199, 0, "/usr/bin/python3", py_agent, NULL, 0);
	x = llm(1201, 100, 200, 250);
	exchange(&g, &x);
	x = llm(1202, 100.228, 200, 250.228);
	x.req_model = x.resp_model = "gpt-4o-mini";
	exchange(&g, &x);
	x = llm(1200, 260, 400, 500);
	x.prov = AP_PROV_GEMINI;
	x.host = "generativelanguage.googleapis.com";
	x.path = "/v1beta/models/gemini-2.0-flash:generateContent";
	x.req_model = x.resp_model = "gemini-2.0-flash";
	exchange(&g, &x);
	process_end(&g, 600, 0, 0);
	gen_close(&g);
	return 0;
}

/*
 * Retries and repeats: one request rate-limited twice (429, 429, then 200 after backoff), and one
 * tool request answered 200 three times (a cacheable repeat). PORT picks the providers' port.
 */
static int sc_retry_port(const char *dir, int port)
{
	struct gen g;
	struct xspec x;

	if (gen_open(&g, dir, "python3", 1300, 13000))
		return -1;
	process(&g, 1300, 1299, 0, "/usr/bin/python3", py_agent, NULL, 0);
	for (int i = 0; i < 3; i++) {
		x = llm(1300, 100 + i * 600, 150 + i * 600, i < 2 ? 160 + i * 600 : 500 + i * 600);
		x.status = i < 2 ? 429 : 200;
		x.hash = 0x429;
		x.port = port;
		exchange(&g, &x);
	}
	for (int i = 0; i < 3; i++) {
		x = tool(1300, 2000 + i * 300, 2100 + i * 300, 2200 + i * 300);
		x.hash = 0x777;
		x.port = port;
		exchange(&g, &x);
	}
	process_end(&g, 3000, 0, 0);
	gen_close(&g);
	return 0;
}

static int sc_retry(const char *dir)
{
	return sc_retry_port(dir, 443);
}

static int sc_retry_8443(const char *dir)
{
	return sc_retry_port(dir, 8443);
}

static const struct {
	const char *name;
	int (*fn)(const char *dir);
} scenarios[] = {
	{"bulk", sc_bulk},	 {"seq", sc_seq},	  {"conc", sc_conc},
	{"spans", sc_spans},	 {"procs", sc_procs},	  {"findings", sc_findings},
	{"sampled", sc_sampled}, {"windows", sc_windows}, {"odd", sc_odd},
	{"shim", sc_shim},	 {"loop", sc_loop},	  {"pair", sc_pair},
	{"ties", sc_ties},	 {"retry", sc_retry},	  {"retry-8443", sc_retry_8443},
};

static int run_scenario(const char *dir, const char *name)
{
	if (!strcmp(name, "regress-a"))
		return sc_regress(dir, 1.0, 1000);
	if (!strcmp(name, "regress-b"))
		return sc_regress(dir, 1.5, 2000);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return scenarios[i].fn(dir);
	fprintf(stderr, "gen_spans: unknown scenario '%s'\n", name);
	return -1;
}

/* ---- a run with real stacks into this binary (gen_spans stacks DIR N [odd]) ---------------- */

#define NOINLINE __attribute__((noinline, used))

static void stk_open(struct gen *g, const char *dir, const char *prog, int pid, int64_t mono0)
{
	if (gen_open(g, dir, prog, pid, (double)mono0 / 1e9) < 0) {
		fprintf(stderr, "gen_spans: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
}

static uint64_t bias, lo, hi;
static char stk_exe[256], stk_bid[41];

NOINLINE void path_plan(void)
{
	__asm__ volatile("nop");
}

NOINLINE void path_review(void)
{
	__asm__ volatile("nop");
}

NOINLINE void path_search(void)
{
	__asm__ volatile("nop");
}

NOINLINE void agent_step(void)
{
	__asm__ volatile("nop");
}

static void stk_process(struct gen *g, int pid, int ppid, const char *path, const char *argv0,
			int64_t real_off)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROCESS);
	r.u.process.pid = pid;
	r.u.process.ppid = ppid;
	snprintf(r.u.process.exe, sizeof(r.u.process.exe), "%s", path);
	snprintf(r.u.process.argv, sizeof(r.u.process.argv), "%s", argv0);
	r.u.process.argc = 1;
	r.u.process.start_ns = g->mono0;
	r.u.process.start_real_ns = REAL0 + real_off;
	r.u.process.sample_ppm = 1000000;
	r.u.process.format_version = AP_FORMAT_VERSION;
	snprintf(r.u.process.tool_version, sizeof(r.u.process.tool_version), "gen");
	put(g, &r);
}

static int stk_phdr(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t a = UINT64_MAX, b = 0;

	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD) {
			a = ph->p_vaddr < a ? ph->p_vaddr : a;
			b = ph->p_vaddr + ph->p_memsz > b ? ph->p_vaddr + ph->p_memsz : b;
		}
		if (ph->p_type == PT_NOTE) {
			const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
			size_t off = 0;

			while (off + 12 <= ph->p_memsz) {
				const ElfW(Nhdr) *nh = (const void *)(p + off);
				size_t name = off + 12, desc = name + ((nh->n_namesz + 3) & ~3u);

				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4)
					for (unsigned k = 0; k < nh->n_descsz && k < 20; k++)
						sprintf(stk_bid + 2 * k, "%02x", p[desc + k]);
				off = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	bias = info->dlpi_addr;
	lo = bias + a;
	hi = bias + b;
	return 1; /* the first object is the program */
}

static void stk_module(struct gen *g)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_MODULE);
	r.u.module.id = 1;
	r.u.module.base = bias;
	r.u.module.start = lo;
	r.u.module.end = hi;
	snprintf(r.u.module.path, sizeof(r.u.module.path), "%s", stk_exe);
	snprintf(r.u.module.build_id, sizeof(r.u.module.build_id), "%s", stk_bid);
	put(g, &r);
}

/* Stack ids 1..3: main-ish frame, agent_step, then the path function (innermost first). */
static void stk_stacks(struct gen *g)
{
	void (*paths[3])(void) = {path_plan, path_review, path_search};

	for (int i = 0; i < 3; i++) {
		struct ap_record r;

		ap_record_init(&r, AP_REC_STACK);
		r.u.stack.id = (uint64_t)i + 1;
		r.u.stack.nframes = 2;
		r.u.stack.frames[0] = (uint64_t)(uintptr_t)paths[i] + 2;
		r.u.stack.frames[1] = (uint64_t)(uintptr_t)agent_step + 2;
		put(g, &r);
	}
}

static const char *stk_models[] = {"gpt-4o", "claude-sonnet-4-5", "gemini-2.0-flash"};
static const char *stk_tool_host = "api.github.com";
static const int stk_provs[] = {AP_PROV_OPENAI, AP_PROV_ANTHROPIC, AP_PROV_GEMINI};
static const char *const stk_hosts[] = {"api.openai.com", "api.anthropic.com",
					"generativelanguage.googleapis.com"};
static const char *const stk_llm_paths[] = {"/v1/chat/completions", "/v1/messages",
					    "/v1beta/models/gemini-2.0-flash:generateContent"};

static void stk_exchange(struct gen *g, uint64_t id, uint32_t tid, int kind, int64_t a, int64_t dur,
			 uint64_t span)
{
	struct ap_record r;
	struct ap_exchange *x = &r.u.exchange;

	ap_record_init(&r, AP_REC_EXCHANGE);
	x->id = id;
	x->conn_id = 100 + tid;
	x->tid = tid;
	snprintf(x->method, sizeof(x->method), "POST");
	x->port = 443;
	x->tls = 1;
	x->visibility = AP_VIS_PLAINTEXT;
	x->status = 200;
	x->start_ns = g->mono0 + a;
	x->req_sent_ns = x->start_ns + dur / 50;
	x->first_byte_ns = x->start_ns + dur / 3;
	x->end_ns = x->start_ns + dur;
	x->bytes_sent = 900;
	x->bytes_received = 1500;
	x->span_id = span;
	if (kind < 3) { /* llm */
		x->category = AP_CAT_LLM;
		x->provider = (uint8_t)stk_provs[kind];
		snprintf(x->host, sizeof(x->host), "%s", stk_hosts[kind]);
		snprintf(x->path, sizeof(x->path), "%s", stk_llm_paths[kind]);
		snprintf(x->request_model, sizeof(x->request_model), "%s", stk_models[kind]);
		snprintf(x->response_model, sizeof(x->response_model), "%s-2025", stk_models[kind]);
		x->usage.input = 1000 + (int64_t)(id % 97);
		x->usage.output = 50 + (int64_t)(id % 13);
		x->usage.cache_read = kind == 1 ? 200 : AP_UNKNOWN;
		x->stream = kind == 1;
		if (x->stream) {
			x->events = 20;
			x->first_event_ns = x->first_byte_ns + MS;
		}
		x->stack_id = (uint64_t)kind + 1; /* plan, review, search */
		if (id % 50 == 7)
			x->status = 429;
	} else {
		x->category = kind == 3 ? AP_CAT_TOOL : AP_CAT_MEMORY;
		snprintf(x->host, sizeof(x->host), "%s", kind == 3 ? stk_tool_host : "redis.local");
		snprintf(x->path, sizeof(x->path), "%s", kind == 3 ? "/search/code?q=x" : "/");
		x->stack_id = 3;
	}
	put(g, &r);
}

static void stk_span(struct gen *g, uint64_t id, uint32_t tid, const char *name, int64_t a,
		     int64_t b)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_SPAN);
	r.u.span.id = id;
	r.u.span.tid = tid;
	snprintf(r.u.span.name, sizeof(r.u.span.name), "%s", name);
	r.u.span.start_ns = g->mono0 + a;
	r.u.span.end_ns = g->mono0 + b;
	put(g, &r);
}

static void stk_counter(struct gen *g, int kind, int64_t t, int64_t v)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_COUNTER);
	r.u.counter.kind = (uint8_t)kind;
	r.u.counter.time_ns = g->mono0 + t;
	r.u.counter.value = v;
	put(g, &r);
}

static void stk_end(struct gen *g, int64_t t)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROCESS_END);
	r.u.process_end.end_ns = g->mono0 + t;
	r.u.process_end.exit_code = 0;
	r.u.process_end.clean = 1;
	put(g, &r);
	gen_close(g);
}

static int stacks_main(int argc, char **argv)
{
	static struct gen g;
	int n = argc > 2 ? atoi(argv[2]) : 100;
	int64_t t = 10 * MS, dur;
	uint64_t id = 1, sid = 1000;
	struct ap_record r;

	if (argc < 2 || n < 1) {
		fprintf(stderr, "usage: gen_spans stacks DIR N [odd]\n");
		return 2;
	}
	if (argc > 3 && !strcmp(argv[3], "odd")) {
		stk_models[0] = "my model 42";
		stk_models[1] = "a;b c 7";
		stk_tool_host = "odd\"host\\x";
	}
	if (readlink("/proc/self/exe", stk_exe, sizeof(stk_exe) - 1) < 0)
		return 1;
	dl_iterate_phdr(stk_phdr, NULL);
	stk_open(&g, argv[1], "agent", 4242, 5000 * MS);
	stk_process(&g, 4242, 1, "/usr/bin/python3", "python3", 0);
	stk_module(&g);
	stk_stacks(&g);
	for (int i = 0; i < n; i++) {
		uint32_t tid = 4242 + (uint32_t)(i % 3);
		int kind = i % 5;

		dur = (20 + (i * 37) % 400) * MS / (n > 1000 ? 100 : 1);
		if (i % 10 == 0) { /* a manual span around the next exchanges of the main thread */
			stk_span(&g, ++sid, 4242, i % 20 ? "plan" : "review", t - MS / 10,
				 t + 4 * dur + MS);
		}
		stk_exchange(&g, id++, tid, kind, t, dur, tid == 4242 ? sid : 0);
		if (i % 7 == 3) /* an overlapping request on the same thread (async client) */
			stk_exchange(&g, id++, tid, (kind + 1) % 3, t + dur / 4, dur, 0);
		t += dur / 3 + MS / 10;
		if (i % 25 == 0) {
			stk_counter(&g, AP_CNT_RSS_BYTES, t, (100 + i % 50) * 1048576ll);
			stk_counter(&g, AP_CNT_CPU_USER_NS, t, t / 4);
			stk_counter(&g, AP_CNT_CPU_SYS_NS, t, t / 20);
		}
	}
	ap_record_init(&r, AP_REC_PROC_EVENT);
	r.u.proc_event.kind = AP_PEV_SPAWN;
	r.u.proc_event.tid = 4242;
	r.u.proc_event.time_ns = g.mono0 + t;
	r.u.proc_event.end_ns = g.mono0 + t + 30 * MS;
	r.u.proc_event.child_pid = 4300;
	r.u.proc_event.status = 0;
	r.u.proc_event.profiled = 1;
	snprintf(r.u.proc_event.path, sizeof(r.u.proc_event.path), "/usr/bin/rg");
	put(&g, &r);
	stk_end(&g, t + 40 * MS);

	/* the child: its own monotonic base; it starts 1 ms after the spawn */
	stk_open(&g, argv[1], "rg", 4300, 9000 * MS);
	stk_process(&g, 4300, 4242, "/usr/bin/rg", "rg", t + MS);
	stk_exchange(&g, 1, 4300, 3, 2 * MS, 10 * MS, 0);
	stk_end(&g, 25 * MS);
	return 0;
}

/* ---- one big flat file (gen_spans flat FILE N [distinct]) ------------------------------- */

static void frame(FILE *f, const uint8_t *buf, size_t n)
{
	size_t cap = ZSTD_compressBound(n), z;
	void *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
	z = ZSTD_compress2(c, out, cap, buf, n);
	fwrite(out, 1, z, f);
	ZSTD_freeCCtx(c);
	free(out);
}

static int flat_main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	size_t cap = 16u << 20, len = 0;
	uint8_t *buf = malloc(cap), hdr[AP_HEADER_SIZE];
	struct ap_record r;
	FILE *f = fopen(argv[1], "wb");
	int64_t t = 1000000000;
	int distinct = argc > 3 && !strcmp(argv[3], "distinct");

	if (!f || !buf)
		return 2;
	fwrite(hdr, 1, ap_encode_file_header(hdr, sizeof(hdr)), f);
	ap_record_init(&r, AP_REC_PROCESS);
	r.u.process.pid = 4242;
	r.u.process.ppid = 1;
	strcpy(r.u.process.exe, "/usr/bin/python3");
	memcpy(r.u.process.argv, "python3\0agent.py", 17);
	r.u.process.argc = 2;
	r.u.process.start_ns = t;
	r.u.process.start_real_ns = 1763700000000000000ll;
	r.u.process.format_version = AP_FORMAT_VERSION;
	len += ap_encode(buf + len, cap - len, &r);
	for (long i = 0; i < n; i++) {
		ap_record_init(&r, AP_REC_EXCHANGE);
		r.u.exchange.id = (uint64_t)i + 10;
		r.u.exchange.conn_id = (uint64_t)(i % 50) + 1;
		r.u.exchange.tid = 4242 + (uint32_t)(i % 4);
		strcpy(r.u.exchange.method, i % 3 ? "POST" : "GET");
		strcpy(r.u.exchange.path, i % 3 ? "/v1/chat/completions" : "/tool/search");
		if (distinct && !(i % 3))
			snprintf(r.u.exchange.path, sizeof(r.u.exchange.path),
				 "/tool/item/%ld/with/a/longer/path/%ld?page=%ld", i, i * 7, i);
		strcpy(r.u.exchange.host, i % 3 ? "api.openai.com" : "tools.local");
		r.u.exchange.port = 443;
		r.u.exchange.status = 200;
		r.u.exchange.category = i % 3 ? AP_CAT_LLM : AP_CAT_TOOL;
		r.u.exchange.provider = i % 3 ? AP_PROV_OPENAI : AP_PROV_NONE;
		r.u.exchange.visibility = AP_VIS_PLAINTEXT;
		r.u.exchange.tls = 1;
		r.u.exchange.start_ns = t;
		r.u.exchange.req_sent_ns = t + 1000;
		r.u.exchange.first_byte_ns = t + 200000 + i % 1000;
		r.u.exchange.end_ns = t + 300000 + i % 5000;
		r.u.exchange.bytes_sent = 500;
		r.u.exchange.bytes_received = 700;
		if (i % 3) {
			strcpy(r.u.exchange.request_model, i % 2 ? "gpt-4o" : "gpt-4o-mini");
			strcpy(r.u.exchange.response_model, "gpt-4o-2024-08-06");
			r.u.exchange.usage.input = 1000 + i % 100;
			r.u.exchange.usage.output = 50 + i % 10;
		}
		t += 400000;
		len += ap_encode(buf + len, cap - len, &r);
		if ((i + 1) % 10000 == 0 || i + 1 == n) {
			frame(f, buf, len);
			len = 0;
		}
	}
	ap_record_init(&r, AP_REC_PROCESS_END);
	r.u.process_end.end_ns = t;
	r.u.process_end.exit_code = 0;
	r.u.process_end.clean = 1;
	len = ap_encode(buf, cap, &r);
	frame(f, buf, len);
	fclose(f);
	free(buf);
	return 0;
}

/* ---- command line and self-test --------------------------------------------------------- */

/* Self-test: each scenario's files (and the stacks and flat shapes) decode frame by frame. */
static void check_dir(const char *dir)
{
	char cmd[4200];
	int rc;

	snprintf(cmd, sizeof(cmd), "for f in %s/*.zst; do zstd -q -t \"$f\" || exit 1; done", dir);
	rc = system(cmd);
	CHECK_EQ_INT(rc, 0);
}

static int self_test(void)
{
	static const char *const all[] = {
		"seq",	     "conc",	   "spans", "procs",   "findings", "sampled", "odd",
		"regress-a", "regress-b",  "shim",  "loop",    "pair",	   "retry",   "retry-8443",
		"stacks",    "stacks-odd", "flat",  "windows", "ties"};
	char tmpl[] = "/tmp/ap_gen_spans.XXXXXX";

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char dir[64], file[96], cmd[128];
		char *stacks_argv[] = {"stacks", dir, "60", "odd", NULL};
		char *flat_argv[] = {"flat", file, "25000", "distinct", NULL};

		if (!mkdtemp(strcpy(tmpl, "/tmp/ap_gen_spans.XXXXXX")))
			break;
		snprintf(dir, sizeof(dir), "%s", tmpl);
		snprintf(file, sizeof(file), "%s/agentprof.flat.1.zst", dir);
		if (!strcmp(all[i], "stacks"))
			CHECK_EQ_INT(stacks_main(3, stacks_argv), 0);
		else if (!strcmp(all[i], "stacks-odd"))
			CHECK_EQ_INT(stacks_main(4, stacks_argv), 0);
		else if (!strcmp(all[i], "flat"))
			CHECK_EQ_INT(flat_main(4, flat_argv), 0);
		else
			CHECK_EQ_INT(run_scenario(dir, all[i]), 0);
		check_dir(dir);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK_EQ_INT(system(cmd), 0);
	}
	UNIT_DONE();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (argc == 1)
		return self_test();
	if (!strcmp(mode, "scenario") && argc == 4) {
		mkdir(argv[2], 0755);
		return run_scenario(argv[2], argv[3]) ? 2 : 0;
	}
	if (!strcmp(mode, "stacks") && argc >= 3)
		return stacks_main(argc - 1, argv + 1);
	if (!strcmp(mode, "flat") && argc >= 3)
		return flat_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: gen_spans scenario DIR NAME | stacks DIR N [odd] | "
			"flat FILE N [distinct] | (no arguments: self-test)\n");
	return 2;
}
