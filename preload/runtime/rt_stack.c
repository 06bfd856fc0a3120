/* rt_stack.c: stack capture (libunwind via dlopen, or a bounded frame-pointer walk), stack
 * de-duplication and the module map written alongside (AP_REC_STACK, AP_REC_MODULE). */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rt.h"
#include "rt_stack.h"

/*
 * Hot path (a stack seen before): unwind into a local array, hash, probe the open-addressed
 * table lock-free and return the hash as the id. Cold path (a new stack): under st.lock, look
 * up each frame's module (re-reading the loader's list at most every REFRESH_NS when a frame is
 * outside every known module), write the modules not yet written, then the stack.
 * After fork() the child writes a new file, so its tables are reset by an atfork handler.
 */

#define ST_SLOTS     4096u /* distinct stacks remembered per process (power of two) */
#define ST_PROBES    32u   /* probe limit; past it the stack is written again (bounded) */
#define MOD_MAX	     1024u /* loaded objects remembered */
#define EXTRA_FRAMES 16	   /* our own frames, cut from the inner end */
#define REFRESH_NS   200000000LL
#define FP_MAX_FRAME 0x100000u /* a frame larger than 1 MiB ends the frame-pointer walk */

enum { MODE_OFF = 0, MODE_UNWIND = 1, MODE_FP = 2 };

struct mod {
	uint64_t start, end, base, id;
	uint32_t written; /* AP_REC_MODULE is in this process's file */
	uint32_t pass;	  /* last refresh pass that saw it */
	char path[AP_STR_EXE];
	char build_id[41];
};

static struct {
	int mode;
	int (*unw_backtrace)(void **, int);
	_Atomic uint64_t *slots; /* ST_SLOTS stack ids, 0 = free; mmap'ed */
	struct mod *mods;	 /* MOD_MAX, mmap'ed */
	uint32_t nmods, pass;
	pthread_mutex_t lock;
	int64_t last_refresh;
	uintptr_t self_lo, self_hi; /* libagentprof.so's mapped range */
	char exe[AP_STR_EXE];
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * libunwind validates addresses it is unsure of by writing them into a pipe it opens at init
 * and keeps for the whole process (and reads that pipe's fd again later, whatever the host has
 * put there since). We replace its local address space's memory accessor with one that
 * validates every read with process_vm_readv on our own pid (no fd, no lock, no allocation),
 * and close the pipe right after init; nothing in libunwind uses the pipe but the accessor.
 * The calling thread's own stack mapping is trusted (found once per thread, it stays mapped
 * while the thread runs); other pages proven readable are remembered for one capture only.
 */
#define OK_PAGES 16

static __thread uintptr_t ok_page[OK_PAGES] __attribute__((tls_model("initial-exec")));
static __thread unsigned ok_count __attribute__((tls_model("initial-exec")));
static __thread pid_t ok_pid __attribute__((tls_model("initial-exec")));
static __thread uintptr_t ok_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t ok_hi __attribute__((tls_model("initial-exec")));

/* Readable range around the thread's stack, found once per thread. */
static __thread uintptr_t stk_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stk_hi __attribute__((tls_model("initial-exec")));

int ap_stack_mode(void)
{
	return st.mode;
}

/* --- modules ------------------------------------------------------------------------------- */

static void hex_bytes(char *out, size_t cap, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		out[o++] = hx[p[i] >> 4];
		out[o++] = hx[p[i] & 15];
	}
	out[o] = 0;
}

/* 1 if [va, va+len) lies inside a readable PT_LOAD segment of the object. */
static int mapped(const struct dl_phdr_info *info, uint64_t va, uint64_t len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && va >= ph->p_vaddr &&
		    va + len <= ph->p_vaddr + ph->p_memsz && va + len >= va)
			return 1;
	}
	return 0;
}

