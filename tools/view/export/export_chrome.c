/* export_chrome.c: "export --format chrome": Trace Event JSON for Perfetto and chrome://tracing.
 * Exchanges are async slices (one id each, so overlapping requests get their own tracks) with
 * their phases nested; manual spans are complete events on their thread; RSS and CPU counters. */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "jsonw.h"
#include "reader.h"

/*
 * Rules followed (what Perfetto's JSON importer requires): "traceEvents" is the first key; ts and
 * dur are microseconds (relative to the run's start, whose epoch time is in otherData); X events
 * only for manual spans, which nest per thread; b/e pairs share cat and id; process and thread
 * names come from M events; counters are C events with numeric args.
 */

#define SPAN_ID0 ((size_t)1 << 40) /* async ids of spans that do not nest: apart from exchanges */

struct ctx {
	FILE *f;
	int64_t t0;
	int n; /* events written */
	struct pystacks *py;
};

/* A Python program's exchange: its call site and Python stack (outermost first) as args. */
static void x_python_args(struct ctx *c, struct jw *w, const struct vxch *x)
{
	const struct symframe *const *sf;
	char site[256];
	size_t n;

	if (!x->pystack_id || !py_call_site(c->py, x->proc, x->pystack_id, 0, site, sizeof(site)))
		return;
	jw_kstr(w, "called_from", site);
	n = py_stack(c->py, NULL, x->proc, 0, x->pystack_id, &sf);
	jw_key(w, "python_stack");
	jw_arr(w);
	for (size_t k = 0; k < n; k++)
		jw_str(w, sf[k]->name);
	jw_arr_end(w);
}

static void jstr(FILE *f, const char *s)
{
	struct jw w;

	jw_init(&w, f, 0);
	jw_str(&w, s);
}

/* Times are written as integers (printf of doubles was a third of the export): microseconds
 * with three decimals, exactly what "%.3f" of (t - t0) / 1e3 printed. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* ns as microseconds with three decimals ("-1.250", "12.000"). */
