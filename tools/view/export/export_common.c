/* export_common.c: export format dispatch, shared names (leaf frames, OTel operations and
 * providers, phases) and the folded-stack builder used by flamegraph, folded and html. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "export.h"
#include "otlp.h"

static const struct {
	const char *name;
	int (*fn)(struct view *v);
} formats[] = {
	{"folded", export_folded}, {"speedscope", export_speedscope},
	{"chrome", export_chrome}, {"otlp", export_otlp},
	{"prom", export_prom},	   {"otlp-metrics", export_otlp_metrics},
};

int export_format_ok(const char *fmt)
{
	if (!fmt)
		return 0;
	if (!strcmp(fmt, "jsonl"))
		return 1;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(fmt, formats[i].name))
			return 1;
	return 0;
}

int export_dispatch(struct view *v)
{
	const char *f = v->o.format;

	if (v->o.endpoint && strcmp(f, "otlp") && strcmp(f, "otlp-metrics")) {
		fprintf(v->err,
			"agentprof-view export: --endpoint needs --format otlp or otlp-metrics\n");
		return 2;
	}
	if (v->o.follow && strcmp(f, "otlp")) {
		fprintf(v->err, "agentprof-view export: --follow needs --format otlp\n");
		return 2;
	}
	if ((v->o.weight || v->o.roots) && strcmp(f, "folded")) {
		fprintf(v->err,
			"agentprof-view export: --weight and --roots need --format folded\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(v->o.format, formats[i].name))
			return formats[i].fn(v);
	fprintf(v->err, "agentprof-view export: unknown format '%s' (supported: %s)\n", v->o.format,
		EXPORT_FORMATS);
	return 2;
}

/* --- names ----------------------------------------------------------------------------------- */

static const char *x_model_name(const struct run *run, const struct vxch *x)
{
	uint32_t m = x_model(x);

	return m ? S(run, m) : NULL;
}

void x_leaf(const struct run *run, const struct vxch *x, char *buf, size_t n)
{
	const char *host = S(run, x->host), *model = x_model_name(run, x);
	const char *cat = x->cat ? ap_category_name(x->cat) : "other";

	if (x->cat == AP_CAT_LLM && x->prov)
		snprintf(buf, n, "[llm] %s %s", ap_provider_name(x->prov), model ? model : "?");
	else if (x->cat == AP_CAT_LLM)
		snprintf(buf, n, "[llm] %s %s", *host ? host : "?", model ? model : "?");
	else
		snprintf(buf, n, "[%s] %s", cat, *host ? host : "?");
}

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n >= k && !memcmp(s + n - k, suf, k);
}

const char *x_operation(const struct run *run, const struct vxch *x)
{
	const char *p = S(run, x->path);
	size_t n = strcspn(p, "?");

	if (ends_with(p, n, "/count_tokens") || ends_with(p, n, ":countTokens"))
		return "count_tokens";
	if (ends_with(p, n, ":generateContent") || ends_with(p, n, ":streamGenerateContent"))
		return "generate_content";
	if (ends_with(p, n, "/embeddings") || ends_with(p, n, "/api/embed") ||
	    ends_with(p, n, "/api/embeddings") || ends_with(p, n, ":embedContent") ||
	    ends_with(p, n, ":batchEmbedContents"))
		return "embeddings";
	if ((ends_with(p, n, "/completions") && !ends_with(p, n, "/chat/completions")) ||
	    ends_with(p, n, "/api/generate"))
		return "text_completion";
	return "chat";
}

void x_title(const struct run *run, const struct vxch *x, char *buf, size_t n)
{
	const char *model = x_model_name(run, x), *m = S(run, x->method), *h = S(run, x->host);

	if (x->cat == AP_CAT_LLM)
		setcat(buf, n, x_operation(run, x), model ? " " : "", model ? model : "", NULL);
	else
		setcat(buf, n, *m ? m : ap_category_name(x->cat), *h ? " " : "", h, NULL);
}

