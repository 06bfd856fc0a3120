/* rt_inline.c: inline hooks on the TLS functions of an executable (or loaded object) that
 * carries its own OpenSSL/BoringSSL, so that its plaintext reaches the SSL wrappers. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/auxv.h>
#include <sys/stat.h>

#include "bssl_find.h"
#include "rt.h"
#include "trampoline.h"

/*
 * The patching rule: entries are rewritten only here, from the constructor, and only while the
 * process has a single thread (read from /proc/self/status just before). No other thread can
 * then be executing, or be preempted inside, the bytes being replaced. Each text page is made
 * writable for the copy and given back its segment's own protection right after. Patches are
 * never undone: once recording ends the wrappers simply pass through.
 *
 * Only objects whose TLS functions the dynamic linker does not route to us are patched: the
 * main program and loaded objects other than a shared libssl/libcrypto (whose exported
 * functions our symbol wrappers already interpose). The first such object wins: the wrappers'
 * trampolines are one set per process.
 *
 * Layout: one page mapped within +-2 GB of the object's text holds, per function, the
 * trampoline (displaced instructions + jump back) and a 14-byte absolute jump to our wrapper's
 * register-saving thunk (hook_ssl.c); the entry gets a 5-byte jmp rel32 to that stub. Without a
 * near page the entry gets the 14-byte absolute jump itself (more displaced bytes, same rules).
 * The page is read + execute once written. A fork child inherits patches and page as they are.
 *
 * libcapstone is loaded privately for the decoding only (allocating from a throwaway arena
 * unless the host already uses the library) and unloaded before the constructor returns.
 */

#define MAX_HOOKS  16
#define STUB_BYTES AP_PATCH_ABS64
#define SLOT_BYTES (AP_TRAMP_MAX + STUB_BYTES + 2)
#define ARENA_SIZE (1u << 20)

struct object {
	const char *name; /* "" for the main program */
	uintptr_t base;
	const ElfW(Phdr) * phdr;
	int phnum;
	int found;
};

struct target {
	const struct ap_inline_hook *hook;
	uint8_t *entry;
	size_t size; /* symbol size, 0 if unknown */
	struct ap_tramp tramp;
	int skip; /* an optional hook (required -1) whose prologue could not be moved */
};

/* Why TLS in this process will be opaque, told with the first opaque connection. */
static const char *opaque_reason;