/* The GNU build-id from the object's PT_NOTE segments, read from memory. */
static void build_id(const struct dl_phdr_info *info, char *out, size_t cap)
{
	out[0] = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p;
		uint64_t len, off = 0, al;

		if (ph->p_type != PT_NOTE || !mapped(info, ph->p_vaddr, ph->p_memsz))
			continue;
		p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		len = ph->p_memsz;
		al = ph->p_align == 8 ? 8 : 4;
		while (off + sizeof(ElfW(Nhdr)) <= len) {
			const ElfW(Nhdr) *nh = (const void *)(p + off);
			uint64_t name = off + sizeof(*nh);
			uint64_t desc = name + ((nh->n_namesz + al - 1) & ~(al - 1));
			uint64_t next = desc + ((nh->n_descsz + al - 1) & ~(al - 1));

			if (next > len || next <= off)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(p + name, "GNU", 4) && nh->n_descsz) {
				hex_bytes(out, cap, p + desc,
					  nh->n_descsz > 20 ? 20 : nh->n_descsz);
				return;
			}
			off = next;
		}
	}
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t self = (uintptr_t)&ap_stack_capture;
	uint64_t lo = UINT64_MAX, hi = 0, start, end;
	const char *path = info->dlpi_name;
	struct mod *m = NULL;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr < lo)
			lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > hi)
			hi = ph->p_vaddr + ph->p_memsz;
	}
	if (hi <= lo)
		return 0;
	start = info->dlpi_addr + lo;
	end = info->dlpi_addr + hi;
	if (!path || !*path)
		path = (uintptr_t)info->dlpi_phdr == getauxval(AT_PHDR) ? st.exe : "[unnamed]";
	if (self >= start && self < end) {
		st.self_lo = start;
		st.self_hi = end;
	}
	for (uint32_t i = 0; i < st.nmods; i++) {
		struct mod *c = &st.mods[i];

		if (c->start == start && c->end == end && c->base == info->dlpi_addr &&
		    !strncmp(c->path, path, sizeof(c->path) - 1)) {
			m = c;
			break;
		}
	}
	if (!m) {
		if (st.nmods >= MOD_MAX)
			return 0; /* full: frames in this object stay unattributed */
		m = &st.mods[st.nmods++];
		m->start = start;
		m->end = end;
		m->base = info->dlpi_addr;
		m->id = ap_new_id();
		m->written = 0;
		ap_strlcpy(m->path, path, sizeof(m->path));
		build_id(info, m->build_id, sizeof(m->build_id));
	}
	m->pass = st.pass;
	return 0;
}

/* Re-read the loader's list (under st.lock, or at init). Objects no longer loaded stay in the
 * table but are skipped by mod_find (their pass is old). */
static void mods_refresh(int64_t now)
{
	st.pass++;
	st.last_refresh = now;
	dl_iterate_phdr(phdr_cb, NULL);
}

static struct mod *mod_find(uintptr_t addr)
{
	for (uint32_t i = 0; i < st.nmods; i++) {
		struct mod *m = &st.mods[i];

		if (addr >= m->start && addr < m->end && m->pass == st.pass)
			return m;
	}
	return NULL;
}

/* --- new stacks ---------------------------------------------------------------------------- */

static void write_module(struct mod *m)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_MODULE);
	r.u.module.id = m->id;
	r.u.module.base = m->base;
	r.u.module.start = m->start;
	r.u.module.end = m->end;
	ap_strlcpy(r.u.module.path, m->path, sizeof(r.u.module.path));
	ap_strlcpy(r.u.module.build_id, m->build_id, sizeof(r.u.module.build_id));
	ap_record(&r);
	m->written = 1;
}

static void write_stack(uint64_t id, void *const *fr, int n)
{
	struct ap_record r;
	int refreshed = 0;

	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)fr[i] - 1; /* a return address: look up the call */
		struct mod *m = mod_find(a);

		if (!m && !refreshed) {
			int64_t now = ap_now();

			refreshed = 1;
			if (now - st.last_refresh >= REFRESH_NS) {
				mods_refresh(now);
				m = mod_find(a);
			}
		}
		if (m && !m->written)
			write_module(m);
	}
	ap_record_init(&r, AP_REC_STACK);
	r.u.stack.id = id;
	r.u.stack.nframes = (uint32_t)n;
	for (int i = 0; i < n; i++)
		r.u.stack.frames[i] = (uint64_t)(uintptr_t)fr[i];
	ap_record(&r);
	pthread_mutex_unlock(&st.lock);
}

