/* symbolize.c: recorded stacks to function names and file:line with libdwfl (elfutils), checked
 * against each module's recorded GNU build-id; module+offset when a name cannot be trusted. */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef AP_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

#include "symbolize.h"

/* One distinct module file (path + recorded build-id), opened lazily. */
struct smod {
	uint32_t path, build_id; /* strtab ids */
	const char *base;	 /* basename of path */
	int state;		 /* 0 not tried, 1 usable, 2 names not trusted */
	int ours;		 /* libagentprof.so */
#ifdef AP_HAVE_LIBDW
	Dwfl *dwfl;
	Dwfl_Module *mod;
#endif
};

/* A module mapped into one process: sorted by (proc, start) for lookups. */
struct pmod {
	int32_t proc;
	uint32_t smod;
	uint64_t start, end, base;
};

struct aent { /* address cache: (smod or NO_MOD, address) -> frame */
	uint32_t smod;
	uint64_t addr;
	struct symframe *f;
};

struct sent { /* stack cache: (proc, id) -> run->stacks index and its symbolized frames */
	int32_t proc;
	uint64_t id;
	size_t idx;
	int used, done;
	size_t n;
	const struct symframe **frames;
};

#define NO_MOD UINT32_MAX

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

struct symbolizer {
	const struct run *run;
	FILE *err;
	struct smod *smods;
	size_t n_smods, cap_smods;
	struct pmod *pm;
	size_t n_pm;
	struct aent *ac; /* open addressing, power-of-two capacity */
	size_t ac_cap, ac_n;
	struct sent *sc;
	size_t sc_cap;
	void *cxx;
	demangle_fn demangle;
	int warned_nodw;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ b;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int cmp_pmod(const void *a, const void *b)
{
	const struct pmod *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static uint32_t smod_for(struct symbolizer *s, const struct vmodule *m)
{
	struct smod *e;

	for (size_t i = 0; i < s->n_smods; i++)
		if (s->smods[i].path == m->path && s->smods[i].build_id == m->build_id)
			return (uint32_t)i;
	e = VEC_PUSH(s->smods, s->n_smods, s->cap_smods);
	e->path = m->path;
	e->build_id = m->build_id;
	e->base = basename_of(S(s->run, m->path));
	e->ours = !strncmp(e->base, "libagentprof", 12);
	return (uint32_t)(s->n_smods - 1);
}

static void index_stacks(struct symbolizer *s)
{
	const struct run *run = s->run;

	s->sc_cap = 16;
	while (s->sc_cap < run->n_stacks * 2)
		s->sc_cap <<= 1;
	s->sc = xcalloc(s->sc_cap, sizeof(*s->sc));
	for (size_t i = 0; i < run->n_stacks; i++) {
		const struct vstack *st = &run->stacks[i];
		size_t h = mix((uint64_t)st->proc, st->id) & (s->sc_cap - 1);

		if (!st->id)
			continue;
		while (s->sc[h].used && !(s->sc[h].proc == st->proc && s->sc[h].id == st->id))
			h = (h + 1) & (s->sc_cap - 1);
		if (s->sc[h].used)
			continue; /* a stack written twice: the first copy wins */
		s->sc[h] = (struct sent){.used = 1, .proc = st->proc, .id = st->id, .idx = i};
	}
}

struct symbolizer *sym_open(const struct run *run, FILE *err)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));

	s->run = run;
	s->err = err;
	s->pm = xcalloc(run->n_mods + 1, sizeof(*s->pm));
	for (size_t i = 0; i < run->n_mods; i++) {
		const struct vmodule *m = &run->mods[i];

		if (m->end <= m->start)
			continue;
		s->pm[s->n_pm++] = (struct pmod){.proc = m->proc,
						 .smod = smod_for(s, m),
						 .start = m->start,
						 .end = m->end,
						 .base = m->base};
	}
	qsort(s->pm, s->n_pm, sizeof(*s->pm), cmp_pmod);
	s->ac_cap = 1024;
	s->ac = xcalloc(s->ac_cap, sizeof(*s->ac));
	index_stacks(s);
	s->cxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (s->cxx)
		*(void **)&s->demangle = dlsym(s->cxx, "__cxa_demangle");
	return s;
}

