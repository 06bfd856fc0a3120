/* cmd_waterfall.c: "waterfall": a to-scale timeline, one row per call grouped by thread (or, with
 * --lanes, one lane per thread and per connection). */
#include <string.h>

#include "analysis.h"
#include "report.h"

/* One drawable interval. */
struct bar {
	int64_t a, b, fb; /* fb: first response byte, UNK if none */
	char fill;
	int32_t ref; /* exchange index, or -(span index) - 1 */
};

/* A lane: a thread's exchanges and spans, or a connection's exchanges. */
struct lane {
	int is_conn;
	int32_t proc;
	uint32_t tid;
	uint64_t conn;
	uint32_t host;
	int32_t port;
	uint8_t tls;
	int64_t first;
	struct bar *bars;
	size_t n, cap;
};

struct wf {
	struct view *v;
	const struct vrun *r;
	const struct run *run;
	struct lane *lanes;
	size_t n, cap;
	int width, bw, lw;
	int64_t wall;
};

static struct lane *lane_for(struct wf *w, int is_conn, int32_t proc, uint32_t tid, uint64_t conn)
{
	for (size_t i = w->n; i-- > 0;) { /* recent lanes first: exchanges come in time order */
		struct lane *l = &w->lanes[i];

		if (l->is_conn == is_conn && l->proc == proc &&
		    (is_conn ? l->conn == conn : l->tid == tid))
			return l;
	}
	{
		struct lane *l = VEC_PUSH(w->lanes, w->n, w->cap);

		l->is_conn = is_conn;
		l->proc = proc;
		l->tid = tid;
		l->conn = conn;
		l->first = INT64_MAX;
		return l;
	}
}

static void lane_add(struct lane *l, int64_t a, int64_t b, int64_t fb, char fill, int32_t ref)
{
	struct bar *x = VEC_PUSH(l->bars, l->n, l->cap);

	x->a = a;
	x->b = b;
	x->fb = fb;
	x->fill = fill;
	x->ref = ref;
	if (a < l->first)
		l->first = a;
}

static int cmp_lane(const void *a, const void *b)
{
	const struct lane *x = a, *y = b;

	if (x->is_conn != y->is_conn)
		return x->is_conn - y->is_conn;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int cmp_bar(const void *a, const void *b)
{
	const struct bar *x = a, *y = b;

	if (x->ref < 0 && y->ref >= 0) /* spans above exchanges */
		return -1;
	if (y->ref < 0 && x->ref >= 0)
		return 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return x->b > y->b ? -1 : x->b < y->b;
}

static void collect(struct wf *w)
{
	const struct run *run = w->run;

	for (size_t i = 0; i < run->n_spans; i++) {
		const struct vspan *s = &run->spans[i];

		if (w->r->ssel[i] && s->start != UNK && s->end != UNK)
			lane_add(lane_for(w, 0, s->proc, s->tid, 0), s->start, s->end, UNK,
				 s->cat ? cat_fill(s->cat) : '~', -(int32_t)i - 1);
	}
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		struct lane *l;

		if (!w->r->xsel[i] || x->t0 == UNK)
			continue;
		lane_add(lane_for(w, 0, x->proc, x->tid, 0), x->t0, x->t1, x->first_byte,
			 cat_fill(x->cat), (int32_t)i);
		if (!x->conn_id)
			continue;
		l = lane_for(w, 1, x->proc, x->tid, x->conn_id);
		l->host = x->host;
		l->port = x->port;
		l->tls = x->tls;
		lane_add(l, x->t0, x->t1, x->first_byte, cat_fill(x->cat), (int32_t)i);
	}
	sort_n(w->lanes, w->n, sizeof(*w->lanes), cmp_lane);
	for (size_t i = 0; i < w->n; i++)
		sort_n(w->lanes[i].bars, w->lanes[i].n, sizeof(struct bar), cmp_bar);
}

static int col(const struct wf *w, int64_t t)
{
	int c = w->wall > 0 ? (int)((double)(t - w->r->start) * w->bw / (double)w->wall) : 0;

	return c < 0 ? 0 : c >= w->bw ? w->bw - 1 : c;
}