const char *ap_inline_opaque_reason(void)
{
	return opaque_reason;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char msg[AP_STR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ap_diag(AP_DIAG_OPAQUE_TLS, msg);
	ap_rt.opaque_tls_reported = 1; /* this says why; the first opaque connection adds nothing */
}

/* --- the object that carries its own TLS ------------------------------------------------------ */

static int seg_of(const struct object *o, uintptr_t a, const ElfW(Phdr) * *out)
{
	for (int i = 0; i < o->phnum; i++) {
		const ElfW(Phdr) *p = &o->phdr[i];
		uintptr_t lo = o->base + p->p_vaddr;
		if (p->p_type == PT_LOAD && a >= lo && a < lo + p->p_memsz) {
			*out = p;
			return 1;
		}
	}
	return 0;
}

/* The definition of name inside object o (an executable segment of it), or NULL. */
static void *symbol_in(const struct object *o, void *handle, const char *name)
{
	void *p = dlsym(handle, name);
	const ElfW(Phdr) * seg;

	if (!p || !seg_of(o, (uintptr_t)p, &seg) || !(seg->p_flags & PF_X))
		return NULL;
	return p;
}

/* Number of dynamic symbols, from the GNU hash table (what the loader itself has). */
static size_t gnu_hash_count(const uint32_t *h)
{
	uint32_t nbuckets = h[0], symoffset = h[1], bloom = h[2], last = 0;
	const uint32_t *buckets = h + 4 + bloom * (sizeof(ElfW(Addr)) / 4), *chain;

	for (uint32_t i = 0; i < nbuckets; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < symoffset)
		return symoffset;
	chain = buckets + nbuckets;
	while (!(chain[last - symoffset] & 1))
		last++;
	return (size_t)last + 1;
}

/*
 * The symbol sizes of the targets, in one pass over the object's dynamic symbol table
 * (dladdr1 per function scans the whole table each time: milliseconds on Node's 47,000
 * symbols). A size stays 0 when not found.
 */
static void symbol_sizes(const struct object *o, struct target *t, int n)
{
	const ElfW(Phdr) *dyn = NULL;
	const ElfW(Sym) *symtab = NULL;
	const uint32_t *gnu = NULL, *sysv = NULL;
	size_t count = 0;

	for (int i = 0; i < o->phnum; i++)
		if (o->phdr[i].p_type == PT_DYNAMIC)
			dyn = &o->phdr[i];
	if (!dyn)
		return;
	for (const ElfW(Dyn) *d = (const void *)(o->base + dyn->p_vaddr); d->d_tag != DT_NULL;
	     d++) {
		/* the loader relocates these entries in place, except in the vDSO */
		uintptr_t v = d->d_un.d_ptr < o->base ? d->d_un.d_ptr + o->base : d->d_un.d_ptr;
		if (d->d_tag == DT_SYMTAB)
			symtab = (const void *)v;
		else if (d->d_tag == DT_GNU_HASH)
			gnu = (const void *)v;
		else if (d->d_tag == DT_HASH)
			sysv = (const void *)v;
	}
	if (!symtab)
		return;
	count = gnu ? gnu_hash_count(gnu) : sysv ? sysv[1] : 0;
	for (size_t k = 0; k < count; k++) {
		uintptr_t a = o->base + symtab[k].st_value;
		if (ELF64_ST_TYPE(symtab[k].st_info) != STT_FUNC || !symtab[k].st_value)
			continue;
		for (int i = 0; i < n; i++)
			if ((uintptr_t)t[i].entry == a && symtab[k].st_size > t[i].size)
				t[i].size = symtab[k].st_size;
	}
}

static int skip_object(const char *name)
{
	const char *b = strrchr(name, '/');

	b = b ? b + 1 : name;
	return !strncmp(b, "libssl.", 7) || !strncmp(b, "libcrypto.", 10) ||
	       !strncmp(b, "libagentprof", 12) || !strncmp(b, "ld-linux", 8) ||
	       !strncmp(b, "libc.so", 7) || !strncmp(b, "linux-vdso", 10);
}

/* 1 if this object is our own library, whatever its file is called (our exported SSL_* wrappers
 * must never be taken for a TLS library linked in): one of its loaded segments holds this code. */
static int is_ourselves(const struct dl_phdr_info *info)
{
	uintptr_t me = (uintptr_t)&is_ourselves;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && me >= a && me - a < ph->p_memsz)
			return 1;
	}
	return 0;
}

struct find_ctx {
	struct object obj;
	struct target t[MAX_HOOKS];
	int n;
};

static int find_cb(struct dl_phdr_info *info, size_t sz, void *arg)
{
	struct find_ctx *f = arg;
	struct object o = {info->dlpi_name ? info->dlpi_name : "", info->dlpi_addr, info->dlpi_phdr,
			   info->dlpi_phnum, 0};
	int main_prog = !o.name[0];
	void *handle;
	int n = 0;

	if (f->obj.found || (!main_prog && (skip_object(o.name) || is_ourselves(info))))
		return f->obj.found;
	handle = main_prog ? RTLD_DEFAULT : dlopen(o.name, RTLD_NOLOAD | RTLD_LAZY);
	if (!main_prog && !handle)
		return 0;
	for (const struct ap_inline_hook *h = ap_ssl_inline_hooks; h->name && n < MAX_HOOKS; h++) {
		void *p = symbol_in(&o, handle, h->name);
		if (!p && h->required > 0) {
			n = 0;
			break;
		}
		if (p) {
			f->t[n].hook = h;
			f->t[n].entry = p;
			f->t[n].size = 0;
			n++;
		}
	}
	if (!main_prog)
		dlclose(handle);
	if (n) {
		f->obj = o;
		f->obj.found = 1;
		f->n = n;
		symbol_sizes(&o, f->t, n);
	}
	return f->obj.found;
}

