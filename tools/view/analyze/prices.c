/* prices.c: price and context-window lookup, the built-in table, and the cost of an exchange. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "jsonp.h"
#include "price_table.h"
#include "prices.h"

/* The built-in table lives in preload/core/price_table.c (the live metrics price with it too);
 * struct price has the layout of struct ap_price. */
_Static_assert(sizeof(struct price) == sizeof(struct ap_price), "struct price layout");
_Static_assert(offsetof(struct price, max_input) == offsetof(struct ap_price, max_input),
	       "struct price layout");
#define BUILTIN_TAB ((const struct price *)ap_price_builtin)
#define N_BUILTIN   ap_price_builtin_n

struct cache_ent {
	uint32_t resp, req;
	uint8_t prov;
	const struct price *pr;
};

struct prices {
	struct price *tab; /* sorted by name */
	size_t n;
	int builtin;
	char *source;
	struct jdoc doc; /* file entries' names point into doc.chars */
};

static int cmp_price(const void *a, const void *b)
{
	return strcmp(((const struct price *)a)->name, ((const struct price *)b)->name);
}

static double num_or_nan(const struct jdoc *d, const struct jnode *o, const char *k)
{
	const struct jnode *n = j_get(d, o, k);

	return n && n->type == J_NUM && n->num >= 0 && isfinite(n->num) ? n->num : NAN;
}

static int64_t context_of(const struct jdoc *d, const struct jnode *o)
{
	static const char *const keys[] = {"max_input_tokens", "max_tokens"};

	for (int i = 0; i < 2; i++) {
		double v = num_or_nan(d, o, keys[i]);

		if (v >= 1 && v < 1e12)
			return (int64_t)v;
	}
	return -1;
}

static void entry_from_json(struct price *p, const struct jdoc *d, const struct jnode *o)
{
	p->in = num_or_nan(d, o, "input_cost_per_token");
	p->out = num_or_nan(d, o, "output_cost_per_token");
	p->cache_read = num_or_nan(d, o, "cache_read_input_token_cost");
	p->cache_write = num_or_nan(d, o, "cache_creation_input_token_cost");
	p->reasoning = num_or_nan(d, o, "output_cost_per_reasoning_token");
	p->in_200k = num_or_nan(d, o, "input_cost_per_token_above_200k_tokens");
	p->out_200k = num_or_nan(d, o, "output_cost_per_token_above_200k_tokens");
	p->cache_read_200k = num_or_nan(d, o, "cache_read_input_token_cost_above_200k_tokens");
	p->max_input = context_of(d, o);
}

static int load_price_file(struct prices *p, const char *file, char *msg, size_t msglen)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int32_t root;
	const struct jnode *r;

	if (rd_slurp(file, &buf, &n, msg, msglen) < 0)
		return -1;
	root = jdoc_parse(&p->doc, (const char *)buf, n, msg, msglen);
	free(buf);
	if (root < 0)
		return -1;
	r = &p->doc.nodes[root];
	if (r->type != J_OBJ) {
		snprintf(msg, msglen, "expected a JSON object of model name -> prices");
		return -1;
	}
	p->tab = xcalloc(r->n, sizeof(*p->tab));
	for (uint32_t i = 0; i < r->n; i++) {
		const char *key;
		const struct jnode *e = j_child(&p->doc, r, i, &key);

		if (e->type != J_OBJ || !strcmp(key, "sample_spec") || !*key)
			continue;
		p->tab[p->n].name = key;
		entry_from_json(&p->tab[p->n++], &p->doc, e);
	}
	if (!p->n) {
		snprintf(msg, msglen,
			 "no model entries (expected LiteLLM's shape: "
			 "{\"gpt-4o\": {\"input_cost_per_token\": ...}})");
		return -1;
	}
	return 0;
}

struct prices *prices_load(const char *file, char *msg, size_t msglen)
{
	struct prices *p = xcalloc(1, sizeof(*p));

