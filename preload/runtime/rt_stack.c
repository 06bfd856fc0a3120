/* rt_stack.c: stack capture (libunwind via dlopen, or a bounded frame-pointer walk), stack
 * de-duplication and the module map written alongside (AP_REC_STACK, AP_REC_MODULE). */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rt.h"
#include "rt_stack.h"

/* Not under AddressSanitizer (which never runs inside valgrind): there the marked copies would
 * be scoped stack slots, poisoned when their block ends, and the unwinder reads them. */
#if defined(__has_include) && !defined(__SANITIZE_ADDRESS__)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h> /* client requests: a few no-op instructions outside valgrind */
#define AP_MEMCHECK 1
#endif
#endif

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

/* A libunwind cursor and context, opaque to us (1016 and 968 bytes in libunwind 1.3 to 1.8). */
struct unw_buf {
	_Alignas(16) uint64_t w[256];
};

struct sc_entry;
struct sc_words;

static struct {
	int mode;
	int step_only; /* a ThreadSanitizer host: never libunwind's fast trace (see STEP_WALKS) */
	int (*unw_backtrace)(void **, int);
	/* the step API, for learning what a stack's trace reads (below) */
	int (*unw_getcontext)(struct unw_buf *);
	int (*unw_init_local)(struct unw_buf *, struct unw_buf *);
	int (*unw_step)(struct unw_buf *);
	int (*unw_get_reg)(struct unw_buf *, int, uint64_t *);
	int (*unw_is_signal_frame)(struct unw_buf *);
	struct sc_entry *sc;	 /* SC_SLOTS heads, mmap'ed after mods */
	struct sc_words *scw;	 /* their words, after the heads */
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
/* How far down the thread's stack can go: its mapping's start, or for the main thread, whose
 * mapping the kernel grows on demand, its top less RLIMIT_STACK. */
static __thread uintptr_t stk_floor __attribute__((tls_model("initial-exec")));

static uintptr_t stack_floor(uintptr_t lo, uintptr_t hi)
{
	struct rlimit rl;

	if (ap_gettid() != (uint32_t)ap_rt.pid || getrlimit(RLIMIT_STACK, &rl) != 0)
		return lo;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= hi)
		return 0;
	return hi - (uintptr_t)rl.rlim_cur > lo ? lo : hi - (uintptr_t)rl.rlim_cur;
}

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
 * table but are skipped by mod_find (their pass is old). Not in a fork child whose loader lock
 * was held at fork (rt_syms.h): there the inherited table is used as it is. */
