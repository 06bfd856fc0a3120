/* export_otlp.c: "export --format otlp": an OTLP/JSON ExportTraceServiceRequest following the
 * OpenTelemetry GenAI conventions, printed or POSTed to a collector (--endpoint URL). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export.h"
#include "jsonw.h"

/*
 * Rules (formats.md section 4): hex trace and span ids, integer enums (kind 3 = CLIENT,
 * 1 = INTERNAL; status code 2 = ERROR), lowerCamelCase keys, 64-bit integers as decimal
 * strings. One resource per process (process.* attributes), a span per process (parent: the
 * process that started it), per manual span, and per exchange (CLIENT). LLM spans are named
 * "{gen_ai.operation.name} {gen_ai.request.model}".
 */

#define SCOPE_VERSION "0.1.0"
#define IO_TIMEOUT_MS 15000

struct ids {
	uint64_t trace_hi, trace_lo;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull ^ b;

	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h ? h : 1;
}

static uint64_t span_id(const struct ids *id, unsigned kind, uint64_t idx)
{
	return mix(id->trace_lo, (uint64_t)kind << 56 ^ idx);
}

static void khex(struct jw *w, const char *k, uint64_t v)
{
	char b[20];

	snprintf(b, sizeof(b), "%016llx", (unsigned long long)v);
	jw_kstr(w, k, b);
}

static void ktime(struct jw *w, const char *k, int64_t t)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)(t > 0 ? t : 0));
	jw_kstr(w, k, b);
}

