/* price_table.c: the built-in LLM price table (shared by the viewer and the live metrics), its
 * lookup by model name, and the cost of one exchange's normalised usage. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "price_table.h"

#define N NAN
#define M (1e-6) /* USD per million tokens -> per token */

/*
 * List prices per million tokens, as of AP_PRICES_BUILTIN_DATE, in the field meanings of
 * LiteLLM's model_prices_and_context_window.json. Approximate by nature: the viewer takes
 * --prices with a current LiteLLM file for authoritative numbers. Keep sorted by name.
 */
const struct ap_price ap_price_builtin[] = {
	/* name, in, out, cache_read, cache_write, reasoning, in>200k, out>200k, cr>200k, ctx */
	{"chatgpt-4o-latest", 5 * M, 15 * M, N, N, N, N, N, N, 128000},
	{"claude-3-5-haiku", 0.8 * M, 4 * M, 0.08 * M, 1 * M, N, N, N, N, 200000},
	{"claude-3-5-sonnet", 3 * M, 15 * M, 0.3 * M, 3.75 * M, N, N, N, N, 200000},
	{"claude-3-7-sonnet", 3 * M, 15 * M, 0.3 * M, 3.75 * M, N, N, N, N, 200000},
	{"claude-haiku-4-5", 1 * M, 5 * M, 0.1 * M, 1.25 * M, N, N, N, N, 200000},
	{"claude-opus-4", 15 * M, 75 * M, 1.5 * M, 18.75 * M, N, N, N, N, 200000},
	{"claude-opus-4-1", 15 * M, 75 * M, 1.5 * M, 18.75 * M, N, N, N, N, 200000},
	{"claude-sonnet-4", 3 * M, 15 * M, 0.3 * M, 3.75 * M, N, N, N, N, 200000},
	{"claude-sonnet-4-5", 3 * M, 15 * M, 0.3 * M, 3.75 * M, N, 6 * M, 22.5 * M, 0.6 * M,
	 200000},
	{"gemini-2.0-flash", 0.1 * M, 0.4 * M, 0.025 * M, N, N, N, N, N, 1048576},
	{"gemini-2.5-flash", 0.3 * M, 2.5 * M, 0.075 * M, N, N, N, N, N, 1048576},
	{"gemini-2.5-pro", 1.25 * M, 10 * M, 0.31 * M, N, N, 2.5 * M, 15 * M, 0.625 * M, 1048576},
	{"gpt-3.5-turbo", 0.5 * M, 1.5 * M, N, N, N, N, N, N, 16385},
	{"gpt-4.1", 2 * M, 8 * M, 0.5 * M, N, N, N, N, N, 1047576},
	{"gpt-4.1-mini", 0.4 * M, 1.6 * M, 0.1 * M, N, N, N, N, N, 1047576},
	{"gpt-4.1-nano", 0.1 * M, 0.4 * M, 0.025 * M, N, N, N, N, N, 1047576},
	{"gpt-4o", 2.5 * M, 10 * M, 1.25 * M, N, N, N, N, N, 128000},
	{"gpt-4o-mini", 0.15 * M, 0.6 * M, 0.075 * M, N, N, N, N, N, 128000},
	{"llama3", N, N, N, N, N, N, N, N, 8192},
	{"llama3.1", N, N, N, N, N, N, N, N, 131072},
	{"llama3.2", N, N, N, N, N, N, N, N, 131072},
	{"o3-mini", 1.1 * M, 4.4 * M, 0.55 * M, N, N, N, N, N, 200000},
	{"o4-mini", 1.1 * M, 4.4 * M, 0.275 * M, N, N, N, N, N, 200000},
	{"text-embedding-3-large", 0.13 * M, 0, N, N, N, N, N, N, 8191},
	{"text-embedding-3-small", 0.02 * M, 0, N, N, N, N, N, N, 8191},
};

const size_t ap_price_builtin_n = sizeof(ap_price_builtin) / sizeof(ap_price_builtin[0]);

static const struct ap_price *exact(const struct ap_price *tab, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, tab[mid].name);

		if (!c)
			return &tab[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct ap_price *ap_price_builtin_find(const char *model)
{
	char buf[256];
	size_t n;
	const struct ap_price *e;

	if (!model || !*model)
		return NULL;
	if (!strncmp(model, "models/", 7))
		model += 7; /* Gemini path form */
	if ((e = exact(ap_price_builtin, ap_price_builtin_n, model)))
		return e;
	n = strlen(model);
	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, model, n + 1);
	while (n > 0) { /* the longest '-'-separated prefix: dated versions */
		while (n > 0 && buf[n - 1] != '-')
			n--;
		if (!n)
			break;
		buf[--n] = 0;
		if ((e = exact(ap_price_builtin, ap_price_builtin_n, buf)))
			return e;
	}
	return NULL;
}

static double or_else(double v, double dflt)
{
	return isnan(v) ? dflt : v;
}

double ap_price_cost(const struct ap_price *pr, int64_t in, int64_t out, int64_t cache_read,
		     int64_t cache_write, int64_t reasoning)
{
	double in_rate, out_rate, cr_rate, cw_rate, cost;
	int64_t cr, cw, plain, o, rs;

	if (!pr || in < 0 || isnan(pr->in))
		return NAN;
	if (out < 0 && !isnan(pr->out) && pr->out > 0)
		return NAN; /* output billed but unknown */
	in_rate = pr->in;
	out_rate = or_else(pr->out, 0);
	cr_rate = or_else(pr->cache_read, in_rate);
	cw_rate = or_else(pr->cache_write, in_rate);
	if (in > 200000 && !isnan(pr->in_200k)) {
		in_rate = pr->in_200k;
		out_rate = or_else(pr->out_200k, out_rate);
		cr_rate = or_else(pr->cache_read_200k, cr_rate);
	}
	cr = cache_read > 0 ? cache_read : 0;
	cw = cache_write > 0 ? cache_write : 0;
	plain = in - cr - cw;
	if (plain < 0)
		plain = 0;
	o = out > 0 ? out : 0;
	rs = reasoning > 0 && reasoning <= o ? reasoning : 0;
	cost = (double)plain * in_rate + (double)cr * cr_rate + (double)cw * cw_rate;
	if (!isnan(pr->reasoning))
		cost += (double)(o - rs) * out_rate + (double)rs * pr->reasoning;
	else
		cost += (double)o * out_rate;
	return cost;
}