/* --- environment checks --------------------------------------------------------------------- */

/* Threads of this process from /proc/self/status; -1 if unknown. */
static int thread_count(void)
{
	char buf[4096];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *p;

	if (fd < 0)
		return -1;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nThreads:");
	return p ? atoi(p + 9) : -1;
}

/* --- capstone, loaded privately, allocating from a throwaway arena ---------------------------- */

static struct {
	uint8_t *base;
	size_t used;
} arena;

static void *arena_malloc(size_t n)
{
	size_t *p;

	n = (n + 15) & ~(size_t)15;
	if (!arena.base || arena.used + n + 16 > ARENA_SIZE)
		return NULL;
	p = (size_t *)(arena.base + arena.used);
	*p = n;
	arena.used += n + 16;
	return (uint8_t *)p + 16;
}

static void *arena_calloc(size_t k, size_t n)
{
	void *p = n && k > SIZE_MAX / n ? NULL : arena_malloc(k * n);

	if (p)
		memset(p, 0, k * n);
	return p;
}

static void *arena_realloc(void *old, size_t n)
{
	void *p = arena_malloc(n);
	size_t had;

	if (p && old) {
		had = *(size_t *)((uint8_t *)old - 16);
		memcpy(p, old, had < n ? had : n);
	}
	return p;
}

static void arena_free(void *p)
{
	(void)p; /* the whole arena goes at once */
}

struct cs_opt_mem_compat {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*vsnprintf)(char *, size_t, const char *, va_list);
};

#define CS_OPT_MEM_VALUE 4 /* cs_opt_type CS_OPT_MEM in capstone 4 */

static void *load_capstone(struct ap_cs_decoder *d)
{
	static struct cs_opt_mem_compat mem = {arena_malloc, arena_calloc, arena_realloc,
					       arena_free, vsnprintf};
	const struct ap_lib_sym syms[] = {
		{"cs_open", (void **)&d->api.cs_open, NULL},
		{"cs_option", (void **)&d->api.cs_option, NULL},
		{"cs_malloc", (void **)&d->api.cs_malloc, NULL},
		{"cs_disasm_iter", (void **)&d->api.cs_disasm_iter, NULL},
		{"cs_free", (void **)&d->api.cs_free, NULL},
		{"cs_close", (void **)&d->api.cs_close, NULL},
		{NULL, NULL, NULL},
	};
	/* A host that links capstone itself shares this copy: its allocator is left alone. */
	int host_copy = ap_lib_loaded_by_host("libcapstone.so.4");
	void *h = ap_lib_open("libcapstone.so.4", 1, syms);

	if (!h)
		return NULL;
	arena.used = 0;
	arena.base = host_copy ? NULL
			       : mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena.base == MAP_FAILED)
		arena.base = NULL;
	if ((!host_copy && !arena.base) ||
	    (arena.base && d->api.cs_option(0, CS_OPT_MEM_VALUE, (size_t)&mem) != 0) ||
	    ap_cs_decoder_open(d)) {
		if (arena.base)
			ap_unmap_raw(arena.base, ARENA_SIZE);
		arena.base = NULL;
		dlclose(h);
		return NULL;
	}
	return h;
}

static void unload_capstone(struct ap_cs_decoder *d, void *h)
{
	ap_cs_decoder_close(d);
	dlclose(h);
	if (arena.base)
		ap_unmap_raw(arena.base, ARENA_SIZE);
	arena.base = NULL;
}

/* --- the trampoline page ------------------------------------------------------------------- */

static int near(uintptr_t a, uintptr_t b)
{
	uintptr_t d = a > b ? a - b : b - a;
	return d < (1ull << 31) - (1u << 20);
}

