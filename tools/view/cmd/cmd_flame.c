/* cmd_flame.c: "flame": a text flame chart, process > thread > span > exchange > phases. */
#include <string.h>

#include "pystack.h"
#include "report.h"

/* One node of the chart, handed to the text or JSON renderer. */
struct fnode {
	const char *kind;
	char name[900];
	int64_t a, b;
	char fill;
	int cat; /* -1: none */
	int32_t pid;
	int64_t tid; /* -1: none */
	uint64_t id; /* 0: none */
};

struct flame {
	struct view *v;
	const struct vrun *r;
	const struct run *run;
	struct jw w;
	FILE *f;
	int json, width, bw, maxdepth, limit;
	int64_t wall;
	/* children by container: container i < n_threads is thread i, else span i - n_threads */
	uint32_t *x_off, *x_items, *s_off, *s_items;
	uint8_t *seen;	  /* processes already drawn (damaged input may have cycles) */
	struct pitem *pi; /* child processes, for the ones the preload did not enter */
	size_t npi;
	uint8_t *shown; /* processes with recorded activity in them or below them */
	size_t hidden;
	struct pystacks *py; /* Python call sites of exchanges */
	/* child processes (pitems) by the container (thread or span) that started them */
	uint32_t *p_off, *p_items;
	uint8_t *pi_nested; /* pitem drawn in a container, not below its parent process */
};

/* --- rendering ------------------------------------------------------------------------------ */

static void node_open(struct flame *c, const struct fnode *n, int depth)
{
	int64_t d = n->b - n->a;
	struct tbuf b[2];

	if (c->json) {
		jw_obj(&c->w);
		jw_kstr(&c->w, "kind", n->kind);
		jw_kstr(&c->w, "name", n->name);
		jw_kstr_opt(&c->w, "category",
			    n->cat > 0 ? ap_category_name((unsigned)n->cat) : NULL);
		jw_kint(&c->w, "start_ns", n->a);
		jw_kint(&c->w, "end_ns", n->b);
		jw_kint(&c->w, "ns", d);
		jw_kdouble(&c->w, "share", share(d, c->wall));
		if (n->pid)
			jw_kint(&c->w, "pid", n->pid);
		if (n->tid >= 0)
			jw_kint(&c->w, "tid", n->tid);
		if (n->id)
			jw_kuint(&c->w, "id", n->id);
		jw_key(&c->w, "children");
		jw_arr(&c->w);
		return;
	}
	if (c->wall > 0) {
		int c0 = (int)((double)(n->a - c->r->start) * c->bw / (double)c->wall);
		int c1 = (int)((double)(n->b - c->r->start) * c->bw / (double)c->wall + 0.999);

		c0 = c0 < 0 ? 0 : c0 >= c->bw ? c->bw - 1 : c0;
		c1 = c1 <= c0 ? c0 + 1 : c1 > c->bw ? c->bw : c1;
		put_rep(c->f, ' ', c0);
		put_rep(c->f, n->fill, c1 - c0);
		put_rep(c->f, ' ', c->bw - c1);
	}
	fprintf(c->f, " %6s %8s  ", fmt_pct(&b[0], share(d, c->wall)), fmt_ns(&b[1], (double)d));
	put_rep(c->f, ' ', 2 * (depth > 20 ? 20 : depth));
	put_fit(c->f, n->name, c->width - c->bw - 19 - 2 * (depth > 20 ? 20 : depth), 0);
	fputc('\n', c->f);
}

static void node_close(struct flame *c)
{
	if (c->json) {
		jw_arr_end(&c->w);
		jw_obj_end(&c->w);
	}
}

static void more_line(struct flame *c, size_t more, int depth)
{
	if (c->json)
		return;
	char line[64];
	int ind = c->bw + 18 + 2 * (depth > 20 ? 20 : depth), n;

	n = snprintf(line, sizeof(line), "... %zu more (--limit)", more);
	if (ind + n > c->width)
		ind = c->width - n > 0 ? c->width - n : 0;
	put_rep(c->f, ' ', ind);
	fprintf(c->f, "%s\n", line);
}

/* --- nodes ---------------------------------------------------------------------------------- */

static void leaf(struct flame *c, struct fnode *n, int depth)
{
	node_open(c, n, depth);
	node_close(c);
}