static void mods_refresh(int64_t now)
{
	if (!ap_loader_enter(0))
		return; /* a fork child that must not, or a fork being prepared: the table as it is
			 */
	st.pass++;
	st.last_refresh = now;
	dl_iterate_phdr(phdr_cb, NULL);
	ap_loader_leave();
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

/*
 * Linux 6.11's PROCMAP_QUERY ioctl on /proc/self/maps (struct procmap_query of <linux/fs.h>,
 * spelled out: Debian 12's headers predate it): the one mapping holding an address, looked up
 * by the kernel under the VMA's own lock, where reading the text walks and formats every
 * mapping under the whole address space's lock. Sixteen threads' first captures read maps
 * while each other's stacks were being mapped; each read took 50-100 us and made mmap wait.
 */
struct maps_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size;
	uint64_t vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define MAPS_QUERY	    0xC0686611UL /* _IOWR('f', 17, struct maps_query) */
#define MAPS_QUERY_READABLE 0x01

/* 1: the kernel answered (0 or -1 in *found_rc); 0: no PROCMAP_QUERY here, read the text. */
static int stack_bounds_query(int fd, uintptr_t sp, uintptr_t *lo, uintptr_t *hi, int *found_rc)
{
	struct maps_query q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = MAPS_QUERY_READABLE; /* the mapping holding sp, and only if readable */
	q.query_addr = sp;
	if (syscall(SYS_ioctl, fd, MAPS_QUERY, &q) == 0) {
		*lo = (uintptr_t)q.vma_start;
		*hi = (uintptr_t)q.vma_end;
		*found_rc = q.vma_start <= sp && sp < q.vma_end ? 0 : -1;
		return 1;
	}
	if (errno == ENOENT) { /* no readable mapping holds sp */
		*found_rc = -1;
		return 1;
	}
	return 0; /* ENOTTY or EINVAL: a kernel before 6.11 */
}

/* The readable mapping holding sp, found with raw syscalls (no stdio, no malloc, no hooks). */
static int stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	static _Atomic int no_query; /* the kernel refused PROCMAP_QUERY once: it always will */
	char buf[4096];
	size_t len = 0, pos;
	int fd, found = 0, skipping = 0, rc, saved = errno;
	ssize_t r;

	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	if (!atomic_load_explicit(&no_query, memory_order_relaxed)) {
		if (stack_bounds_query(fd, sp, lo, hi, &rc)) {
			syscall(SYS_close, fd);
			errno = saved;
			return rc;
		}
		atomic_store_explicit(&no_query, 1, memory_order_relaxed);
	}
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
	errno = saved;
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

/*
 * Trace cache. libunwind's fast trace (unw_backtrace) is a function of the registers it starts
 * from and of the stack words it reads: per frame the return address at CFA-8 and, where the
 * frame saved it, the caller's frame pointer; each CFA is the stack pointer or the frame pointer
 * plus a constant that depends on the code address only (its slow fallback, for frames of
 * another form, also reads a realigned frame's saved CFA). This library keeps frame pointers,
 * so at the call into libunwind both starting registers follow from our stack pointer.
 *
 * A stack captured twice from the same stack pointer and frame pointer is learned: a walk with
 * unw_step gives each frame's return address, stack pointer and frame pointer, and every word
 * of each frame holding one of the next frame's values is kept (the return address; a stack
 * pointer or frame pointer value only if it points into the stack, since every CFA the trace
 * computed does: a value elsewhere is no frame's base). Whatever libunwind reads is among those
 * words, so while they all hold their values its trace reads the same and returns the same
 * frames: the stack's id is returned without unwinding. Our own frames are standard: only their
 * two words at CFA-8 and CFA-16 are kept (their locals change from call to call).
 *
 * A stack whose walk does not agree with the trace, includes a signal frame, leaves the
 * thread's stack, was cut at the frame cap or holds too many such words is never cached; a
 * learned entry whose words changed is learned again, up to SC_TRIES times, then dropped for
 * good (a call site reached by two chains at one depth in turn would be learned again and
 * again). Entries are shared by threads (a
 * stack pointer is in one thread's stack) in sets of four; a new key takes an empty entry or one
 * seen only once, never a learned one, and a thread learns at most once per SC_LEARN_EVERY of
 * its captures. Entries are written under a sequence count and read without a lock: a reader
 * that sees the count change unwinds. Only words inside the calling thread's
 * stack mapping are read. After fork() the table is emptied with the stack table.
 */
#define SC_SLOTS 512u /* sets of SC_WAYS entries, chosen by (stack pointer, frame pointer) */
#define SC_WAYS	 4u
#define SC_WORDS 96u /* stack words checked per entry */
/* A thread's unwinding captures between two of its learning walks (one costs some 60,000
 * instructions): keys seen twice and never again cost at most ~1,000 per capture. */
#define SC_LEARN_EVERY 64u
/* Learning walks per key: a key reached by several chains (a loop's warm-up and its body) is
 * learned again when its words change, this many times, then never cached. */
#define SC_TRIES 4u
/* Stack a learning walk may need below the capture (two libunwind cursors of 2 KiB and the
 * walk's own frames): a thread closer than this to the end of its stack (a host that runs many
 * threads on small stacks) never learns, it only unwinds. */
#define SC_LEARN_HEADROOM (64u * 1024)

enum { SC_EMPTY = 0, SC_SEEN = 1, SC_READY = 2, SC_NEVER = 3 };

/* An entry's head; its words are apart (sc_words), so that keys seen once touch 48 bytes. */
struct sc_entry {
	_Atomic uint32_t seq; /* odd while being written */
	_Atomic uint32_t state;
	_Atomic uint32_t n;
	_Atomic uint32_t tries;		 /* learning walks of this key so far */
	_Atomic uint64_t sp, fp, id, hi; /* key, stack id, end of the checked words */
};

struct sc_words {
	_Atomic uint64_t addr[SC_WORDS], val[SC_WORDS];
};

#define SC_W(e) (&st.scw[(e)-st.sc])

/* Acquire loads and release stores (plain moves on x86-64): a reader that saw a word a writer
 * stored also sees that writer's odd count when it reads the count again (no fence needed). */
#define SC_LOAD(x)     __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define SC_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* This thread's unwinding captures since its last learning walk (the first one is allowed). */
static __thread unsigned sc_unwinds __attribute__((tls_model("initial-exec"))) = SC_LEARN_EVERY;

/* The entry holding key (sp, fp) in its set, or NULL; then *victim is where a new key goes: an
 * empty entry, else one only seen once (learned and never-cached entries stay), else NULL. */
static struct sc_entry *sc_find(uintptr_t sp, uintptr_t fp, struct sc_entry **victim)
{
	uint64_t h = ((uint64_t)sp ^ (uint64_t)fp * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	struct sc_entry *set = &st.sc[(h >> 40) & (SC_SLOTS - SC_WAYS)], *seen = NULL;

	*victim = NULL;
	for (unsigned w = 0; w < SC_WAYS; w++) {
		struct sc_entry *e = &set[w];
		uint32_t state = SC_LOAD(e->state);

		if (SC_LOAD(e->sp) == sp && SC_LOAD(e->fp) == fp && state != SC_EMPTY)
			return e;
		if (state == SC_EMPTY && !*victim)
			*victim = e;
		else if (state == SC_SEEN && !seen)
			seen = e;
	}
	if (!*victim)
		*victim = seen;
	return NULL;
}

/*
 * The cache compares raw stack words, written by the host or not (a word only has to hold what
 * it held when the stack was learned). Under memcheck our copy of such a word, never the host's
 * memory, is marked defined before we branch on it: the comparison is not reported as an error
 * of the host's (a host run with --error-exitcode would fail on it), and the host's own reads
 * of its uninitialised memory are still reported. Outside valgrind: nothing.
 */
static inline __attribute__((always_inline)) void defined_copy(uint64_t *w)
{
#ifdef AP_MEMCHECK
	VALGRIND_MAKE_MEM_DEFINED(w, sizeof(*w));
#else
	(void)w;
#endif
}

static inline __attribute__((always_inline)) uint64_t stack_word(uint64_t a)
{
	uint64_t w = *(const volatile uint64_t *)(uintptr_t)a;

	defined_copy(&w);
	return w;
}

/* The entry's stack id if every kept word still holds its value; 0 otherwise. *state: what the
 * entry holds for this key (SC_EMPTY if another key). */
__attribute__((no_sanitize_address)) static uint64_t
sc_lookup(struct sc_entry *e, uintptr_t sp, uintptr_t fp, uint32_t *state, uint32_t *tries)
{
	uint32_t seq = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), n = 0, k = 0;
	struct sc_words *w = SC_W(e);
	uint64_t id = 0, hi, diff = 0;

	*state = SC_EMPTY;
	if (seq & 1 || SC_LOAD(e->sp) != sp || SC_LOAD(e->fp) != fp)
		return 0;
	*state = SC_LOAD(e->state);
	*tries = SC_LOAD(e->tries);
	if (*state != SC_READY)
		goto check;
	hi = SC_LOAD(e->hi);
	n = SC_LOAD(e->n);
	if (hi > stk_hi || n > SC_WORDS) { /* another thread's stack, mapped differently */
		*state = SC_NEVER;
		return 0;
	}
	for (k = 0; k < n; k++) {
		uintptr_t a = SC_LOAD(w->addr[k]);

		if (a < sp || a + 8 > hi) /* torn by a writer: the count check below fails */
			break;
		diff |= *(const volatile uint64_t *)a ^ SC_LOAD(w->val[k]);
	}
	defined_copy(&diff);
	if (diff) /* a word changed: the count check below fails */
		k = 0;
	id = SC_LOAD(e->id);
check:
	if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != seq) {
		*state = SC_EMPTY;
		return 0;
	}
	if (*state != SC_READY)
		return 0;
	if (k < n) {
		*state = SC_NEVER + 1; /* learned, but the words changed */
		return 0;
	}
	return id;
}