/* One page within rel32 reach of every entry, or NULL. */
static uint8_t *near_page(const struct find_ctx *f)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0, step = 1u << 24;
	long pg = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < f->n; i++) {
		uintptr_t a = (uintptr_t)f->t[i].entry;
		lo = a < lo ? a : lo;
		hi = a > hi ? a : hi;
	}
	for (int k = 1; k < 120; k++) {
		/* alternate below the lowest entry and above the highest one, 16 MiB apart */
		uintptr_t off = (uintptr_t)((k + 1) / 2) * step, hint;
		void *p;
		if (k & 1) {
			if (lo < off + 0x10000)
				continue;
			hint = lo - off;
		} else {
			hint = hi + off;
		}
		hint &= ~(uintptr_t)(pg - 1);
		p = mmap((void *)hint, (size_t)pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		if (near((uintptr_t)p, lo) && near((uintptr_t)p, hi + 64))
			return p;
		ap_unmap_raw(p, (size_t)pg);
	}
	return NULL;
}

/* Copy patch bytes over text, then give the pages back their segment's protection. */
static int write_text(const struct object *o, uint8_t *at, const uint8_t *bytes, size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)at & ~(uintptr_t)(pg - 1);
	uintptr_t hi = ((uintptr_t)at + n + (uintptr_t)pg - 1) & ~(uintptr_t)(pg - 1);
	const ElfW(Phdr) * seg;
	int prot = PROT_READ | PROT_EXEC;

	if (seg_of(o, (uintptr_t)at, &seg))
		prot = (seg->p_flags & PF_R ? PROT_READ : 0) |
		       (seg->p_flags & PF_W ? PROT_WRITE : 0) |
		       (seg->p_flags & PF_X ? PROT_EXEC : 0);
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) &&
	    mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE))
		return -1;
	memcpy(at, bytes, n);
	return mprotect((void *)lo, hi - lo, prot);
}