static char *put_us3(char *p, int64_t ns)
{
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	if (ns < 0)
		*p++ = '-';
	p = put_u64(p, a / 1000);
	*p++ = '.';
	*p++ = (char)('0' + a % 1000 / 100);
	*p++ = (char)('0' + a % 100 / 10);
	*p++ = (char)('0' + a % 10);
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static int64_t us(const struct ctx *c, int64_t t)
{
	return t - c->t0; /* ns since the origin; put_us3 prints it in microseconds */
}

/* ,"id":"0x..." */
static void put_id(FILE *f, size_t id, int close)
{
	static const char hex[] = "0123456789abcdef";
	char b[40], *p = b, tmp[20];
	int n = 0;

	p = put_str(p, ",\"id\":\"0x");
	do
		tmp[n++] = hex[id & 15];
	while ((id >>= 4));
	while (n)
		*p++ = tmp[--n];
	*p++ = '"';
	if (close)
		*p++ = '}';
	fwrite_unlocked(b, 1, (size_t)(p - b), f);
}

/* Event head up to and including "name":..., without the closing brace. */
static void head(struct ctx *c, const char *ph, int pid, uint32_t tid, int64_t ts, const char *name,
		 const char *cat)
{
	char b[128], *p = b;

	if (c->n++)
		*p++ = ',';
	p = put_str(p, "\n{\"ph\":\"");
	p = put_str(p, ph);
	p = put_str(p, "\",\"pid\":");
	if (pid < 0)
		*p++ = '-';
	p = put_u64(p, pid < 0 ? (uint64_t)0 - (uint64_t)(int64_t)pid : (uint64_t)pid);
	p = put_str(p, ",\"tid\":");
	p = put_u64(p, tid);
	p = put_str(p, ",\"ts\":");
	p = put_us3(p, ts);
	p = put_str(p, ",\"name\":");
	fwrite_unlocked(b, 1, (size_t)(p - b), c->f);
	jstr(c->f, name);
	if (cat) {
		fputs_unlocked(",\"cat\":", c->f);
		jstr(c->f, cat);
	}
}

static void meta(struct ctx *c, const char *what, int pid, uint32_t tid, const char *name)
{
	fprintf(c->f, "%s\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"name\":\"%s\",\"args\":{\"name\":",
		c->n++ ? "," : "", pid, tid, what);
	jstr(c->f, name);
	fputs_unlocked("}}", c->f);
}

static void x_args(struct ctx *c, const struct run *run, const struct vxch *x)
{
	struct jw w;
	int64_t ttfb = x_ttfb(x);

	fputs_unlocked(",\"args\":", c->f);
	jw_init(&w, c->f, 0);
	jw_batch(&w, 1); /* the whole object as one write */
	jw_obj(&w);
	jw_kstr_opt(&w, "method", S(run, x->method));
	jw_kstr_opt(&w, "host", S(run, x->host));
	if (x->port > 0)
		jw_kint(&w, "port", x->port);
	jw_kstr_opt(&w, "path", S(run, x->path));
	if (x->status >= 0)
		jw_kint(&w, "status", x->status);
	if (x->prov)
		jw_kstr(&w, "gen_ai.provider.name", otel_provider(x->prov));
	if (x->req_model)
		jw_kstr(&w, "gen_ai.request.model", S(run, x->req_model));
	if (x->resp_model)
		jw_kstr(&w, "gen_ai.response.model", S(run, x->resp_model));
	if (x->in >= 0)
		jw_kint(&w, "gen_ai.usage.input_tokens", x->in);
	if (x->out >= 0)
		jw_kint(&w, "gen_ai.usage.output_tokens", x->out);
	if (x->stream)
		jw_kbool(&w, "stream", 1);
	if (ttfb != UNK)
		jw_kdouble(&w, "ttfb_ms", (double)ttfb / 1e6);
	if (x->error)
		jw_kstr(&w, "error", ap_xerr_name(x->error));
	jw_kuint(&w, "bytes_sent", x->bytes_sent);
	jw_kuint(&w, "bytes_received", x->bytes_received);
	x_python_args(c, &w, x);
	jw_obj_end(&w);
	jw_batch(&w, 0);
}

static void exchanges(struct ctx *c, const struct view *v)
{
	const struct run *run = &v->a.run;
	char title[400];

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		const struct vproc *p = &run->procs[x->proc];
		const char *cat = x->cat ? ap_category_name(x->cat) : "other";
		struct xphase ph[XPHASE_MAX];
		size_t np;

		if (!v->a.xsel[i] || x->t0 == UNK)
			continue;
		x_title(run, x, title, sizeof(title));
		head(c, "b", p->pid, x->tid, us(c, x->t0), title, cat);
		put_id(c->f, i + 1, 0);
		x_args(c, run, x);
		putc_unlocked('}', c->f);
		np = x_phases(x, ph);
		for (size_t k = 0; k < np; k++) {
			int64_t a = i64_max(ph[k].a, x->t0), b = i64_min(ph[k].b, x->t1);

			head(c, "b", p->pid, x->tid, us(c, a), ph[k].name, cat);
			put_id(c->f, i + 1, 1);
			head(c, "e", p->pid, x->tid, us(c, b), ph[k].name, cat);
			put_id(c->f, i + 1, 1);
		}
		head(c, "e", p->pid, x->tid, us(c, x->t1), title, cat);
		put_id(c->f, i + 1, 1);
	}
}

static int cmp_span(const void *pa, const void *pb, void *ctx)
{
	const struct run *run = ctx;
	const struct vspan *a = &run->spans[*(const size_t *)pa];
	const struct vspan *b = &run->spans[*(const size_t *)pb];

	if (a->proc != b->proc)
		return a->proc < b->proc ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end > b->end ? -1 : a->end < b->end;
}

/* Manual spans nest per thread by construction; one that does not (damaged or unusual data)
 * becomes an async slice, so the X events stay strictly nested. */
static void spans(struct ctx *c, const struct view *v)
{
	const struct run *run = &v->a.run;
	size_t *idx = xcalloc(run->n_spans + 1, sizeof(*idx)), n = 0;
	int64_t open[64];
	int depth = 0;

	for (size_t i = 0; i < run->n_spans; i++) {
		const struct vspan *s = &run->spans[i];

		if (v->a.ssel[i] && s->start != UNK && s->end != UNK && s->end >= s->start)
			idx[n++] = i;
	}
	qsort_r(idx, n, sizeof(*idx), cmp_span, (void *)run);
	for (size_t k = 0; k < n; k++) {
		const struct vspan *s = &run->spans[idx[k]];
		const char *cat = s->cat ? ap_category_name(s->cat) : "span";
		int pid = run->procs[s->proc].pid;

		if (k && (s->proc != run->spans[idx[k - 1]].proc ||
			  s->tid != run->spans[idx[k - 1]].tid))
			depth = 0;
		while (depth && open[depth - 1] <= s->start)
			depth--;
		if (depth < 64 && (!depth || s->end <= open[depth - 1])) {
			open[depth++] = s->end;
			head(c, "X", pid, s->tid, us(c, s->start), S(run, s->name), cat);
			char b[48], *q = put_str(b, ",\"dur\":");

			q = put_us3(q, s->end - s->start);
			fwrite_unlocked(b, 1, (size_t)(q - b), c->f);
		} else {
			head(c, "b", pid, s->tid, us(c, s->start), S(run, s->name), cat);
			fprintf(c->f, ",\"id\":\"0x%zx\"}", SPAN_ID0 + idx[k]);
			head(c, "e", pid, s->tid, us(c, s->end), S(run, s->name), cat);
			fprintf(c->f, ",\"id\":\"0x%zx\"", SPAN_ID0 + idx[k]);
		}
		if (s->agent) {
			fputs_unlocked(",\"args\":{\"agent\":", c->f);
			jstr(c->f, S(run, s->agent));
			putc_unlocked('}', c->f);
		}
		putc_unlocked('}', c->f);
	}
	free(idx);
}

