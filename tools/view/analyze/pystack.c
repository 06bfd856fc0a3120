/* pystack.c: turns recorded Python stacks into display frames and call sites for the views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pystack.h"
#include "util.h"

struct pyent {
	int32_t proc;
	uint64_t sid, pid; /* native stack id, Python stack id */
	int used;
	const struct symframe **frames;
	size_t n;
};

struct pystacks {
	const struct run *run;
	int native;
	/* (proc, id) -> index + 1 for run->pystacks and run->pycodes */
	size_t *sidx, scap, *cidx, ccap;
	struct pyent *cache; /* (proc, native id, python id) -> frames */
	size_t cap, used;
	void **owned; /* frames and strings of cached stacks, freed with p */
	size_t nowned, capowned;
};

static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	h = (h ^ a) * 0xff51afd7ed558ccdull;
	h = (h ^ (h >> 33) ^ b) * 0xc4ceb9fe1a85ec53ull;
	h = (h ^ (h >> 29) ^ c) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static size_t pow2(size_t n)
{
	size_t c = 16;

	while (c < n * 2)
		c <<= 1;
	return c;
}

struct pystacks *py_open(const struct run *run, struct symbolizer *sym, int native)
{
	struct pystacks *p = xcalloc(1, sizeof(*p));

	(void)sym;
	p->run = run;
	p->native = native;
	p->scap = pow2(run->n_pystacks);
	p->sidx = xcalloc(p->scap, sizeof(*p->sidx));
	for (size_t i = 0; i < run->n_pystacks; i++) {
		const struct vpystack *s = &run->pystacks[i];
		size_t h = mix3((uint64_t)s->proc, s->id, 1) & (p->scap - 1);

		while (p->sidx[h])
			h = (h + 1) & (p->scap - 1);
		p->sidx[h] = i + 1;
	}
	p->ccap = pow2(run->n_pycodes);
	p->cidx = xcalloc(p->ccap, sizeof(*p->cidx));
	for (size_t i = 0; i < run->n_pycodes; i++) {
		const struct vpycode *c = &run->pycodes[i];
		size_t h = mix3((uint64_t)c->proc, c->id, 2) & (p->ccap - 1);

		while (p->cidx[h])
			h = (h + 1) & (p->ccap - 1);
		p->cidx[h] = i + 1;
	}
	return p;
}

void py_close(struct pystacks *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->cap; i++)
		free(p->cache[i].frames);
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->cache);
	free(p->sidx);
	free(p->cidx);
	free(p);
}

static const struct vpystack *find_stack(const struct pystacks *p, int32_t proc, uint64_t id)
{
	size_t h;

	if (!id || !p->run->n_pystacks)
		return NULL;
	for (h = mix3((uint64_t)proc, id, 1) & (p->scap - 1); p->sidx[h];
	     h = (h + 1) & (p->scap - 1)) {
		const struct vpystack *s = &p->run->pystacks[p->sidx[h] - 1];

		if (s->proc == proc && s->id == id)
			return s;
	}
	return NULL;
}