static const char *object_name(const struct object *o)
{
	static char exe[AP_PATH_MAX];
	ssize_t n;

	if (o->name[0])
		return o->name;
	n = syscall(SYS_readlink, "/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	return exe[0] ? exe : "the executable";
}

/* 0 when every function of f is hooked. */
static int install(struct find_ctx *f)
{
	struct ap_cs_decoder dec = {0};
	long pg = sysconf(_SC_PAGESIZE);
	const char *who = object_name(&f->obj);
	uint8_t *page, patch[AP_TRAMP_MAX];
	size_t patch_len;
	int threads = thread_count(), st = AP_TR_OK, bad = -1, i;
	void *cs;

	if (threads != 1) {
		say("TLS library in %.150s not hooked: %d threads already run at start (patching "
		    "needs one); its TLS stays opaque",
		    who, threads);
		return -1;
	}
	cs = load_capstone(&dec);
	if (!cs) {
		say("TLS library in %.150s not hooked: libcapstone.so.4 cannot be loaded; its TLS "
		    "stays opaque",
		    who);
		return -1;
	}
	page = near_page(f);
	patch_len = page ? AP_PATCH_REL32 : AP_PATCH_ABS64;
	if (!page) {
		page = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
		if (page == MAP_FAILED) {
			unload_capstone(&dec, cs);
			return -1;
		}
	}
	/* 1. build every trampoline first: one refusal leaves the object untouched */
	for (i = 0; i < f->n && bad < 0; i++) {
		struct target *t = &f->t[i];
		struct ap_tramp_req req = {0};
		const ElfW(Phdr) * seg;

		if (!t->hook->wrapper)
			continue;
		if (!seg_of(&f->obj, (uintptr_t)t->entry, &seg)) {
			st = AP_TR_BAD_REQUEST;
			bad = i;
			break;
		}
		req.code = t->entry;
		req.code_len = f->obj.base + seg->p_vaddr + seg->p_filesz - (uintptr_t)t->entry;
		if (req.code_len > 65536)
			req.code_len = 65536;
		/* no size (an assembly entry without .size): scan a generous stretch; a branch
		 * found there refuses, never the reverse */
		req.body_len = t->size ? t->size : 512;
		req.addr = (uintptr_t)t->entry;
		req.tramp_addr = (uintptr_t)(page + (size_t)i * SLOT_BYTES);
		req.patch_len = patch_len;
		req.decode = ap_cs_decode;
		req.decode_ctx = &dec;
		st = ap_tramp_build(&req, &t->tramp);
		if (st != AP_TR_OK && t->hook->required < 0) {
			t->skip = 1; /* SSL_peek: not counted anyway; the others are hooked */
			st = AP_TR_OK;
		} else if (st != AP_TR_OK) {
			bad = i;
		}
	}
	unload_capstone(&dec, cs);
	if (bad >= 0) {
		say("TLS library in %.150s not hooked: %.40s: %s; its TLS stays opaque", who,
		    f->t[bad].hook->name, ap_tramp_status_text(st));
		ap_unmap_raw(page, (size_t)pg);
		return -1;
	}
	/* 2. trampolines and wrapper stubs into the page, then the page becomes read + exec */
	for (i = 0; i < f->n; i++) {
		uint8_t *slot = page + (size_t)i * SLOT_BYTES;
		if (!f->t[i].hook->wrapper || f->t[i].skip)
			continue;
		memcpy(slot, f->t[i].tramp.code, f->t[i].tramp.len);
		ap_tramp_abs_jump(slot + AP_TRAMP_MAX, (uintptr_t)f->t[i].hook->wrapper);
	}
	if (mprotect(page, (size_t)pg, PROT_READ | PROT_EXEC)) {
		ap_unmap_raw(page, (size_t)pg);
		return -1;
	}
	for (i = 0; i < f->n; i++)
		if (!f->t[i].skip)
			*f->t[i].hook->real = f->t[i].hook->wrapper ? page + (size_t)i * SLOT_BYTES
								    : f->t[i].entry;
	/* 3. the entries */
	for (i = 0; i < f->n; i++) {
		struct target *t = &f->t[i];
		uint64_t to;
		if (!t->hook->wrapper || t->skip)
			continue;
		to = patch_len == AP_PATCH_REL32
			     ? (uintptr_t)(page + (size_t)i * SLOT_BYTES + AP_TRAMP_MAX)
			     : (uintptr_t)t->hook->wrapper;
		if (ap_tramp_entry_patch(patch, t->tramp.window, (uintptr_t)t->entry, to,
					 patch_len) ||
		    write_text(&f->obj, t->entry, patch, t->tramp.window)) {
			say("TLS library in %.150s: patching %.40s failed; %d of %d functions "
			    "hooked",
			    who, t->hook->name, i, f->n);
			return -1;
		}
	}
	return 0;
}

/*
 * Bun (Claude Code's runtime) links BoringSSL into a stripped executable: no SSL_* symbol is
 * left, so there is nothing to hook by name. Bun is recognised by the BUN_* symbol versions its
 * executable defines (read from its dynamic section, no file access).
 */
static int main_is_bun(void)
{
	struct link_map *lm = _r_debug.r_map; /* the main program comes first */
	const ElfW(Dyn) * d;
	const char *strtab = NULL;
	const ElfW(Verdef) *vd = NULL;
	size_t nvd = 0;

	if (!lm || !lm->l_ld)
		return 0;
		/* the loader relocates some d_ptr entries in place and not others: rebase the
		 * unrelocated */
#define DYN_PTR(p) ((p) < lm->l_addr ? (p) + lm->l_addr : (p))
	for (d = lm->l_ld; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_STRTAB)
			strtab = (const char *)DYN_PTR(d->d_un.d_ptr);
		else if (d->d_tag == DT_VERDEF)
			vd = (const ElfW(Verdef) *)DYN_PTR(d->d_un.d_ptr);
		else if (d->d_tag == DT_VERDEFNUM)
			nvd = d->d_un.d_val;
	}
#undef DYN_PTR
	if (!strtab || !vd)
		return 0;
	for (size_t i = 0; i < nvd && i < 64; i++) {
		const ElfW(Verdaux) *aux = (const void *)((const char *)vd + vd->vd_aux);
		if (vd->vd_cnt && !strncmp(strtab + aux->vda_name, "BUN_", 4))
			return 1;
		if (!vd->vd_next)
			break;
		vd = (const void *)((const char *)vd + vd->vd_next);
	}
	return 0;
}

