/* rt_resolve.c: finds the real libc, OpenSSL and libcurl functions behind our wrappers, and
 * loads the helper libraries privately. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"

/* Written once by ap_resolve_libc() (constructor, or the first wrapper that runs before it). */
struct ap_libc ap_real;

/*
 * The first resolution looks the names up itself, in the objects dlsym(RTLD_NEXT) would search
 * from this library: the link maps after ours, in order, up to and including libc. The initial
 * objects' chain is in search-list order (glibc keeps it so) and nothing loaded later comes
 * before libc, so the first definition found there is the one RTLD_NEXT returns: another
 * preloaded library (jemalloc, another tracer) between us and libc still wins. One walk of the
 * link-map chain and a GNU hash probe per name replace ~45 dlsym calls (~40,000 instructions at
 * start-up). Anything unusual (no libc after us, an object without DT_GNU_HASH, an IFUNC, a name
 * not found) is left to dlsym(RTLD_NEXT).
 */
struct dso {
	uintptr_t base;
	const uint32_t *gnu_hash;
	const ElfW(Sym) * symtab;
	const char *strtab;
	const ElfW(Half) * versym;
	const ElfW(Verdef) * verdef;
	unsigned verdefnum;
};

#define SCOPE_MAX 8

static uintptr_t dyn_ptr(const struct link_map *m, ElfW(Addr) v)
{
	/* glibc relocates these entries in place, except where the dynamic section is read-only */
	return v < m->l_addr ? v + m->l_addr : v;
}

static int dso_open(const struct link_map *m, struct dso *d)
{
	memset(d, 0, sizeof(*d));
	d->base = m->l_addr;
	for (const ElfW(Dyn) *dy = m->l_ld; dy && dy->d_tag != DT_NULL; dy++) {
		if (dy->d_tag == DT_GNU_HASH)
			d->gnu_hash = (const uint32_t *)dyn_ptr(m, dy->d_un.d_ptr);
		else if (dy->d_tag == DT_SYMTAB)
			d->symtab = (const ElfW(Sym) *)dyn_ptr(m, dy->d_un.d_ptr);
		else if (dy->d_tag == DT_STRTAB)
			d->strtab = (const char *)dyn_ptr(m, dy->d_un.d_ptr);
		else if (dy->d_tag == DT_VERSYM)
			d->versym = (const ElfW(Half) *)dyn_ptr(m, dy->d_un.d_ptr);
		else if (dy->d_tag == DT_VERDEF)
			d->verdef = (const ElfW(Verdef) *)dyn_ptr(m, dy->d_un.d_ptr);
		else if (dy->d_tag == DT_VERDEFNUM)
			d->verdefnum = (unsigned)dy->d_un.d_val;
	}
	return d->gnu_hash && d->symtab && d->strtab;
}

/* dlsym's match for an unversioned name: an unversioned definition, or else the one default
 * (non-hidden) version. *unsure: the match is one dlsym would treat differently (IFUNC). */
static void *dso_lookup(const struct dso *d, const char *name, uint32_t h, int *unsure)
{
	const uint32_t nbuckets = d->gnu_hash[0], symoffset = d->gnu_hash[1];
	const uint32_t bloom_size = d->gnu_hash[2], bloom_shift = d->gnu_hash[3];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(d->gnu_hash + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	ElfW(Addr) word;
	const ElfW(Sym) *versioned = NULL;
	int nversioned = 0;
	uint32_t i;

	if (!nbuckets || !bloom_size)
		return NULL;
	word = bloom[(h / bits) & (bloom_size - 1)];
	if (!((word >> (h % bits)) & (word >> ((h >> bloom_shift) % bits)) & 1))
		return NULL;
	i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		const ElfW(Sym) *s = &d->symtab[i];
		uint32_t ch = chain[i - symoffset];
		unsigned type = ELF64_ST_TYPE(s->st_info);

		if ((ch | 1) == (h | 1) && s->st_shndx != SHN_UNDEF &&
		    (s->st_value || type == STT_TLS) && !strcmp(d->strtab + s->st_name, name)) {
			unsigned ndx = d->versym ? d->versym[i] & 0x7fff : 0;

			if (type == STT_GNU_IFUNC || ELF64_ST_BIND(s->st_info) == STB_GNU_UNIQUE) {
				*unsure = 1;
				return NULL;
			}
			if (ndx < 2) {
				versioned = s;
				nversioned = 1;
				break;
			}
			if (!(d->versym[i] & 0x8000) && nversioned++ == 0)
				versioned = s;
		}
		if (ch & 1)
			break;
	}
	if (nversioned != 1)
		return NULL;
	return (void *)(d->base + versioned->st_value);
}