static void phase(struct flame *c, const char *name, char fill, int64_t a, int64_t b, int depth)
{
	struct fnode n = {.kind = "phase", .a = a, .b = b, .fill = fill, .cat = -1, .tid = -1};

	if (a == UNK || b == UNK || b <= a)
		return;
	snprintf(n.name, sizeof(n.name), "%s", name);
	leaf(c, &n, depth);
}

static void phases(struct flame *c, const struct vxch *x, int depth)
{
	int64_t t = x->t0;
	char fill = cat_fill(x->cat);

	if (x->dns_ns > 0)
		phase(c, "dns", 'd', t, t + x->dns_ns, depth), t += x->dns_ns;
	if (x->connect_ns > 0)
		phase(c, "connect", 'c', t, t + x->connect_ns, depth), t += x->connect_ns;
	if (x->tls_ns > 0)
		phase(c, "tls handshake", 's', t, t + x->tls_ns, depth);
	phase(c, "request write", 'w', x->start, x->req_sent, depth);
	phase(c, "wait for first byte", '.', x->req_sent != UNK ? x->req_sent : x->start,
	      x->first_byte, depth);
	if (x->stream) {
		char name[64];

		snprintf(name, sizeof(name), "stream (%u events)", x->events);
		phase(c, name, fill, x->first_byte, x->end, depth);
	} else {
		phase(c, "receive", fill, x->first_byte, x->end, depth);
	}
}

static void exchange(struct flame *c, uint32_t i, int depth)
{
	const struct run *run = c->run;
	const struct vxch *x = &run->xs[i];
	struct fnode n = {.kind = "exchange",
			  .a = x->t0,
			  .b = x->t1,
			  .fill = cat_fill(x->cat),
			  .cat = x->cat,
			  .pid = run->procs[x->proc].pid,
			  .tid = x->tid,
			  .id = x->id};
	char label[800];

	x_label(run, x, label, sizeof(label));
	if (x->status >= 0)
		setf(n.name, sizeof(n.name), "%s -> %d", label, x->status);
	else
		setf(n.name, sizeof(n.name), "%s -> %s", label,
		     x->error ? ap_xerr_name(x->error) : "no status");
	if (x->pystack_id && py_call_site(c->py, x->proc, x->pystack_id, 0, label, 256)) {
		size_t o = strlen(n.name);

		setf(n.name + o, sizeof(n.name) - o, "  @ %s", label);
	}
	node_open(c, &n, depth);
	if (!c->v->o.no_phases && depth + 1 <= c->maxdepth)
		phases(c, x, depth + 1);
	node_close(c);
}

static void container(struct flame *c, uint32_t cont, int depth);
static void chain(struct flame *c, int32_t p, int depth);

/* A child process item where it was started: a profiled child's exec chain, else a leaf. */
static void child_item(struct flame *c, uint32_t k, int depth)
{
	const struct pitem *it = &c->pi[k];
	struct fnode cn = {.kind = "process",
			   .a = it->a,
			   .b = it->b,
			   .fill = '+',
			   .cat = AP_CAT_PROCESS,
			   .pid = it->pid,
			   .tid = -1};

	if (it->proc >= 0) {
		chain(c, it->proc, depth);
		return;
	}
	setf(cn.name, sizeof(cn.name), "child pid %d%s%s (not profiled)", it->pid,
	     *S(c->run, it->path) ? " " : "", S(c->run, it->path));
	leaf(c, &cn, depth);
}

static void span(struct flame *c, uint32_t i, int depth)
{
	const struct run *run = c->run;
	const struct vspan *s = &run->spans[i];
	struct fnode n = {.kind = "span",
			  .a = s->start,
			  .b = s->end,
			  .fill = s->cat ? cat_fill(s->cat) : '~',
			  .cat = s->cat,
			  .pid = run->procs[s->proc].pid,
			  .tid = s->tid,
			  .id = s->id};

	setf(n.name, sizeof(n.name), "span %s%s%s%s%s%s", S(run, s->name), s->cat ? " (" : "",
	     s->cat ? ap_category_name(s->cat) : "", s->cat ? ")" : "", s->agent ? "  agent " : "",
	     S(run, s->agent));
	if (s->pystack_id) {
		char site[256];
		size_t o = strlen(n.name);

		if (py_call_site(c->py, s->proc, s->pystack_id, 0, site, sizeof(site)))
			setf(n.name + o, sizeof(n.name) - o, "  @ %s", site);
	}
	node_open(c, &n, depth);
	if (depth + 1 <= c->maxdepth)
		container(c, (uint32_t)(run->n_threads + i), depth + 1);
	node_close(c);
}

