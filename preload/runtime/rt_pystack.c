/* rt_pystack.c: reads the calling thread's CPython frames (function, file, line) from the
 * interpreter's memory without its C API, and interns them as AP_REC_PYCODE / AP_REC_PYSTACK. */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pyline.h"
#include "rt.h"
#include "rt_pystack.h"

/*
 * Safety. The GIL is usually released when we run (the interpreter drops it around blocking
 * I/O), so nothing here calls the interpreter. What we read is the calling thread's own frame
 * chain, which cannot change or be freed while this thread is inside a call made from it: the
 * frames, their code objects and the code objects' strings are all kept alive by the running
 * frames. What remains is a wrong reading (a layout mistake, a thread that is not what we think):
 * so every address is checked against a snapshot of the readable mappings before it is read,
 * every object's type pointer is compared with the interpreter's own type object, every length
 * is bounded, and the first thing that looks wrong ends the walk. The snapshot is re-read (raw
 * syscalls, no stdio, fd closed at once) when an address falls outside it, at most once per
 * REFRESH_NS. While the interpreter finalizes (it then frees other threads' states) nothing is
 * read. Hot path (a stack seen before): no syscall, no lock, no allocation.
 */

#define RANGES_MAX    8192u  /* readable mappings remembered */
#define CODE_SLOTS    8192u  /* distinct code objects remembered (power of two) */
#define LINE_SLOTS    16384u /* (code, instruction) -> line cache (power of two) */
#define STACK_SLOTS   4096u  /* distinct Python stacks remembered (power of two) */
#define SET_PROBES    16u    /* hash-set probes before a record is written again */
#define MAX_STEPS     256    /* frames visited per walk, skipped ones included */
#define LINETABLE_MAX 65536u
#define REFRESH_NS    2000000LL
#define PROBES_MAX    32 /* system calls per walk checking pages outside the snapshot */
#define PAGES_MAX     48 /* pages so checked, remembered for the walk */

/* Byte offsets of what a walk reads, per minor version (x86-64 and aarch64 share them). */
struct layout {
	int minor;
	uint32_t rt_finalizing, rt_tss, rt_interp_head; /* in _PyRuntime */
	uint32_t ts_interp, ts_thread_id, ts_frame;	/* in PyThreadState; frame: see cf_frame */
	int32_t cf_frame; /* 3.11/3.12: offset of current_frame in _PyCFrame; -1: none */
	uint32_t fr_back, fr_code, fr_instr, fr_owner; /* in the frame */
	int instr_kind; /* 0: int f_lasti in bytes, 1: int f_lasti in code units, 2: pointer */
	uint32_t fr_size;
	uint32_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno, co_code;
	uint32_t co_size;
	uint32_t ascii_size,
		compact_size; /* sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject) */
	int line_format;
	int skip_cstack; /* frames owned by the C stack (3.12+, owner 3) are entry shims */
};