/* Child processes and DNS lookups: async slices in their own categories. */
static void others(struct ctx *c, const struct view *v)
{
	const struct run *run = &v->a.run;
	char name[300];
	size_t id = run->n_xs + 1;

	for (size_t i = 0; i < run->n_pevs; i++, id++) {
		const struct vpev *e = &run->pevs[i];
		const char *path = S(run, e->path), *b = strrchr(path, '/');

		if (!v->a.psel[e->proc] || e->time == UNK || e->end == UNK || e->end < e->time ||
		    (e->kind != AP_PEV_SPAWN && e->kind != AP_PEV_WAIT))
			continue;
		snprintf(name, sizeof(name), "%s %s", ap_proc_kind_name(e->kind),
			 *path ? (b ? b + 1 : path) : "child");
		head(c, "b", run->procs[e->proc].pid, e->tid, us(c, e->time), name, "process");
		fprintf(c->f, ",\"id\":\"0x%zx\",\"args\":{\"child_pid\":%d,\"status\":%d}}", id,
			e->child_pid, e->status);
		head(c, "e", run->procs[e->proc].pid, e->tid, us(c, e->end), name, "process");
		fprintf(c->f, ",\"id\":\"0x%zx\"}", id);
	}
	for (size_t i = 0; i < run->n_dns; i++, id++) {
		const struct vdns *d = &run->dns[i];

		if (!v->a.psel[d->proc] || d->start == UNK || d->end == UNK || d->end < d->start)
			continue;
		snprintf(name, sizeof(name), "dns %s", S(run, d->host));
		head(c, "b", run->procs[d->proc].pid, d->tid, us(c, d->start), name, "dns");
		fprintf(c->f, ",\"id\":\"0x%zx\"}", id);
		head(c, "e", run->procs[d->proc].pid, d->tid, us(c, d->end), name, "dns");
		fprintf(c->f, ",\"id\":\"0x%zx\"}", id);
	}
}

/* --- counters: read again from the span files (the run model keeps only the peaks) ------------ */

struct cctx {
	struct ctx *c;
	const struct view *v;
	int32_t proc; /* the file's current process (index into the run), -1 */
	int pid;
	int64_t mono0, real0;
};

static int on_rec(void *arg, const struct ap_record *r)
{
	struct cctx *cc = arg;
	const struct run *run = &cc->v->a.run;

	if (r->type == AP_REC_PROCESS) {
		cc->proc = -1;
		cc->pid = r->u.process.pid;
		cc->mono0 = r->u.process.start_ns;
		cc->real0 = r->u.process.start_real_ns;
		for (size_t i = 0; i < run->n_procs; i++)
			if (run->procs[i].pid == cc->pid && run->procs[i].mono0 == cc->mono0)
				cc->proc = (int32_t)i;
		return 0;
	}
	if (r->type != AP_REC_COUNTER || cc->proc < 0 || !cc->v->a.psel[cc->proc] ||
	    r->u.counter.value < 0 || r->u.counter.time_ns < 0)
		return 0;
	{
		int64_t t = r->u.counter.time_ns - cc->mono0 + cc->real0;
		const char *name, *key;
		double val = (double)r->u.counter.value;

		switch (r->u.counter.kind) {
		case AP_CNT_RSS_BYTES:
			name = "memory", key = "rss_MiB", val /= 1048576.0;
			break;
		case AP_CNT_CPU_USER_NS:
			name = "cpu user", key = "seconds", val /= 1e9;
			break;
		case AP_CNT_CPU_SYS_NS:
			name = "cpu system", key = "seconds", val /= 1e9;
			break;
		default:
			return 0;
		}
		head(cc->c, "C", cc->pid, (uint32_t)cc->pid, us(cc->c, t), name, "counter");
		fprintf(cc->c->f, ",\"args\":{\"%s\":%.6f}}", key, val);
	}
	return 0;
}