extern ElfW(Dyn) _DYNAMIC[];

/* The name of version index ndx in d, or NULL. */
static const char *dso_version_name(const struct dso *d, unsigned ndx)
{
	const ElfW(Verdef) *vd = d->verdef;

	for (unsigned k = 0; vd && k < d->verdefnum; k++) {
		if (vd->vd_ndx == ndx && vd->vd_cnt)
			return d->strtab +
			       ((const ElfW(Verdaux) *)((const char *)vd + vd->vd_aux))->vda_name;
		if (!vd->vd_next)
			break;
		vd = (const ElfW(Verdef) *)((const char *)vd + vd->vd_next);
	}
	return NULL;
}

/* dlvsym's match: the definition of exactly that version (hidden or not), or any definition in
 * an object without versions. *unsure as for dso_lookup. */
static void *dso_lookup_version(const struct dso *d, const char *name, uint32_t h, const char *ver,
				int *unsure)
{
	const uint32_t nbuckets = d->gnu_hash[0], symoffset = d->gnu_hash[1];
	const uint32_t bloom_size = d->gnu_hash[2];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(d->gnu_hash + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;

	if (!nbuckets)
		return NULL;
	for (uint32_t i = buckets[h % nbuckets]; i >= symoffset; i++) {
		const ElfW(Sym) *s = &d->symtab[i];
		uint32_t ch = chain[i - symoffset];
		unsigned type = ELF64_ST_TYPE(s->st_info);

		if ((ch | 1) == (h | 1) && s->st_shndx != SHN_UNDEF &&
		    (s->st_value || type == STT_TLS) && !strcmp(d->strtab + s->st_name, name)) {
			const char *vn =
				d->versym ? dso_version_name(d, d->versym[i] & 0x7fff) : ver;

			if (vn && !strcmp(vn, ver)) {
				if (type == STT_GNU_IFUNC ||
				    ELF64_ST_BIND(s->st_info) == STB_GNU_UNIQUE) {
					*unsure = 1;
					return NULL;
				}
				return (void *)(d->base + s->st_value);
			}
		}
		if (ch & 1)
			break;
	}
	return NULL;
}

/* The objects after ours, up to libc; 0 when that scope is not the plain preload one. Our own
 * entry is the one whose dynamic section is ours (no dladdr1: it costs ~3,500 instructions). */
static int next_scope(struct dso *scope)
{
	struct link_map *m = _r_debug.r_map;
	int n = 0;

	while (m && m->l_ld != _DYNAMIC)
		m = m->l_next;
	if (!m)
		return 0; /* not in the base namespace (dlmopen): dlsym decides */
	for (m = m->l_next; m; m = m->l_next) {
		const char *base = strrchr(m->l_name ? m->l_name : "", '/');

		base = base ? base + 1 : (m->l_name ? m->l_name : "");
		if (!strncmp(base, "linux-vdso", 10) || !strncmp(base, "linux-gate", 10))
			continue; /* not in the search list */
		if (n == SCOPE_MAX || !dso_open(m, &scope[n]))
			return 0;
		n++;
		if (!strcmp(base, "libc.so.6"))
			return n;
	}
	return 0; /* no libc after us (we were dlopened, or a static libc): dlsym decides */
}

static void *fast_next(const struct dso *scope, int n, const char *name)
{
	uint32_t h = 5381;
	int unsure = 0;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	for (int i = 0; i < n; i++) {
		void *p = dso_lookup(&scope[i], name, h, &unsure);
		if (p)
			return p;
		if (unsure)
			break;
	}
	return dlsym(RTLD_NEXT, name);
}

/* The version asked for, or the default one when no object has that version. */
static void *fast_next_versioned(const struct dso *scope, int n, const char *name, const char *ver)
{
	uint32_t h = 5381;
	int unsure = 0;
	void *p;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	for (int i = 0; i < n && !unsure; i++) {
		p = dso_lookup_version(&scope[i], name, h, ver, &unsure);
		if (p)
			return p;
	}
	p = dlvsym(RTLD_NEXT, name, ver); /* not up to libc: exactly as before */
	return p ? p : fast_next(scope, n, name);
}
/* A definition of name (any version or type) in d, or NULL: a conservative "maybe" for dlsym. */
static const ElfW(Sym) * dso_defines(const struct dso *d, const char *name, uint32_t h)
{
	const uint32_t nbuckets = d->gnu_hash[0], symoffset = d->gnu_hash[1];
	const uint32_t bloom_size = d->gnu_hash[2];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(d->gnu_hash + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;

	if (!nbuckets)
		return NULL;
	for (uint32_t i = buckets[h % nbuckets]; i >= symoffset; i++) {
		const ElfW(Sym) *s = &d->symtab[i];
		uint32_t ch = chain[i - symoffset];

		if ((ch | 1) == (h | 1) && s->st_shndx != SHN_UNDEF &&
		    !strcmp(d->strtab + s->st_name, name))
			return s;
		if (ch & 1)
			break;
	}
	return NULL;
}

void *ap_dlsym_default(const char *name)
{
	struct link_map *m;
	struct dso d;
	uint32_t h = 5381;
	int ours = 0;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	/* the global scope is a subset of the base namespace's objects: if none defines the name,
	 * dlsym(RTLD_DEFAULT) fails too */
	for (m = _r_debug.r_map; m; m = m->l_next) {
		ours |= m->l_ld == _DYNAMIC;
		if (!dso_open(m, &d) || dso_defines(&d, name, h))
			return dlsym(RTLD_DEFAULT, name);
	}
	return ours ? NULL : dlsym(RTLD_DEFAULT, name); /* dlmopen: not our namespace's list */
}

void ap_resolve_libc(void)
{
	static atomic_int resolved_once;
	struct dso scope[SCOPE_MAX];
	int n = 0;

	ap_tls.guard++;
	/* later calls (a name still missing) see objects dlopened since: dlsym decides then */
	if (!atomic_exchange(&resolved_once, 1))
		n = next_scope(scope);
#define AP_RESOLVE(ret, name, args) ap_real.name = (ret(*) args)fast_next(scope, n, #name);
	AP_LIBC_SYMS(AP_RESOLVE)
#undef AP_RESOLVE
#define AP_RESOLVE_VERSIONED(type, field, name, ver) \
	ap_real.field = (type)fast_next_versioned(scope, n, #name, ver);
	AP_LIBC_VERSIONED_SYMS(AP_RESOLVE_VERSIONED)
#undef AP_RESOLVE_VERSIONED
	ap_tls.guard--;
}

/* --- the loader's list lock across fork -------------------------------------------------- */

/*
 * dl_iterate_phdr and dlopen take glibc's dl_load_write_lock, and fork() does not reset it in
 * the child (it resets dl_load_lock only). A child forked while another thread was inside
 * dl_iterate_phdr (a C++ exception's unwinder, libunwind, our own stack set-up) waits forever at
 * its first such call. So the lock is found once at start-up: the recursive mutex in
 * _rtld_global that this thread owns inside a dl_iterate_phdr callback and that is free again
 * once it returns. A child only reads it and, when it is held (or was never found), makes none
 * of those calls until it execs: its stacks come from frame pointers, no helper library is
 * loaded.
 */

/* The start of glibc's struct __pthread_mutex_s (nptl, every 64-bit ABI); 8-byte aligned. */
struct mutex_words {
	int lock;
	unsigned count;
	int owner;
	unsigned nusers;
	int kind;
};

#define OWNED_MAX 4

struct loader_probe {
	const char *base; /* _rtld_global */
	size_t size;
	int tid;
	size_t at[OWNED_MAX]; /* offsets of the mutexes this thread owned in the callback */
	int n;
};

static const volatile struct mutex_words *loader_lock; /* NULL: not found */
static int loader_blocked;			       /* this fork child must not call it */
static atomic_int loader_said;

/* Inside dl_iterate_phdr: the recursive mutexes in _rtld_global this thread holds now. */
static int probe_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct loader_probe *p = data;

	(void)info;
	(void)size;
	for (size_t off = 0; off + sizeof(struct mutex_words) <= p->size; off += 8) {
		const struct mutex_words *m = (const void *)(p->base + off);

		if (m->owner == p->tid && m->lock && m->count &&
		    (m->kind & 3) == PTHREAD_MUTEX_RECURSIVE_NP) {
			if (p->n < OWNED_MAX)
				p->at[p->n] = off;
			p->n++;
		}
	}
	return 1; /* one object is enough */
}

void ap_loader_probe(void)
{
	static const char name[] = "_rtld_global";
	const uintptr_t ldso = getauxval(AT_BASE);
	const ElfW(Sym) *s = NULL;
	struct loader_probe p = {0};
	const struct mutex_words *m, *found = NULL;
	struct dso d;
	uint32_t h = 5381;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	/* the loader's own entry (AT_BASE); every object when that finds nothing (ld.so run as
	 * the program: AT_BASE is 0) */
	for (int any = 0; any < 2 && !s; any++)
		for (struct link_map *l = _r_debug.r_map; l && !s; l = l->l_next)
			if ((any || l->l_addr == ldso) && dso_open(l, &d))
				s = dso_defines(&d, name, h);
	if (!s || ELF64_ST_TYPE(s->st_info) != STT_OBJECT || s->st_size < sizeof(*m))
		return;
	p.base = (const char *)(d.base + s->st_value);
	p.size = s->st_size;
	p.tid = (int)syscall(SYS_gettid);
	dl_iterate_phdr(probe_cb, &p);
	for (int i = 0; i < p.n && p.n <= OWNED_MAX; i++) {
		m = (const void *)(p.base + p.at[i]);
		if (m->owner || m->lock)
			continue; /* held before the call too (we are being dlopened) */
		if (found)
			return; /* two candidates: not sure which */
		found = m;
	}
	loader_lock = found;
}

/*
 * Our own calls that take locks fork() leaves held, or leave state half-done in a child: dlopen
 * (the loader's state under dl_load_lock, which glibc re-initialises in the child however far
 * the parent's dlopen had got), dl_iterate_phdr (dl_load_write_lock) and libunwind (mutexes of
 * its own). Each is bracketed by ap_loader_enter/leave: one atomic step on a counter of its own
 * cache line, which a fork being prepared closes. The prepare step waits for the count to drain,
 * at most FORK_WAIT_NS and without a lock; a child that still inherits a non-zero count (a fork
 * from a signal handler that interrupted one of them) makes none of those calls until it execs.
 */
static _Alignas(64) atomic_uint loader_calls; /* the count, plus FORK_ONE per fork prepared */
#define FORK_ONE      0x00100000u /* forks of two threads may overlap: a count, not a flag */
#define INSIDE_MASK   (FORK_ONE - 1)
#define FORK_WAIT_NS  5000000	/* these calls take microseconds; their thread may wait for a CPU */
#define ENTER_WAIT_NS 100000000 /* ap_loader_enter(1): how long a fork may keep us out */

static int loader_inherited; /* this child inherited a call of ours under way */

int ap_loader_enter(int wait)
{
	unsigned v = atomic_load_explicit(&loader_calls, memory_order_relaxed);
	int64_t until = 0;

	if (!ap_loader_usable())
		return 0;
	for (;;) {
		if (v < FORK_ONE) {
			if (atomic_compare_exchange_weak_explicit(&loader_calls, &v, v + 1,
								  memory_order_acquire,
								  memory_order_relaxed))
				return 1;
			continue;
		}
		if (!wait)
			return 0; /* a fork is being prepared: the caller does without */
		if (!until)
			until = ap_now() + ENTER_WAIT_NS;
		else if (ap_now() >= until)
			return 0;
		sched_yield();
		v = atomic_load_explicit(&loader_calls, memory_order_relaxed);
	}
}

void ap_loader_leave(void)
{
	atomic_fetch_sub_explicit(&loader_calls, 1, memory_order_release);
}

void ap_loader_before_fork(void)
{
	int64_t until;

	if (!(atomic_fetch_add_explicit(&loader_calls, FORK_ONE, memory_order_acq_rel) &
	      INSIDE_MASK))
		return;
	until = ap_now() + FORK_WAIT_NS;
	while ((atomic_load_explicit(&loader_calls, memory_order_acquire) & INSIDE_MASK) &&
	       ap_now() < until)
		sched_yield();
}

void ap_loader_after_fork_parent(void)
{
	atomic_fetch_sub_explicit(&loader_calls, FORK_ONE, memory_order_release);
}

void ap_loader_after_fork_child(void)
{
	/* what was held stays held in this child's own children too: never cleared */
	loader_inherited |=
		(atomic_load_explicit(&loader_calls, memory_order_relaxed) & INSIDE_MASK) != 0;
	atomic_store_explicit(&loader_calls, 0, memory_order_relaxed);
	loader_blocked =
		loader_inherited || !loader_lock || loader_lock->lock || loader_lock->owner;
}

int ap_loader_usable(void)
{
	if (!loader_blocked)
		return 1;
	if (!atomic_exchange(&loader_said, 1))
		ap_diag(AP_DIAG_FORK_LOCKED,
			!loader_lock ? "the loader's lock was not found: in forked children native "
				       "stacks use frame pointers and no helper library is loaded"
			: loader_lock->lock || loader_lock->owner
				? "forked while another thread held the loader's lock: native "
				  "stacks by frame pointers, no helper library loaded"
				: "forked while our own loader or libunwind call ran in another "
				  "thread: native stacks by frame pointers, no helper library "
				  "loaded");
	return 0;
}

/* --- helper libraries, loaded privately --------------------------------------------------- */

void *ap_lib_open(const char *soname, int now, const struct ap_lib_sym *syms)
{
	/* a load is once per process: wait for a fork being prepared rather than go without */
	int in = ap_loader_enter(1);
	void *h = in ? dlopen(soname, RTLD_LOCAL | (now ? RTLD_NOW : RTLD_LAZY)) : NULL;
	const struct ap_lib_sym *s;
	int missing = 0;

	for (s = syms; s->name; s++) {
		*s->slot = h ? dlsym(h, s->name) : NULL;
		if (!*s->slot && h && s->alt)
			*s->slot = dlsym(h, s->alt);
		missing |= !*s->slot;
	}
	if (h && missing) {
		for (s = syms; s->name; s++)
			*s->slot = NULL;
		dlclose(h);
		h = NULL;
	}
	if (in)
		ap_loader_leave();
	return h;
}

int ap_lib_loaded_by_host(const char *soname)
{
	int in = ap_loader_enter(1);
	void *h = in ? dlopen(soname, RTLD_NOLOAD | RTLD_LAZY) : NULL;

	if (h)
		dlclose(h); /* only the reference RTLD_NOLOAD took: the host's copy stays */
	if (in)
		ap_loader_leave();
	return h != NULL;
}

/*
 * Library entry points, per calling object. A small fixed table maps a call site (return
 * address) to the object it belongs to, and each object to the functions its own dependency
 * scope resolves. Filled on the first call from each call site, under resolve_lock; read
 * without a lock through atomic publication.
 */
#define MOD_MAX	   16
#define SITE_SLOTS 512

struct site {
	_Atomic(const void *) addr;
	_Atomic(int) mod; /* index + 1 */
};

static struct ap_libapi mods[MOD_MAX] AP_COLD_BSS;
static const void *mod_base[MOD_MAX];
static int nmods;
static struct site sites[SITE_SLOTS] AP_COLD_BSS;
static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct ap_libapi empty_api;

static void *lookup(void *handle, const char *name, void *self_base)
{
	void *p = handle ? dlsym(handle, name) : NULL;
	Dl_info di;

	if (p && dladdr(p, &di) && di.dli_fbase == self_base)
		p = NULL; /* that is us */
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	if (p && dladdr(p, &di) && di.dli_fbase == self_base)
		p = NULL;
	return p;
}

static void fill_api(struct ap_libapi *a, void *handle)
{
	Dl_info self;
	void *sb = NULL;

	if (dladdr((void *)&ap_resolve_libc, &self))
		sb = self.dli_fbase;
#define L(name) *(void **)&a->name = lookup(handle, #name, sb)
	L(SSL_read);
	L(SSL_write);
	L(SSL_read_ex);
	L(SSL_write_ex);
	L(SSL_peek);
	L(SSL_peek_ex);
	L(SSL_set_fd);
	L(SSL_set_bio);
	L(SSL_ctrl);
	L(SSL_free);
	L(SSL_connect);
	L(SSL_do_handshake);
	L(curl_easy_perform);
	L(curl_easy_getinfo);
	L(curl_multi_perform);
	L(curl_multi_info_read);
	L(curl_multi_add_handle);
	L(curl_multi_remove_handle);
	L(curl_multi_socket_action);
	L(SSL_get0_alpn_selected);
#undef L
}

static int module_for(const void *ret)
{
	Dl_info di;
	void *handle = NULL;
	int i;

	if (!dladdr(ret, &di))
		di.dli_fbase = NULL;
	for (i = 0; i < nmods; i++)
		if (mod_base[i] == di.dli_fbase)
			return i;
	if (nmods == MOD_MAX)
		return 0; /* table full: share the first object's view */
	/* The main program's handle searches the global scope (us first); use RTLD_NEXT there. */
	if (di.dli_fbase && di.dli_fname && di.dli_fname[0])
		handle = dlopen(di.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	fill_api(&mods[nmods], handle);
	mod_base[nmods] = di.dli_fbase;
	return nmods++;
}

void ap_resolve_after_fork_child(void)
{
	pthread_mutex_init(&resolve_lock, NULL); /* another thread may have held it at fork */
}

const struct ap_libapi *ap_libapi_for(const void *ret)
{
	uintptr_t h = ((uintptr_t)ret >> 2) * 0x9E3779B97F4A7C15ull;
	unsigned slot = (unsigned)(h >> 55) % SITE_SLOTS;
	int m;
	unsigned i;

	for (i = 0; i < SITE_SLOTS; i++) {
		struct site *s = &sites[(slot + i) % SITE_SLOTS];
		const void *a = atomic_load_explicit(&s->addr, memory_order_acquire);
		if (a == ret) {
			m = atomic_load_explicit(&s->mod, memory_order_acquire);
			if (m)
				return &mods[m - 1];
			break; /* being filled by another thread: resolve below */
		}
		if (!a)
			break;
	}
	ap_tls.guard++;
	pthread_mutex_lock(&resolve_lock);
	m = module_for(ret);
	for (i = 0; i < SITE_SLOTS; i++) {
		struct site *s = &sites[(slot + i) % SITE_SLOTS];
		const void *a = atomic_load_explicit(&s->addr, memory_order_relaxed);
		if (a == ret)
			break;
		if (!a) {
			atomic_store_explicit(&s->addr, ret, memory_order_relaxed);
			atomic_store_explicit(&s->mod, m + 1, memory_order_release);
			break;
		}
	}
	pthread_mutex_unlock(&resolve_lock);
	ap_tls.guard--;
	return nmods ? &mods[m] : &empty_api;
}

int (*ap_curl_getinfo_any(void))(void *, int, ...)
{
	for (int i = 0; i < nmods; i++)
		if (mods[i].curl_easy_getinfo)
			return mods[i].curl_easy_getinfo;
	return NULL;
}
