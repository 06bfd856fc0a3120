/* cmd_flamegraph.c: "flamegraph": folded stacks of the program's own call paths with the
 * endpoint as the leaf frame (main;run_agent;curl_easy_perform;[llm] openai gpt-4o 812000). */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "jsonw.h"

struct tnode {
	uint32_t name;
	int32_t child, next; /* first child, next sibling: indexes, -1 none */
	double w;
};

struct tree {
	struct tnode *v;
	size_t n, cap;
};

static int32_t tnode_new(struct tree *t, uint32_t name)
{
	struct tnode *n = VEC_PUSH(t->v, t->n, t->cap);

	n->name = name;
	n->child = n->next = -1;
	return (int32_t)(t->n - 1);
}

static int32_t tchild(struct tree *t, int32_t parent, uint32_t name)
{
	int32_t c, last = -1, nn;

	for (c = t->v[parent].child; c >= 0; last = c, c = t->v[c].next)
		if (t->v[c].name == name)
			return c;
	nn = tnode_new(t, name);
	if (last < 0)
		t->v[parent].child = nn;
	else
		t->v[last].next = nn;
	return nn;
}

static void tree_json(struct jw *w, const struct tree *t, const struct folded *f, int32_t i,
		      int depth)
{
	const struct tnode *n = &t->v[i];

	jw_obj(w);
	jw_kstr(w, "name", i ? f->names[n->name] : "all");
	jw_kdouble(w, "value", n->w);
	if (n->child >= 0 && depth < JW_MAX_DEPTH / 2 - 2) {
		jw_key(w, "children");
		jw_arr(w);
		for (int32_t c = n->child; c >= 0; c = t->v[c].next)
			tree_json(w, t, f, c, depth + 1);
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

static void print_json(struct view *v, const struct folded *f, enum fweight wt)
{
	static const char *const wn[FW_N] = {"time", "calls", "tokens", "cost"};
	struct tree t = {0};
	struct jw w;

	tnode_new(&t, 0);
	for (size_t i = 0; i < f->n_st; i++) {
		const struct fstack *s = &f->st[i];
		int32_t cur = 0;

		if (s->w[wt] <= 0)
			continue;
		t.v[0].w += s->w[wt];
		for (uint32_t k = 0; k < s->n; k++) {
			cur = tchild(&t, cur, s->fr[k]);
			t.v[cur].w += s->w[wt];
		}
	}
	jw_init(&w, v->out, 1);
	jw_obj(&w);
	jw_kstr(&w, "weight", wn[wt]);
	jw_kstr(&w, "unit", fweight_unit(wt));
	jw_kuint(&w, "exchanges", f->exchanges);
	jw_kuint(&w, "exchanges_with_stack", f->with_stack);
	jw_key(&w, "root");
	tree_json(&w, &t, f, 0, 0);
	jw_obj_end(&w);
	jw_end(&w);
	free(t.v);
}

int cmd_flamegraph(struct view *v)
{
	struct symbolizer *sym;
	struct folded f;
	enum fweight wt;
	enum froots roots;

	if (fweight_parse(v, &wt) || froots_parse(v, &roots))
		return 2;
	sym = sym_open(&v->a.run, v->err);
	folded_build(v, sym, roots, &f);
	if (f.exchanges && !f.with_stack)
		fprintf(v->err, "agentprof-view flamegraph: no call stacks in these files "
				"(recorded with AGENTPROF_STACKS=0?): endpoints only\n");
	if (v->o.json)
		print_json(v, &f, wt);
	else
		folded_print(v->out, &f, wt);
	folded_free(&f);
	sym_close(sym);
	return 0;
}