static int64_t item_start(const struct flame *c, int is_span, uint32_t i)
{
	return is_span ? c->run->spans[i].start : c->run->xs[i].t0;
}

/* Children of a thread or span: spans, exchanges and the child processes it started (tools),
 * merged by start time. */
static void container(struct flame *c, uint32_t cont, int depth)
{
	uint32_t xi = c->x_off[cont], xe = c->x_off[cont + 1];
	uint32_t si = c->s_off[cont], se = c->s_off[cont + 1];
	uint32_t pi = c->p_off[cont], pe = c->p_off[cont + 1];
	size_t shown = 0, total = (xe - xi) + (se - si) + (pe - pi);

	while (xi < xe || si < se || pi < pe) {
		int64_t ts = si < se ? item_start(c, 1, c->s_items[si]) : INT64_MAX;
		int64_t tx = xi < xe ? item_start(c, 0, c->x_items[xi]) : INT64_MAX;
		int64_t tp = pi < pe ? c->pi[c->p_items[pi]].a : INT64_MAX;

		if (!c->json && c->limit && shown == (size_t)c->limit) {
			more_line(c, total - shown, depth);
			return;
		}
		if (si < se && ts <= tx && ts <= tp)
			span(c, c->s_items[si++], depth);
		else if (xi < xe && tx <= tp)
			exchange(c, c->x_items[xi++], depth);
		else
			child_item(c, c->p_items[pi++], depth);
		shown++;
	}
}

static void process(struct flame *c, int32_t p, int depth)
{
	const struct run *run = c->run;
	const struct vproc *pr = &run->procs[p];
	struct fnode n = {.kind = "process", .fill = '-', .cat = -1, .pid = pr->pid, .tid = -1};
	const char *argv = S(run, pr->argv);
	size_t alen = strtab_len(&run->st, pr->argv), o;

	c->seen[p] = 1;
	o = (size_t)snprintf(n.name, sizeof(n.name), "pid %d %s", pr->pid,
			     pr->exec_of >= 0 ? "exec " : "");
	for (size_t i = 0; i < alen && o + 1 < sizeof(n.name); i++)
		n.name[o++] = argv[i] ? argv[i] : ' ';
	while (o && n.name[o - 1] == ' ')
		o--;
	n.name[o] = 0;
	n.a = pr->start != UNK ? pr->start : pr->last_seen;
	n.b = pr->end != UNK ? i64_max(pr->end, pr->last_seen) : pr->last_seen;
	node_open(c, &n, depth);
	for (size_t t = 0; t < run->n_threads && depth + 1 <= c->maxdepth; t++) {
		const struct vthread *th = &run->threads[t];
		struct fnode tn = {.kind = "thread",
				   .a = th->first,
				   .b = th->last,
				   .fill = '-',
				   .cat = -1,
				   .pid = pr->pid,
				   .tid = th->tid};

		if (th->proc != p || c->x_off[t] + c->s_off[t] + c->p_off[t] ==
					     c->x_off[t + 1] + c->s_off[t + 1] + c->p_off[t + 1])
			continue;
		setf(tn.name, sizeof(tn.name), "thread %u: %u exchanges, %u spans", th->tid, th->nx,
		     th->nspans);
		node_open(c, &tn, depth + 1);
		if (depth + 2 <= c->maxdepth)
			container(c, (uint32_t)t, depth + 2);
		node_close(c);
	}
	for (size_t k = 0; k < c->npi && depth + 1 <= c->maxdepth; k++)
		if (c->pi[k].proc < 0 && c->pi[k].parent == p && !c->pi_nested[k])
			child_item(c, (uint32_t)k, depth + 1);
	for (size_t k = 0; k < run->n_procs && depth + 1 <= c->maxdepth; k++)
		if (!c->seen[k] && run->procs[k].parent == p && run->procs[k].exec_of < 0)
			chain(c, (int32_t)k, depth + 1);
	node_close(c);
}

/* A process and the images that replaced it by exec, at one depth. */
static void chain(struct flame *c, int32_t p, int depth)
{
	for (int n = 0; p >= 0 && !c->seen[p] && n < 1000; n++, p = c->run->procs[p].exec_next) {
		if (c->r->psel[p] && c->shown[p]) {
			process(c, p, depth);
		} else {
			c->hidden += c->r->psel[p];
			c->seen[p] = 1;
		}
	}
}