/* Draw a lane, packing overlapping bars into as many rows as needed. */
static void draw_lane(struct wf *w, const struct lane *l, const char *label)
{
	FILE *f = w->v->out;
	size_t left = l->n;
	uint8_t *done = xcalloc(l->n + 1, 1);
	char *row = xmalloc((size_t)w->bw + 1);
	int first = 1;

	while (left) {
		int64_t last = INT64_MIN;

		memset(row, ' ', (size_t)w->bw);
		for (size_t i = 0; i < l->n; i++) {
			const struct bar *b = &l->bars[i];
			int c0, c1;

			if (done[i] || b->a < last)
				continue;
			if (last != INT64_MIN && (b->ref < 0) != (l->bars[i - 1].ref < 0) && !first)
				continue;
			done[i] = 1;
			left--;
			last = b->b;
			c0 = col(w, b->a);
			c1 = (int)((double)(b->b - w->r->start) * w->bw /
					   (double)(w->wall ? w->wall : 1) +
				   0.999);
			c1 = c1 <= c0 ? c0 + 1 : c1 > w->bw ? w->bw : c1;
			memset(row + c0, b->fill, (size_t)(c1 - c0));
			if (c1 - c0 >= 3)
				row[c0] = '['; /* keeps back-to-back bars apart */
			if (b->fb != UNK && c1 - c0 >= 2)
				row[col(w, b->fb) < c1 ? col(w, b->fb) : c1 - 1] = '|';
		}
		fputs("  ", f);
		put_fit(f, first ? label : "", w->lw, 1);
		fprintf(f, " %.*s\n", w->bw, row);
		first = 0;
	}
	free(done);
	free(row);
}

static void ruler(struct wf *w)
{
	FILE *f = w->v->out;
	int ticks = w->bw / 20 > 0 ? w->bw / 20 : 1;
	char *line = xmalloc((size_t)w->bw + 1);
	struct tbuf b;

	memset(line, '.', (size_t)w->bw);
	fprintf(f, "  %-*s ", w->lw, "");
	for (int k = 0; k <= ticks; k++) {
		int c = k * (w->bw - 1) / ticks;
		int len = (int)strlen(fmt_ns(&b, (double)w->wall * k / ticks));

		line[c] = '|';
		if (k < ticks)
			fprintf(f, "%-*s", (w->bw - 1) / ticks, b.s);
		else /* the last label only where it still fits the width */
			fprintf(f, "%s",
				ticks * ((w->bw - 1) / ticks) + len <= w->bw + 1 ? b.s : "");
	}
	fprintf(f, "\n  %-*s %.*s\n", w->lw, "lane", w->bw, line);
	free(line);
}

static void text(struct wf *w)
{
	const struct run *run = w->run;
	FILE *f = w->v->out;
	struct tbuf b;
	char label[400];

	put_wrapf(f, w->width, 0,
		  "Waterfall: wall %s; one column = %s; '|' marks the first response byte.",
		  fmt_ns(&b, (double)w->wall), fmt_ns(&(struct tbuf){0}, (double)w->wall / w->bw));
	put_wrap(f,
		 "Fill: # llm  = tool  % memory  + process  ~ span (spans are drawn above the "
		 "thread's exchanges)",
		 w->width, 0);
	ruler(w);
	for (size_t i = 0; i < w->n; i++) {
		const struct lane *l = &w->lanes[i];

		if (w->v->o.limit && i == (size_t)w->v->o.limit) {
			fprintf(f, "  ... %zu more lanes (--limit)\n", w->n - i);
			break;
		}
		if (l->is_conn)
			setf(label, sizeof(label), "pid %d conn %llu %s:%d%s",
			     run->procs[l->proc].pid, (unsigned long long)l->conn, S(run, l->host),
			     l->port, l->tls ? " tls" : "");
		else
			setf(label, sizeof(label), "pid %d thread %u", run->procs[l->proc].pid,
			     l->tid);
		draw_lane(w, l, label);
	}
}

