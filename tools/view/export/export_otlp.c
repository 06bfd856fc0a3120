/* export_otlp.c: "export --format otlp": OTLP/JSON ExportTraceServiceRequests following the
 * OpenTelemetry GenAI conventions, printed, or POSTed to a collector in batches (otlp_http.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "jsonw.h"
#include "otlp.h"
#include "progress.h"

/*
 * Rules (the OTLP/JSON mapping): hex trace and span ids, integer enums (kind 3 = CLIENT,
 * 1 = INTERNAL; status code 2 = ERROR), lowerCamelCase keys, 64-bit integers as decimal
 * strings. One resource per process (process.* attributes), a span per process (parent: the
 * process that started it), per manual span, and per exchange (CLIENT). LLM spans are named
 * "{gen_ai.operation.name} {gen_ai.request.model}". Span ids derive from the process (pid and
 * start time) and the record's own id, so the same exchange always gets the same span id
 * (batches, --follow restarts and re-exports never make two spans of one exchange).
 */

#define SCOPE_VERSION "0.1.0"
#define STALE_NS      (30 * 1000000000ll) /* --follow: a running process silent this long is gone */

struct ids {
	uint64_t trace_hi, trace_lo;
	const struct run *run;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull ^ b;

	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h ? h : 1;
}

/* A process's identity across loads: pid and start time (exec'd images differ by start). */
static uint64_t proc_key(const struct vproc *p)
{
	return mix((uint64_t)(uint32_t)p->pid, (uint64_t)(p->start != UNK ? p->start : p->real0));
}

static uint64_t span_id(const struct ids *id, unsigned kind, int32_t proc, uint64_t rec_id)
{
	return mix(id->trace_lo,
		   mix(proc_key(&id->run->procs[proc]), (uint64_t)kind << 56 ^ rec_id));
}

static void khex(struct jw *w, const char *k, uint64_t v)
{
	char b[24];

	jw_fmt_hex64(b, v);
	jw_kstr(w, k, b);
}

static void ktime(struct jw *w, const char *k, int64_t t)
{
	otlp_kint64(w, k, t > 0 ? t : 0);
}

static void span_head(struct jw *w, const struct ids *id, uint64_t sid, uint64_t parent,
		      const char *name, int kind, int64_t a, int64_t b)
{
	char tb[40];

	jw_obj(w);
	jw_fmt_hex64(tb, id->trace_hi);
	jw_fmt_hex64(tb + 16, id->trace_lo);
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
	return span_id(id, 1, proc, 0);
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
	otlp_attr_int(w, "process.pid", p->pid);
	if (p->exit_code != AP_UNKNOWN) /* recorded, or the parent's wait status */
		otlp_attr_int(w, "process.exit.code", p->exit_code);
	jw_arr_end(w);
	status(w, p->exit_code != AP_UNKNOWN && p->exit_code != 0, "exit status");
	jw_obj_end(w);
}

static uint64_t parent_of(const struct view *v, const struct ids *id, int32_t span, int32_t proc)
{
	if (span >= 0 && v->a.ssel[span])
		return span_id(id, 2, v->a.run.spans[span].proc, v->a.run.spans[span].id);
	return proc_span(id, proc);
}

static void manual_span(struct jw *w, const struct view *v, const struct ids *id, size_t i)
{
	const struct run *run = &v->a.run;
	const struct vspan *s = &run->spans[i];

	span_head(w, id, span_id(id, 2, s->proc, s->id), parent_of(v, id, s->parent, s->proc),
		  S(run, s->name), 1, s->start, s->end != UNK ? s->end : s->start);
	jw_key(w, "attributes");
	jw_arr(w);
	otlp_attr_int(w, "thread.id", s->tid);
	if (s->cat)
		otlp_attr_str(w, "agentprof.category", ap_category_name(s->cat));
	otlp_attr_str(w, "agentprof.agent", S(run, s->agent));
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
	span_head(w, id, span_id(id, 3, x->proc, x->id), parent_of(v, id, x->span, x->proc), title,
		  3, x->t0, x->t1);
	jw_key(w, "attributes");
	jw_arr(w);
	if (x->cat == AP_CAT_LLM) {
		otlp_attr_str(w, "gen_ai.operation.name", x_operation(run, x));
		otlp_attr_str(w, "gen_ai.provider.name", otel_provider(x->prov));
		otlp_attr_str(w, "gen_ai.request.model", S(run, x->req_model));
		otlp_attr_str(w, "gen_ai.response.model", S(run, x->resp_model));
		if (otel_input(x) >= 0)
			otlp_attr_int(w, "gen_ai.usage.input_tokens", otel_input(x));
		if (x->out >= 0)
			otlp_attr_int(w, "gen_ai.usage.output_tokens", x->out);
		if (x->cache_read >= 0)
			otlp_attr_int(w, "gen_ai.usage.cache_read.input_tokens", x->cache_read);
		if (x->cache_write >= 0)
			otlp_attr_int(w, "gen_ai.usage.cache_creation.input_tokens",
				      x->cache_write);
		if (x->reasoning >= 0)
			otlp_attr_int(w, "gen_ai.usage.reasoning.output_tokens", x->reasoning);
		if (x->stream) {
			otlp_attr_bool(w, "gen_ai.request.stream", 1);
			if (first != UNK && x->start != UNK && first >= x->start)
				otlp_attr_double(w, "gen_ai.response.time_to_first_chunk",
						 (double)(first - x->start) / 1e9);
		}
	}
	otlp_attr_str(w, "agentprof.category", x->cat ? ap_category_name(x->cat) : NULL);
	otlp_attr_str(w, "server.address", host);
	if (x->port > 0)
		otlp_attr_int(w, "server.port", x->port);
	otlp_attr_str(w, "http.request.method", S(run, x->method));
	if (*host && *path) {
		char port[24] = "";

		if (x->port > 0 && x->port != (x->tls ? 443 : 80)) {
			port[0] = ':';
			jw_fmt_int(port + 1, x->port);
		}
		setcat(url, sizeof(url), x->tls ? "https" : "http", "://", host, port, path, NULL);
		otlp_attr_str(w, "url.full", url);
	}
	if (x->status >= 0)
		otlp_attr_int(w, "http.response.status_code", x->status);
	if (x_ttfb(x) != UNK)
		otlp_attr_double(w, "agentprof.time_to_first_byte", (double)x_ttfb(x) / 1e9);
	otlp_attr_int(w, "thread.id", x->tid);
	if (is_err) {
		if (x->error)
			snprintf(err, sizeof(err), "%s", ap_xerr_name(x->error));
		else
			snprintf(err, sizeof(err), "%d", x->status);
		otlp_attr_str(w, "error.type", err);
	}
	jw_arr_end(w);
	status(w, is_err, is_err ? err : "");
	jw_obj_end(w);
}