static const struct vpycode *find_code(const struct pystacks *p, int32_t proc, uint64_t id)
{
	size_t h;

	if (!p->run->n_pycodes)
		return NULL;
	for (h = mix3((uint64_t)proc, id, 2) & (p->ccap - 1); p->cidx[h];
	     h = (h + 1) & (p->ccap - 1)) {
		const struct vpycode *c = &p->run->pycodes[p->cidx[h] - 1];

		if (c->proc == proc && c->id == id)
			return c;
	}
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* "FILE:QUALNAME:LINE" for one recorded frame. */
static void frame_label(const struct pystacks *p, int32_t proc, const struct vpyframe *f, char *buf,
			size_t cap, const char **file)
{
	const struct vpycode *c = find_code(p, proc, f->code);
	const char *fn = c ? S(p->run, c->file) : "", *qn = c ? S(p->run, c->qualname) : "";

	*file = fn;
	if (!c) {
		snprintf(buf, cap, "[python code %016llx]", (unsigned long long)f->code);
		return;
	}
	if (f->line)
		snprintf(buf, cap, "%s:%s:%u", *fn ? base_name(fn) : "?", *qn ? qn : "?", f->line);
	else
		snprintf(buf, cap, "%s:%s", *fn ? base_name(fn) : "?", *qn ? qn : "?");
}

int py_is_library(const char *file)
{
	return !*file || file[0] == '<' || strstr(file, "/site-packages/") ||
	       strstr(file, "/dist-packages/") || strstr(file, "/lib/python3") ||
	       strstr(file, "/lib/python2") || strstr(file, "/lib64/python3");
}

#define CALLERS 2 /* callers named after a call site */

int py_call_site(struct pystacks *p, int32_t proc, uint64_t pystack_id, int any, char *buf,
		 size_t cap)
{
	const struct vpystack *s = p ? find_stack(p, proc, pystack_id) : NULL;

	const char *site_file = NULL;
	uint32_t callers = 0;

	buf[0] = 0;
	if (!s || !s->nframes)
		return 0;
	for (uint32_t i = 0; i < s->nframes && callers < CALLERS; i++) { /* innermost first */
		const struct vpyframe *f = &p->run->pyframes[s->first + i];
		const struct vpycode *c;
		const char *file;
		char one[300];
		size_t o = strlen(buf);

		frame_label(p, proc, f, one, sizeof(one), &file);
		if (!any && py_is_library(file))
			continue;
		if (!site_file) {
			snprintf(buf, cap, "%s", one);
			site_file = file;
			continue;
		}
		/* the site's callers in the program's own code, shorter when in the same file */
		c = find_code(p, proc, f->code);
		if (c && !strcmp(file, site_file))
			snprintf(buf + o, cap - o, " < %s:%u", S(p->run, c->qualname), f->line);
		else
			snprintf(buf + o, cap - o, " < %s", one);
		callers++;
	}
	if (!site_file) /* only library frames: the innermost one */
		frame_label(p, proc, &p->run->pyframes[s->first], buf, cap, &site_file);
	return 1;
}

/* 1 if a native frame runs the interpreter itself (libpython or the python executable). */
static int interpreter_frame(const struct symframe *f)
{
	const char *m = f->module ? f->module : "";

	return !strncmp(m, "libpython", 9) || !strncmp(m, "python", 6);
}

/* 1 if a native frame is the bytecode evaluator (what the Python frames stand for). */
static int eval_frame(const struct symframe *f)
{
	return f->name &&
	       (strstr(f->name, "_PyEval_EvalFrame") || strstr(f->name, "PyEval_EvalCode"));
}

/* The native frames [*lo, *hi) that the Python frames replace: from the outermost evaluator
 * frame to the innermost one; without symbols, the interpreter's own frames. */
static void splice_range(const struct symframe *const *nf, size_t nn, size_t *lo, size_t *hi)
{
	*lo = nn;
	*hi = 0;
	for (size_t i = 0; i < nn; i++)
		if (eval_frame(nf[i])) {
			*lo = i < *lo ? i : *lo;
			*hi = i + 1;
		}
	if (*lo < nn)
		return;
	for (size_t i = 0; i < nn; i++)
		if (interpreter_frame(nf[i])) {
			*lo = i < *lo ? i : *lo;
			*hi = i + 1;
		}
	if (*lo == nn) /* no interpreter frame seen: Python frames outermost */
		*lo = *hi = 0;
}

static void *own(struct pystacks *p, void *ptr)
{
	if (p->nowned == p->capowned) {
		p->capowned = p->capowned ? p->capowned * 2 : 64;
		p->owned = xrealloc(p->owned, p->capowned * sizeof(*p->owned));
	}
	return p->owned[p->nowned++] = ptr;
}

static void build(struct pystacks *p, struct pyent *e, const struct vpystack *s,
		  const struct symframe *const *nf, size_t nn)
{
	size_t lo = nn, hi = 0, o = 0;

	e->frames = xcalloc(nn + s->nframes + 2, sizeof(*e->frames));
	if (p->native) {
		splice_range(nf, nn, &lo, &hi);
		for (size_t i = 0; i < lo; i++)
			e->frames[o++] = nf[i];
	}
	for (uint32_t i = s->nframes; i-- > 0;) { /* recorded innermost first */
		struct symframe *f = own(p, xcalloc(1, sizeof(*f)));
		char buf[512];
		const char *file;

		frame_label(p, e->proc, &p->run->pyframes[s->first + i], buf, sizeof(buf), &file);
		f->name = own(p, xstrdup(buf));
		f->file = *file ? own(p, xstrdup(file)) : NULL;
		f->line = (int)p->run->pyframes[s->first + i].line;
		f->module = "python";
		e->frames[o++] = f;
	}
	if (s->truncated) {
		struct symframe *f = own(p, xcalloc(1, sizeof(*f)));

		f->name = "[python stack truncated]";
		f->module = "python";
		/* truncated stacks lose their outer end: mark it there */
		memmove(e->frames + (p->native ? lo : 0) + 1, e->frames + (p->native ? lo : 0),
			(o - (p->native ? lo : 0)) * sizeof(*e->frames));
		e->frames[p->native ? lo : 0] = f;
		o++;
	}
	if (p->native)
		for (size_t i = hi; i < nn; i++)
			e->frames[o++] = nf[i];
	e->n = o;
}

size_t py_stack(struct pystacks *p, struct symbolizer *sym, int32_t proc, uint64_t stack_id,
		uint64_t pystack_id, const struct symframe *const **out)
{
	const struct symframe *const *nf = NULL;
	const struct vpystack *s = p ? find_stack(p, proc, pystack_id) : NULL;
	size_t nn = 0, h;
	struct pyent *e;

	if (sym && stack_id && (!s || p->native))
		nn = sym_stack(sym, proc, stack_id, &nf);
	if (!s || !s->nframes) {
		*out = nf;
		return nn;
	}
	if (p->used * 2 >= p->cap) {
		struct pyent *old = p->cache;
		size_t oc = p->cap;

		p->cap = p->cap ? p->cap * 2 : 64;
		p->cache = xcalloc(p->cap, sizeof(*p->cache));
		for (size_t i = 0; i < oc; i++) {
			if (!old[i].used)
				continue;
			h = mix3((uint64_t)old[i].proc, old[i].sid, old[i].pid) & (p->cap - 1);
			while (p->cache[h].used)
				h = (h + 1) & (p->cap - 1);
			p->cache[h] = old[i];
		}
		free(old);
	}
	for (h = mix3((uint64_t)proc, stack_id, pystack_id) & (p->cap - 1); p->cache[h].used;
	     h = (h + 1) & (p->cap - 1)) {
		e = &p->cache[h];
		if (e->proc == proc && e->sid == stack_id && e->pid == pystack_id) {
			*out = e->frames;
			return e->n;
		}
	}
	e = &p->cache[h];
	e->used = 1;
	e->proc = proc;
	e->sid = stack_id;
	e->pid = pystack_id;
	p->used++;
	build(p, e, s, nf, nn);
	*out = e->frames;
	return e->n;
}