static uint64_t hash_frames(void *const *fr, int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;

	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)fr[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h ? h : 1;
}

/* The id of the stack; writes it (and its modules) the first time this process sees it. */
static uint64_t intern(void *const *fr, int n)
{
	uint64_t h = hash_frames(fr, n);

	for (uint32_t i = 0; i < ST_PROBES; i++) {
		_Atomic uint64_t *slot = &st.slots[(h + i) & (ST_SLOTS - 1)];
		uint64_t k = atomic_load_explicit(slot, memory_order_acquire);

		if (k == h)
			return h;
		if (k)
			continue;
		if (atomic_compare_exchange_strong(slot, &k, h)) {
			write_stack(h, fr, n);
			return h;
		}
		if (k == h)
			return h;
	}
	write_stack(h, fr, n); /* neighbourhood full: one extra record per capture, same id */
	return h;
}

/* --- unwinding ----------------------------------------------------------------------------- */

/* 1 if the 8 bytes at addr could be read: copied into *val by the kernel, never faulting. */
static int probe_read(uintptr_t addr, uint64_t *val)
{
	struct iovec local = {val, sizeof(*val)}, remote = {(void *)addr, sizeof(*val)};
	pid_t pid;

	if (!ok_pid) /* asked once per capture, and only when a read needs the probe */
		ok_pid = (pid_t)syscall(SYS_getpid);
	pid = ok_pid;

	return syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL) ==
	       (long)sizeof(*val);
}

static int page_known(uintptr_t page)
{
	for (unsigned i = 0; i < ok_count && i < OK_PAGES; i++)
		if (ok_page[i] == page)
			return 1;
	return 0;
}

static void page_remember(uintptr_t page)
{
	if (!page_known(page))
		ok_page[ok_count++ % OK_PAGES] = page;
}

/* libunwind's access_mem for the local address space: reads only memory proven readable.
 * Writes go to the register context libunwind keeps in its cursor, as with its own accessor. */
static int unw_access_mem(void *as, uintptr_t addr, uint64_t *val, int write, void *arg)
{
	uintptr_t first = addr & ~(uintptr_t)4095, last = (addr + 7) & ~(uintptr_t)4095;

	(void)as;
	(void)arg;
	if (addr < 4096 || addr + 7 < addr)
		return -1;
	if (write) { /* only into the context libunwind keeps on our stack, as its own accessor */
		memcpy((void *)addr, val, sizeof(*val));
		return 0;
	}
	if ((addr >= ok_lo && addr + 8 <= ok_hi) || (page_known(first) && page_known(last))) {
		memcpy(val, (const void *)addr, sizeof(*val));
		return 0;
	}
	if (!probe_read(addr, val))
		return -1;
	page_remember(first);
	page_remember(last);
	return 0;
}

static uintptr_t hex_field(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return v;
		v = v << 4 | d;
	}
}

/* One /proc/self/maps line: set [*lo, *hi) if it is a readable mapping holding sp. */
static int maps_line(const char *s, size_t n, uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	const char *p = s;
	uintptr_t a, b;

	if (n < 20)
		return 0;
	a = hex_field(&p);
	if (*p++ != '-')
		return 0;
	b = hex_field(&p);
	if (*p++ != ' ' || *p != 'r' || sp < a || sp >= b)
		return 0;
	*lo = a;
	*hi = b;
	return 1;
}