static void json(struct wf *w)
{
	const struct run *run = w->run;
	struct jw j;

	jw_init(&j, w->v->out, 1);
	jw_obj(&j);
	jw_kint(&j, "wall_ns", w->wall);
	jw_kint(&j, "start_ns", w->r->start);
	jw_key(&j, "lanes");
	jw_arr(&j);
	for (size_t i = 0; i < w->n; i++) {
		const struct lane *l = &w->lanes[i];

		jw_obj(&j);
		jw_kstr(&j, "kind", l->is_conn ? "connection" : "thread");
		jw_kint(&j, "pid", run->procs[l->proc].pid);
		if (l->is_conn) {
			jw_kuint(&j, "conn", l->conn);
			jw_kstr_opt(&j, "host", S(run, l->host));
			jw_kint_opt(&j, "port", l->port);
			jw_kbool(&j, "tls", l->tls);
		} else {
			jw_kint(&j, "tid", l->tid);
		}
		jw_key(&j, "bars");
		jw_arr(&j);
		for (size_t k = 0; k < l->n; k++) {
			const struct bar *b = &l->bars[k];

			jw_obj(&j);
			if (b->ref >= 0) {
				const struct vxch *x = &run->xs[b->ref];

				jw_kstr(&j, "kind", "exchange");
				jw_kuint(&j, "id", x->id);
				jw_kstr_opt(&j, "category",
					    x->cat ? ap_category_name(x->cat) : NULL);
			} else {
				const struct vspan *s = &run->spans[-b->ref - 1];

				jw_kstr(&j, "kind", "span");
				jw_kuint(&j, "id", s->id);
				jw_kstr(&j, "name", S(run, s->name));
				jw_kstr_opt(&j, "category",
					    s->cat ? ap_category_name(s->cat) : NULL);
			}
			jw_kint(&j, "start_ns", b->a);
			jw_kint(&j, "end_ns", b->b);
			jw_kint_opt(&j, "first_byte_ns", b->fb);
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
}

/* --- one row per exchange, span and child process, grouped by thread ------------------------- */

enum row_kind { R_SPAN, R_EXCHANGE, R_PROCESS };

struct wrow {
	int32_t proc;
	uint32_t tid;
	uint8_t kind, depth;
	int32_t ref; /* exchange, span or pitem index */
	int64_t a, b, fb;
};

struct wgroup {
	size_t first, n;
	int64_t start;
};

static int cmp_wrow(const void *x, const void *y)
{
	const struct wrow *a = x, *b = y;

	if (a->proc != b->proc)
		return a->proc < b->proc ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->b != b->b)
		return a->b > b->b ? -1 : 1;
	return a->ref < b->ref ? -1 : a->ref > b->ref;
}

static int cmp_wgroup(const void *x, const void *y)
{
	const struct wgroup *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

struct wrows {
	struct wrow *r;
	size_t n, cap;
	struct wgroup *g;
	size_t ng, gcap;
	struct pitem *pi;
	size_t npi;
};

static void row_add(struct wrows *w, int32_t proc, uint32_t tid, int kind, int32_t ref, int64_t a,
		    int64_t b, int64_t fb, int depth)
{
	struct wrow *r = VEC_PUSH(w->r, w->n, w->cap);

	*r = (struct wrow){proc, tid, (uint8_t)kind, (uint8_t)(depth > 6 ? 6 : depth), ref, a,
			   b,	 fb};
}

/* The thread a process item was started from (its spawn, fork or wait event), else the
 * parent's main one. */
static uint32_t spawn_tid(const struct run *run, const struct pitem *p)
{
	return p->tid ? p->tid : (uint32_t)run->procs[p->parent].pid;
}

/* The depth of a process item's row: under the manual span that started it, if any. */
static int spawn_depth(const struct run *run, const struct pitem *p)
{
	return p->span >= 0 ? run->spans[p->span].depth + 1 : 0;
}

/*
 * Rows of a profiled child process nest under the row of the process item that started it:
 * per process, the group (proc, tid) its rows go to and the depth they start at.
 */
struct nest {
	int32_t *proc;
	uint32_t *tid;
	int *depth;
};

static void nest_build(const struct run *run, const struct wrows *w, struct nest *ns)
{
	size_t n = run->n_procs;

	ns->proc = xmalloc((n + 1) * sizeof(*ns->proc));
	ns->tid = xmalloc((n + 1) * sizeof(*ns->tid));
	ns->depth = xcalloc(n + 1, sizeof(*ns->depth));
	for (size_t i = 0; i < n; i++)
		ns->proc[i] = -1;
	/* local depth: one below the process item's row in its parent's group */
	for (size_t i = 0; i < w->npi; i++)
		if (w->pi[i].proc >= 0) {
			int32_t c = w->pi[i].proc;

			ns->proc[c] = w->pi[i].parent;
			ns->tid[c] = spawn_tid(run, &w->pi[i]);
			ns->depth[c] = spawn_depth(run, &w->pi[i]) + 1;
			for (int32_t e = run->procs[c].exec_next;
			     e >= 0 && (size_t)e < n && ns->proc[e] < 0 && e != c;
			     e = run->procs[e].exec_next) {
				ns->proc[e] = ns->proc[c];
				ns->tid[e] = ns->tid[c];
				ns->depth[e] = ns->depth[c];
			}
		}
	for (size_t i = 0; i < n; i++) { /* resolve grandchildren to the top group */
		for (size_t k = 0; k < n && ns->proc[i] >= 0 && ns->proc[ns->proc[i]] >= 0; k++) {
			int32_t up = ns->proc[i];

			ns->tid[i] = ns->tid[up];
			ns->proc[i] = ns->proc[up];
			ns->depth[i] += ns->depth[up];
		}
	}
}

static void row_add_nested(struct wrows *w, const struct nest *ns, int32_t proc, uint32_t tid,
			   int kind, int32_t ref, int64_t a, int64_t b, int64_t fb, int depth)
{
	if (ns->proc[proc] >= 0)
		row_add(w, ns->proc[proc], ns->tid[proc], kind, ref, a, b, fb,
			depth + ns->depth[proc]);
	else
		row_add(w, proc, tid, kind, ref, a, b, fb, depth);
}

static void rows_collect(const struct vrun *vr, struct wrows *w)
{
	const struct run *run = &vr->run;
	struct nest ns;

	w->npi = vr->proc_items ? pitems_build(vr, &w->pi) : 0;
	nest_build(run, w, &ns);
	for (size_t i = 0; i < run->n_spans; i++) {
		const struct vspan *s = &run->spans[i];

		if (vr->ssel[i] && s->start != UNK && s->end != UNK)
			row_add_nested(w, &ns, s->proc, s->tid, R_SPAN, (int32_t)i, s->start,
				       s->end, UNK, s->depth);
	}
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];

		if (vr->xsel[i] && x->t0 != UNK)
			row_add_nested(w, &ns, x->proc, x->tid, R_EXCHANGE, (int32_t)i, x->t0,
				       x->t1, x->first_byte,
				       x->span >= 0 ? run->spans[x->span].depth + 1 : 0);
	}
	for (size_t i = 0; i < w->npi; i++) { /* under the thread that started it */
		const struct pitem *p = &w->pi[i];

		row_add_nested(w, &ns, p->parent, spawn_tid(run, p), R_PROCESS, (int32_t)i, p->a,
			       p->b, UNK, spawn_depth(run, p));
	}
	free(ns.proc);
	free(ns.tid);
	free(ns.depth);
	sort_n(w->r, w->n, sizeof(*w->r), cmp_wrow);
	for (size_t i = 0; i < w->n; i++) {
		if (!i || w->r[i].proc != w->r[i - 1].proc || w->r[i].tid != w->r[i - 1].tid) {
			struct wgroup *g = VEC_PUSH(w->g, w->ng, w->gcap);

			g->first = i;
			g->start = w->r[i].a;
		}
		w->g[w->ng - 1].n++;
	}
	sort_n(w->g, w->ng, sizeof(*w->g), cmp_wgroup);
}