static const struct layout layouts[] = {
	{.minor = 9,
	 .rt_finalizing = 16,
	 .rt_tss = 584,
	 .rt_interp_head = 32,
	 .ts_interp = 16,
	 .ts_thread_id = 176,
	 .ts_frame = 24,
	 .cf_frame = -1,
	 .fr_back = 24,
	 .fr_code = 32,
	 .fr_instr = 104,
	 .instr_kind = 0,
	 .fr_size = 112,
	 .co_filename = 104,
	 .co_name = 112,
	 .co_qualname = 0,
	 .co_linetable = 120,
	 .co_firstlineno = 40,
	 .co_size = 128,
	 .ascii_size = 48,
	 .compact_size = 72,
	 .line_format = AP_PY_LNOTAB},
	{.minor = 10,
	 .rt_finalizing = 16,
	 .rt_tss = 584,
	 .rt_interp_head = 32,
	 .ts_interp = 16,
	 .ts_thread_id = 176,
	 .ts_frame = 24,
	 .cf_frame = -1,
	 .fr_back = 24,
	 .fr_code = 32,
	 .fr_instr = 96,
	 .instr_kind = 1,
	 .fr_size = 104,
	 .co_filename = 104,
	 .co_name = 112,
	 .co_qualname = 0,
	 .co_linetable = 120,
	 .co_firstlineno = 40,
	 .co_size = 128,
	 .ascii_size = 48,
	 .compact_size = 72,
	 .line_format = AP_PY_LINETABLE},
	{.minor = 11,
	 .rt_finalizing = 24,
	 .rt_tss = 592,
	 .rt_interp_head = 40,
	 .ts_interp = 16,
	 .ts_thread_id = 152,
	 .ts_frame = 56,
	 .cf_frame = 8,
	 .fr_back = 48,
	 .fr_code = 32,
	 .fr_instr = 56,
	 .fr_owner = 69,
	 .instr_kind = 2,
	 .fr_size = 72,
	 .co_filename = 112,
	 .co_name = 120,
	 .co_qualname = 128,
	 .co_linetable = 136,
	 .co_firstlineno = 72,
	 .co_code = 184,
	 .co_size = 192,
	 .ascii_size = 48,
	 .compact_size = 72,
	 .line_format = AP_PY_LOCATIONS},
	{.minor = 12,
	 .rt_finalizing = 24,
	 .rt_tss = 1544,
	 .rt_interp_head = 40,
	 .ts_interp = 16,
	 .ts_thread_id = 136,
	 .ts_frame = 56,
	 .cf_frame = 0,
	 .fr_back = 8,
	 .fr_code = 0,
	 .fr_instr = 56,
	 .fr_owner = 70,
	 .instr_kind = 2,
	 .fr_size = 72,
	 .co_filename = 112,
	 .co_name = 120,
	 .co_qualname = 128,
	 .co_linetable = 136,
	 .co_firstlineno = 68,
	 .co_code = 192,
	 .co_size = 200,
	 .ascii_size = 40,
	 .compact_size = 56,
	 .line_format = AP_PY_LOCATIONS,
	 .skip_cstack = 1},
	/* 3.13: every field but rt_tss is replaced by _PyRuntime.debug_offsets at init */
	{.minor = 13,
	 .rt_finalizing = 608,
	 .rt_tss = 2160,
	 .rt_interp_head = 632,
	 .ts_interp = 16,
	 .ts_thread_id = 152,
	 .ts_frame = 72,
	 .cf_frame = -1,
	 .fr_back = 8,
	 .fr_code = 0,
	 .fr_instr = 56,
	 .fr_owner = 70,
	 .instr_kind = 2,
	 .fr_size = 72,
	 .co_filename = 112,
	 .co_name = 120,
	 .co_qualname = 128,
	 .co_linetable = 136,
	 .co_firstlineno = 68,
	 .co_code = 200,
	 .co_size = 208,
	 .ascii_size = 40,
	 .compact_size = 56,
	 .line_format = AP_PY_LOCATIONS,
	 .skip_cstack = 1},
};

struct range {
	uintptr_t lo, hi;
};

/* What one walk has spent outside the snapshot. */
struct walkctx {
	int refreshed, probes, npages;
	uintptr_t pages[PAGES_MAX];
	struct range hit[2]; /* the last two snapshot ranges that held a read, newest first */
};

/* The readable mappings, sorted; seq is odd while a refresh rewrites them. */
struct snapshot {
	_Atomic uint32_t seq;
	uint32_t n;
	struct range r[RANGES_MAX];
};

struct pyframe {
	uint64_t code, line;
};

static struct {
	struct layout L;
	uintptr_t runtime, code_type, unicode_type, bytes_type;
	char image[AP_STR_EXE]; /* the object holding _PyRuntime: its mappings are read too */
	_Atomic uint64_t *codes, *lines, *stacks; /* mmap'ed */
	struct snapshot *snap;			  /* two, mmap'ed: one published, one rewritten */
	_Atomic int cur;			  /* the published one */
	_Atomic int refreshing;			  /* one refresher at a time */
	_Atomic int64_t last_refresh;
} py;

int ap_pystack_python(void)
{
	return py.L.minor;
}

/* --- the mapping snapshot ------------------------------------------------------------------- */