/* {"key":k,"value":{"stringValue":s}} etc. */
static void attr_str(struct jw *w, const char *k, const char *s)
{
	if (!s || !*s)
		return;
	jw_obj(w);
	jw_kstr(w, "key", k);
	jw_key(w, "value");
	jw_obj(w);
	jw_kstr(w, "stringValue", s);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void attr_int(struct jw *w, const char *k, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	jw_obj(w);
	jw_kstr(w, "key", k);
	jw_key(w, "value");
	jw_obj(w);
	jw_kstr(w, "intValue", b);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void attr_double(struct jw *w, const char *k, double v)
{
	jw_obj(w);
	jw_kstr(w, "key", k);
	jw_key(w, "value");
	jw_obj(w);
	jw_kdouble(w, "doubleValue", v);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void attr_bool(struct jw *w, const char *k, int v)
{
	jw_obj(w);
	jw_kstr(w, "key", k);
	jw_key(w, "value");
	jw_obj(w);
	jw_kbool(w, "boolValue", v);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void attr_argv(struct jw *w, const struct run *run, const struct vproc *p)
{
	const char *a = S(run, p->argv);
	size_t n = strtab_len(&run->st, p->argv), o = 0;

	if (!p->argc)
		return;
	jw_obj(w);
	jw_kstr(w, "key", "process.command_args");
	jw_key(w, "value");
	jw_obj(w);
	jw_key(w, "arrayValue");
	jw_obj(w);
	jw_key(w, "values");
	jw_arr(w);
	for (uint32_t i = 0; i < p->argc && o < n; i++) {
		size_t l = strnlen(a + o, n - o);

		jw_obj(w);
		jw_key(w, "stringValue");
		jw_strn(w, a + o, l);
		jw_obj_end(w);
		o += l + 1;
	}
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void span_head(struct jw *w, const struct ids *id, uint64_t sid, uint64_t parent,
		      const char *name, int kind, int64_t a, int64_t b)
{
	char tb[40];

	jw_obj(w);
	snprintf(tb, sizeof(tb), "%016llx%016llx", (unsigned long long)id->trace_hi,
		 (unsigned long long)id->trace_lo);
	jw_kstr(w, "traceId", tb);
	khex(w, "spanId", sid);
	if (parent)
		khex(w, "parentSpanId", parent);
	jw_kstr(w, "name", name);
	jw_kint(w, "kind", kind);
	ktime(w, "startTimeUnixNano", a);
	ktime(w, "endTimeUnixNano", b >= a ? b : a);
}

static void status(struct jw *w, int error, const char *msg)
{
	jw_key(w, "status");
	jw_obj(w);
	if (error) {
		jw_kint(w, "code", 2);
		jw_kstr(w, "message", msg);
	}
	jw_obj_end(w);
}

static int64_t proc_end(const struct vproc *p)
{
	return p->end != UNK ? i64_max(p->end, p->last_seen) : p->last_seen;
}

static uint64_t proc_span(const struct ids *id, int32_t proc)
{
	return span_id(id, 1, (uint64_t)proc);
}

static void process_span(struct jw *w, const struct view *v, const struct ids *id, int32_t i)
{
	const struct run *run = &v->a.run;
	const struct vproc *p = &run->procs[i];
	int32_t parent = p->parent >= 0 ? p->parent : p->exec_of;
	char lb[128], name[200];
	int64_t a = p->start != UNK ? p->start : p->last_seen;

	snprintf(name, sizeof(name), "process %s", proc_label(run, p, lb, sizeof(lb)));
	span_head(w, id, proc_span(id, i),
		  parent >= 0 && v->a.psel[parent] ? proc_span(id, parent) : 0, name, 1, a,
		  proc_end(p));
	jw_key(w, "attributes");
	jw_arr(w);
	attr_int(w, "process.pid", p->pid);
	if (p->has_end && p->exit_code != AP_UNKNOWN)
		attr_int(w, "process.exit.code", p->exit_code);
	jw_arr_end(w);
	status(w, p->has_end && p->exit_code != AP_UNKNOWN && p->exit_code != 0, "exit status");
	jw_obj_end(w);
}

static uint64_t parent_of(const struct view *v, const struct ids *id, int32_t span, int32_t proc)
{
	if (span >= 0 && v->a.ssel[span])
		return span_id(id, 2, (uint64_t)span);
	return proc_span(id, proc);
}

static void manual_span(struct jw *w, const struct view *v, const struct ids *id, size_t i)
{
	const struct run *run = &v->a.run;
	const struct vspan *s = &run->spans[i];

	span_head(w, id, span_id(id, 2, i), parent_of(v, id, s->parent, s->proc), S(run, s->name),
		  1, s->start, s->end != UNK ? s->end : s->start);
	jw_key(w, "attributes");
	jw_arr(w);
	attr_int(w, "thread.id", s->tid);
	if (s->cat)
		attr_str(w, "agentprof.category", ap_category_name(s->cat));
	attr_str(w, "agentprof.agent", S(run, s->agent));
	jw_arr_end(w);
	jw_obj_end(w);
}

/* OTel: input tokens include cached ones. Anthropic reports them separately. */
static int64_t otel_input(const struct vxch *x)
{
	int64_t in = x->in;

	if (in < 0 || x->prov != AP_PROV_ANTHROPIC)
		return in;
	if (x->cache_read > 0)
		in += x->cache_read;
	if (x->cache_write > 0)
		in += x->cache_write;
	return in;
}

static void exchange_span(struct jw *w, const struct view *v, const struct ids *id, size_t i)
{
	const struct run *run = &v->a.run;
	const struct vxch *x = &run->xs[i];
	const char *host = S(run, x->host), *path = S(run, x->path);
	char title[400], url[900], err[32];
	int64_t first = x->first_event != UNK ? x->first_event : x->first_byte;
	int is_err = x->error || x->status >= 400;

	x_title(run, x, title, sizeof(title));
	span_head(w, id, span_id(id, 3, i), parent_of(v, id, x->span, x->proc), title, 3, x->t0,
		  x->t1);
	jw_key(w, "attributes");
	jw_arr(w);
	if (x->cat == AP_CAT_LLM) {
		attr_str(w, "gen_ai.operation.name", x_operation(run, x));
		attr_str(w, "gen_ai.provider.name", otel_provider(x->prov));
		attr_str(w, "gen_ai.request.model", S(run, x->req_model));
		attr_str(w, "gen_ai.response.model", S(run, x->resp_model));
		if (otel_input(x) >= 0)
			attr_int(w, "gen_ai.usage.input_tokens", otel_input(x));
		if (x->out >= 0)
			attr_int(w, "gen_ai.usage.output_tokens", x->out);
		if (x->cache_read >= 0)
			attr_int(w, "gen_ai.usage.cache_read.input_tokens", x->cache_read);
		if (x->cache_write >= 0)
			attr_int(w, "gen_ai.usage.cache_creation.input_tokens", x->cache_write);
		if (x->reasoning >= 0)
			attr_int(w, "gen_ai.usage.reasoning.output_tokens", x->reasoning);
		if (x->stream) {
			attr_bool(w, "gen_ai.request.stream", 1);
			if (first != UNK && x->start != UNK && first >= x->start)
				attr_double(w, "gen_ai.response.time_to_first_chunk",
					    (double)(first - x->start) / 1e9);
		}
	}
	attr_str(w, "agentprof.category", x->cat ? ap_category_name(x->cat) : NULL);
	attr_str(w, "server.address", host);
	if (x->port > 0)
		attr_int(w, "server.port", x->port);
	attr_str(w, "http.request.method", S(run, x->method));
	if (*host && *path) {
		if (x->port > 0 && x->port != (x->tls ? 443 : 80))
			snprintf(url, sizeof(url), "%s://%s:%d%s", x->tls ? "https" : "http", host,
				 x->port, path);
		else
			snprintf(url, sizeof(url), "%s://%s%s", x->tls ? "https" : "http", host,
				 path);
		attr_str(w, "url.full", url);
	}
	if (x->status >= 0)
		attr_int(w, "http.response.status_code", x->status);
	if (x_ttfb(x) != UNK)
		attr_double(w, "agentprof.time_to_first_byte", (double)x_ttfb(x) / 1e9);
	attr_int(w, "thread.id", x->tid);
	if (is_err) {
		if (x->error)
			snprintf(err, sizeof(err), "%s", ap_xerr_name(x->error));
		else
			snprintf(err, sizeof(err), "%d", x->status);
		attr_str(w, "error.type", err);
	}
	jw_arr_end(w);
	status(w, is_err, is_err ? err : "");
	jw_obj_end(w);
}

static void resource(struct jw *w, const struct run *run, const struct vproc *p)
{
	const char *agent = S(run, p->agent), *exe = S(run, p->exe);
	char lb[128];

	jw_key(w, "resource");
	jw_obj(w);
	jw_key(w, "attributes");
	jw_arr(w);
	attr_str(w, "service.name", *agent ? agent : proc_label(run, p, lb, sizeof(lb)));
	attr_int(w, "process.pid", p->pid);
	if (p->ppid > 0)
		attr_int(w, "process.parent_pid", p->ppid);
	attr_str(w, "process.executable.name", proc_label(run, p, lb, sizeof(lb)));
	attr_str(w, "process.executable.path", exe);
	attr_argv(w, run, p);
	attr_str(w, "telemetry.sdk.name", "agentprof");
	attr_str(w, "telemetry.sdk.version", S(run, p->tool_version));
	jw_arr_end(w);
	jw_obj_end(w);
}

static size_t write_request(FILE *f, const struct view *v)
{
	const struct run *run = &v->a.run;
	struct ids id;
	struct jw w;
	size_t spans = 0;
	int32_t root = -1;

	for (size_t i = 0; i < run->n_procs; i++)
		if (v->a.psel[i] && root < 0)
			root = (int32_t)i;
	id.trace_hi = mix((uint64_t)run->start, root >= 0 ? (uint64_t)run->procs[root].pid : 0);
	id.trace_lo = mix(id.trace_hi, (uint64_t)run->n_xs);
	jw_init(&w, f, 0);
	jw_obj(&w);
	jw_key(&w, "resourceSpans");
	jw_arr(&w);
	for (size_t pi = 0; pi < run->n_procs; pi++) {
		if (!v->a.psel[pi])
			continue;
		jw_obj(&w);
		resource(&w, run, &run->procs[pi]);
		jw_key(&w, "scopeSpans");
		jw_arr(&w);
		jw_obj(&w);
		jw_key(&w, "scope");
		jw_obj(&w);
		jw_kstr(&w, "name", "agentprof");
		jw_kstr(&w, "version", SCOPE_VERSION);
		jw_obj_end(&w);
		jw_key(&w, "spans");
		jw_arr(&w);
		process_span(&w, v, &id, (int32_t)pi);
		spans++;
		for (size_t i = 0; i < run->n_spans; i++) {
			if (run->spans[i].proc == (int32_t)pi && v->a.ssel[i] &&
			    run->spans[i].start != UNK) {
				manual_span(&w, v, &id, i);
				spans++;
			}
		}
		for (size_t i = 0; i < run->n_xs; i++) {
			if (run->xs[i].proc == (int32_t)pi && v->a.xsel[i] &&
			    run->xs[i].t0 != UNK) {
				exchange_span(&w, v, &id, i);
				spans++;
			}
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
	return spans;
}

/* --- POST ------------------------------------------------------------------------------------ */

struct url {
	char host[256], port[8], path[1024];
};

static int parse_url(const char *s, struct url *u, const char **why)
{
	const char *h, *slash, *colon;
	size_t hl;

	*why = NULL;
	if (!strncmp(s, "https://", 8)) {
		*why = "https is not supported: point it at a local collector's http endpoint";
		return -1;
	}
	if (strncmp(s, "http://", 7)) {
		*why = "expected http://HOST[:PORT][/PATH]";
		return -1;
	}
	h = s + 7;
	slash = strchr(h, '/');
	hl = slash ? (size_t)(slash - h) : strlen(h);
	if (*h == '[') {
		const char *e = memchr(h, ']', hl);

		if (!e)
			return *why = "bad [IPv6] host", -1;
		colon = e + 1 < h + hl && e[1] == ':' ? e + 1 : NULL;
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(e - h - 1), h + 1);
	} else {
		colon = memchr(h, ':', hl);
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(colon ? (size_t)(colon - h) : hl),
			 h);
	}
	if (colon)
		snprintf(u->port, sizeof(u->port), "%.*s", (int)(h + hl - colon - 1), colon + 1);
	else
		snprintf(u->port, sizeof(u->port), "80");
	snprintf(u->path, sizeof(u->path), "%s", slash && slash[1] ? slash : "/v1/traces");
	if (!u->host[0] || !u->port[0] || strspn(u->port, "0123456789") != strlen(u->port))
		return *why = "bad host or port", -1;
	return 0;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, IO_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

static int post(struct view *v, const char *endpoint, const char *body, size_t n, size_t spans)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	char head[1400], resp[2048];
	const char *why = NULL;
	struct url u;
	size_t got = 0, off = 0;
	int fd = -1, rc = 1, hl, code = 0, e;

	if (parse_url(endpoint, &u, &why) < 0) {
		fprintf(v->err, "agentprof-view export: --endpoint '%s': %s\n", endpoint, why);
		return 2;
	}
	e = getaddrinfo(u.host, u.port, &hints, &ai);
	if (e) {
		fprintf(v->err, "agentprof-view export: POST %s: %s\n", endpoint, gai_strerror(e));
		return 1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		fprintf(v->err, "agentprof-view export: POST %s: cannot connect: %s\n", endpoint,
			strerror(errno));
		return 1;
	}
	hl = snprintf(head, sizeof(head),
		      "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: agentprof-view/0.1.0\r\n"
		      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\n\r\n",
		      u.path, u.host, u.port, n);
	for (int part = 0; part < 2; part++) {
		const char *p = part ? body : head;
		size_t len = part ? n : (size_t)hl;

		for (off = 0; off < len;) {
			ssize_t w;

			if (wait_fd(fd, POLLOUT) < 0)
				goto io_fail;
			w = send(fd, p + off, len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto io_fail;
			off += (size_t)w;
		}
	}
	while (got < sizeof(resp) - 1) {
		ssize_t r;

		if (wait_fd(fd, POLLIN) < 0)
			goto io_fail;
		r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	resp[got] = 0;
	if (sscanf(resp, "HTTP/%*d.%*d %d", &code) != 1) {
		fprintf(v->err, "agentprof-view export: POST %s: no HTTP response\n", endpoint);
		goto out;
	}
	fprintf(v->err, "agentprof-view export: POST %s: HTTP %d (%zu spans, %zu bytes)\n",
		endpoint, code, spans, n);
	if (code >= 200 && code < 300) {
		rc = 0;
	} else {
		const char *b = strstr(resp, "\r\n\r\n");

		if (b && b[4])
			fprintf(v->err, "agentprof-view export: response: %.300s\n", b + 4);
	}
	goto out;
io_fail:
	fprintf(v->err, "agentprof-view export: POST %s: %s\n", endpoint,
		errno ? strerror(errno) : "timed out");
out:
	close(fd);
	return rc;
}

int export_otlp(struct view *v)
{
	char *body = NULL;
	size_t n = 0, spans;
	FILE *f;
	int rc;

	if (!v->o.endpoint) {
		write_request(v->out, v);
		return 0;
	}
	f = open_memstream(&body, &n);
	if (!f) {
		perror("agentprof-view: open_memstream");
		return 2;
	}
	spans = write_request(f, v);
	fclose(f);
	rc = post(v, v->o.endpoint, body, n, spans);
	free(body);
	return rc;
}