static void row_label(const struct run *run, const struct wrows *w, const struct wrow *r, char *buf,
		      size_t len)
{
	if (r->kind == R_EXCHANGE) {
		x_short_label(run, &run->xs[r->ref], buf, len);
	} else if (r->kind == R_SPAN) {
		const struct vspan *s = &run->spans[r->ref];

		snprintf(buf, len, "span %s", S(run, s->name));
	} else {
		const struct pitem *p = &w->pi[r->ref];
		const char *e = S(run, p->path), *sl = strrchr(e, '/');

		snprintf(buf, len, "process %s (pid %d%s)", sl ? sl + 1 : e, p->pid,
			 p->proc >= 0 ? "" : ", not profiled");
	}
}

static int row_cat(const struct run *run, const struct wrows *w, const struct wrow *r)
{
	if (r->kind == R_EXCHANGE)
		return run->xs[r->ref].cat;
	if (r->kind == R_SPAN)
		return run->spans[r->ref].cat ? run->spans[r->ref].cat : CAT_INTERNAL;
	return AP_CAT_PROCESS;
}

static void wgroup_label(const struct run *run, const struct wrow *r, char *buf, size_t len)
{
	const struct vproc *p = &run->procs[r->proc];
	const char *ag = S(run, p->agent), *e = S(run, p->exe), *sl = strrchr(e, '/');

	snprintf(buf, len, "pid %d thread %u  %s%s%s%s", p->pid, r->tid, sl ? sl + 1 : e,
		 *ag ? "  agent " : "", ag, "");
}