static uintptr_t hexnum(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v << 4 | (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* One /proc/self/maps line: a readable anonymous mapping (not [vvar]/[vdso]/[vsyscall]) or a
 * mapping of the interpreter's own image. */
static int maps_keep(const char *s, size_t n, uintptr_t *lo, uintptr_t *hi)
{
	const char *p = s, *end = s + n, *path;
	int field = 0;

	if (n < 30)
		return 0;
	*lo = hexnum(&p);
	if (*p++ != '-')
		return 0;
	*hi = hexnum(&p);
	if (*p++ != ' ' || *p != 'r' || *hi <= *lo)
		return 0;
	/* fields: perms offset dev, then inode path */
	while (p < end && field < 3) {
		while (p < end && *p != ' ')
			p++;
		while (p < end && *p == ' ')
			p++;
		field++;
	}
	if (field < 3 || p >= end)
		return 0;
	/* p is at the inode */
	if (*p == '0' && (p + 1 == end || p[1] == ' ')) {
		path = p + 1;
		while (path < end && *path == ' ')
			path++;
		return !(path + 2 <= end && path[0] == '[' && path[1] == 'v');
	}
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	return py.image[0] && (size_t)(end - p) == strlen(py.image) &&
	       !memcmp(p, py.image, (size_t)(end - p));
}

static void ranges_add(struct snapshot *s, uint32_t *n, uintptr_t lo, uintptr_t hi)
{
	if (*n && s->r[*n - 1].hi == lo) {
		s->r[*n - 1].hi = hi;
		return;
	}
	if (*n < RANGES_MAX) {
		s->r[*n].lo = lo;
		s->r[*n].hi = hi;
		(*n)++;
	}
}

/*
 * Re-read /proc/self/maps into the snapshot not published, then publish it: readers keep using
 * the published one meanwhile (a reader still inside the other one when it is rewritten, two
 * refreshes later, sees its seq change and gives up that read).
 */
static void ranges_refresh(void)
{
	char buf[4096];
	size_t len = 0, pos;
	uint32_t n = 0;
	int fd, expect = 0, next;
	struct snapshot *s;
	ssize_t r;

	if (!atomic_compare_exchange_strong(&py.refreshing, &expect, 1))
		return;
	next = 1 - atomic_load(&py.cur);
	s = &py.snap[next];
	atomic_store(&py.last_refresh, ap_now());
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
	while ((r = syscall(SYS_read, fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)r;
		pos = 0;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', len - pos);
			uintptr_t lo, hi;

			if (!nl)
				break;
			if (maps_keep(buf + pos, (size_t)(nl - buf) - pos, &lo, &hi))
				ranges_add(s, &n, lo, hi);
			pos = (size_t)(nl - buf) + 1;
		}
		if (!pos) /* a line longer than the buffer (a long path): not one we keep */
			len = 0;
		memmove(buf, buf + pos, len - pos);
		len -= pos;
	}
	syscall(SYS_close, fd);
	s->n = n;
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
	atomic_store(&py.cur, next);
out:
	atomic_store(&py.refreshing, 0);
}

/* 1 if [a, a+len) lies in one range of the snapshot (copied to *hit). */
static int in_snapshot(uintptr_t a, uintptr_t len, struct range *hit)
{
	const struct snapshot *s = &py.snap[atomic_load_explicit(&py.cur, memory_order_acquire)];
	uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire), lo = 0, hi, n;
	int ok = 0;

	if (s1 & 1)
		return 0;
	n = s->n < RANGES_MAX ? s->n : RANGES_MAX;
	hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (s->r[mid].hi <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && s->r[lo].lo <= a && a + len <= s->r[lo].hi) {
		*hit = s->r[lo];
		ok = 1;
	}
	atomic_thread_fence(memory_order_acquire);
	return ok && atomic_load_explicit(&s->seq, memory_order_relaxed) == s1;
}

/* 1 if every page of [a, a+len) was found readable earlier in this walk. */
static int pages_known(const struct walkctx *w, uintptr_t a, uintptr_t len)
{
	for (uintptr_t pg = a & ~(uintptr_t)4095; pg < a + len; pg += 4096) {
		int i = 0;

		while (i < w->npages && w->pages[i] != pg)
			i++;
		if (i == w->npages)
			return 0;
	}
	return 1;
}

/* The kernel's answer for the pages of [a, a+len): one byte of each copied into a scratch
 * buffer (never faulting). For memory mapped since the snapshot while another thread refreshes
 * it or a refresh was recent. The pages are remembered for the rest of the walk. */
static int probe(struct walkctx *w, uintptr_t a, uintptr_t len)
{
	struct iovec local[PAGES_MAX], remote[PAGES_MAX];
	char scratch[PAGES_MAX];
	uintptr_t first = a & ~(uintptr_t)4095;
	size_t n = 0;

	for (uintptr_t pg = first; pg < a + len; pg += 4096) {
		if (n == PAGES_MAX || w->npages + (int)n >= PAGES_MAX)
			return 0;
		local[n].iov_base = &scratch[n];
		local[n].iov_len = 1;
		remote[n].iov_base = (void *)pg;
		remote[n].iov_len = 1;
		n++;
	}
	if (syscall(SYS_process_vm_readv, ap_rt.pid, local, n, remote, n, 0UL) != (ssize_t)n)
		return 0;
	for (size_t i = 0; i < n; i++)
		w->pages[w->npages++] = first + i * 4096;
	return 1;
}

/*
 * 1 if [a, a+len) may be read: in the snapshot; or in it after one refresh per walk (at most
 * one refresh per REFRESH_NS in the process); or else confirmed by the kernel (at most
 * PROBES_MAX system calls per walk).
 */
static __attribute__((noinline)) int readable_slow(uintptr_t a, uintptr_t len, struct walkctx *w)
{
	struct range r;

	if (a < 4096 || a + len < a)
		return 0;
	if (in_snapshot(a, len, &r)) {
		w->hit[1] = w->hit[0];
		w->hit[0] = r;
		return 1;
	}
	if (pages_known(w, a, len))
		return 1;
	if (!w->refreshed && ap_now() - atomic_load(&py.last_refresh) >= REFRESH_NS &&
	    !atomic_load(&py.refreshing)) {
		w->refreshed = 1;
		ranges_refresh();
		if (in_snapshot(a, len, &r))
			return 1;
	}
	if (w->probes >= PROBES_MAX)
		return 0;
	w->probes++;
	return probe(w, a, len);
}

static inline int readable(uintptr_t a, uintptr_t len, struct walkctx *w)
{
	if (a >= w->hit[0].lo && a + len <= w->hit[0].hi && a + len >= a)
		return 1;
	if (a >= w->hit[1].lo && a + len <= w->hit[1].hi && a + len >= a)
		return 1;
	return readable_slow(a, len, w);
}

static uintptr_t word(uintptr_t a)
{
	return *(const uintptr_t *)a;
}

/* --- strings and line tables (read only after a readable() check) --------------------------- */

static size_t put_utf8(char *out, size_t o, size_t cap, uint32_t c)
{
	if (c < 0x80 && o + 1 < cap)
		out[o++] = (char)c;
	else if (c < 0x800 && o + 2 < cap) {
		out[o++] = (char)(0xc0 | c >> 6);
		out[o++] = (char)(0x80 | (c & 63));
	} else if (c < 0x10000 && c >= 0x80 && o + 3 < cap) {
		out[o++] = (char)(0xe0 | c >> 12);
		out[o++] = (char)(0x80 | ((c >> 6) & 63));
		out[o++] = (char)(0x80 | (c & 63));
	} else if (c >= 0x10000 && c < 0x110000 && o + 4 < cap) {
		out[o++] = (char)(0xf0 | c >> 18);
		out[o++] = (char)(0x80 | ((c >> 12) & 63));
		out[o++] = (char)(0x80 | ((c >> 6) & 63));
		out[o++] = (char)(0x80 | (c & 63));
	}
	return o;
}

/* A compact str object into out (UTF-8, truncated to cap); "" if it does not look like one. */
static void read_str(uintptr_t s, char *out, size_t cap, struct walkctx *budget)
{
	uint32_t state, kind;
	uintptr_t data;
	int64_t len;
	size_t o = 0;

	out[0] = 0;
	if (!readable(s, py.L.compact_size, budget) || word(s + 8) != py.unicode_type)
		return;
	len = *(const int64_t *)(s + 16);
	state = *(const uint32_t *)(s + 32);
	kind = (state >> 2) & 7;
	if (len < 0 || len > 4096 || !((state >> 5) & 1)) /* not compact: not a code string */
		return;
	if ((state >> 6) & 1) {
		kind = 1;
		data = s + py.L.ascii_size;
	} else {
		data = s + py.L.compact_size;
	}
	if ((kind != 1 && kind != 2 && kind != 4) || !readable(data, (uintptr_t)len * kind, budget))
		return;
	for (int64_t i = 0; i < len; i++) {
		uint32_t c = kind == 1	 ? ((const uint8_t *)data)[i]
			     : kind == 2 ? ((const uint16_t *)data)[i]
					 : ((const uint32_t *)data)[i];
		size_t o2 = put_utf8(out, o, cap, c);

		if (o2 == o)
			break;
		o = o2;
	}
	out[o] = 0;
}

/* --- interning ----------------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* 1 if id was not in the set and is now (the caller writes its record), 0 if it was there. */
static int set_add(_Atomic uint64_t *set, uint32_t slots, uint64_t id)
{
	for (uint32_t i = 0; i < SET_PROBES; i++) {
		_Atomic uint64_t *slot = &set[(id + i) & (slots - 1)];
		uint64_t k = atomic_load_explicit(slot, memory_order_acquire);

		if (k == id)
			return 0;
		if (k)
			continue;
		if (atomic_compare_exchange_strong(slot, &k, id))
			return 1;
		if (k == id)
			return 0;
	}
	return 1; /* neighbourhood full: written again, same id (bounded) */
}

/* Takes id out of the set again (its record could not be written). */
static void set_remove(_Atomic uint64_t *set, uint32_t slots, uint64_t id)
{
	for (uint32_t i = 0; i < SET_PROBES; i++) {
		uint64_t k = id;

		if (atomic_compare_exchange_strong(&set[(id + i) & (slots - 1)], &k, 0))
			return;
	}
}

/* Writes the code object's record; 0 (nothing written) when its names cannot be read. */
static int write_code(uint64_t id, uintptr_t code, struct walkctx *budget)
{
	const struct layout *L = &py.L;
	struct ap_record r;

	ap_record_init(&r, AP_REC_PYCODE);
	r.u.pycode.id = id;
	read_str(word(code + (L->co_qualname ? L->co_qualname : L->co_name)), r.u.pycode.qualname,
		 sizeof(r.u.pycode.qualname), budget);
	read_str(word(code + L->co_filename), r.u.pycode.filename, sizeof(r.u.pycode.filename),
		 budget);
	r.u.pycode.firstlineno = *(const uint32_t *)(code + L->co_firstlineno);
	if (!r.u.pycode.qualname[0] || !r.u.pycode.filename[0])
		return 0;
	ap_record(&r);
	return 1;
}

static uint64_t line_key(uint64_t cid, int64_t addr)
{
	return mix(cid, (uint64_t)addr + 1) | (1ull << 63);
}

/*
 * The cached line of (code, instruction). A hit also means the code's record was written: the
 * cache is filled only after that (and cleared with the code set after fork).
 */
static int cached_line(uint64_t cid, int64_t addr, uint64_t *line)
{
	uint64_t key = line_key(cid, addr), tag = key & ~0xffffffull;

	for (uint32_t i = 0; i < 4; i++) {
		uint64_t v = atomic_load_explicit(&py.lines[(key + i) & (LINE_SLOTS - 1)],
						  memory_order_relaxed);

		if ((v & ~0xffffffull) == tag) {
			*line = v & 0xffffff;
			return 1;
		}
	}
	return 0;
}

/* The line of instruction addr in code (id cid), decoded from its table and cached. */
static uint32_t code_line(uint64_t cid, uintptr_t code, int64_t addr, struct walkctx *budget)
{
	const struct layout *L = &py.L;
	uint64_t key = line_key(cid, addr), tag = key & ~0xffffffull;
	uintptr_t lt;
	int64_t n;
	uint32_t line = 0;
	int decoded = 0;

	lt = word(code + L->co_linetable);
	if (readable(lt, 40, budget) && word(lt + 8) == py.bytes_type) {
		n = *(const int64_t *)(lt + 16);
		if (n > 0 && n <= (int64_t)LINETABLE_MAX &&
		    readable(lt + 32, (uintptr_t)n, budget)) {
			line = (uint32_t)ap_py_line(
				L->line_format, (const uint8_t *)(lt + 32), (size_t)n,
				*(const int32_t *)(code + L->co_firstlineno), addr);
			decoded = 1;
		}
	}
	if (line > 0xffffff)
		line = 0;
	if (decoded) /* a table we could not read is tried again next time */
		atomic_store_explicit(&py.lines[key & (LINE_SLOTS - 1)], tag | line,
				      memory_order_relaxed);
	return line;
}

/* --- the walk ------------------------------------------------------------------------------ */

/* The calling thread's state, 0 if it has none or the interpreter is not running. */
static uintptr_t this_thread_state(struct walkctx *budget)
{
	const struct layout *L = &py.L;
	uintptr_t rt = py.runtime, ts;
	int initialized = *(const int *)(rt + L->rt_tss);
	unsigned key = *(const unsigned *)(rt + L->rt_tss + 4);

	if (word(rt + L->rt_finalizing) || initialized != 1 || key >= 1024)
		return 0;
	ts = (uintptr_t)pthread_getspecific((pthread_key_t)key);
	if (!ts || !readable(ts, L->ts_thread_id + 8, budget) ||
	    word(ts + L->ts_thread_id) != (uintptr_t)pthread_self() || !word(ts + L->ts_interp))
		return 0;
	return ts;
}

/* Walks the frames into fr (innermost first); returns the count, *truncated when cut short. */
static int walk(struct pyframe *fr, int *truncated)
{
	const struct layout *L = &py.L;
	int n = 0, steps = 0;
	struct walkctx budget = {0};
	uintptr_t ts = this_thread_state(&budget), f;

	*truncated = 0;
	if (!ts || !readable(ts, L->ts_frame + 8, &budget))
		return 0;
	f = word(ts + L->ts_frame);
	if (L->cf_frame >= 0) {
		if (!f || !readable(f, (uintptr_t)L->cf_frame + 8, &budget))
			return 0;
		f = word(f + (uintptr_t)L->cf_frame);
	}
	while (f) {
		uintptr_t code;
		int64_t addr;
		uint64_t cid, first;

		if (n == AP_MAX_FRAMES || ++steps > MAX_STEPS || (f & 7) ||
		    !readable(f, L->fr_size, &budget)) {
			*truncated = 1;
			break;
		}
		code = word(f + L->fr_code);
		if (L->skip_cstack && *(const uint8_t *)(f + L->fr_owner) == 3)
			goto next; /* an entry shim, not Python code */
		if ((code & 7) || !readable(code, L->co_size, &budget)) {
			*truncated = 1;
			break;
		}
		if (word(code + 8) != py.code_type) {
			if (L->minor >= 13)
				goto next; /* a frame running something other than code */
			*truncated = 1;
			break;
		}
		if (L->instr_kind == 2) {
			uintptr_t ip = word(f + L->fr_instr), base = code + L->co_code;

			addr = ip >= base && ip - base < (1u << 26) ? (int64_t)(ip - base) / 2 : -1;
		} else {
			addr = *(const int32_t *)(f + L->fr_instr);
			if (L->instr_kind == 1 && addr >= 0)
				addr *= 2;
		}
		/* the code object's identity: its address and what it points to */
		first = *(const uint32_t *)(code + L->co_firstlineno);
		cid = code * 0x9e3779b97f4a7c15ull ^
		      word(code + L->co_filename) * 0xc2b2ae3d27d4eb4full ^
		      word(code + (L->co_qualname ? L->co_qualname : L->co_name)) *
			      0x165667b19e3779f9ull ^
		      first * 0x27d4eb2f165667c5ull ^
		      word(code + L->co_linetable) * 0xff51afd7ed558ccdull;
		cid = mix(cid, 0x5079636f6465ull);
		cid = cid ? cid : 1;
		fr[n].code = cid;
		if (!cached_line(cid, addr, &fr[n].line)) {
			/* first sight of (code, instruction): the code's record, then the line */
			if (set_add(py.codes, CODE_SLOTS, cid) && !write_code(cid, code, &budget)) {
				set_remove(py.codes, CODE_SLOTS, cid); /* names unreadable */
				*truncated = 1;
				break;
			}
			fr[n].line = code_line(cid, code, addr, &budget);
		}
		n++;
	next:
		f = word(f + L->fr_back);
	}
	return n;
}

uint64_t ap_pystack_capture(void)
{
	struct pyframe fr[AP_MAX_FRAMES];
	uint64_t h;
	int n, truncated;

	if (!py.L.minor || ap_tls.guard > 1)
		return 0;
	ap_tls.guard++;
	n = walk(fr, &truncated);
	if (n <= 0) {
		ap_tls.guard--;
		return 0;
	}
	h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n ^ ((uint64_t)truncated << 32);
	for (int i = 0; i < n; i++)
		h = mix(mix(h, fr[i].code), fr[i].line);
	h = h ? h : 1;
	if (set_add(py.stacks, STACK_SLOTS, h)) {
		struct ap_record r;

		ap_record_init(&r, AP_REC_PYSTACK);
		r.u.pystack.id = h;
		r.u.pystack.nframes = r.u.pystack.nlines = (uint32_t)n;
		for (int i = 0; i < n; i++) {
			r.u.pystack.code[i] = fr[i].code;
			r.u.pystack.line[i] = fr[i].line;
		}
		r.u.pystack.truncated = (uint8_t)truncated;
		ap_record(&r);
	}
	ap_tls.guard--;
	return h;
}

/* --- init ---------------------------------------------------------------------------------- */

/* fork(): the child writes a new file, so every code object and stack is new there. */
void ap_pystack_after_fork_child(void)
{
	if (!py.codes)
		return; /* not a CPython we read (or not set up) */
	memset((void *)py.codes, 0, CODE_SLOTS * sizeof(*py.codes));
	memset((void *)py.stacks, 0, STACK_SLOTS * sizeof(*py.stacks));
	memset((void *)py.lines, 0, LINE_SLOTS * sizeof(*py.lines));
	atomic_store(&py.refreshing, 0);
}

/* 3.13+: the interpreter publishes its layout; take every offset we use from it. */
static int from_debug_offsets(struct layout *L, uint64_t hexversion)
{
	const uint64_t *d = (const uint64_t *)py.runtime;

	if (memcmp((const char *)py.runtime, "xdebugpy", 8) || d[1] != hexversion || d[2])
		return -1; /* no cookie, another version's block, or a free-threaded build */
	/* the 3.13 block: cookie, version, free_threaded, runtime_state{3}, interpreter_state{13},
	 * thread_state{9}, interpreter_frame{6}, code_object{10}, ... */
	L->rt_finalizing = (uint32_t)d[4];
	L->rt_interp_head = (uint32_t)d[5];
	L->ts_interp = (uint32_t)d[6 + 13 + 3];
	L->ts_frame = (uint32_t)d[6 + 13 + 4];
	L->ts_thread_id = (uint32_t)d[6 + 13 + 5];
	L->fr_back = (uint32_t)d[28 + 1];
	L->fr_code = (uint32_t)d[28 + 2];
	L->fr_instr = (uint32_t)d[28 + 3];
	L->fr_owner = (uint32_t)d[28 + 5];
	L->fr_size = L->fr_owner + 1;
	L->co_filename = (uint32_t)d[34 + 1];
	L->co_name = (uint32_t)d[34 + 2];
	L->co_qualname = (uint32_t)d[34 + 3];
	L->co_linetable = (uint32_t)d[34 + 4];
	L->co_firstlineno = (uint32_t)d[34 + 5];
	L->co_code = (uint32_t)d[34 + 9];
	L->co_size = L->co_code;
	return L->fr_owner < 256 && L->co_code < 512 && L->ts_frame < 4096 ? 0 : -1;
}

/* The minor version from "python3.N" in a path, 0 if none. */
static int minor_from_path(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "python3.")) != NULL) {
		int m = 0;

		p += 8;
		while (*p >= '0' && *p <= '9')
			m = m * 10 + (*p++ - '0');
		if (m)
			return m;
	}
	return 0;
}