	if (!file) {
		p->n = N_BUILTIN;
		p->tab = xmalloc(N_BUILTIN * sizeof(*p->tab));
		memcpy(p->tab, BUILTIN_TAB, N_BUILTIN * sizeof(*p->tab));
		p->builtin = 1;
		p->source = xstrdup("built-in table (" PRICES_BUILTIN_DATE ")");
	} else {
		if (load_price_file(p, file, msg, msglen) < 0) {
			prices_free(p);
			return NULL;
		}
		p->source = xstrdup(file);
	}
	sort_n(p->tab, p->n, sizeof(*p->tab), cmp_price);
	return p;
}

void prices_free(struct prices *p)
{
	if (!p)
		return;
	free(p->tab);
	free(p->source);
	jdoc_free(&p->doc);
	free(p);
}

const char *prices_source(const struct prices *p)
{
	return p ? p->source : "none";
}

static const struct price *exact(const struct prices *p, const char *name)
{
	struct price key = {.name = name};

	return find_n(&key, p->tab, p->n, sizeof(key), cmp_price);
}

/* Longest entry that equals a '-'-separated prefix of name ("gpt-4o" for "gpt-4o-2024-08-06"). */
static const struct price *by_prefix(const struct prices *p, const char *name)
{
	char buf[256];
	size_t n = strlen(name);

	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, name, n + 1);
	while (n > 0) {
		const struct price *e;

		while (n > 0 && buf[n - 1] != '-')
			n--;
		if (!n)
			break;
		buf[--n] = 0;
		e = exact(p, buf);
		if (e)
			return e;
	}
	return NULL;
}

const struct price *prices_find(const struct prices *p, const char *model, int provider)
{
	const struct price *e;
	char buf[300];

	if (!p || !model || !*model)
		return NULL;
	if (!strncmp(model, "models/", 7))
		model += 7; /* Gemini path form */
	if ((e = exact(p, model)))
		return e;
	if (ap_provider_row(provider) && *ap_provider_row(provider)->price_prefix) {
		snprintf(buf, sizeof(buf), "%s/%s", ap_provider_row(provider)->price_prefix, model);
		if ((e = exact(p, buf)))
			return e;
	}
	return by_prefix(p, model);
}

const struct price *prices_for(const struct prices *p, const struct run *run, const struct vxch *x)
{
	const struct price *e = prices_find(p, S(run, x->resp_model), x->prov);

	return e ? e : prices_find(p, S(run, x->req_model), x->prov);
}

/* Usage is normalised (docs/FORMAT.md); the formula is ap_price_cost's. */
double price_cost(const struct price *pr, const struct vxch *x)
{
	return ap_price_cost((const struct ap_price *)pr, x->in, x->out, x->cache_read,
			     x->cache_write, x->reasoning);
}

void prices_apply(struct prices *p, struct run *run)
{
	struct cache_ent *cache = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < run->n_xs; i++) {
		struct vxch *x = &run->xs[i];
		const struct price *pr = NULL;
		size_t k;

		if (x->cat != AP_CAT_LLM && x->in < 0)
			continue;
		for (k = 0; k < n; k++)
			if (cache[k].resp == x->resp_model && cache[k].req == x->req_model &&
			    cache[k].prov == x->prov)
				break;
		if (k < n) {
			pr = cache[k].pr;
		} else {
			struct cache_ent *c;

			pr = prices_for(p, run, x);
			if (n < 4096) {
				c = VEC_PUSH(cache, n, cap);
				c->resp = x->resp_model;
				c->req = x->req_model;
				c->prov = x->prov;
				c->pr = pr;
			}
		}
		x->cost = price_cost(pr, x);
	}
	free(cache);
}

int64_t prices_context(const struct prices *p, const struct run *run, const struct vxch *x)
{
	const struct price *e = prices_for(p, run, x);

	if (e && e->max_input > 0)
		return e->max_input;
	if (p && !p->builtin) { /* the file lacks it: fall back to the built-in windows */
		struct prices b = {.tab = (struct price *)BUILTIN_TAB, .n = N_BUILTIN};

		e = prices_for(&b, run, x);
		if (e && e->max_input > 0)
			return e->max_input;
	}
	return -1;
}