static void rows_text(struct view *v, struct wrows *w, int width)
{
	const struct run *run = &v->a.run;
	const struct color *c = &v->color;
	int64_t wall = v->a.end - v->a.start;
	int lw = width * 2 / 5 < 20 ? 20 : width * 2 / 5 > 60 ? 60 : width * 2 / 5;
	int bw = width - lw - 2 - 9 - 2, shown = 0;
	char label[600], *bar = xmalloc((size_t)(bw > 0 ? bw : 1) + 1);
	struct tbuf b[2];

	put_wrapf(v->out, width, 0,
		  "Waterfall: one row per call (%zu rows), wall %s; one column = %s; '|' marks the "
		  "first response byte; '!' a failed call.",
		  w->n, fmt_ns(&b[0], (double)wall),
		  fmt_ns(&b[1], (double)wall / (bw > 0 ? bw : 1)));
	for (size_t gi = 0; gi < w->ng; gi++) {
		const struct wgroup *g = &w->g[gi];

		if (v->o.limit && shown >= v->o.limit)
			break;
		wgroup_label(run, &w->r[g->first], label, sizeof(label));
		fprintf(v->out, "%s", c->bold);
		put_fit(v->out, label, width, 0);
		fprintf(v->out, "%s\n", c->off);
		for (size_t k = 0; k < g->n; k++) {
			const struct wrow *r = &w->r[g->first + k];
			int ind = 2 + 2 * r->depth, c0, c1, failed;

			if (v->o.limit && shown >= v->o.limit)
				break;
			shown++;
			failed = r->kind == R_EXCHANGE && x_failed(&run->xs[r->ref]);
			row_label(run, w, r, label, sizeof(label));
			if (ind > lw / 2)
				ind = lw / 2;
			put_rep(v->out, ' ', ind - 1);
			fputs(failed ? c->err : "", v->out);
			fputc(failed ? '!' : ' ', v->out);
			put_fit(v->out, label, lw - ind, 1);
			fputs(failed ? c->off : "", v->out);
			fprintf(v->out, " %9s ", fmt_ns(&b[0], (double)(r->b - r->a)));
			if (bw <= 0) {
				fputc('\n', v->out);
				continue;
			}
			memset(bar, ' ', (size_t)bw);
			c0 = wall > 0 ? (int)((double)(r->a - v->a.start) * bw / (double)wall) : 0;
			c1 = wall > 0 ? (int)((double)(r->b - v->a.start) * bw / (double)wall +
					      0.999)
				      : 1;
			c0 = c0 < 0 ? 0 : c0 >= bw ? bw - 1 : c0;
			c1 = c1 <= c0 ? c0 + 1 : c1 > bw ? bw : c1;
			memset(bar + c0, r->kind == R_SPAN ? '~' : cat_fill(row_cat(run, w, r)),
			       (size_t)(c1 - c0));
			if (r->fb != UNK && c1 - c0 >= 2) {
				int fc = wall > 0 ? (int)((double)(r->fb - v->a.start) * bw /
							  (double)wall)
						  : c0;

				bar[fc < c0 ? c0 : fc >= c1 ? c1 - 1 : fc] = '|';
			}
			fputs(c->cat[row_cat(run, w, r)], v->out);
			fwrite(bar, 1, (size_t)c1, v->out);
			fputs(c->cat[row_cat(run, w, r)][0] ? c->off : "", v->out);
			fputc('\n', v->out);
		}
	}
	if (v->o.limit && (size_t)shown < w->n)
		put_wrapf(v->out, width, 0, "... %zu more rows (--limit 0 shows all)",
			  w->n - (size_t)shown);
	free(bar);
}