/* The readable mapping holding sp, read with raw syscalls (no stdio, no malloc, no hooks). */
static int stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	char buf[4096];
	size_t len = 0, pos;
	int fd, found = 0, skipping = 0;
	ssize_t r;

	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (!found && (r = syscall(SYS_read, fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)r;
		pos = 0;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', len - pos);

			if (!nl)
				break;
			if (!skipping &&
			    maps_line(buf + pos, (size_t)(nl - buf) - pos, sp, lo, hi)) {
				found = 1;
				break;
			}
			skipping = 0;
			pos = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		if (!found && len == sizeof(buf)) { /* a very long line: its start is enough */
			if (!skipping && maps_line(buf, len, sp, lo, hi))
				found = 1;
			skipping = 1;
			len = 0;
		}
	}
	syscall(SYS_close, fd);
	return found ? 0 : -1;
}

/*
 * Frame-pointer walk: each frame must lie in this thread's stack mapping, be 16-byte aligned,
 * above the previous one and less than FP_MAX_FRAME away from it. Code built without frame
 * pointers is skipped over or ends the walk; it never reads outside the stack mapping.
 */
__attribute__((noinline)) static int fp_walk(void **out, int max)
{
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	int n = 0;

	if (!stk_hi) {
		uintptr_t lo, hi;

		if (stack_bounds(fp, &lo, &hi) < 0)
			return 0;
		stk_lo = lo;
		stk_hi = hi;
	}
	if (fp < stk_lo || fp >= stk_hi)
		return 0; /* running on another stack (sigaltstack, coroutine) */
	while (n < max) {
		uintptr_t next, ret;

		if ((fp & 15) || fp < stk_lo || fp + 16 > stk_hi)
			break;
		next = ((const uintptr_t *)fp)[0];
		ret = ((const uintptr_t *)fp)[1];
		if (ret < 4096)
			break;
		out[n++] = (void *)ret;
		if (next <= fp || next - fp > FP_MAX_FRAME)
			break;
		fp = next;
	}
	return n;
}

/* Set-up on the first capture, not at start: a process that never records a stack never
 * loads libunwind. */
static pthread_once_t lazy_once = PTHREAD_ONCE_INIT;

uint64_t ap_stack_capture(void)
{
	void *fr[AP_MAX_FRAMES + EXTRA_FRAMES];
	uint64_t id = 0;
	int n = 0, skip = 0;

	if (ap_tls.guard > 1)
		return 0;
	if (ap_rt.cfg.stacks) /* after the first call, one acquire load: it orders st for us */
		pthread_once(&lazy_once, ap_stack_init);
	if (!st.mode)
		return 0;
	ap_tls.guard++;
	if (st.mode == MODE_UNWIND) {
		uintptr_t sp = (uintptr_t)__builtin_frame_address(0), lo = 1, hi = 1;

		if (!stk_hi) {
			stack_bounds(sp, &lo, &hi);
			stk_lo = lo;
			stk_hi = hi;
		}
		/* trusted only while we run on it (a coroutine's stack may be freed later) */
		ok_lo = sp >= stk_lo && sp < stk_hi ? stk_lo : 0;
		ok_hi = ok_lo ? stk_hi : 0;
		ok_count = 0;
		ok_pid = 0; /* probe_read asks the kernel when it first needs it */
		n = st.unw_backtrace(fr, AP_MAX_FRAMES + EXTRA_FRAMES);
		/* outside our captures (a host using the same libunwind) nothing is trusted */
		ok_lo = ok_hi = 0;
		ok_count = 0;
		ok_pid = 0;
	}
	if (n <= 0)
		n = fp_walk(fr, AP_MAX_FRAMES + EXTRA_FRAMES);
	while (skip < n && (uintptr_t)fr[skip] >= st.self_lo && (uintptr_t)fr[skip] < st.self_hi)
		skip++;
	n -= skip;
	if (n > AP_MAX_FRAMES)
		n = AP_MAX_FRAMES;
	if (n > 0)
		id = intern(fr + skip, n);
	ap_tls.guard--;
	return id;
}

/* --- init ---------------------------------------------------------------------------------- */

/* Set once ap_stack_init has finished: from then on a fork child resets the tables. */
static atomic_int st_ready;