/*
 * Without --pid, only processes with exchanges or spans, the processes above them, and the
 * children they started are drawn (a shell's helper processes would bury the chart).
 */
static void mark_shown(struct flame *c)
{
	const struct run *run = c->run;
	uint8_t *own = xcalloc(run->n_procs + 1, 1);

	c->shown = xcalloc(run->n_procs + 1, 1);
	for (size_t i = 0; i < run->n_procs; i++) {
		int32_t x = (int32_t)i;
		int active = c->v->o.f.npids > 0;

		for (size_t t = 0; t < run->n_threads && !active; t++)
			active = run->threads[t].proc == x &&
				 c->x_off[t] + c->s_off[t] != c->x_off[t + 1] + c->s_off[t + 1];
		for (size_t k = 0; k < c->npi && !active; k++)
			active = c->pi[k].proc < 0 && c->pi[k].parent == x;
		own[i] = (uint8_t)active;
		for (size_t guard = 0; active && x >= 0 && !c->shown[x] && guard < run->n_procs;
		     guard++) {
			int32_t h = x;

			c->shown[x] = 1;
			for (int n = 0; run->procs[h].exec_of >= 0 && n < 1000; n++)
				h = run->procs[h].exec_of; /* the chain's first image was forked */
			x = run->procs[h].parent;
		}
	}
	for (size_t i = 0; i < run->n_procs; i++) { /* tools the active processes started */
		int32_t p = run->procs[i].parent, x = (int32_t)i;

		if (run->procs[i].exec_of >= 0 || p < 0 || !own[p])
			continue;
		for (int n = 0; x >= 0 && n < 1000; n++, x = run->procs[x].exec_next)
			c->shown[x] = 1;
	}
	free(own);
}

/* --- buckets -------------------------------------------------------------------------------- */

static void bucket(uint32_t nb, const uint32_t *key, size_t n, uint32_t **off, uint32_t **items)
{
	uint32_t *o = xcalloc(nb + 2, sizeof(*o)), *it = xmalloc((n + 1) * sizeof(*it)), *pos;

	for (size_t i = 0; i < n; i++)
		if (key[i] != UINT32_MAX)
			o[key[i] + 1]++;
	for (uint32_t b = 0; b < nb; b++)
		o[b + 1] += o[b];
	pos = xmalloc((nb + 1) * sizeof(*pos));
	memcpy(pos, o, (nb + 1) * sizeof(*pos));
	for (size_t i = 0; i < n; i++)
		if (key[i] != UINT32_MAX)
			it[pos[key[i]]++] = (uint32_t)i;
	free(pos);
	*off = o;
	*items = it;
}

static int cmp_span_start(const void *a, const void *b, void *ctx)
{
	const struct run *run = ctx;
	const struct vspan *x = &run->spans[*(const uint32_t *)a],
			   *y = &run->spans[*(const uint32_t *)b];

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end;
}

static void build(struct flame *c)
{
	const struct run *run = c->run;
	uint32_t nb = (uint32_t)(run->n_threads + run->n_spans);
	uint32_t *kx = xmalloc((run->n_xs + 1) * sizeof(*kx));
	uint32_t *ks = xmalloc((run->n_spans + 1) * sizeof(*ks));

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		int32_t t = run_thread(run, x->proc, x->tid);

		kx[i] = UINT32_MAX;
		if (!c->r->xsel[i] || x->t0 == UNK)
			continue;
		if (x->span >= 0 && c->r->ssel[x->span])
			kx[i] = (uint32_t)(run->n_threads + (size_t)x->span);
		else if (t >= 0)
			kx[i] = (uint32_t)t;
	}
	for (size_t i = 0; i < run->n_spans; i++) {
		const struct vspan *s = &run->spans[i];
		int32_t t = run_thread(run, s->proc, s->tid);

		ks[i] = UINT32_MAX;
		if (!c->r->ssel[i] || s->start == UNK || s->end == UNK)
			continue;
		if (s->parent >= 0 && c->r->ssel[s->parent])
			ks[i] = (uint32_t)(run->n_threads + (size_t)s->parent);
		else if (t >= 0)
			ks[i] = (uint32_t)t;
	}
	bucket(nb, kx, run->n_xs, &c->x_off, &c->x_items);
	bucket(nb, ks, run->n_spans, &c->s_off, &c->s_items);
	for (uint32_t b = 0; b < nb; b++)
		sort_r(c->s_items + c->s_off[b], c->s_off[b + 1] - c->s_off[b], sizeof(uint32_t),
		       cmp_span_start, (void *)run);
	free(kx);
	free(ks);
}