static void counters(struct ctx *c, const struct view *v)
{
	const struct run *run = &v->a.run;

	for (size_t i = 0; i < run->n_files; i++) {
		struct cctx cc = {.c = c, .v = v, .proc = -1};
		struct rd_stats st;
		uint8_t *buf = NULL;
		size_t n = 0;
		char msg[200];
		int has = 0;

		for (size_t k = 0; k < run->n_procs && !has; k++) /* no counters: no second read */
			has = run->procs[k].file == (int32_t)i && v->a.psel[k] &&
			      (run->procs[k].peak_rss != UNK || run->procs[k].cpu_user_ns != UNK ||
			       run->procs[k].cpu_sys_ns != UNK);
		if (!has)
			continue;
		if (rd_slurp(run->files[i].path, &buf, &n, msg, sizeof(msg)) == 0)
			rd_parse_buf(buf, n, on_rec, &cc, &st, msg, sizeof(msg));
		free(buf);
	}
}

/* Depth of a process in the process tree (the agent, the root, is 0). */
static int proc_depth(const struct run *run, int32_t i)
{
	int d = 0;

	for (int32_t q = run->procs[i].parent; q >= 0 && d < 64; q = run->procs[q].parent)
		d++;
	return d;
}

static int cmp_order(const void *pa, const void *pb, void *ctx)
{
	const struct run *run = ctx;
	int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
	int da = proc_depth(run, a), db = proc_depth(run, b);
	int64_t sa = run->procs[a].start, sb = run->procs[b].start;

	if (da != db)
		return da < db ? -1 : 1;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/*
 * One process_name per pid (Perfetto adds "(pid N)" itself): the program it ran last, with the
 * earlier images of an exec chain before an arrow ("bash -> python3"). process_sort_index puts
 * the agent (the root of the process tree, started first) first, then the helpers by tree
 * depth and start time.
 */
static void process_meta(struct ctx *c, const struct view *v)
{
	const struct run *run = &v->a.run;
	int32_t *ord = xcalloc(run->n_procs + 1, sizeof(*ord));
	size_t n = 0;
	int rank = 0;
	char lb[128], name[300];

	for (size_t i = 0; i < run->n_procs; i++) /* the first image of each pid */
		if (v->a.psel[i] &&
		    (run->procs[i].exec_of < 0 || !v->a.psel[run->procs[i].exec_of]))
			ord[n++] = (int32_t)i;
	sort_r(ord, n, sizeof(*ord), cmp_order, (void *)run);
	for (size_t k = 0; k < n; k++) {
		const struct vproc *p = &run->procs[ord[k]];
		size_t o = 0;
		int d = 0;

		name[0] = 0;
		for (const struct vproc *q = p; q && d < 16; d++) {
			o += (size_t)snprintf(name + o, o < sizeof(name) ? sizeof(name) - o : 0,
					      "%s%s", d ? " -> " : "",
					      proc_label(run, q, lb, sizeof(lb)));
			q = q->exec_next >= 0 && v->a.psel[q->exec_next] ? &run->procs[q->exec_next]
									 : NULL;
		}
		meta(c, "process_name", p->pid, (uint32_t)p->pid, name);
		fprintf(c->f,
			",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"process_sort_index\","
			"\"args\":{\"sort_index\":%d}}",
			p->pid, p->pid, rank++);
	}
	free(ord);
}

int export_chrome(struct view *v)
{
	const struct run *run = &v->a.run;
	struct ctx c = {.f = v->out, .t0 = v->a.start != UNK ? v->a.start : 0};
	char name[300];

	c.py = py_open(run, NULL, 0);
	fputs_unlocked("{\"traceEvents\":[", c.f);
	process_meta(&c, v);
	for (size_t i = 0; i < run->n_threads; i++) {
		const struct vthread *t = &run->threads[i];
		const struct vproc *p = &run->procs[t->proc];

		if (!v->a.psel[t->proc])
			continue;
		if ((int32_t)t->tid == p->pid)
			snprintf(name, sizeof(name), "main thread");
		else
			snprintf(name, sizeof(name), "thread %u", t->tid);
		meta(&c, "thread_name", p->pid, t->tid, name);
	}
	spans(&c, v);
	exchanges(&c, v);
	others(&c, v);
	counters(&c, v);
	fprintf(c.f,
		"\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"agentprof-view\","
		"\"time_origin_epoch_ns\":\"%lld\",\"ts_unit\":\"microseconds since "
		"time_origin_epoch_ns\"}}\n",
		(long long)c.t0);
	py_close(c.py);
	return 0;
}