/* Claim e for writing (0 if another thread is writing it). */
static int sc_begin(struct sc_entry *e, uint32_t *seq)
{
	*seq = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	return !(*seq & 1) && __atomic_compare_exchange_n(&e->seq, seq, *seq + 1, 0,
							  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void sc_end(struct sc_entry *e, uint32_t seq)
{
	__atomic_store_n(&e->seq, seq + 2, __ATOMIC_RELEASE);
}

static void sc_mark(struct sc_entry *e, uintptr_t sp, uintptr_t fp, uint32_t state, uint32_t tries)
{
	uint32_t seq;

	if (!sc_begin(e, &seq))
		return;
	SC_STORE(e->sp, sp);
	SC_STORE(e->fp, fp);
	SC_STORE(e->n, 0);
	SC_STORE(e->tries, tries);
	SC_STORE(e->state, state);
	sc_end(e, seq);
}

enum { R_IP = 16, R_SP = 7, R_RBP = 6 };
#define SC_VALS 3 /* the next frame's return address, stack pointer (CFA), frame pointer */

/*
 * Learn the stack fr[0..n) that unw_backtrace just returned, called from ap_stack_capture at
 * stack pointer sp: frame i of the walk is fr[i]'s frame (0 is ap_stack_capture itself, whose
 * call site differs). Fills e and returns 1 if the stack can be cached.
 */
__attribute__((noinline, no_sanitize_address)) static int
sc_learn(struct sc_entry *e, uintptr_t sp, uintptr_t fp, void *const *fr, int n, uint64_t id)
{
	static const int regs[SC_VALS] = {R_IP, R_SP, R_RBP};
	struct sc_words *words = SC_W(e);
	struct unw_buf ctx, cur;
	uint64_t lo = 0, ip = 0, v[SC_VALS], a;
	uint32_t cnt = 0, seq;
	int i = 0, rc;

	if (st.unw_getcontext(&ctx) < 0 || st.unw_init_local(&cur, &ctx) < 0)
		return 0;
	/* frame 0 (ap_stack_capture): its stack pointer must be the key */
	if ((rc = st.unw_step(&cur)) <= 0 || st.unw_get_reg(&cur, R_SP, &lo) < 0 || lo != sp ||
	    st.unw_get_reg(&cur, R_IP, &ip) < 0)
		return 0;
	if (!sc_begin(e, &seq))
		return 0;
	SC_STORE(e->sp, sp); /* another thread may have taken the slot for its key since */
	SC_STORE(e->fp, fp);
	SC_STORE(e->tries, SC_LOAD(e->tries) + 1);
	for (i = 1;; i++) {
		/* the next frame's values, searched for in this frame [lo, v[1]) */
		if ((rc = st.unw_step(&cur)) < 0 || st.unw_is_signal_frame(&cur) > 0)
			goto fail;
		if (rc == 0) /* the outermost frame ended the walk, as it ended the trace */
			break;
		for (int r = 0; r < SC_VALS; r++)
			if (st.unw_get_reg(&cur, regs[r], &v[r]) < 0)
				goto fail;
		if (i >= n || (uint64_t)(uintptr_t)fr[i] != v[0] || v[1] <= lo || v[1] > stk_hi)
			goto fail;
		if (ip >= st.self_lo && ip < st.self_hi) {
			if (v[1] < lo + 16)
				goto fail;
			/* our own code keeps frame pointers: the return address at CFA-8 and the
			 * caller's frame pointer at CFA-16 are what is read (our locals change) */
			for (a = v[1] - 16; a < v[1]; a += 8) {
				uint64_t w = stack_word(a);

				if (w != (a == v[1] - 8 ? v[0] : v[2]) || cnt >= SC_WORDS)
					goto fail;
				SC_STORE(words->addr[cnt], a);
				SC_STORE(words->val[cnt], w);
				cnt++;
			}
			lo = v[1];
			ip = v[0];
			continue;
		}
		for (a = lo; a < v[1]; a += 8) {
			uint64_t w = stack_word(a);

			for (int r = 0; r < SC_VALS; r++) {
				/* a register value outside the stack is no frame's base (every CFA
				 * the trace computed lies in the stack), so its copies need no
				 * check; the return address always */
				if (w != v[r] || (r && (w < stk_lo || w > stk_hi)))
					continue;
				if (cnt >= SC_WORDS)
					goto fail;
				SC_STORE(words->addr[cnt], a);
				SC_STORE(words->val[cnt], w);
				cnt++;
				break;
			}
		}
		lo = v[1];
		ip = v[0];
	}
	if (i != n || n >= AP_MAX_FRAMES + EXTRA_FRAMES) /* every frame, and not cut at the cap */
		goto fail;
	SC_STORE(e->n, cnt);
	SC_STORE(e->hi, lo);
	SC_STORE(e->id, id);
	SC_STORE(e->state, SC_READY);
	sc_end(e, seq);
	return 1;
fail:
	SC_STORE(e->n, 0);
	SC_STORE(e->state, SC_NEVER);
	sc_end(e, seq);
	return 0;
}

/*
 * A thread's first STEP_WALKS unwinds step frame by frame (unw_step) instead of calling
 * unw_backtrace: libunwind's fast trace keeps a per-thread cache it creates on a thread's first
 * call, a 256 KiB mapping filled on the spot (64 page faults, 16,384 entries written) and
 * unmapped when the thread ends, and its first trace steps every frame to fill that cache
 * anyway. A thread that makes a few exchanges (one per request, a short-lived worker) never
 * pays for the cache; one that makes many creates it at its fifth unwind. The walk gives the
 * frames unw_backtrace gives: fr[0] is the return address into ap_stack_capture.
 *
 * Never in a host built with ThreadSanitizer: the cache is freed by a thread-specific-data
 * destructor that waits for the last round of destructors, as the runtime's own does, and then
 * takes libunwind's pool lock; when the runtime had finished the thread first, its
 * pthread_mutex_lock interceptor crashed the host at thread exit (SIGSEGV in MutexPreLock, 1
 * run in 1,000 of 4 threads making 10 calls each).
 */
#define STEP_WALKS 4
static __thread unsigned thread_unwinds __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) static int step_walk(void **fr, int max)
{
	struct unw_buf ctx, cur;
	uint64_t ip;
	int n = 0;

	if (st.unw_getcontext(&ctx) < 0 || st.unw_init_local(&cur, &ctx) < 0)
		return 0;
	while (n < max && st.unw_step(&cur) > 0 && st.unw_get_reg(&cur, R_IP, &ip) == 0)
		fr[n++] = (void *)(uintptr_t)ip;
	return n;
}

static int unwind(void **fr, int max)
{
	if (thread_unwinds < STEP_WALKS || st.step_only) {
		thread_unwinds++;
		return step_walk(fr, max);
	}
	return st.unw_backtrace(fr, max);
}

/* Set-up on the first capture, not at start: a process that never records a stack never
 * loads libunwind. */
static pthread_once_t lazy_once = PTHREAD_ONCE_INIT;

uint64_t ap_stack_capture(void)
{
	void *fr[AP_MAX_FRAMES + EXTRA_FRAMES];
	uint64_t id = 0;
	int n = 0, skip = 0, learn = 0, raw = 0, unwinding = 0;
	struct sc_entry *e = NULL, *victim = NULL;
	uint32_t cached = SC_EMPTY, tries = 0;
	uintptr_t learn_sp = 0, learn_fp = 0;

	if (ap_tls.guard > 1)
		return 0;
	if (ap_rt.cfg.stacks) /* after the first call, one acquire load: it orders st for us */
		pthread_once(&lazy_once, ap_stack_init);
	if (!st.mode)
		return 0;
	ap_tls.guard++;
	/* not in a fork child that inherited a held lock (rt_syms.h): frame pointers there */
	if (st.mode == MODE_UNWIND && ap_loader_usable()) {
		uintptr_t sp, fp = (uintptr_t)__builtin_frame_address(0), lo = 1, hi = 1;

		__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
		if (!stk_hi) {
			stack_bounds(sp, &lo, &hi);
			stk_lo = lo;
			stk_hi = hi;
			stk_floor = stack_floor(lo, hi);
		}
		/* trusted only while we run on it (a coroutine's stack may be freed later) */
		ok_lo = sp >= stk_lo && sp < stk_hi ? stk_lo : 0;
		ok_hi = ok_lo ? stk_hi : 0;
		if (ok_lo) { /* the trace cache reads only this thread's own stack */
			e = sc_find(sp, fp, &victim);
			id = e ? sc_lookup(e, sp, fp, &cached, &tries) : 0;
			if (id) {
				ok_lo = ok_hi = 0;
				ap_tls.guard--;
				return id;
			}
		}
		ok_count = 0;
		ok_pid = 0; /* probe_read asks the kernel when it first needs it */
		unwinding = ap_loader_enter(0); /* not while a fork is prepared: frame pointers */
		n = raw = unwinding ? unwind(fr, AP_MAX_FRAMES + EXTRA_FRAMES) : 0;
		/* a stack seen once is remembered by its key, learned the second time (at most
		 * once per SC_LEARN_EVERY captures of the thread) */
		if (sc_unwinds < SC_LEARN_EVERY)
			sc_unwinds++;
		if (e && cached == SC_SEEN && n > 0 && sc_unwinds >= SC_LEARN_EVERY &&
		    sp - stk_floor >= SC_LEARN_HEADROOM) {
			sc_unwinds = 0;
			learn = 1;
		} else if (e && cached == SC_NEVER + 1) { /* learned, and now another chain */
			sc_mark(e, sp, fp, tries < SC_TRIES ? SC_SEEN : SC_NEVER, tries);
		} else if (!e && victim) {
			sc_mark(victim, sp, fp, SC_SEEN, 0);
		}
		learn_sp = sp;
		learn_fp = fp;
		if (!learn) {
			ok_lo = ok_hi = 0;
			ok_count = 0;
			ok_pid = 0;
		}
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
	if (learn) {
		if (id)
			sc_learn(e, learn_sp, learn_fp, fr, raw, id);
		/* outside our captures (a host using the same libunwind) nothing is trusted */
		ok_lo = ok_hi = 0;
		ok_count = 0;
		ok_pid = 0;
	}
	if (unwinding)
		ap_loader_leave();
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
	memset((void *)st.sc, 0, SC_SLOTS * sizeof(struct sc_entry)); /* ids are written anew */
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

/* close(2) through the next close in the lookup order (libc's, or a sanitizer runtime's), not
 * ours (the fd is no host's); the raw system call where none is resolved. */
static void close_fd(int fd)
{
	if (AP_REAL(close))
		AP_REAL(close)(fd);
	else
		syscall(SYS_close, fd);
}

/* 1 if a and b are the two ends of one pipe. */
static int same_pipe(int a, int b)
{
	struct stat sa, sb;

	return syscall(SYS_fstat, a, &sa) == 0 && syscall(SYS_fstat, b, &sb) == 0 &&
	       S_ISFIFO(sa.st_mode) && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/*
 * libunwind's one-time set-up (run by get_accessors) opens its validation pipe with pipe2. Our
 * pipe2 (hook_fd.c) reports that pipe's fds for this thread, whatever fds other threads open
 * or close meanwhile; swap the memory accessor for ours, then close that pipe. Without our
 * pipe2 in the path, the pipe is the two lowest free fds if they now are one pipe; a set-up
 * that left the lowest free fd as it was opened none (nothing to close); otherwise the pipe is
 * not known: frame pointers. If libunwind was already loaded by
 * the host, its instance (and pipe) is the host's: we do not use it.
 */
static void load_libunwind(void)
{
	void *(*get_accessors)(void *);
	void **local_as, **acc;
	const struct ap_lib_sym syms[] = {
		{"unw_backtrace", (void **)&st.unw_backtrace, NULL},
		{"_Ux86_64_get_accessors", (void **)&get_accessors, NULL},
		{"_ULx86_64_local_addr_space", (void **)&local_as, NULL},
		{"_Ux86_64_getcontext", (void **)&st.unw_getcontext, NULL},
		{"_ULx86_64_init_local", (void **)&st.unw_init_local, NULL},
		{"_ULx86_64_step", (void **)&st.unw_step, NULL},
		{"_ULx86_64_get_reg", (void **)&st.unw_get_reg, NULL},
		{"_ULx86_64_is_signal_frame", (void **)&st.unw_is_signal_frame, NULL},
		{NULL, NULL, NULL},
	};
	int pipe_fds[2] = {-1, -1}, lowest, next;
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
	lowest = lowest_free_fd(0);
	next = lowest < 0 ? -1 : lowest_free_fd(lowest + 1);
	ap_tls.pipe_catch = pipe_fds;
	acc = get_accessors(*local_as);
	ap_tls.pipe_catch = NULL;
	if (pipe_fds[0] < 0 && next >= 0 && same_pipe(lowest, next)) {
		/* not through our pipe2 (a program linking this file without the wrappers, as
		 * bench_stacks does): the two lowest free fds, as a single-threaded set-up
		 * leaves them */
		pipe_fds[0] = lowest;
		pipe_fds[1] = next;
	}
	if (pipe_fds[0] >= 0 && same_pipe(pipe_fds[0], pipe_fds[1])) {
		/* through the C library's close, as the pipe was opened: a ThreadSanitizer host's
		 * runtime saw the pipe2 and must see the close, or it takes the host's next fd of
		 * that number for the pipe and reports a race on it */
		close_fd(pipe_fds[0]);
		close_fd(pipe_fds[1]);
	} else if (pipe_fds[0] >= 0 || lowest_free_fd(0) != lowest) {
		ap_warn("libunwind's validation pipe not found; stacks use frame pointers");
		return;
	}
	if (!acc)
		return;
	acc[3] = (void *)unw_access_mem; /* unw_accessors_t.access_mem */
	ok_count = 0;
	if (ap_loader_enter(0)) {
		/* libunwind's one-time set-up happens here, not on a host path (a step walk:
		 * unw_backtrace would give this thread the trace cache, see STEP_WALKS); only the
		 * fast trace's own once (a pthread key, no lock) waits for some thread's fifth
		 * unwind */
		step_walk(warm, 4);
		ap_loader_leave();
	}
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
	p = mmap(NULL,
		 ST_SLOTS * sizeof(*st.slots) + MOD_MAX * sizeof(struct mod) +
			 SC_SLOTS * (sizeof(struct sc_entry) + sizeof(struct sc_words)),
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	st.slots = p;
	st.mods = (struct mod *)((char *)p + ST_SLOTS * sizeof(*st.slots));
	st.sc = (struct sc_entry *)(st.mods + MOD_MAX);
	st.scw = (struct sc_words *)(st.sc + SC_SLOTS);
	n = syscall(SYS_readlink, "/proc/self/exe", st.exe, sizeof(st.exe) - 1);
	st.exe[n > 0 ? n : 0] = 0;
	if (!st.exe[0])
		ap_strlcpy(st.exe, "[exe]", sizeof(st.exe));
	mods_refresh(ap_now());
	st.mode = MODE_FP;
	st.step_only = ap_dlsym_default("__tsan_init") != NULL;
	if (!ap_rt.cfg.unwind_fp && ap_loader_usable())
		load_libunwind();
	if (st.mode == MODE_FP)
		fp_walk(warm, 4); /* finds the main thread's stack mapping now */
	atomic_store_explicit(&st_ready, 1, memory_order_release);
out:
	ap_tls.guard--;
}
