/* export_speedscope.c: "export --format speedscope": one evented profile per thread (more when
 * requests overlap), frames = manual spans, the program's stack, the endpoint and its phases,
 * and the child processes (tools) the thread started. */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "export.h"
#include "jsonw.h"

#define SS_SCHEMA "https://www.speedscope.app/file-format-schema.json"
#define MAX_PATH  (AP_MAX_FRAMES + 80)

/*
 * An evented profile must be a balanced stack with non-decreasing times, so overlapping work
 * on one thread (asyncio, curl multi) cannot share a profile. Items of a thread are sorted by
 * start and put in the first "lane" where they either follow everything open or nest inside
 * the innermost open item whose frame path is a prefix of theirs; each lane is one profile.
 */

struct item {
	int64_t a, b;
	uint32_t *path; /* frame indexes, root first */
	uint32_t n;
};

struct open_ {
	const struct item *it;
	uint32_t from; /* frames [from, n) were opened by this item */
};

struct lane {
	struct open_ st[MAX_PATH];
	int depth;
	int64_t first, last;
	FILE *ev; /* events written so far (memstream) */
	char *buf;
	size_t len;
	int nev;
};

struct ss {
	struct view *v;
	struct symbolizer *sym;
	struct pystacks *py;
	struct folded names; /* reused only for its frame-name interning */
	char **files;	     /* per frame: file or NULL */
	int *lines;
	size_t n_frames, cap_files, cap_lines;
	size_t *fh, fh_cap;
	struct item *items;
	size_t n_items, cap_items;
	uint32_t pathbuf[MAX_PATH];
	struct pitem *pi; /* child processes, drawn on the thread that started them */
	size_t npi;
	int32_t *up;	/* per item: the item whose process started it (pitems_up), -1 */
	uint8_t *agent; /* per item: the agent or a wrapper on the way to it, not a tool */
};

static uint64_t hstr(const char *s, const char *f)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	for (; f && *f; f++)
		h = (h ^ (uint8_t)*f) * 0x100000001b3ull;
	return h;
}