/* --- Bun: BoringSSL by signature (bssl_find.h) ----------------------------------------------- */

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

struct release_ctx {
	int pagemap; /* /proc/self/pagemap, -1 if it cannot be read */
};

static void drop_run(uintptr_t lo, uintptr_t hi)
{
	if (hi > lo)
		syscall(SYS_madvise, (void *)lo, hi - lo, MADV_DONTNEED);
}

/*
 * The search is done with these bytes of the executable's read-only mappings: their pages are
 * dropped from this process (they stay in the page cache; a later access maps them again from
 * the file), so that reading the whole image once does not stay in the host's RSS. Only pages
 * that still are the file's are dropped: /proc/self/pagemap says which (a page someone already
 * patched is a private copy and is kept). Without pagemap, MADV_PAGEOUT (contents always kept).
 * Called before any page is patched.
 */
static void release_pages(void *ctx, const uint8_t *p, size_t len)
{
	struct release_ctx *rc = ctx;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1), hi = ((uintptr_t)p + len) & ~(pg - 1);
	uint64_t ent[512];

	if (hi <= lo)
		return;
	if (rc->pagemap < 0) {
		syscall(SYS_madvise, (void *)lo, hi - lo, MADV_PAGEOUT);
		return;
	}
	while (lo < hi) {
		size_t n = (hi - lo) / pg < 512 ? (hi - lo) / pg : 512;
		ssize_t got = syscall(SYS_pread64, rc->pagemap, ent, n * 8, (off_t)(lo / pg * 8));
		uintptr_t run = lo;

		if (got <= 0)
			return;
		n = (size_t)got / 8;
		for (size_t i = 0; i < n; i++) {
			int present = (int)(ent[i] >> 63 & 1), swapped = (int)(ent[i] >> 62 & 1);
			int file = (int)(ent[i] >> 61 & 1);
			uintptr_t a = lo + i * pg;
			if ((present && !file) || swapped) { /* a private copy: keep it */
				drop_run(run, a);
				run = a + pg;
			}
		}
		lo += n * pg;
		drop_run(run, lo);
	}
}

static const struct ap_inline_hook *hook_named(const char *name)
{
	for (const struct ap_inline_hook *h = ap_ssl_inline_hooks; h->name; h++)
		if (!strcmp(h->name, name))
			return h;
	return NULL;
}

/*
 * The search's evidence, kept for the other Bun processes of the run (Claude Code starts its
 * own executable again for ripgrep): <out_dir>/.agentprof-tls.<build-id>, one line
 * "agentprof-tls 1 <string> <5 functions>" in hex. It is only a hint: ap_bssl_verify checks
 * every function again, so a stale or forged file cannot make us patch anything the search
 * would not. Used only in a directory and as a file that this user owns and no one else can
 * write; created with O_EXCL (a concurrent writer loses and changes nothing).
 */
#define CACHE_MAGIC "agentprof-tls 1"

static int build_id_hex(const ElfW(Phdr) * ph, size_t phnum, uintptr_t base, char *hex, size_t cap)
{
	for (size_t i = 0; i < phnum; i++) {
		const uint8_t *p = (const uint8_t *)(base + ph[i].p_vaddr), *end;
		if (ph[i].p_type != PT_NOTE)
			continue;
		end = p + ph[i].p_filesz;
		while (p + 12 <= end) {
			uint32_t namesz, descsz, type;
			const uint8_t *desc;
			memcpy(&namesz, p, 4);
			memcpy(&descsz, p + 4, 4);
			memcpy(&type, p + 8, 4);
			desc = p + 12 + ((namesz + 3) & ~3u);
			if (desc + descsz > end)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + 12, "GNU", 4) &&
			    descsz >= 8 && descsz * 2 < cap) {
				for (uint32_t k = 0; k < descsz; k++)
					snprintf(hex + 2 * k, 3, "%02x", desc[k]);
				return 0;
			}
			p = desc + ((descsz + 3) & ~3u);
		}
	}
	return -1;
}

