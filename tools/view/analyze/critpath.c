/* critpath.c: critical-path walk over exchanges, spans and child processes with segment trees. */
#include <stdlib.h>
#include <string.h>

#include "critpath.h"
#include "sort.h"

/* Items of one level sorted by start, with a max-segment-tree over their ends. */
struct level {
	int64_t *a, *b;
	int32_t *ref;
	size_t n, cap;
	int64_t *tree; /* 2 * size, size = power of two >= n */
	size_t size;
};

const char *cp_kind_name(enum cp_kind k)
{
	static const char *const names[] = {"exchange", "span", "process", "internal"};

	return names[k];
}

static void level_add(struct level *l, int64_t a, int64_t b, int32_t ref, const struct vrun *r)
{
	if (a == UNK || b == UNK)
		return;
	a = i64_max(a, r->start);
	b = i64_min(b, r->end);
	if (b <= a)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->a = xrealloc(l->a, l->cap * sizeof(*l->a));
		l->b = xrealloc(l->b, l->cap * sizeof(*l->b));
		l->ref = xrealloc(l->ref, l->cap * sizeof(*l->ref));
	}
	l->a[l->n] = a;
	l->b[l->n] = b;
	l->ref[l->n++] = ref;
}

/* ord[0..n) = the indexes 0..n-1 ordered by prim ascending, then sec descending, then index:
 * two stable radix sorts (the secondary key first), n log n comparisons fewer. */
struct two_keys {
	int64_t prim, sec; /* sec holds ~sec: ascending ~sec is descending sec */
	size_t i;
};

static void order_by(size_t *ord, size_t n, const int64_t *prim, const int64_t *sec)
{
	struct two_keys *e = xmalloc((n + 1) * sizeof(*e));

	for (size_t i = 0; i < n; i++)
		e[i] = (struct two_keys){prim[i], ~sec[i], i};
	radix_sort64(e, n, sizeof(*e), offsetof(struct two_keys, sec), 1);
	radix_sort64(e, n, sizeof(*e), offsetof(struct two_keys, prim), 1);
	for (size_t i = 0; i < n; i++)
		ord[i] = e[i].i;
	free(e);
}

static void level_build(struct level *l)
{
	size_t *ord = xmalloc((l->n + 1) * sizeof(*ord));
	int64_t *a = xmalloc((l->n + 1) * sizeof(*a)), *b = xmalloc((l->n + 1) * sizeof(*b));
	int32_t *ref = xmalloc((l->n + 1) * sizeof(*ref));

	/* by start, longer first, then by ref: refs were added in ascending order (collect) */
	order_by(ord, l->n, l->a, l->b);
	for (size_t i = 0; i < l->n; i++) {
		a[i] = l->a[ord[i]];
		b[i] = l->b[ord[i]];
		ref[i] = l->ref[ord[i]];
	}
	free(l->a);
	free(l->b);
	free(l->ref);
	free(ord);
	l->a = a;
	l->b = b;
	l->ref = ref;
	for (l->size = 1; l->size < l->n; l->size *= 2)
		;
	l->tree = xmalloc(2 * l->size * sizeof(*l->tree));
	for (size_t i = 0; i < l->size; i++)
		l->tree[l->size + i] = i < l->n ? b[i] : INT64_MIN;
	for (size_t i = l->size; i-- > 1;)
		l->tree[i] = i64_max(l->tree[2 * i], l->tree[2 * i + 1]);
}

static void level_free(struct level *l)
{
	free(l->a);
	free(l->b);
	free(l->ref);
	free(l->tree);
}

/* Number of items with start < t. */
static size_t count_before(const struct level *l, int64_t t)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->a[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First (last when rev) index in [0, k) whose end >= t, or -1. Node covers [lo, hi). */
static long find_ge(const struct level *l, size_t node, size_t lo, size_t hi, size_t k, int64_t t,
		    int rev)
{
	long r;

	if (lo >= k || l->tree[node] < t)
		return -1;
	if (hi - lo == 1)
		return (long)lo;
	if (!rev) {
		r = find_ge(l, 2 * node, lo, (lo + hi) / 2, k, t, rev);
		return r >= 0 ? r : find_ge(l, 2 * node + 1, (lo + hi) / 2, hi, k, t, rev);
	}
	r = find_ge(l, 2 * node + 1, (lo + hi) / 2, hi, k, t, rev);
	return r >= 0 ? r : find_ge(l, 2 * node, lo, (lo + hi) / 2, k, t, rev);
}

/* Latest end strictly before t among all items, or lo if none. */
static int64_t end_before(const int64_t *ends, size_t n, int64_t t, int64_t lo)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (ends[mid] < t)
			a = mid + 1;
		else
			b = mid;
	}
	return a ? i64_max(ends[a - 1], lo) : lo;
}

static void push_step(struct critpath *cp, size_t *cap, enum cp_kind k, int32_t ref, int64_t a,
		      int64_t b, int32_t span)
{
	struct cp_step *s;

	if (cp->n && cp->steps[cp->n - 1].kind == k && cp->steps[cp->n - 1].ref == ref &&
	    cp->steps[cp->n - 1].a == b) {
		cp->steps[cp->n - 1].a = a; /* walking backwards: extend the previous step */
		return;
	}
	s = VEC_PUSH(cp->steps, cp->n, *cap);
	s->kind = k;
	s->ref = ref;
	s->a = a;
	s->b = b;
	s->span = span;
}