static void unsupported(const char *why)
{
	char msg[AP_STR_MSG];

	snprintf(msg, sizeof(msg),
		 "%s: Python call stacks are not recorded (CPython 3.9 to 3.13 are read); "
		 "native stacks only",
		 why);
	ap_diag(AP_DIAG_PYSTACKS, msg);
}

void ap_pystack_init(void)
{
	const unsigned long *pyver;
	uint64_t hexversion = 0;
	char why[PATH_MAX];
	Dl_info info;
	void *rt, *p;
	int minor = 0;

	if (!ap_rt.cfg.pystacks)
		return;
	ap_tls.guard++;
	rt = ap_dlsym_default("_PyRuntime");
	if (!rt && ap_dlsym_default("Py_Initialize"))
		unsupported("CPython before 3.7");
	if (!rt || !dladdr(rt, &info))
		goto out; /* not CPython (or an embedding that loads it later) */
	py.runtime = (uintptr_t)rt;
	pyver = dlsym(RTLD_DEFAULT, "Py_Version");
	if (pyver) {
		hexversion = *pyver;
		minor = (int)((hexversion >> 16) & 0xff);
		if ((hexversion >> 24) != 3)
			minor = -1;
	} else {
		minor = minor_from_path(info.dli_fname ? info.dli_fname : "");
		if (!minor) {
			char exe[AP_STR_EXE];
			ssize_t n = syscall(SYS_readlink, "/proc/self/exe", exe, sizeof(exe) - 1);

			exe[n > 0 ? n : 0] = 0;
			minor = minor_from_path(exe);
		}
	}
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].minor == minor)
			py.L = layouts[i];
	if (!py.L.minor) {
		snprintf(why, sizeof(why),
			 minor > 0 ? "CPython 3.%d" : "CPython of unknown version", minor);
		unsupported(why);
		goto out;
	}
	if (py.L.minor >= 13 && from_debug_offsets(&py.L, hexversion) < 0) {
		py.L.minor = 0;
		unsupported("CPython 3.13 without the expected debug offsets (free-threaded?)");
		goto out;
	}
	py.code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
	py.unicode_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
	py.bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
	if (!py.code_type || !py.unicode_type || !py.bytes_type) {
		py.L.minor = 0;
		unsupported("CPython without its type objects exported");
		goto out;
	}
	if (!info.dli_fname || info.dli_fname[0] != '/' || !realpath(info.dli_fname, why) ||
	    strlen(why) >= sizeof(py.image)) {
		ssize_t n = syscall(SYS_readlink, "/proc/self/exe", py.image, sizeof(py.image) - 1);

		py.image[n > 0 ? n : 0] = 0;
	} else {
		ap_strlcpy(py.image, why, sizeof(py.image));
	}
	p = mmap(NULL,
		 (CODE_SLOTS + LINE_SLOTS + STACK_SLOTS) * sizeof(uint64_t) +
			 2 * sizeof(struct snapshot),
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		py.L.minor = 0;
		goto out;
	}
	py.codes = p;
	py.lines = py.codes + CODE_SLOTS;
	py.stacks = py.lines + LINE_SLOTS;
	py.snap = (struct snapshot *)(void *)(py.stacks + STACK_SLOTS);
	ranges_refresh();
out:
	ap_tls.guard--;
}