const char *otel_provider(unsigned prov)
{
	const struct ap_provider_row *r = ap_provider_row(prov);

	return r ? r->otel : "unknown";
}

const char *proc_label(const struct run *run, const struct vproc *p, char *buf, size_t n)
{
	const char *exe = S(run, p->exe), *b = strrchr(exe, '/');

	if (!*exe) {
		snprintf(buf, n, "pid %d", p->pid);
		return buf;
	}
	snprintf(buf, n, "%s", b ? b + 1 : exe);
	return buf;
}

static void phase(struct xphase *out, size_t *k, const char *name, int64_t a, int64_t b)
{
	if (a != UNK && b != UNK && b > a && *k < XPHASE_MAX)
		out[(*k)++] = (struct xphase){name, a, b};
}

size_t x_phases(const struct vxch *x, struct xphase *out)
{
	int64_t t = x->t0, sent = x->req_sent != UNK ? x->req_sent : x->start;
	size_t k = 0;

	if (x->t0 == UNK)
		return 0;
	if (x->dns_ns != UNK && x->dns_ns > 0) {
		phase(out, &k, "dns", t, t + x->dns_ns);
		t += x->dns_ns;
	}
	if (x->connect_ns != UNK && x->connect_ns > 0) {
		phase(out, &k, "connect", t, t + x->connect_ns);
		t += x->connect_ns;
	}
	if (x->tls_ns != UNK && x->tls_ns > 0)
		phase(out, &k, "tls", t, t + x->tls_ns);
	phase(out, &k, "send request", x->start, x->req_sent);
	phase(out, &k, "wait for first byte", sent, x->first_byte);
	phase(out, &k, "receive", x->first_byte, x->end);
	return k;
}

/* --- folded stacks ------------------------------------------------------------------------ */

int fweight_parse(struct view *v, enum fweight *w)
{
	static const char *const names[FW_N] = {"time", "calls", "tokens", "cost"};
	const char *s = v->o.weight;

	*w = FW_TIME;
	if (!s)
		return 0;
	for (int i = 0; i < FW_N; i++) {
		if (!strcmp(s, names[i])) {
			*w = (enum fweight)i;
			return 0;
		}
	}
	fprintf(v->err, "agentprof-view %s: --weight '%s': expected time, calls, tokens or cost\n",
		v->cmd, s);
	return -1;
}

int froots_parse(struct view *v, enum froots *r)
{
	const char *s = v->o.roots;

	*r = FR_NONE;
	if (!s || !strcmp(s, "none"))
		return 0;
	if (!strcmp(s, "process")) {
		*r = FR_PROCESS;
		return 0;
	}
	if (!strcmp(s, "thread")) {
		*r = FR_THREAD;
		return 0;
	}
	fprintf(v->err, "agentprof-view %s: --roots '%s': expected none, process or thread\n",
		v->cmd, s);
	return -1;
}

const char *fweight_unit(enum fweight w)
{
	static const char *const u[FW_N] = {"us", "calls", "tokens", "micro-USD"};

	return u[w];
}