void sym_close(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ac_cap; i++) {
		struct symframe *f = s->ac[i].f;

		if (!f)
			continue;
		free((char *)f->name);
		free((char *)f->file);
		free(f);
	}
	for (size_t i = 0; i < s->sc_cap; i++)
		free(s->sc[i].frames);
#ifdef AP_HAVE_LIBDW
	for (size_t i = 0; i < s->n_smods; i++)
		if (s->smods[i].dwfl)
			dwfl_end(s->smods[i].dwfl);
#endif
	if (s->cxx)
		dlclose(s->cxx);
	free(s->smods);
	free(s->pm);
	free(s->ac);
	free(s->sc);
	free(s);
}

static const struct pmod *find_pmod(const struct symbolizer *s, int32_t proc, uint64_t addr)
{
	size_t lo = 0, hi = s->n_pm;

	while (lo < hi) { /* first entry greater than (proc, addr) */
		size_t mid = (lo + hi) / 2;
		const struct pmod *m = &s->pm[mid];

		if (m->proc < proc || (m->proc == proc && m->start <= addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	for (size_t i = lo; i-- > 0;) { /* ranges may overlap after dlclose/dlopen: latest wins */
		const struct pmod *m = &s->pm[i];

		if (m->proc != proc)
			break;
		if (addr >= m->start && addr < m->end)
			return m;
		if (lo - i > 8)
			break;
	}
	return NULL;
}

#ifdef AP_HAVE_LIBDW
static void hexid(char *out, size_t cap, const unsigned char *b, int n)
{
	size_t o = 0;

	for (int i = 0; i < n && o + 3 <= cap; i++, o += 2)
		snprintf(out + o, 3, "%02x", b[i]);
	out[o] = 0;
}

/* Open the module's file once; decide whether its names can be trusted. */
static void smod_open(struct symbolizer *s, struct smod *m)
{
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	const char *path = S(s->run, m->path), *want = S(s->run, m->build_id);
	const unsigned char *bits;
	GElf_Addr vaddr, bias;
	char have[48];
	int n;

	m->state = 2;
	if (path[0] != '/')
		return; /* [vdso], [unnamed]: nothing on disk */
	if (access(path, R_OK)) {
		fprintf(s->err,
			"agentprof-view: note: %s: not readable now; its frames are shown as "
			"module+offset\n",
			path);
		return;
	}
	m->dwfl = dwfl_begin(&cb);
	if (!m->dwfl)
		return;
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, m->base, path, -1, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod || !dwfl_module_getelf(m->mod, &bias)) {
		fprintf(s->err,
			"agentprof-view: note: %s: not an ELF file now; its frames are shown "
			"as module+offset\n",
			path);
		return;
	}
	n = dwfl_module_build_id(m->mod, &bits, &vaddr);
	have[0] = 0;
	if (n > 0)
		hexid(have, sizeof(have), bits, n > 20 ? 20 : n);
	if (want[0] && strcmp(want, have)) {
		fprintf(s->err,
			"agentprof-view: warning: %s changed since the run (build-id %s, recorded "
			"%s); its frames are shown as module+offset\n",
			path, have[0] ? have : "none", want);
		return;
	}
	m->state = 1;
}

static void lookup(struct symbolizer *s, struct smod *m, uint64_t rel, struct symframe *f)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *name;
	Dwfl_Line *ln;

	name = dwfl_module_addrinfo(m->mod, rel, &off, &sym, NULL, NULL, NULL);
	if (!name || !*name)
		return;
	if (s->demangle && name[0] == '_' && name[1] == 'Z') {
		int st = -1;
		char *d = s->demangle(name, NULL, NULL, &st);

		if (d && !st) {
			f->name = d;
		} else {
			free(d);
		}
	}
	if (!f->name) {
		f->name = xstrdup(name);
		((char *)f->name)[strcspn(name, "@")] =
			0; /* memcpy@@GLIBC_2.14: drop the version */
	}
	ln = dwfl_module_getsrc(m->mod, rel);
	if (ln) {
		int line = 0;
		const char *file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);

		if (file && *file) {
			f->file = xstrdup(file);
			f->line = line;
		}
	}
}
#endif