/* --- batches ---------------------------------------------------------------------------------- */

struct batch {
	struct view *v;
	struct otlp_dest *d; /* NULL: one document on v->out */
	struct follow *fw;
	FILE *f;
	char *buf;
	size_t len, spans, max_spans, max_bytes;
	struct jw w;
	int32_t proc; /* the process whose resource is open, -1 */
	uint64_t *ids;
	size_t n_ids, cap_ids;
	int rc;
};

static void batch_open(struct batch *b)
{
	if (b->f)
		return;
	if (b->d) {
		b->f = open_memstream(&b->buf, &b->len);
		if (!b->f) {
			perror("agentprof-view: open_memstream");
			exit(2);
		}
	} else {
		b->f = b->v->out;
	}
	jw_init(&b->w, b->f, 0);
	jw_obj(&b->w);
	jw_key(&b->w, "resourceSpans");
	jw_arr(&b->w);
	b->proc = -1;
}

static void close_resource(struct batch *b)
{
	if (b->proc < 0)
		return;
	jw_arr_end(&b->w); /* spans */
	jw_obj_end(&b->w);
	jw_arr_end(&b->w); /* scopeSpans */
	jw_obj_end(&b->w);
	b->proc = -1;
}

static void batch_flush(struct batch *b)
{
	if (!b->f)
		return;
	close_resource(b);
	jw_arr_end(&b->w);
	jw_obj_end(&b->w);
	jw_end(&b->w);
	if (!b->d) {
		b->f = NULL;
		return;
	}
	fclose(b->f);
	b->f = NULL;
	if (b->spans && !b->rc) {
		b->rc = otlp_post(b->v, b->d, b->buf, b->len, b->spans);
		if (!b->rc && b->fw)
			follow_commit(b->fw, b->ids, b->n_ids);
	}
	free(b->buf);
	b->buf = NULL;
	b->len = b->spans = b->n_ids = 0;
}

/* Make sure a request is open with the resource of process pi in it. */
static struct jw *batch_for(struct batch *b, int32_t pi)
{
	const struct run *run = &b->v->a.run;

	batch_open(b);
	if (b->proc == pi)
		return &b->w;
	close_resource(b);
	jw_obj(&b->w);
	otlp_resource(&b->w, run, &run->procs[pi]);
	jw_key(&b->w, "scopeSpans");
	jw_arr(&b->w);
	jw_obj(&b->w);
	jw_key(&b->w, "scope");
	jw_obj(&b->w);
	jw_kstr(&b->w, "name", "agentprof");
	jw_kstr(&b->w, "version", SCOPE_VERSION);
	jw_obj_end(&b->w);
	jw_key(&b->w, "spans");
	jw_arr(&b->w);
	b->proc = pi;
	return &b->w;
}

/* After each span: count it, flush when the batch is full. */
static void batch_done(struct batch *b, uint64_t sid)
{
	b->spans++;
	if (b->fw)
		*VEC_PUSH(b->ids, b->n_ids, b->cap_ids) = sid;
	if (!b->d)
		return;
	if (b->spans >= b->max_spans || (size_t)ftell(b->f) >= b->max_bytes)
		batch_flush(b);
}