static int cmp_pitem_start(const void *a, const void *b, void *ctx)
{
	const struct pitem *pi = ctx, *x = &pi[*(const uint32_t *)a],
			   *y = &pi[*(const uint32_t *)b];

	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Each child process item goes to the span or thread that started it, when there is one. */
static void nest_children(struct flame *c)
{
	const struct run *run = c->run;
	uint32_t nb = (uint32_t)(run->n_threads + run->n_spans);
	uint32_t *key = xmalloc((c->npi + 1) * sizeof(*key));

	c->pi_nested = xcalloc(c->npi + 1, 1);
	for (size_t k = 0; k < c->npi; k++) {
		const struct pitem *it = &c->pi[k];
		int32_t t = it->tid ? run_thread(run, it->parent, it->tid) : -1;

		key[k] = UINT32_MAX;
		if (it->span >= 0)
			key[k] = (uint32_t)(run->n_threads + (size_t)it->span);
		else if (t >= 0)
			key[k] = (uint32_t)t;
		c->pi_nested[k] = key[k] != UINT32_MAX;
	}
	bucket(nb, key, c->npi, &c->p_off, &c->p_items);
	for (uint32_t b = 0; b < nb; b++)
		sort_r(c->p_items + c->p_off[b], c->p_off[b + 1] - c->p_off[b], sizeof(uint32_t),
		       cmp_pitem_start, c->pi);
	free(key);
}

int cmd_flame(struct view *v)
{
	struct flame c = {.v = v, .r = &v->a, .run = &v->a.run, .f = v->out, .json = v->o.json};
	const struct run *run = c.run;
	struct fnode root = {.kind = "run", .fill = '-', .cat = -1, .tid = -1};

	c.width = term_width(v->o.width, v->out);
	c.bw = c.width * 2 / 5 < 20 ? 20 : c.width * 2 / 5;
	c.maxdepth = v->o.depth;
	c.limit = v->o.limit;
	c.wall = v->a.end - v->a.start;
	c.seen = xcalloc(run->n_procs + 1, 1);
	c.py = py_open(run, NULL, 0);
	build(&c);
	c.npi = v->a.proc_items ? pitems_build(&v->a, &c.pi) : 0;
	nest_children(&c);
	mark_shown(&c);
	root.a = v->a.start;
	root.b = v->a.end;
	snprintf(root.name, sizeof(root.name), "run (%zu file%s)", run->n_files,
		 run->n_files == 1 ? "" : "s");
	if (c.json) {
		jw_init(&c.w, v->out, 1);
		jw_obj(&c.w);
		jw_kint(&c.w, "wall_ns", c.wall);
		jw_kint(&c.w, "start_ns", v->a.start);
		jw_key(&c.w, "root");
	} else {
		put_wrapf(c.f, term_width(v->o.width, v->out), 0,
			  "Flame chart: bars placed and sized on the run's time axis (wall %s).",
			  fmt_ns(&(struct tbuf){0}, (double)c.wall));
		put_wrap(c.f,
			 "Fill: # llm  = tool  % memory  + process  ~ span  - process/thread  "
			 "d dns  c connect  s tls  w write  . wait",
			 term_width(v->o.width, v->out), 0);
	}
	node_open(&c, &root, 0);
	for (size_t p = 0; p < run->n_procs; p++)
		if (!c.seen[p] && run->procs[p].parent < 0 && run->procs[p].exec_of < 0)
			chain(&c, (int32_t)p, 1);
	for (size_t p = 0; p < run->n_procs; p++) /* --pid, orphans, cycles in damaged input */
		if (!c.seen[p] && v->a.psel[p])
			chain(&c, (int32_t)p, 1);
	node_close(&c);
	if (c.json) {
		jw_kuint(&c.w, "processes_not_shown", c.hidden);
		jw_obj_end(&c.w);
		jw_end(&c.w);
	} else if (c.hidden) {
		put_wrapf(c.f, term_width(v->o.width, v->out), 0,
			  "(%zu processes without exchanges or spans are not shown; --pid shows "
			  "them)",
			  c.hidden);
	}
	free(c.x_off);
	free(c.x_items);
	free(c.s_off);
	free(c.s_items);
	free(c.seen);
	free(c.shown);
	free(c.pi);
	py_close(c.py);
	free(c.p_off);
	free(c.p_items);
	free(c.pi_nested);
	return 0;
}
