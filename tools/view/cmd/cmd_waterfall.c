/* cmd_waterfall.c: "waterfall": a to-scale timeline, one lane per thread and per connection. */
#include <string.h>

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
		else
			fprintf(f, "%s", len <= w->bw ? b.s : "");
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

	fprintf(f, "Waterfall: wall %s; one column = %s; '|' marks the first response byte.\n",
		fmt_ns(&b, (double)w->wall), fmt_ns(&(struct tbuf){0}, (double)w->wall / w->bw));
	fprintf(f, "Fill: # llm  = tool  %% memory  + process  ~ span (spans are drawn above the "
		   "thread's exchanges)\n");
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

int cmd_waterfall(struct view *v)
{
	struct wf w = {.v = v, .r = &v->a, .run = &v->a.run};

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
