/* rt_resolve.c: finds the real libc, OpenSSL and libcurl functions behind our wrappers, and
 * loads the helper libraries privately. */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "rt.h"

/* Written once by ap_resolve_libc() (constructor, or the first wrapper that runs before it). */
struct ap_libc ap_real;

/* The version asked for, or the default one when libc has no such version. */
static void *next_versioned(const char *name, const char *ver)
{
	void *p = dlvsym(RTLD_NEXT, name, ver);

	return p ? p : dlsym(RTLD_NEXT, name);
}

void ap_resolve_libc(void)
{
	ap_tls.guard++;
#define AP_RESOLVE(ret, name, args) ap_real.name = (ret(*) args)dlsym(RTLD_NEXT, #name);
	AP_LIBC_SYMS(AP_RESOLVE)
#undef AP_RESOLVE
#define AP_RESOLVE_VERSIONED(type, field, name, ver) \
	ap_real.field = (type)next_versioned(#name, ver);
	AP_LIBC_VERSIONED_SYMS(AP_RESOLVE_VERSIONED)
#undef AP_RESOLVE_VERSIONED
	ap_tls.guard--;
}

/* --- helper libraries, loaded privately --------------------------------------------------- */

void *ap_lib_open(const char *soname, int now, const struct ap_lib_sym *syms)
{
	void *h = dlopen(soname, RTLD_LOCAL | (now ? RTLD_NOW : RTLD_LAZY));
	const struct ap_lib_sym *s;
	int missing = 0;

	for (s = syms; s->name; s++) {
		*s->slot = h ? dlsym(h, s->name) : NULL;
		if (!*s->slot && h && s->alt)
			*s->slot = dlsym(h, s->alt);
		missing |= !*s->slot;
	}
	if (!h || !missing)
		return h;
	for (s = syms; s->name; s++)
		*s->slot = NULL;
	dlclose(h);
	return NULL;
}

int ap_lib_loaded_by_host(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOLOAD | RTLD_LAZY);

	if (h)
		dlclose(h); /* only the reference RTLD_NOLOAD took: the host's copy stays */
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

static struct ap_libapi mods[MOD_MAX];
static const void *mod_base[MOD_MAX];
static int nmods;
static struct site sites[SITE_SLOTS];
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