static int private_dir(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & 022);
}

static int cache_path(const ElfW(Phdr) * ph, size_t phnum, uintptr_t base, char *path, size_t cap)
{
	char bid[130];

	if (!ap_rt.writer_ok || !ap_rt.cfg.out_dir[0] ||
	    build_id_hex(ph, phnum, base, bid, sizeof(bid)) || !private_dir(ap_rt.cfg.out_dir))
		return -1;
	return snprintf(path, cap, "%s/.agentprof-tls.%s", ap_rt.cfg.out_dir, bid) < (int)cap ? 0
											      : -1;
}

static int cache_read(const char *path, uint64_t *str, uint64_t *funcs)
{
	char buf[256];
	struct stat st;
	unsigned long v[6];
	ssize_t n;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path,
			      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
			    !(st.st_mode & 077) && st.st_size < (off_t)sizeof(buf)
		    ? syscall(SYS_read, fd, buf, sizeof(buf) - 1)
		    : -1;
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, CACHE_MAGIC " %lx %lx %lx %lx %lx %lx", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return -1;
	*str = v[0];
	for (int i = 0; i < 5; i++)
		funcs[i] = v[i + 1];
	return 0;
}

static void cache_write(const char *path, const struct ap_bssl_found *f)
{
	char line[256];
	int n, fd;

	if (f->nfuncs != 5)
		return;
	n = snprintf(line, sizeof(line), CACHE_MAGIC " %lx %lx %lx %lx %lx %lx\n",
		     (unsigned long)f->str, (unsigned long)f->funcs[0], (unsigned long)f->funcs[1],
		     (unsigned long)f->funcs[2], (unsigned long)f->funcs[3],
		     (unsigned long)f->funcs[4]);
	fd = (int)syscall(SYS_openat, AT_FDCWD, path,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (syscall(SYS_write, fd, line, (size_t)n) != n)
		syscall(SYS_ftruncate, fd, 0); /* a short file is never a hint */
	syscall(SYS_close, fd);
}

/*
 * The main program's segments as this process sees them (from the auxiliary vector: no file
 * access), searched for BoringSSL's functions. On success f holds the targets (SSL_read,
 * SSL_write, SSL_do_handshake, and SSL_peek when it is a function of its own) and 0 is
 * returned; otherwise why says what was not found. The search reads the whole text and
 * read-only data of the executable once (tens of ms for Bun's 90 MB).
 */
static int bun_find(struct find_ctx *f, char *why, size_t whylen)
{
	static const char *const names[AP_BSSL_N] = {"SSL_read", "SSL_write", "SSL_do_handshake",
						     "SSL_peek"};
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	size_t phnum = getauxval(AT_PHNUM);
	uintptr_t base = 0;
	struct ap_img img;
	struct ap_bssl_found found;
	struct ap_cs_decoder dec = {0};
	struct release_ctx rel;
	char cache[AP_PATH_MAX + 200];
	uint64_t hint_str = 0, hint[5];
	int have_cache, cached;
	void *cs;
	int rc;

	memset(&img, 0, sizeof(img));
	if (!ph || !phnum) {
		snprintf(why, whylen, "no program headers");
		return -1;
	}
	for (size_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			base = (uintptr_t)ph - ph[i].p_vaddr;
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			img.eh_frame_hdr = base + ph[i].p_vaddr;
		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_R) || img.nseg >= AP_IMG_SEGS)
			continue;
		img.seg[img.nseg].p = (const uint8_t *)(base + ph[i].p_vaddr);
		img.seg[img.nseg].addr = base + ph[i].p_vaddr;
		img.seg[img.nseg].len = ph[i].p_filesz;
		img.seg[img.nseg].exec = !!(ph[i].p_flags & PF_X);
		img.nseg++;
	}
	have_cache = cache_path(ph, phnum, base, cache, sizeof(cache)) == 0;
	cs = load_capstone(&dec);
	if (!cs) {
		snprintf(why, whylen, "libcapstone.so.4 cannot be loaded");
		return -1;
	}
	rel.pagemap =
		(int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	img.release = release_pages;
	img.release_ctx = &rel;
	rc = -1;
	if (have_cache && cache_read(cache, &hint_str, hint) == 0)
		rc = ap_bssl_verify(&img, ap_cs_decode, &dec, hint_str, hint, 5, &found);
	cached = rc == 0;
	if (rc)
		rc = ap_bssl_find(&img, ap_cs_decode, &dec, &found);
	if (rel.pagemap >= 0)
		syscall(SYS_close, rel.pagemap);
	unload_capstone(&dec, cs);
	if (rc == 0 && !cached && have_cache)
		cache_write(cache, &found);
	if (rc) {
		snprintf(why, whylen, "%.130s", found.why);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->obj.name = "";
	f->obj.base = base;
	f->obj.phdr = ph;
	f->obj.phnum = (int)phnum;
	f->obj.found = 1;
	for (int k = 0; k < AP_BSSL_N; k++) {
		const struct ap_inline_hook *h = hook_named(names[k]);
		if (!found.entry[k] || !h)
			continue;
		f->t[f->n].hook = h;
		f->t[f->n].entry = (uint8_t *)(uintptr_t)found.entry[k];
		f->t[f->n].size = found.size[k];
		f->n++;
	}
	snprintf(why, whylen,
		 "BoringSSL in the Bun executable found by signature: SSL_read at %#lx, SSL_write "
		 "at %#lx, SSL_do_handshake at %#lx%s%s",
		 (unsigned long)found.entry[AP_BSSL_READ],
		 (unsigned long)found.entry[AP_BSSL_WRITE],
		 (unsigned long)found.entry[AP_BSSL_HANDSHAKE],
		 found.entry[AP_BSSL_PEEK] ? " (SSL_peek separate)" : " (SSL_peek inlined)",
		 cached ? "; verified from this run's cache" : "");
	return 0;
}

/* Bun: search, then hook like a TLS library with symbols. Its SSL_free is not found: an SSL
 * connection ends with its socket (ap_inline_ssl_ends_with_socket). */
static int ssl_ends_with_socket;

int ap_inline_ssl_ends_with_socket(void)
{
	return ssl_ends_with_socket;
}

static void bun_hook(void)
{
	static char why[AP_STR_MSG];
	struct find_ctx f;

	if (bun_find(&f, why, sizeof(why))) {
		static char reason[AP_STR_MSG];
		snprintf(reason, sizeof(reason),
			 "a Bun executable whose BoringSSL was not found by signature (%.150s); "
			 "named by SNI, timed at socket level only",
			 why);
		opaque_reason = reason;
		return;
	}
#if defined(__x86_64__)
	if (install(&f) == 0) {
		ssl_ends_with_socket = 1;
		ap_diag(AP_DIAG_TLS_SIG, why);
	}
#endif
}

void ap_inline_init(void)
{
	struct find_ctx f;

	if (!ap_rt.cfg.inline_hooks)
		return;
	memset(&f, 0, sizeof(f));
	ap_tls.guard++;
	dl_iterate_phdr(find_cb, &f);
	if (f.obj.found) {
#if defined(__x86_64__)
		install(&f);
#else
		say("TLS library in %.150s not hooked: %s; its TLS stays opaque",
		    object_name(&f.obj), ap_tramp_status_text(AP_TR_UNSUPPORTED_ARCH));
#endif
	} else if (main_is_bun()) {
		bun_hook();
	}
	ap_tls.guard--;
}