/* fork(): the child writes a new file, so every stack and module is new there. */
void ap_stack_after_fork_child(void)
{
	if (!atomic_load_explicit(&st_ready, memory_order_acquire))
		return;
	pthread_mutex_init(&st.lock, NULL);
	memset((void *)st.slots, 0, ST_SLOTS * sizeof(*st.slots));
	for (uint32_t i = 0; i < st.nmods; i++)
		st.mods[i].written = 0;
}

/* The lowest fd not open, from start (the kernel hands out the lowest free number). */
static int lowest_free_fd(int start)
{
	for (int fd = start; fd < 65536; fd++)
		if (syscall(SYS_fcntl, fd, F_GETFD) < 0)
			return fd;
	return -1;
}

/* 1 if a and b are the two ends of one pipe. */
static int same_pipe(int a, int b)
{
	struct stat sa, sb;

	return syscall(SYS_fstat, a, &sa) == 0 && syscall(SYS_fstat, b, &sb) == 0 &&
	       S_ISFIFO(sa.st_mode) && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/*
 * libunwind's one-time set-up (run by get_accessors) opens its validation pipe on the two
 * lowest free fds. Swap the memory accessor for ours, then close that pipe. If libunwind was
 * already loaded by the host, its instance (and pipe) is the host's: we do not use it.
 */
static void load_libunwind(void)
{
	void *(*get_accessors)(void *);
	void **local_as, **acc;
	const struct ap_lib_sym syms[] = {
		{"unw_backtrace", (void **)&st.unw_backtrace, NULL},
		{"_Ux86_64_get_accessors", (void **)&get_accessors, NULL},
		{"_ULx86_64_local_addr_space", (void **)&local_as, NULL},
		{NULL, NULL, NULL},
	};
	int fd0, fd1;
	uint64_t v;
	void *warm[4];

	/* the host's own: unwinding with it could touch its pipe; frame pointers */
	if (ap_lib_loaded_by_host("libunwind.so.8"))
		return;
	if (!ap_lib_open("libunwind.so.8", 0, syms))
		return; /* not installed, or another architecture */
	ok_pid = (pid_t)syscall(SYS_getpid);
	if (!probe_read((uintptr_t)&v, &v))
		return; /* process_vm_readv refused (seccomp) */
	fd0 = lowest_free_fd(0);
	fd1 = fd0 < 0 ? -1 : lowest_free_fd(fd0 + 1);
	acc = get_accessors(*local_as);
	if (!acc)
		return;
	acc[3] = (void *)unw_access_mem; /* unw_accessors_t.access_mem */
	if (fd1 >= 0 && same_pipe(fd0, fd1)) {
		syscall(SYS_close, fd0);
		syscall(SYS_close, fd1);
	} else {
		ap_warn("libunwind's validation pipe not found; stacks use frame pointers");
		return;
	}
	ok_count = 0;
	st.unw_backtrace(warm, 4); /* one-time set-up happens here, not on a host path */
	ok_pid = 0;
	ok_count = 0;
	st.mode = MODE_UNWIND;
}

void ap_stack_init(void)
{
	void *warm[4];
	ssize_t n;
	void *p;

	if (!ap_rt.cfg.stacks)
		return;
	ap_tls.guard++;
	p = mmap(NULL, ST_SLOTS * sizeof(*st.slots) + MOD_MAX * sizeof(struct mod),
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	st.slots = p;
	st.mods = (struct mod *)((char *)p + ST_SLOTS * sizeof(*st.slots));
	n = syscall(SYS_readlink, "/proc/self/exe", st.exe, sizeof(st.exe) - 1);
	st.exe[n > 0 ? n : 0] = 0;
	if (!st.exe[0])
		ap_strlcpy(st.exe, "[exe]", sizeof(st.exe));
	mods_refresh(ap_now());
	st.mode = MODE_FP;
	if (!ap_rt.cfg.unwind_fp)
		load_libunwind();
	if (st.mode == MODE_FP)
		fp_walk(warm, 4); /* finds the main thread's stack mapping now */
	atomic_store_explicit(&st_ready, 1, memory_order_release);
out:
	ap_tls.guard--;
}