int otlp_export_run(struct view *v, struct otlp_dest *d, struct follow *fw, int final)
{
	const struct run *run = &v->a.run;
	struct batch b = {.v = v, .d = d, .fw = fw, .proc = -1};
	struct ids id = {.run = run};
	size_t *xstart = xcalloc(run->n_procs + 1, sizeof(size_t));
	size_t *sstart = xcalloc(run->n_procs + 1, sizeof(size_t));
	size_t *xi = xmalloc((run->n_xs + 1) * sizeof(size_t));
	size_t *si = xmalloc((run->n_spans + 1) * sizeof(size_t));
	int32_t root = -1;
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	b.max_spans = v->o.batch_spans > 0 ? (size_t)v->o.batch_spans : OTLP_BATCH_SPANS;
	b.max_bytes = v->o.batch_bytes > 0 ? (size_t)v->o.batch_bytes : OTLP_BATCH_BYTES;
	for (size_t i = 0; i < run->n_procs; i++) {
		const struct vproc *p = &run->procs[i];

		if (v->a.psel[i] &&
		    (root < 0 || (p->start != UNK && (run->procs[root].start == UNK ||
						      p->start < run->procs[root].start))))
			root = (int32_t)i;
	}
	id.trace_hi = mix(root >= 0 ? (uint64_t)run->procs[root].start : (uint64_t)run->start,
			  root >= 0 ? (uint64_t)run->procs[root].pid : 0);
	id.trace_lo = mix(id.trace_hi, 0x6167656e7470726full);
	if (fw)
		follow_trace_id(fw, &id.trace_hi, &id.trace_lo);
	/* exchanges and spans grouped by process, in time order (counting sort) */
	for (size_t i = 0; i < run->n_xs; i++)
		xstart[run->xs[i].proc + 1]++;
	for (size_t i = 0; i < run->n_spans; i++)
		sstart[run->spans[i].proc + 1]++;
	for (size_t i = 0; i < run->n_procs; i++)
		xstart[i + 1] += xstart[i], sstart[i + 1] += sstart[i];
	for (size_t i = 0; i < run->n_xs; i++)
		xi[xstart[run->xs[i].proc]++] = i;
	for (size_t i = 0; i < run->n_spans; i++)
		si[sstart[run->spans[i].proc]++] = i;
	for (size_t i = run->n_procs; i > 0; i--)
		xstart[i] = xstart[i - 1], sstart[i] = sstart[i - 1];
	xstart[0] = sstart[0] = 0;

	for (size_t pi = 0; pi < run->n_procs && !b.rc; pi++) {
		const struct vproc *p = &run->procs[pi];
		/* process and manual spans go once, complete: when the process has ended, or at a
		 * sidecar's shutdown when it has been silent for a while (killed, no end record) */
		int whole = !fw || p->has_end ||
			    (final && p->last_seen != UNK && now - p->last_seen > STALE_NS);
		uint64_t sid;

		if (!v->a.psel[pi])
			continue;
		if (!fw)
			batch_for(&b, (int32_t)pi); /* every selected process, even without spans */
		sid = proc_span(&id, (int32_t)pi);
		if (whole && !(fw && follow_seen(fw, sid))) {
			process_span(batch_for(&b, (int32_t)pi), v, &id, (int32_t)pi);
			batch_done(&b, sid);
		}
		for (size_t k = sstart[pi]; k < sstart[pi + 1] && whole && !b.rc; k++) {
			const struct vspan *s = &run->spans[si[k]];

			if (!v->a.ssel[si[k]] || s->start == UNK)
				continue;
			sid = span_id(&id, 2, s->proc, s->id);
			if (fw && follow_seen(fw, sid))
				continue;
			manual_span(batch_for(&b, (int32_t)pi), v, &id, si[k]);
			batch_done(&b, sid);
		}
		for (size_t k = xstart[pi]; k < xstart[pi + 1] && !b.rc; k++) {
			const struct vxch *x = &run->xs[xi[k]];

			if (!v->a.xsel[xi[k]] || x->t0 == UNK)
				continue;
			sid = span_id(&id, 3, x->proc, x->id);
			if (fw && follow_seen(fw, sid))
				continue;
			exchange_span(batch_for(&b, (int32_t)pi), v, &id, xi[k]);
			batch_done(&b, sid);
		}
	}
	if (!d && !b.f)
		batch_open(&b); /* an empty request rather than no output */
	batch_flush(&b);
	free(b.ids);
	free(xstart);
	free(sstart);
	free(xi);
	free(si);
	return b.rc;
}

int export_otlp(struct view *v)
{
	struct otlp_dest d;
	int to = otlp_dest_init(v, &d, "traces"), rc;

	if (to == 2)
		return 2;
	rc = otlp_export_run(v, to ? &d : NULL, NULL, 1);
	progress_clear();
	if (to && !rc)
		fprintf(v->err,
			"agentprof-view export: POST %s: HTTP 200: %llu spans in %llu requests "
			"(%.1f MB JSON, "
			"%.1f MB sent%s)\n",
			d.url, (unsigned long long)d.items, (unsigned long long)d.requests,
			(double)d.bytes_raw / 1e6, (double)d.bytes_sent / 1e6,
			d.gzip ? " gzip" : "");
	return rc ? 1 : 0;
}