static void rows_json(struct view *v, struct wrows *w)
{
	const struct run *run = &v->a.run;
	char label[600];
	struct jw j;

	jw_init(&j, v->out, 1);
	jw_obj(&j);
	jw_kint(&j, "wall_ns", v->a.end - v->a.start);
	jw_kint(&j, "start_ns", v->a.start);
	jw_key(&j, "groups");
	jw_arr(&j);
	for (size_t gi = 0; gi < w->ng; gi++) {
		const struct wgroup *g = &w->g[gi];
		const struct wrow *r0 = &w->r[g->first];

		jw_obj(&j);
		jw_kint(&j, "pid", run->procs[r0->proc].pid);
		jw_kint(&j, "tid", r0->tid);
		wgroup_label(run, r0, label, sizeof(label));
		jw_kstr(&j, "label", label);
		jw_key(&j, "rows");
		jw_arr(&j);
		for (size_t k = 0; k < g->n; k++) {
			const struct wrow *r = &w->r[g->first + k];
			static const char *const kinds[] = {"span", "exchange", "process"};

			jw_obj(&j);
			jw_kstr(&j, "kind", kinds[r->kind]);
			row_label(run, w, r, label, sizeof(label));
			jw_kstr(&j, "label", label);
			if (r->kind == R_EXCHANGE) {
				jw_kuint(&j, "id", run->xs[r->ref].id);
				jw_kint(&j, "status", run->xs[r->ref].status);
				jw_kbool(&j, "failed", x_failed(&run->xs[r->ref]));
			}
			jw_kint(&j, "depth", r->depth);
			jw_kint(&j, "start_ns", r->a);
			jw_kint(&j, "end_ns", r->b);
			jw_kint_opt(&j, "first_byte_ns", r->fb);
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	jw_end(&j);
}

static int rows_view(struct view *v)
{
	struct wrows w = {0};

	rows_collect(&v->a, &w);
	if (v->o.json)
		rows_json(v, &w);
	else
		rows_text(v, &w, term_width(v->o.width, v->out));
	free(w.r);
	free(w.g);
	free(w.pi);
	return 0;
}

int cmd_waterfall(struct view *v)
{
	struct wf w = {.v = v, .r = &v->a, .run = &v->a.run};

	if (!v->o.lanes)
		return rows_view(v);
	w.width = term_width(v->o.width, v->out);
	w.lw = w.width / 4 < 24 ? 24 : w.width / 4 > 40 ? 40 : w.width / 4;
	w.bw = w.width - w.lw - 4;
	w.wall = v->a.end - v->a.start;
	collect(&w);
	if (v->o.json)
		json(&w);
	else
		text(&w);
	for (size_t i = 0; i < w.n; i++)
		free(w.lanes[i].bars);
	free(w.lanes);
	return 0;
}