/* The frame for one return address of process proc (cached). */
static struct symframe *frame_at(struct symbolizer *s, int32_t proc, uint64_t addr)
{
	const struct pmod *pm = find_pmod(s, proc, addr ? addr - 1 : 0);
	uint32_t key = pm ? pm->smod : NO_MOD;
	uint64_t rel = pm ? addr - pm->base : addr;
	size_t h;
	struct symframe *f;
	char buf[300];

	if (s->ac_n * 2 >= s->ac_cap) { /* grow */
		struct aent *old = s->ac;
		size_t oc = s->ac_cap;

		s->ac_cap *= 2;
		s->ac = xcalloc(s->ac_cap, sizeof(*s->ac));
		for (size_t i = 0; i < oc; i++) {
			if (!old[i].f)
				continue;
			h = mix(old[i].smod, old[i].addr) & (s->ac_cap - 1);
			while (s->ac[h].f)
				h = (h + 1) & (s->ac_cap - 1);
			s->ac[h] = old[i];
		}
		free(old);
	}
	h = mix(key, rel) & (s->ac_cap - 1);
	for (; s->ac[h].f; h = (h + 1) & (s->ac_cap - 1))
		if (s->ac[h].smod == key && s->ac[h].addr == rel)
			return s->ac[h].f;
	f = xcalloc(1, sizeof(*f));
	s->ac[h] = (struct aent){.smod = key, .addr = rel, .f = f};
	s->ac_n++;
	if (!pm) {
		snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
		f->name = xstrdup(buf);
		return f;
	}
	struct smod *m = &s->smods[key];

	f->module = m->base;
#ifdef AP_HAVE_LIBDW
	if (!m->state)
		smod_open(s, m);
	if (m->state == 1 && rel)
		lookup(s, m, rel - 1, f);
#else
	if (!s->warned_nodw) {
		fprintf(s->err, "agentprof-view: note: built without libdw: frames are shown as "
				"module+offset\n");
		s->warned_nodw = 1;
	}
#endif
	if (!f->name) {
		snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, m->base, rel);
		f->name = xstrdup(buf);
	}
	return f;
}

size_t sym_stack(struct symbolizer *s, int32_t proc, uint64_t stack_id,
		 const struct symframe *const **out)
{
	size_t h = mix((uint64_t)proc, stack_id) & (s->sc_cap - 1);
	struct sent *e = NULL;

	*out = NULL;
	if (!stack_id)
		return 0;
	for (; s->sc[h].used; h = (h + 1) & (s->sc_cap - 1)) {
		if (s->sc[h].proc == proc && s->sc[h].id == stack_id) {
			e = &s->sc[h];
			break;
		}
	}
	if (!e)
		return 0;
	if (!e->done) {
		const struct vstack *st = &s->run->stacks[e->idx];
		const uint64_t *fr = &s->run->frames[st->first];

		e->done = 1;
		e->frames = xcalloc(st->nframes + 1, sizeof(*e->frames));
		for (uint32_t i = st->nframes; i-- > 0;) { /* recorded innermost first */
			const struct symframe *f = frame_at(s, proc, fr[i]);
			const struct pmod *pm = find_pmod(s, proc, fr[i] ? fr[i] - 1 : 0);

			if (pm && s->smods[pm->smod].ours)
				continue;
			e->frames[e->n++] = f;
		}
	}
	*out = e->frames;
	return e->n;
}