void frame_sanitize(char *dst, size_t cap, const char *src)
{
	size_t n = 0, end;

	for (const unsigned char *p = (const unsigned char *)src; *p && n + 1 < cap; p++) {
		unsigned char c = *p;

		dst[n++] = c == ';' ? ':' : (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
	if (!n) {
		snprintf(dst, cap, "?");
		return;
	}
	/* "name 42" would be read as a count: join trailing digits with '_' */
	end = n;
	while (end && isdigit((unsigned char)dst[end - 1]))
		end--;
	if (end < n)
		while (end && isspace((unsigned char)dst[end - 1]))
			dst[--end] = '_';
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static uint64_t hash_fr(const uint32_t *fr, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ fr[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static void rehash(size_t **tab, size_t *cap, size_t count, void *ctx,
		   uint64_t (*hash)(void *ctx, size_t idx))
{
	size_t nc = *cap ? *cap * 2 : 1024;
	size_t *t = xcalloc(nc, sizeof(*t));

	for (size_t i = 0; i < count; i++) {
		size_t h = hash(ctx, i) & (nc - 1);

		while (t[h])
			h = (h + 1) & (nc - 1);
		t[h] = i + 1;
	}
	free(*tab);
	*tab = t;
	*cap = nc;
}

static uint64_t name_hash_at(void *ctx, size_t i)
{
	return hash_str(((struct folded *)ctx)->names[i]);
}

static uint64_t stack_hash_at(void *ctx, size_t i)
{
	struct folded *f = ctx;

	return hash_fr(f->st[i].fr, f->st[i].n);
}

static uint32_t name_id(struct folded *f, const char *raw)
{
	char buf[512];
	size_t h;

	frame_sanitize(buf, sizeof(buf), raw);
	if ((f->n_names + 1) * 2 > f->nh_cap)
		rehash(&f->nh, &f->nh_cap, f->n_names, f, name_hash_at);
	for (h = hash_str(buf) & (f->nh_cap - 1); f->nh[h]; h = (h + 1) & (f->nh_cap - 1))
		if (!strcmp(f->names[f->nh[h] - 1], buf))
			return (uint32_t)(f->nh[h] - 1);
	*VEC_PUSH(f->names, f->n_names, f->cap_names) = xstrdup(buf);
	f->nh[h] = f->n_names;
	return (uint32_t)(f->n_names - 1);
}

static struct fstack *stack_for(struct folded *f, const uint32_t *fr, uint32_t n)
{
	struct fstack *s;
	size_t h;

	if ((f->n_st + 1) * 2 > f->sh_cap)
		rehash(&f->sh, &f->sh_cap, f->n_st, f, stack_hash_at);
	for (h = hash_fr(fr, n) & (f->sh_cap - 1); f->sh[h]; h = (h + 1) & (f->sh_cap - 1)) {
		s = &f->st[f->sh[h] - 1];
		if (s->n == n && !memcmp(s->fr, fr, n * sizeof(*fr)))
			return s;
	}
	s = VEC_PUSH(f->st, f->n_st, f->cap_st);
	s->fr = xmalloc((n ? n : 1) * sizeof(*fr));
	memcpy(s->fr, fr, n * sizeof(*fr));
	s->n = n;
	f->sh[h] = f->n_st;
	return s;
}

/* Manual span si and its ancestors as frames "[span NAME]", outermost first, into fr. */
static uint32_t span_frames(struct folded *f, const struct run *run, int32_t si, uint32_t *fr,
			    uint32_t n, uint32_t cap)
{
	int32_t chain[64];
	uint32_t k = 0;
	char buf[400];

	for (; si >= 0 && k < 64; si = run->spans[si].parent)
		chain[k++] = si;
	while (k-- > 0 && n < cap) {
		snprintf(buf, sizeof(buf), "[span %s]", S(run, run->spans[chain[k]].name));
		fr[n++] = name_id(f, buf);
	}
	return n;
}

/* "[process] argv0 argv1": the first two words of the (redacted) argv name the tool ("sh -c",
 * "git status"); the event's argv, else the profiled child's own. */
void process_leaf(const struct run *run, const struct pitem *it, char *buf, size_t cap)
{
	const struct vpev *e = it->pev >= 0 ? &run->pevs[it->pev] : NULL;
	uint32_t argv = 0, argc = 0;
	size_t o = (size_t)snprintf(buf, cap, "[process]");

	if (e && e->argc) {
		argv = e->argv;
		argc = e->argc;
	} else if (it->proc >= 0 && run->procs[it->proc].argc) {
		argv = run->procs[it->proc].argv;
		argc = run->procs[it->proc].argc;
	}
	for (uint32_t a = 0, off = 0; a < argc && a < 2 && o < cap - 2; a++) {
		const char *w = S(run, argv) + off, *sl = a ? NULL : strrchr(w, '/');

		o += (size_t)snprintf(buf + o, cap - o, " %.60s", sl && sl[1] ? sl + 1 : w);
		off += (uint32_t)strlen(w) + 1;
	}
	if (!argc)
		snprintf(buf + o, cap - o, " %s", e && e->kind == AP_PEV_FORK ? "fork" : "?");
}

int32_t *pitems_owner(const struct run *run, const struct pitem *pi, size_t npi)
{
	int32_t *owner = xmalloc((run->n_procs + 1) * sizeof(*owner));

	for (size_t p = 0; p < run->n_procs; p++)
		owner[p] = -1;
	for (size_t i = 0; i < npi; i++) /* every image of a profiled child's exec chain */
		for (int32_t c = pi[i].proc, k = 0; c >= 0 && k <= (int)run->n_procs;
		     c = run->procs[c].exec_next, k++)
			owner[c] = (int32_t)i;
	return owner;
}

/* Items on the way from the run's first process to the agent (a wrapper's child that is the
 * agent, or leads to it): not tools (caller frees). */
static uint8_t *pitems_agent_path(const struct run *run, const struct pitem *pi, size_t npi,
				  const int32_t *owner)
{
	uint8_t *mark = xcalloc(npi + 1, 1);
	struct pfold pf;

	pfold_build(run, &pf);
	for (int32_t x = pf.agent, k = 0; x >= 0 && k <= (int)npi; k++) {
		int32_t o = owner[x];

		if (o < 0 || mark[o])
			break;
		mark[o] = 1;
		x = pi[o].parent;
	}
	pfold_free(&pf);
	return mark;
}

int32_t *pitems_up(const struct run *run, const struct pitem *pi, size_t npi, uint8_t **agent)
{
	int32_t *owner = pitems_owner(run, pi, npi);
	int32_t *up = xmalloc((npi + 1) * sizeof(*up));
	uint8_t *mark = pitems_agent_path(run, pi, npi, owner);

	for (size_t i = 0; i < npi; i++) {
		up[i] = owner[pi[i].parent] != (int32_t)i ? owner[pi[i].parent] : -1;
		if (up[i] >= 0 && mark[up[i]])
			up[i] = -1; /* a tool of the agent (or of a wrapper) starts a tree */
	}
	free(owner);
	*agent = mark;
	return up;
}

/* Frames of one stack: spans (up to 64 deep), the program's stack, a child's own chain. */
#define FR_CAP (4 * AP_MAX_FRAMES + 256)

/* The frames of child process item i, outermost first: the ones of the item whose process
 * started it, else roots, spans and the stack of the event that started it; then its leaf. */
static uint32_t pitem_frames(const struct view *v, struct symbolizer *sym, struct pystacks *ps,
			     enum froots roots, struct folded *f, const struct pitem *pi,
			     const int32_t *up, size_t i, uint32_t *fr, int depth)
{
	const struct run *run = &v->a.run;
	const struct pitem *it = &pi[i];
	const struct vpev *e = it->pev >= 0 ? &run->pevs[it->pev] : NULL;
	const struct vproc *p = &run->procs[it->parent];
	const struct symframe *const *sf;
	char buf[400];
	uint32_t n = 0;
	size_t ns = 0;

	if (up[i] >= 0 && depth < 16) {
		n = pitem_frames(v, sym, ps, roots, f, pi, up, (size_t)up[i], fr, depth + 1);
	} else {
		if (roots != FR_NONE) {
			char lb[128];

			snprintf(buf, sizeof(buf), "%s [%d]", proc_label(run, p, lb, sizeof(lb)),
				 p->pid);
			fr[n++] = name_id(f, buf);
		}
		if (roots == FR_THREAD) {
			snprintf(buf, sizeof(buf), "[tid %u]",
				 it->tid ? it->tid : (uint32_t)p->pid);
			fr[n++] = name_id(f, buf);
		}
		n = span_frames(f, run, it->span, fr, n, 70);
		if (e)
			ns = py_stack(ps, sym, it->parent, e->stack_id, e->pystack_id, &sf);
		for (size_t k = 0; k < ns && n < FR_CAP - 2 * AP_MAX_FRAMES; k++)
			fr[n++] = name_id(f, sf[k]->name);
	}
	if (n < FR_CAP - AP_MAX_FRAMES - 80) {
		process_leaf(run, it, buf, sizeof(buf));
		fr[n++] = name_id(f, buf);
	}
	return n;
}

/* A run's child process items for the flame graph: which item each process belongs to (its
 * exec chain was started as that item), the item that started each item, and each item's own
 * weight: its lifetime less its children's and its own exchanges' (drawn under it). */
struct fprocs {
	struct pitem *pi;
	size_t npi;
	int32_t *owner, *up;
	uint8_t *agent; /* per item: the agent or a wrapper on the way to it, not a tool */
	double *own;
};

/* The child processes a thread started (spawn, system, popen, fork, or a subprocess seen only
 * by its wait) as "[process] ..." leaves under the spans and the stack that started them, a
 * child's own children under it; weighted by how long each ran, its children's and exchanges'
 * time taken out (a frame's total is then its lifetime). Helpers (a shim's forks) are left out. */
static void folded_processes(const struct view *v, struct symbolizer *sym, struct pystacks *ps,
			     enum froots roots, struct folded *f, const struct fprocs *fp)
{
	uint32_t fr[FR_CAP];

	if (!v->a.proc_items)
		return;
	for (size_t i = 0; i < fp->npi; i++) {
		struct fstack *s;
		uint32_t n;

		if (!v->a.psel[fp->pi[i].parent] || fp->agent[i])
			continue;
		n = pitem_frames(v, sym, ps, roots, f, fp->pi, fp->up, i, fr, 0);
		s = stack_for(f, fr, n);
		if (fp->own[i] > 0)
			s->w[FW_TIME] += fp->own[i] / 1e3;
		s->w[FW_CALLS] += 1;
	}
}

static void fprocs_build(const struct vrun *r, struct fprocs *fp)
{
	const struct run *run = &r->run;

	fp->npi = pitems_build(r, &fp->pi);
	fp->owner = pitems_owner(run, fp->pi, fp->npi);
	fp->up = pitems_up(run, fp->pi, fp->npi, &fp->agent);
	for (size_t p = 0; p < run->n_procs; p++) /* the agent's calls stay at their own root */
		if (fp->owner[p] >= 0 && fp->agent[fp->owner[p]])
			fp->owner[p] = -1;
	fp->own = xcalloc(fp->npi + 1, sizeof(*fp->own));
	for (size_t i = 0; i < fp->npi; i++)
		if (fp->pi[i].a != UNK && fp->pi[i].b != UNK && fp->pi[i].b > fp->pi[i].a)
			fp->own[i] += (double)(fp->pi[i].b - fp->pi[i].a);
	for (size_t i = 0; i < fp->npi; i++)
		if (fp->up[i] >= 0 && fp->pi[i].b != UNK && fp->pi[i].a != UNK)
			fp->own[fp->up[i]] -= (double)(fp->pi[i].b - fp->pi[i].a);
}

static void fprocs_free(struct fprocs *fp)
{
	free(fp->pi);
	free(fp->owner);
	free(fp->up);
	free(fp->agent);
	free(fp->own);
}

void folded_build(const struct view *v, struct symbolizer *sym, enum froots roots, struct folded *f)
{
	const struct run *run = &v->a.run;
	uint32_t fr[FR_CAP];
	char buf[400];
	struct pystacks *ps = py_open(run, sym, v->o.native);
	struct fprocs fp;

	memset(f, 0, sizeof(*f));
	fprocs_build(&v->a, &fp);
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		const struct vproc *p = &run->procs[x->proc];
		const struct symframe *const *sf;
		int32_t o = fp.owner[x->proc];
		size_t ns = 0;
		uint32_t n = 0;
		struct fstack *s;
		double tok = 0;

		if (!v->a.xsel[i])
			continue;
		if (o >= 0 && v->a.psel[fp.pi[o].parent]) {
			/* a child process's call: under the frames of the tool that it is */
			n = pitem_frames(v, sym, ps, roots, f, fp.pi, fp.up, (size_t)o, fr, 0);
			if (x->t0 != UNK && x->t1 > x->t0)
				fp.own[o] -= (double)(x->t1 - x->t0);
		} else {
			if (roots != FR_NONE) {
				char lb[128];

				snprintf(buf, sizeof(buf), "%s [%d]",
					 proc_label(run, p, lb, sizeof(lb)), p->pid);
				fr[n++] = name_id(f, buf);
			}
			if (roots == FR_THREAD) {
				snprintf(buf, sizeof(buf), "[tid %u]", x->tid);
				fr[n++] = name_id(f, buf);
			}
		}
		n = span_frames(f, run, x->span, fr, n, n + 64); /* manual spans, outermost first */
		ns = py_stack(ps, sym, x->proc, x->stack_id, x->pystack_id, &sf);
		for (size_t k = 0; k < ns && n < FR_CAP - 1; k++)
			fr[n++] = name_id(f, sf[k]->name);
		x_leaf(run, x, buf, sizeof(buf));
		fr[n++] = name_id(f, buf);
		s = stack_for(f, fr, n);
		f->exchanges++;
		f->with_stack += ns > 0;
		if (x->t0 != UNK && x->t1 > x->t0)
			s->w[FW_TIME] += (double)(x->t1 - x->t0) / 1e3;
		s->w[FW_CALLS] += proc_weight(p);
		tok = (x->in > 0 ? (double)x->in : 0) + (x->out > 0 ? (double)x->out : 0);
		s->w[FW_TOKENS] += tok * proc_weight(p);
		if (!isnan(x->cost))
			s->w[FW_COST] += x->cost * 1e6 * proc_weight(p);
	}
	folded_processes(v, sym, ps, roots, f, &fp);
	fprocs_free(&fp);
	py_close(ps);
}

void folded_free(struct folded *f)
{
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i]);
	for (size_t i = 0; i < f->n_st; i++)
		free(f->st[i].fr);
	free(f->names);
	free(f->st);
	free(f->nh);
	free(f->sh);
	memset(f, 0, sizeof(*f));
}

struct line {
	char *s;
	long long w;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->s, ((const struct line *)b)->s);
}

void folded_print(FILE *out, const struct folded *f, enum fweight w)
{
	struct line *lines = xcalloc(f->n_st + 1, sizeof(*lines));
	size_t n = 0;

	for (size_t i = 0; i < f->n_st; i++) {
		const struct fstack *s = &f->st[i];
		double x = s->w[w];
		long long c = llround(x);
		size_t len = 0, cap = 64;
		char *l;

		if (x <= 0)
			continue;
		if (c < 1)
			c = 1; /* a sub-unit stack still shows */
		for (uint32_t k = 0; k < s->n; k++)
			cap += strlen(f->names[s->fr[k]]) + 1;
		l = xmalloc(cap);
		for (uint32_t k = 0; k < s->n; k++)
			len += (size_t)snprintf(l + len, cap - len, "%s%s", k ? ";" : "",
						f->names[s->fr[k]]);
		lines[n++] = (struct line){l, c};
	}
	qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s %lld\n", lines[i].s, lines[i].w);
		free(lines[i].s);
	}
	free(lines);
}