static char *frame_name(struct ss *s, size_t i)
{
	return s->names.names[i];
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Frame index of (name, file): the first line seen is kept for the frame. */
static uint32_t frame(struct ss *s, const char *name, const char *file, int line)
{
	size_t h;

	if ((s->n_frames + 1) * 2 > s->fh_cap) {
		size_t nc = s->fh_cap ? s->fh_cap * 2 : 1024;
		size_t *t = xcalloc(nc, sizeof(*t));

		for (size_t i = 0; i < s->n_frames; i++) {
			h = hstr(frame_name(s, i), s->files[i]) & (nc - 1);
			while (t[h])
				h = (h + 1) & (nc - 1);
			t[h] = i + 1;
		}
		free(s->fh);
		s->fh = t;
		s->fh_cap = nc;
	}
	for (h = hstr(name, file) & (s->fh_cap - 1); s->fh[h]; h = (h + 1) & (s->fh_cap - 1)) {
		size_t i = s->fh[h] - 1;

		if (!strcmp(frame_name(s, i), name) && same(s->files[i], file))
			return (uint32_t)i;
	}
	*VEC_PUSH(s->names.names, s->names.n_names, s->names.cap_names) = xstrdup(name);
	*VEC_PUSH(s->files, s->n_frames, s->cap_files) = file ? xstrdup(file) : NULL;
	s->cap_lines = s->cap_files;
	s->lines = xrealloc(s->lines, s->cap_lines * sizeof(*s->lines));
	s->lines[s->n_frames - 1] = line;
	s->fh[h] = s->n_frames;
	return (uint32_t)(s->n_frames - 1);
}

static void add_item(struct ss *s, int64_t a, int64_t b, uint32_t n)
{
	struct item *it;

	if (a == UNK || b == UNK || b < a || !n)
		return;
	it = VEC_PUSH(s->items, s->n_items, s->cap_items);
	it->a = a;
	it->b = b;
	it->n = n;
	it->path = xmalloc(n * sizeof(*it->path));
	memcpy(it->path, s->pathbuf, n * sizeof(*it->path));
}

/* Span names of span si and its ancestors into pathbuf, root first; returns the count. */
static uint32_t span_path(struct ss *s, int32_t si)
{
	const struct run *run = &s->v->a.run;
	int32_t chain[64];
	uint32_t n = 0, k = 0;

	for (; si >= 0 && k < 64; si = run->spans[si].parent)
		chain[k++] = si;
	while (k-- > 0)
		s->pathbuf[n++] = frame(s, S(run, run->spans[chain[k]].name), NULL, 0);
	return n;
}

/* Indexes of the spans and exchanges of each thread, in array order (run->threads order). */
struct by_thread {
	size_t *sfirst, *xfirst; /* per thread: its slice of sidx / xidx (n_threads + 1 entries) */
	uint32_t *sidx, *xidx;
};

static void bucket(const struct run *run, size_t n, const int32_t *th, size_t **first,
		   uint32_t **idx)
{
	size_t *at = xcalloc(run->n_threads + 1, sizeof(*at));

	*first = xcalloc(run->n_threads + 2, sizeof(**first));
	*idx = xmalloc((n + 1) * sizeof(**idx));
	for (size_t i = 0; i < n; i++)
		if (th[i] >= 0)
			(*first)[th[i] + 1]++;
	for (size_t t = 0; t < run->n_threads; t++)
		(*first)[t + 1] += (*first)[t];
	memcpy(at, *first, run->n_threads * sizeof(*at));
	for (size_t i = 0; i < n; i++)
		if (th[i] >= 0)
			(*idx)[at[th[i]]++] = (uint32_t)i;
	free(at);
}

static void by_thread_build(const struct run *run, struct by_thread *bt)
{
	size_t n = run->n_xs > run->n_spans ? run->n_xs : run->n_spans;
	int32_t *th = xmalloc((n + 1) * sizeof(*th));

	for (size_t i = 0; i < run->n_spans; i++)
		th[i] = run_thread(run, run->spans[i].proc, run->spans[i].tid);
	bucket(run, run->n_spans, th, &bt->sfirst, &bt->sidx);
	for (size_t i = 0; i < run->n_xs; i++)
		th[i] = i && run->xs[i].proc == run->xs[i - 1].proc &&
					run->xs[i].tid == run->xs[i - 1].tid
				? th[i - 1]
				: run_thread(run, run->xs[i].proc, run->xs[i].tid);
	bucket(run, run->n_xs, th, &bt->xfirst, &bt->xidx);
	free(th);
}

static void by_thread_free(struct by_thread *bt)
{
	free(bt->sfirst);
	free(bt->xfirst);
	free(bt->sidx);
	free(bt->xidx);
}

static void collect_thread(struct ss *s, const struct by_thread *bt, size_t ti)
{
	const struct view *v = s->v;
	const struct run *run = &v->a.run;
	const int32_t proc = run->threads[ti].proc;
	const uint32_t tid = run->threads[ti].tid;
	char buf[400];

	for (size_t j = bt->sfirst[ti]; j < bt->sfirst[ti + 1]; j++) {
		size_t i = bt->sidx[j];
		const struct vspan *sp = &run->spans[i];

		if (v->a.ssel[i])
			add_item(s, sp->start, sp->end, span_path(s, (int32_t)i));
	}
	for (size_t j = bt->xfirst[ti]; j < bt->xfirst[ti + 1]; j++) {
		size_t i = bt->xidx[j];
		const struct vxch *x = &run->xs[i];
		const struct symframe *const *sf;
		struct xphase ph[XPHASE_MAX];
		uint32_t n;
		size_t ns, np;

		if (!v->a.xsel[i] || x->t0 == UNK)
			continue;
		n = x->span >= 0 ? span_path(s, x->span) : 0;
		ns = py_stack(s->py, s->sym, x->proc, x->stack_id, x->pystack_id, &sf);
		for (size_t k = 0; k < ns && n < MAX_PATH - 2; k++)
			s->pathbuf[n++] = frame(s, sf[k]->name, sf[k]->file, sf[k]->line);
		x_leaf(run, x, buf, sizeof(buf));
		s->pathbuf[n++] = frame(s, buf, NULL, 0);
		add_item(s, x->t0, x->t1, n);
		np = x_phases(x, ph);
		for (size_t k = 0; k < np; k++) {
			s->pathbuf[n] = frame(s, ph[k].name, NULL, 0);
			add_item(s, i64_max(ph[k].a, x->t0), i64_min(ph[k].b, x->t1), n + 1);
		}
	}
	for (size_t i = 0; i < s->npi; i++) { /* the tools this thread started, and theirs */
		int32_t line[16], top = (int32_t)i;
		const struct pitem *it;
		const struct vpev *e;
		const struct symframe *const *sf;
		uint32_t n;
		size_t ns = 0;
		int k = 0;

		if (s->agent[i])
			continue; /* the agent itself, started by a wrapper: not a tool */
		line[k++] = top;
		while (s->up[top] >= 0 && k < 16)
			line[k++] = top = s->up[top];
		it = &s->pi[top];
		e = it->pev >= 0 ? &run->pevs[it->pev] : NULL;
		if (it->parent != proc ||
		    (it->tid ? it->tid : (uint32_t)run->procs[proc].pid) != tid)
			continue;
		n = it->span >= 0 ? span_path(s, it->span) : 0;
		if (e)
			ns = py_stack(s->py, s->sym, proc, e->stack_id, e->pystack_id, &sf);
		for (size_t f = 0; f < ns && n < MAX_PATH - 18; f++)
			s->pathbuf[n++] = frame(s, sf[f]->name, sf[f]->file, sf[f]->line);
		while (k-- > 0) {
			process_leaf(run, &s->pi[line[k]], buf, sizeof(buf));
			s->pathbuf[n++] = frame(s, buf, NULL, 0);
		}
		add_item(s, s->pi[i].a, s->pi[i].b, n);
	}
}

static int cmp_item(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	if (a->b != b->b)
		return a->b > b->b ? -1 : 1;
	return a->n < b->n ? -1 : a->n > b->n;
}

/* Decimal digits of v, backwards from end; returns the first. */
static char *digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void ev(struct lane *l, char type, int64_t at, uint32_t frame)
{
	char b[96], *p = b, num[24];
	const char *d;

	if (l->nev)
		*p++ = ',';
	memcpy(p, "{\"type\":\"", 9);
	p += 9;
	*p++ = type;
	memcpy(p, "\",\"frame\":", 10);
	p += 10;
	d = digits(num + sizeof(num), frame);
	memcpy(p, d, (size_t)(num + sizeof(num) - d));
	p += num + sizeof(num) - d;
	memcpy(p, ",\"at\":", 6);
	p += 6;
	if (at < 0)
		*p++ = '-';
	d = digits(num + sizeof(num), at < 0 ? -(uint64_t)at : (uint64_t)at);
	memcpy(p, d, (size_t)(num + sizeof(num) - d));
	p += num + sizeof(num) - d;
	*p++ = '}';
	if (l->ev)
		fwrite_unlocked(b, 1, (size_t)(p - b), l->ev);
	l->nev++;
}

static void close_top(struct lane *l, int64_t t0)
{
	const struct open_ *o = &l->st[--l->depth];

	for (uint32_t k = o->it->n; k-- > o->from;)
		ev(l, 'C', o->it->b - t0, o->it->path[k]);
}

static int prefix(const struct item *outer, const struct item *inner)
{
	return outer->n <= inner->n &&
	       !memcmp(outer->path, inner->path, outer->n * sizeof(uint32_t));
}

static int fits(struct lane *l, const struct item *it, int64_t t0)
{
	while (l->depth && l->st[l->depth - 1].it->b <= it->a)
		close_top(l, t0);
	if (!l->depth)
		return 1;
	return l->depth < MAX_PATH && it->b <= l->st[l->depth - 1].it->b &&
	       prefix(l->st[l->depth - 1].it, it);
}

static void open_item(struct lane *l, const struct item *it, int64_t t0)
{
	uint32_t from = l->depth ? l->st[l->depth - 1].it->n : 0;

	for (uint32_t k = from; k < it->n; k++)
		ev(l, 'O', it->a - t0, it->path[k]);
	l->st[l->depth++] = (struct open_){it, from};
	if (l->first == UNK || it->a < l->first)
		l->first = it->a;
	if (it->b > l->last)
		l->last = it->b;
}

/* Place the thread's items on lanes (first fit). dry: only find each lane's extent; else lane 0
 * writes straight to out (its header written by start0) and the others into memory. */
static size_t place(struct ss *s, struct lane **lanes, size_t *cap, int64_t t0, int dry, FILE *out)
{
	size_t nl = 0;

	for (size_t i = 0; i < s->n_items; i++) {
		size_t k;

		for (k = 0; k < nl && !fits(&(*lanes)[k], &s->items[i], t0); k++)
			;
		if (k == nl) {
			struct lane *l = VEC_PUSH(*lanes, nl, *cap);

			l->first = UNK;
			l->last = UNK;
			if (!dry)
				l->ev = k ? open_memstream(&l->buf, &l->len) : out;
			if (!dry && !l->ev) {
				perror("agentprof-view: open_memstream");
				exit(2);
			}
		}
		open_item(&(*lanes)[k], &s->items[i], t0);
	}
	for (size_t k = 0; k < nl; k++)
		while ((*lanes)[k].depth)
			close_top(&(*lanes)[k], t0);
	return nl;
}

static void lane_head(struct ss *s, struct jw *w, const struct vproc *p, uint32_t tid, int64_t t0,
		      size_t k, const struct lane *l)
{
	char lb[128], name[256];

	snprintf(name, sizeof(name), "%s pid %d tid %u%s",
		 proc_label(&s->v->a.run, p, lb, sizeof(lb)), p->pid, tid,
		 k ? " (overlapping)" : "");
	jw_obj(w);
	jw_kstr(w, "type", "evented");
	jw_kstr(w, "name", name);
	jw_kstr(w, "unit", "nanoseconds");
	jw_kint(w, "startValue", l->first - t0);
	jw_kint(w, "endValue", l->last - t0);
	jw_key(w, "events");
	jw_arr(w);
}

static void lane_end(struct jw *w, const struct lane *l)
{
	w->nonempty[w->depth] = l->nev > 0;
	jw_arr_end(w);
	jw_obj_end(w);
}

static void emit_thread(struct ss *s, struct jw *w, const struct vproc *p, uint32_t tid, int64_t t0,
			size_t *profiles)
{
	struct lane *lanes = NULL, first;
	size_t nl, cap = 0;

	qsort(s->items, s->n_items, sizeof(*s->items), cmp_item);
	/* the first lane's extent goes before its events: a dry placement finds it, so its events
	 * (most of them) need not be held in memory */
	nl = place(s, &lanes, &cap, t0, 1, NULL);
	if (!nl) {
		free(lanes);
		return;
	}
	first = lanes[0];
	memset(lanes, 0, nl * sizeof(*lanes));
	lane_head(s, w, p, tid, t0, 0, &first);
	nl = place(s, &lanes, &cap, t0, 0, w->f);
	lane_end(w, &lanes[0]);
	(*profiles)++;
	for (size_t k = 1; k < nl; k++) {
		struct lane *l = &lanes[k];

		fclose(l->ev);
		lane_head(s, w, p, tid, t0, k, l);
		fwrite_unlocked(l->buf, 1, l->len, w->f); /* pre-rendered events: JSON values */
		lane_end(w, l);
		free(l->buf);
		(*profiles)++;
	}
	free(lanes);
	for (size_t i = 0; i < s->n_items; i++)
		free(s->items[i].path);
	s->n_items = 0;
}

int export_speedscope(struct view *v)
{
	const struct run *run = &v->a.run;
	struct ss s = {.v = v};
	size_t profiles = 0;
	int64_t t0 = v->a.start != UNK ? v->a.start : 0;
	struct by_thread bt;
	struct jw w;

	s.sym = sym_open(run, v->err);
	s.py = py_open(run, s.sym, v->o.native);
	s.npi = v->a.proc_items ? pitems_build(&v->a, &s.pi) : 0;
	s.up = pitems_up(run, s.pi, s.npi, &s.agent);
	by_thread_build(run, &bt);
	/* the frames come first in the file: a first pass over the threads finds them, a second
	 * (finding the same frames in the same order) writes the profiles straight out */
	for (size_t i = 0; i < run->n_threads; i++) {
		if (!v->a.psel[run->threads[i].proc])
			continue;
		collect_thread(&s, &bt, i);
		for (size_t k = 0; k < s.n_items; k++)
			free(s.items[k].path);
		s.n_items = 0;
	}

	jw_init(&w, v->out, 0);
	jw_obj(&w);
	jw_kstr(&w, "$schema", SS_SCHEMA);
	jw_kstr(&w, "exporter", "agentprof-view@0.1.0");
	jw_kstr(&w, "name", "agentprof");
	jw_kint(&w, "activeProfileIndex", 0);
	jw_key(&w, "shared");
	jw_obj(&w);
	jw_key(&w, "frames");
	jw_arr(&w);
	for (size_t i = 0; i < s.n_frames; i++) {
		jw_obj(&w);
		jw_kstr(&w, "name", frame_name(&s, i));
		if (s.files[i]) {
			jw_kstr(&w, "file", s.files[i]);
			if (s.lines[i] > 0)
				jw_kint(&w, "line", s.lines[i]);
		}
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_key(&w, "profiles");
	jw_arr(&w);
	for (size_t i = 0; i < run->n_threads; i++) {
		const struct vthread *t = &run->threads[i];

		if (!v->a.psel[t->proc])
			continue;
		collect_thread(&s, &bt, i);
		if (s.n_items)
			emit_thread(&s, &w, &run->procs[t->proc], t->tid, t0, &profiles);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
	by_thread_free(&bt);
	for (size_t i = 0; i < s.n_frames; i++)
		free(s.files[i]);
	free(s.files);
	free(s.lines);
	free(s.fh);
	free(s.items);
	free(s.pi);
	free(s.up);
	free(s.agent);
	folded_free(&s.names);
	py_close(s.py);
	sym_close(s.sym);
	if (!profiles)
		fprintf(v->err, "agentprof-view export: no timed exchanges or spans selected: the "
				"speedscope file has no profiles\n");
	return 0;
}