static void collect(const struct vrun *r, struct critpath *cp, struct level lv[3])
{
	const struct run *run = &r->run;

	for (size_t i = 0; i < run->n_xs; i++)
		if (r->xsel[i])
			level_add(&lv[0], run->xs[i].t0, run->xs[i].t1, (int32_t)i, r);
	for (size_t i = 0; i < run->n_spans; i++)
		if (r->ssel[i])
			level_add(&lv[1], run->spans[i].start, run->spans[i].end, (int32_t)i, r);
	cp->npi = r->proc_items ? pitems_build(r, &cp->pi) : 0;
	for (size_t i = 0; i < cp->npi; i++)
		level_add(&lv[2], cp->pi[i].a, cp->pi[i].b, (int32_t)i, r);
}

/* The exchange (index into l) with the latest end <= t, earliest start on ties; -1 if none. */
static long last_end_le(const struct level *l, const size_t *by_end, int64_t t)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->b[by_end[mid]] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? (long)by_end[lo - 1] : -1;
}

/* 1 when process proc is anc or was started (forked, exec'd) below it. */
static int descends(const struct run *run, int32_t proc, int32_t anc)
{
	for (size_t guard = 0; proc >= 0 && guard <= run->n_procs; guard++) {
		if (proc == anc)
			return 1;
		proc = run->procs[proc].exec_of >= 0 ? run->procs[proc].exec_of
						     : run->procs[proc].parent;
	}
	return 0;
}

void critpath_compute(const struct vrun *r, struct critpath *cp)
{
	struct level lv[3] = {{0}};
	int64_t *ends, t;
	size_t ne = 0, cap = 0, *by_end;

	memset(cp, 0, sizeof(*cp));
	cp->start = r->start;
	cp->end = r->end;
	collect(r, cp, lv);
	ends = xmalloc((lv[0].n + lv[1].n + lv[2].n + 1) * sizeof(*ends));
	for (int k = 0; k < 3; k++) {
		level_build(&lv[k]);
		memcpy(ends + ne, lv[k].b, lv[k].n * sizeof(*ends));
		ne += lv[k].n;
	}
	radix_sort64(ends, ne, sizeof(*ends), 0, 1);
	by_end = xmalloc((lv[0].n + 1) * sizeof(*by_end));
	/* by end, the earliest start last among equal ends, then by index */
	order_by(by_end, lv[0].n, lv[0].b, lv[0].a);
	for (t = r->end; t > r->start;) {
		long i = last_end_le(&lv[0], by_end, t);
		int32_t in_span;
		int k;

		if (i >= 0 && lv[0].b[i] == t) { /* the call that finished last before this step */
			push_step(cp, &cap, CP_EXCHANGE, lv[0].ref[i], lv[0].a[i], t, -1);
			t = lv[0].a[i];
			continue;
		}
		for (i = -1, k = 1; k < 3 && i < 0; k++)
			i = lv[k].n ? find_ge(&lv[k], 1, 0, lv[k].size, count_before(&lv[k], t), t,
					      1)
				    : -1;
		k--;
		in_span = -1;
		if (i >= 0 && k == 1 && lv[2].n) { /* a tool process inside the span: its step */
			long pi = find_ge(&lv[2], 1, 0, lv[2].size, count_before(&lv[2], t), t, 1);

			if (pi >= 0 && lv[2].a[pi] >= lv[1].a[i] &&
			    descends(&r->run, cp->pi[lv[2].ref[pi]].parent,
				     r->run.spans[lv[1].ref[i]].proc)) {
				in_span = lv[1].ref[i];
				i = pi;
				k = 2;
			}
		}
		if (i >= 0) {
			int64_t lo = end_before(ends, ne, t, lv[k].a[i]);

			push_step(cp, &cap, k == 1 ? CP_SPAN : CP_PROCESS, lv[k].ref[i], lo, t,
				  k == 2 && in_span < 0 ? cp->pi[lv[k].ref[i]].span : in_span);
			t = lo;
		} else {
			int64_t lo = end_before(ends, ne, t, r->start);

			push_step(cp, &cap, CP_INTERNAL, -1, lo, t, -1);
			t = lo;
		}
	}
	for (size_t i = 0; i < cp->n / 2; i++) { /* into time order */
		struct cp_step s = cp->steps[i];

		cp->steps[i] = cp->steps[cp->n - 1 - i];
		cp->steps[cp->n - 1 - i] = s;
	}
	for (int k = 0; k < 3; k++)
		level_free(&lv[k]);
	free(ends);
	free(by_end);
}

void critpath_free(struct critpath *cp)
{
	free(cp->steps);
	free(cp->pi);
	memset(cp, 0, sizeof(*cp));
}

int64_t *critpath_per_exchange(const struct critpath *cp, size_t n_xs)
{
	int64_t *v = xcalloc(n_xs + 1, sizeof(*v));

	for (size_t i = 0; i < cp->n; i++)
		if (cp->steps[i].kind == CP_EXCHANGE)
			v[cp->steps[i].ref] += cp->steps[i].b - cp->steps[i].a;
	return v;
}
