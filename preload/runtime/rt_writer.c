/* rt_writer.c: finished records go into a file-backed shared segment with one memcpy and no
 * lock; flush points compress sealed slots into frames appended to the same file. */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "ap_codec.h"
#include "argv_redact.h"
#include "rt.h"

/* zstd level 1: on span records (mostly repeated names and small varints) it compresses as well
 * as level 3 (1,000 small exchanges: 14.2 KB against 14.5 KB) for ~0.6k fewer instructions each */
#define AP_ZLEVEL	  1
#define AP_VERSION_STRING "0.1.0"
#define STAGE_BYTES	  (AP_SEG_SLOT_BYTES + 64)

/*
 * Concurrency plan (every rule here is what makes the writer safe in signal handlers, across
 * fork and under cancellation):
 * - Recording (ap_record) takes no lock: a writer announces itself in the active slot's
 *   inflight count, re-checks that the slot is still active, reserves space with one
 *   fetch_add, copies the record, publishes its entry word with a release store and leaves.
 *   A signal handler that records while its thread is mid-record simply reserves other bytes.
 * - Flushing is owned by whoever wins the `flushing` flag with a compare-and-swap; everyone
 *   else (another thread, a signal handler on the flushing thread, the exit path) skips and
 *   counts the skip. Nothing ever waits for the flag, so nothing can deadlock on it.
 * - A slot is compressed only when it is sealed (no longer active) and its inflight count is
 *   0; the seq_cst pair "inflight++ then re-check active" / "switch active then read
 *   inflight" guarantees no writer is still copying into it.
 * - Cancellation is disabled across file operations (open, pwrite, close are cancellation
 *   points), so a cancelled thread never leaves the flag held.
 * - fork: the child drops the parent's mapping (replaces it with private zero pages, so even
 *   an interrupted copy in the child lands nowhere) and creates its own file lazily.
 */
struct writer {
	struct ap_seg_header *seg; /* published with release; NULL until the first record */
	int seg_private;	   /* the segment is anonymous memory (file could not be mapped) */
	atomic_int creating;	   /* one thread creates the segment */
	atomic_int flushing;	   /* the flush flag (try-only) */
	atomic_int final_started;
	int file_state;	     /* 0 none, 1 created with a segment, 2 created without, -1 refused */
	int proc_written;    /* the process record is in a segment */
	int compacted;	     /* the final flush replaced the file by its compact copy */
	int hdr_written;     /* the file header is on disk (files without a mapped segment) */
	int record_only;     /* the private segment was made for nothing but start and end */
	int to_proclog;	     /* this flush offers its one frame to the process log first */
	int quiet_seg_used;  /* quiet_seg (below) has been handed out */
	uint64_t frames_end; /* file offset for the next frame (mirrors seg->frames_end) */
	dev_t dev;	     /* identity of our file, checked at every reopen */
	ino_t ino;
	int last_err;	 /* errno of the last failed write, 0 after a success */
	ZSTD_CCtx *cctx; /* created at the first compressed flush */
	uint8_t *stage, *zout;
	size_t zout_cap;
	atomic_uint_fast64_t flush_skipped; /* flush points skipped because a flush was running */
	atomic_uint_fast64_t write_failures;
	atomic_int warned_write;
};

static struct writer w;

/* Identity captured at init (exe, argv), reused for every process-start record. */
static struct ap_record proc_rec;

static void *map_anon(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n = 0, r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)n < cap && (r = AP_REAL(read)(fd, buf + n, cap - (size_t)n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += r;
		if ((size_t)n < cap)
			break; /* procfs gives what it has in one read: short is the end (no read
				  for 0) */
	}
	AP_REAL(close)(fd);
	return n;
}

/* The constructor's argv laid out as /proc/self/cmdline has it (each argument and its NUL),
 * cut at cap bytes as a read of cap bytes would cut it. */
static ssize_t argv_bytes(char *out, size_t cap)
{
	size_t o = 0;

	for (int i = 0; i < ap_rt.init_argc && ap_rt.init_argv[i] && o < cap; i++) {
		size_t len = strlen(ap_rt.init_argv[i]) + 1, k = len < cap - o ? len : cap - o;

		memcpy(out + o, ap_rt.init_argv[i], k);
		o += k;
	}
	return (ssize_t)o;
}

/* Fill proc_rec with exe and argv (secrets redacted), read at init. */
static void capture_identity(void)
{
	struct ap_process *p = &proc_rec.u.process;
	char cmd[AP_STR_ARGV];
	ssize_t n, i;
	size_t o = 0;
	int prev_secret = 0;

	ap_record_init(&proc_rec, AP_REC_PROCESS);
	n = syscall(SYS_readlink, "/proc/self/exe", p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = 0;
	n = ap_rt.init_argv ? argv_bytes(cmd, sizeof(cmd) - 1)
			    : read_file("/proc/self/cmdline", cmd, sizeof(cmd) - 1);
	for (i = 0; n > 0 && i < n;) {
		char arg[AP_STR_ARGV];
		size_t len = strnlen(cmd + i, (size_t)(n - i));

		ap_strlcpy(arg, cmd + i, len + 1 < sizeof(arg) ? len + 1 : sizeof(arg));
		prev_secret = ap_redact_arg(arg, sizeof(arg), prev_secret);
		len = strlen(arg);
		if (o + len + 1 > sizeof(p->argv))
			break;
		memcpy(p->argv + o, arg, len + 1);
		o += len + 1;
		p->argc++;
		i += (ssize_t)strnlen(cmd + i, (size_t)(n - i)) + 1;
	}
	ap_strlcpy(p->agent, ap_rt.cfg.agent, sizeof(p->agent));
	p->sample_ppm = ap_rt.cfg.sample_ppm;
	p->format_version = AP_FORMAT_VERSION;
	ap_strlcpy(p->tool_version, AP_VERSION_STRING, sizeof(p->tool_version));
}

void ap_writer_init(void)
{
	capture_identity();
	ap_rt.writer_ok = 1;
}

/* The staging and output buffers of a flush: static zero storage, so a page costs a fault only
 * when a flush first writes it, and no mmap call (a short process flushes once, at exit).
 * Called with the flush flag held. */
static uint8_t stage_buf[STAGE_BYTES] AP_COLD_BSS __attribute__((aligned(64)));
static uint8_t zout_buf[ZSTD_COMPRESSBOUND(STAGE_BYTES)] AP_COLD_BSS __attribute__((aligned(64)));

static int ensure_buffers(void)
{
	w.stage = stage_buf;
	w.zout = zout_buf;
	w.zout_cap = sizeof(zout_buf);
	return 0;
}

static int ensure_compressor(void)
{
	size_t ws;
	void *m;

	if (w.cctx)
		return 0;
	ws = ZSTD_estimateCCtxSize(AP_ZLEVEL);
	m = map_anon(ws);
	if (!m)
		return -1;
	w.cctx = ZSTD_initStaticCCtx(m, ws);
	if (!w.cctx) {
		ap_unmap_raw(m, ws);
		return -1;
	}
	ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_compressionLevel, AP_ZLEVEL);
	ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_checksumFlag, 1);
	return 0;
}

/* --- the file --------------------------------------------------------------------------------- */

static void prog_name(char *out, size_t cap)
{
	const char *s = program_invocation_short_name;
	size_t o = 0;

	for (; s && *s && o + 1 < cap && o < 64; s++)
		out[o++] = (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
						  (*s >= '0' && *s <= '9') || *s == '-' ||
						  *s == '_' || *s == '.'
					  ? *s
					  : '_');
	if (!o)
		out[o++] = 'x';
	out[o] = 0;
}

/* Why a directory is unsafe for our files, or NULL: another non-root user owns it, or someone
 * other than its owner may create or replace entries in it (sticky bit or not). */
static const char *dir_risk(const struct stat *st)
{
	uid_t me = geteuid();

	if (st->st_uid != me && st->st_uid != 0)
		return "it is owned by another user";
	if (st->st_mode & S_IWOTH)
		return "it is world-writable";
	if (st->st_mode & S_IWGRP)
		return "its group can write to it";
	return NULL;
}

/* 1 if our files may be created in dir. A risky directory is refused unless the user named it
 * a second time, in AGENTPROF_UNSAFE_OUT: then it is used, with a warning. */
static int dir_is_safe(const char *dir)
{
	struct stat st;
	const char *risk;

	if (stat(dir, &st) < 0) {
		ap_warn("output directory %s: %s; nothing will be recorded", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		ap_warn("output directory %s is not a directory; nothing will be recorded", dir);
		return 0;
	}
	risk = dir_risk(&st);
	if (!risk)
		return 1;
	if (!ap_rt.cfg.out_explicit) {
		ap_warn("refusing output directory %s: %s (another user could read or replace our "
			"files); use a private directory, or set AGENTPROF_UNSAFE_OUT to this same "
			"path "
			"to accept the risk; nothing will be recorded",
			dir, risk);
		return 0;
	}
	ap_warn("warning: output directory %s is unsafe: %s; using it because AGENTPROF_UNSAFE_OUT "
		"names it",
		dir, risk);
	return 1;
}

static int transient(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOSPC || err == EDQUOT || err == EINTR ||
	       err == EAGAIN || err == ENOMEM || err == EIO;
}

static void warn_write(const char *what, int err)
{
	if (atomic_exchange(&w.warned_write, 1))
		return;
	ap_warn("%s %s: %s; records stay buffered and the next flush retries", what,
		ap_rt.file_path[0] ? ap_rt.file_path : ap_rt.cfg.out_dir, strerror(err));
}

/* Stop writing to our file for good (refused directory, swapped file), saying why once. */
static void refuse_file(const char *why)
{
	if (w.file_state >= 0)
		ap_warn("%s: %s; recording stops", ap_rt.file_path[0] ? ap_rt.file_path : "output",
			why);
	w.file_state = -1;
}

/* Create the per-process file (0600, O_EXCL|O_NOFOLLOW|O_NONBLOCK). -1 with errno set. */
static int create_file(void)
{
	char prog[72];
	struct stat st;
	int fd = -1;

	prog_name(prog, sizeof(prog));
	for (int attempt = 0; attempt < 10; attempt++) {
		if (attempt)
			snprintf(ap_rt.file_path, sizeof(ap_rt.file_path),
				 "%s/agentprof.%s.%d.%d.zst", ap_rt.cfg.out_dir, prog,
				 (int)ap_rt.pid, attempt);
		else
			snprintf(ap_rt.file_path, sizeof(ap_rt.file_path), "%s/agentprof.%s.%d.zst",
				 ap_rt.cfg.out_dir, prog, (int)ap_rt.pid);
		fd = open(ap_rt.file_path,
			  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int err = errno;

		ap_rt.file_path[0] = 0;
		errno = err;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		int err = errno;

		AP_REAL(close)(fd);
		errno = err;
		return -1;
	}
	w.dev = st.st_dev;
	w.ino = st.st_ino;
	return fd;
}

/* Reopen our file by path and check it is still the one we created: same inode, a regular
 * file, ours. -1 on failure; a mismatch also stops recording there. */
static int reopen_file(void)
{
	struct stat st;
	int fd = open(ap_rt.file_path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (!transient(errno)) {
			char why[128];

			snprintf(why, sizeof(why),
				 "cannot reopen our file (%s): it was removed or replaced",
				 strerror(errno));
			refuse_file(why);
		}
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != w.dev ||
	    st.st_ino != w.ino || st.st_uid != geteuid()) {
		AP_REAL(close)(fd);
		refuse_file("the file was replaced by another (inode, type or owner changed)");
		return -1;
	}
	return fd;
}

/*
 * 1 if a file may grow to end bytes under RLIMIT_FSIZE. Past the limit the kernel does not just
 * fail the write: it sends SIGXFSZ, whose default action kills the host. So nothing of ours is
 * written beyond it (the write fails with EFBIG and the records stay buffered, as after any
 * write error). The limit is read at every write: the host may lower it while it runs.
 */
static int fsize_allows(uint64_t end)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	       end <= (uint64_t)rl.rlim_cur;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	if (!fsize_allows(off + n)) {
		errno = EFBIG;
		return -1;
	}
	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ENOSPC;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* --- the segment ------------------------------------------------------------------------------ */

static uint8_t *slot_data(struct ap_seg_header *h, uint32_t s)
{
	return (uint8_t *)h + AP_SEG_HDR_BYTES + (size_t)s * AP_SEG_SLOT_BYTES;
}

static void seg_format(struct ap_seg_header *h)
{
	ap_encode_file_header(h->file_header, sizeof(h->file_header));
	h->skip_magic = AP_SEG_SKIP_MAGIC;
	h->skip_size = AP_SEG_BYTES - AP_HEADER_SIZE - 8;
	memcpy(h->magic, AP_SEG_MAGIC, 8);
	h->slots = AP_SEG_SLOTS;
	h->slot_bytes = AP_SEG_SLOT_BYTES;
	h->data_off = AP_SEG_HDR_BYTES;
	h->active = 0;
	h->slot[0].state = AP_SLOT_ACTIVE;
	h->frames_end = AP_SEG_BYTES;
}

/* Seal slot s (full, or being flushed) by making a free slot active. 2 if this call sealed
 * it, 1 if another thread did, 0 if no slot is free. */
static int seg_rotate(struct ap_seg_header *h, uint32_t s)
{
	if (__atomic_load_n(&h->active, __ATOMIC_SEQ_CST) != s)
		return 1;
	for (uint32_t i = 1; i < AP_SEG_SLOTS; i++) {
		uint32_t t = (s + i) % AP_SEG_SLOTS, free_state = AP_SLOT_FREE;
		uint32_t expect = s;

		if (!__atomic_compare_exchange_n(&h->slot[t].state, &free_state, AP_SLOT_ACTIVE, 0,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		if (__atomic_compare_exchange_n(&h->active, &expect, t, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			__atomic_store_n(&h->slot[s].state, AP_SLOT_SEALED, __ATOMIC_SEQ_CST);
			return 2;
		}
		__atomic_store_n(&h->slot[t].state, AP_SLOT_FREE, __ATOMIC_SEQ_CST);
		return 1;
	}
	return 0;
}

/* Copy one encoded record into the active slot. 0 when stored (durable if the segment is the
 * file's), -1 when every slot is full. *sealed: this call sealed a full slot on the way.
 * Lock-free; safe in a signal handler. */
static int seg_put_once(struct ap_seg_header *h, const uint8_t *p, uint32_t len, int *full,
			int *sealed)
{
	uint32_t need = ap_seg_entry_size(len);

	*full = 0;
	for (int tries = 0; tries < 16; tries++) {
		uint32_t s = __atomic_load_n(&h->active, __ATOMIC_SEQ_CST);
		struct ap_seg_slot *sl = &h->slot[s % AP_SEG_SLOTS];
		uint64_t off;

		__atomic_fetch_add(&sl->inflight, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&h->active, __ATOMIC_SEQ_CST) != s) {
			__atomic_fetch_sub(&sl->inflight, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		off = __atomic_fetch_add(&sl->cursor, need, __ATOMIC_RELAXED);
		if (off + need <= AP_SEG_SLOT_BYTES) {
			uint8_t *d = slot_data(h, s % AP_SEG_SLOTS) + off;

			memcpy(d + 8, p, len);
			__atomic_store_n((uint64_t *)d, ap_seg_entry_word(len), __ATOMIC_RELEASE);
			__atomic_fetch_sub(&sl->inflight, 1, __ATOMIC_RELEASE);
			return 0;
		}
		__atomic_fetch_sub(&sl->inflight, 1, __ATOMIC_RELEASE);
		switch (seg_rotate(h, s)) {
		case 0:
			*full = 1;
			return -1;
		case 2:
			*sealed = 1;
			break;
		}
	}
	return -1;
}

static void flush_now(int final);
static void flush_try(int final, int seal_active);

/* This thread holds the flush flag (flush_now). */
static __thread int flushing_here;

static int seg_put(struct ap_seg_header *h, const uint8_t *p, uint32_t len)
{
	int full = 0, sealed = 0, old_cancel, err, rc = -1;

	if (seg_put_once(h, p, len, &full, &sealed) == 0) {
		/* A slot just filled: compress it now, while the others take the records (unless
		 * a flush is under way: it takes the sealed slots). Waiting for every slot to fill,
		 * as the writer once did, made 16 busy threads sleep in the loop below while one of
		 * them compressed four slots (650 sleeps in 40,000 exchanges). */
		if (sealed)
			flush_try(0, 0); /* the sealed slots only: the active one just began */
		return 0;
	}
	if (!full)
		return -1;
	flush_now(0); /* every slot is sealed: compress them now if nobody else is */
	full = 0;
	if (seg_put_once(h, p, len, &full, &sealed) == 0)
		return 0;
	/* Another thread is compressing the sealed slots: give it a bounded time (at most 20 ms,
	 * cancellation off) to free one rather than drop the record. Never on the thread that
	 * holds the flush (a signal handler interrupting its own flush): it would wait on itself.
	 */
	if (!full || flushing_here)
		return -1;
	err = errno;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_cancel);
	for (int i = 0; i < 400 && atomic_load(&w.flushing); i++) { /* 50 us steps */
		struct timespec ts = {0, 50000};

		nanosleep(&ts, NULL);
	}
	rc = seg_put_once(h, p, len, &full, &sealed);
	if (rc != 0 && full) { /* the other flush ended without freeing a slot: one try of ours */
		flush_now(0);
		rc = seg_put_once(h, p, len, &full, &sealed);
	}
	pthread_setcancelstate(old_cancel, NULL);
	errno = err;
	return rc;
}

/* Store n encoded bytes (0: the record did not encode) in the segment, or count a drop. */
static int put_bytes(struct ap_seg_header *h, const uint8_t *buf, size_t n)
{
	if (!n || seg_put(h, buf, (uint32_t)n) < 0) {
		atomic_fetch_add(&ap_rt.dropped, 1);
		return -1;
	}
	return 0;
}

static int put_record(struct ap_seg_header *h, const struct ap_record *r)
{
	uint8_t buf[AP_SEG_ENTRY_MAX];

	return put_bytes(h, buf, ap_encode(buf, sizeof(buf), r));
}

static void fill_process_record(void)
{
	struct ap_process *p = &proc_rec.u.process;

	p->pid = ap_rt.pid;
	p->ppid = ap_rt.ppid;
	p->start_ns = ap_rt.start_ns;
	p->start_real_ns = ap_now_real() - (ap_now() - ap_rt.start_ns);
}

/* Map the file we created (or created before a host unmapped it) as the live segment. */
static struct ap_seg_header *map_file(int fd, int fresh)
{
	void *p;

	if (fresh) {
		int e = fsize_allows(AP_SEG_BYTES) ? posix_fallocate(fd, 0, AP_SEG_BYTES) : EFBIG;
		/* fallocate blocks now: no SIGBUS later */
		if (e) {
			errno = e;
			return NULL;
		}
	}
	p = mmap(NULL, AP_SEG_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* no read-ahead: a fault on the segment would otherwise put the next 32 pages or so of
	 * the (unwritten, fallocated) file into the page cache, zeroing each, though only the
	 * page written is mapped; a short process writes one or two pages */
	madvise(p, AP_SEG_BYTES, MADV_RANDOM);
	return p;
}

/* The private segment of a process that ends with nothing but its start and end records: zero
 * pages of our own, faulted in only where the records land. */
static uint8_t quiet_seg[AP_SEG_BYTES] AP_COLD_BSS __attribute__((aligned(4096)));

/* Create the segment: the file's own (durable) when possible, private memory otherwise (the
 * file is then written by flushes only). want_file 0: private straight away (a process that
 * only has its start and end to write). Called by the one thread that won w.creating. */
static struct ap_seg_header *seg_create(int want_file)
{
	struct ap_seg_header *h = NULL;
	int fd = -1, err = 0;

	if (w.file_state == 1 && ap_rt.file_path[0]) { /* a host unmapped it: map it again */
		fd = reopen_file();
		if (fd < 0)
			return NULL;
		h = map_file(fd, 0);
		AP_REAL(close)(fd);
		return h;
	}
	if (want_file && w.file_state == 0) {
		if (!dir_is_safe(ap_rt.cfg.out_dir)) {
			w.file_state = -1;
			return NULL;
		}
		fd = create_file();
		if (fd < 0) {
			err = errno;
			if (!transient(err)) {
				ap_warn("cannot create a file in %s: %s; nothing will be recorded",
					ap_rt.cfg.out_dir, strerror(err));
				w.file_state = -1;
				return NULL;
			}
			w.last_err = err; /* the file written later says so ("writing resumed") */
			warn_write("cannot create a file in", err);
		} else {
			h = map_file(fd, 1);
			if (h) {
				w.file_state = 1;
				w.frames_end = AP_SEG_BYTES;
			} else {
				err = errno;
				w.file_state = 2; /* frames only, written after the header */
				w.frames_end = AP_HEADER_SIZE;
				warn_write("cannot map", err);
			}
			AP_REAL(close)(fd);
		}
	}
	if (!h) {
		w.record_only = !want_file && w.file_state == 0;
		if (w.record_only && !w.quiet_seg_used) {
			/* static storage: no system call for a quiet process */
			w.quiet_seg_used = 1;
			h = (struct ap_seg_header *)quiet_seg;
		} else {
			h = map_anon(AP_SEG_BYTES);
		}
		if (!h)
			return NULL;
		w.seg_private = 1;
	}
	seg_format(h);
	if (!w.proc_written) {
		w.proc_written = 1;
		fill_process_record();
		put_record(h, &proc_rec);
	}
	return h;
}

/*
 * Another thread creates the segment (it creates, reserves and maps the file: well under a
 * millisecond, tens of them under a sanitizer or valgrind): wait for it, at most 2 s, with
 * cancellation off (nanosleep is a cancellation point). The wait used to be 2,000 sched_yield
 * calls, shorter than a creation under ThreadSanitizer: a thread's first record then counted
 * as a drop, and a finished exchange was lost (2 runs in 100 of 4 threads starting at once).
 */
static struct ap_seg_header *seg_wait(void)
{
	struct ap_seg_header *h = NULL;
	int old_cancel, err = errno;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_cancel);
	for (int i = 0; i < 40000; i++) { /* 50 us steps after the first yields */
		struct timespec ts = {0, 50000};

		h = __atomic_load_n(&w.seg, __ATOMIC_ACQUIRE);
		if (h || !atomic_load(&w.creating))
			break;
		if (i < 64)
			sched_yield();
		else
			nanosleep(&ts, NULL);
	}
	pthread_setcancelstate(old_cancel, NULL);
	errno = err;
	return h;
}

/* The live segment, created on first use. NULL when recording is off or memory is short. */
static struct ap_seg_header *seg_get(int want_file)
{
	struct ap_seg_header *h = __atomic_load_n(&w.seg, __ATOMIC_ACQUIRE);
	int me, expect = 0, old_cancel, err;

	if (AP_LIKELY(h != NULL))
		return h;
	if (w.file_state < 0)
		return NULL;
	me = (int)ap_gettid();
	if (!atomic_compare_exchange_strong(&w.creating, &expect, me)) {
		if (expect == me) /* a signal handler interrupting our own creation: it gives up */
			return NULL;
		return seg_wait();
	}
	err = errno;
	ap_tls.guard++;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_cancel);
	h = seg_create(want_file);
	__atomic_store_n(&w.seg, h, __ATOMIC_RELEASE);
	atomic_store(&w.creating, 0);
	pthread_setcancelstate(old_cancel, NULL);
	ap_tls.guard--;
	errno = err;
	return h;
}

/* A host unmapped memory covering our segment: forget the mapping (the next record maps the
 * file again; its state lives in the file). */
void ap_writer_unmapped(const void *addr, size_t len)
{
	struct ap_seg_header *h = __atomic_load_n(&w.seg, __ATOMIC_ACQUIRE);
	uintptr_t a = (uintptr_t)addr, b = (uintptr_t)h;

	if (!h || a >= b + AP_SEG_BYTES || a + len <= b)
		return;
	if (w.seg_private)
		atomic_fetch_add(&ap_rt.dropped, 1); /* its unflushed records are gone */
	__atomic_store_n(&w.seg, NULL, __ATOMIC_RELEASE);
}

/* --- flushing --------------------------------------------------------------------------------- */

/* Gather slot s's committed records into w.stage. Returns the bytes staged. */
static size_t stage_slot(struct ap_seg_header *h, uint32_t s)
{
	uint64_t used = __atomic_load_n(&h->slot[s].cursor, __ATOMIC_ACQUIRE);
	const uint8_t *d = slot_data(h, s);
	size_t o = 0, n = 0;

	if (used > AP_SEG_SLOT_BYTES)
		used = AP_SEG_SLOT_BYTES;
	while (o + 8 <= used) {
		uint64_t word = __atomic_load_n((const uint64_t *)(d + o), __ATOMIC_ACQUIRE);
		uint32_t len = (uint32_t)word;

		if (!word || word != ap_seg_entry_word(len) || len > AP_SEG_ENTRY_MAX ||
		    o + ap_seg_entry_size(len) > used) {
			o += 8; /* a reservation never committed (its writer died): skip */
			continue;
		}
		memcpy(w.stage + n, d + o + 8, len);
		n += len;
		o += ap_seg_entry_size(len);
	}
	return n;
}

/* From the zstd archive linked in (its xxhash, namespaced ZSTD_). */
unsigned long long ZSTD_XXH64(const void *input, size_t length, unsigned long long seed);

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * n <= RAW_FRAME_MAX staged bytes as a zstd frame of one raw (stored) block with the content
 * checksum, in w.zout: what a short process writes at exit, or a flush point that found only
 * a few records. Compressing a few hundred bytes
 * would cost the compressor's set-up (a 1.3 MB context, its page faults, ~50k instructions)
 * for almost no saving; any zstd decoder reads the stored block.
 */
#define RAW_FRAME_MAX 4096u
static size_t raw_frame(size_t n, const uint8_t **out)
{
	uint8_t *p = w.zout;
	uint32_t block = (uint32_t)n << 3 | 1u; /* last block, type raw, size n */

	put_le32(p, 0xFD2FB528u);
	p[4] = 0xA4; /* 4-byte content size, single segment, content checksum */
	put_le32(p + 5, (uint32_t)n);
	p[9] = (uint8_t)block;
	p[10] = (uint8_t)(block >> 8);
	p[11] = (uint8_t)(block >> 16);
	memcpy(p + 12, w.stage, n);
	put_le32(p + 12 + n, (uint32_t)ZSTD_XXH64(w.stage, n, 0));
	*out = w.zout;
	return n + 16;
}

/* Compress n staged bytes into one zstd frame with a content checksum, in w.zout. */
static size_t make_frame(size_t n, const uint8_t **out)
{
	size_t z;

	if (n <= RAW_FRAME_MAX)
		return raw_frame(n, out);
	if (ensure_compressor() < 0)
		return 0;
	ZSTD_CCtx_reset(w.cctx, ZSTD_reset_session_only);
	z = ZSTD_compress2(w.cctx, w.zout, w.zout_cap, w.stage, n);
	if (ZSTD_isError(z))
		return 0;
	*out = w.zout;
	return z;
}

/* Make sure the file exists and fd is open on it. 0 on success. */
static int open_for_flush(int *fd)
{
	if (*fd >= 0)
		return 0;
	if (w.file_state < 0)
		return -1;
	if (w.file_state == 0) { /* the earlier attempt failed transiently: try again */
		if (!dir_is_safe(ap_rt.cfg.out_dir)) {
			w.file_state = -1;
			return -1;
		}
		*fd = create_file();
		if (*fd < 0) {
			if (!transient(errno)) {
				refuse_file(strerror(errno));
				return -1;
			}
			w.last_err = errno;
			warn_write("cannot create a file in", errno);
			return -1;
		}
		w.file_state = 2;
		w.frames_end = AP_HEADER_SIZE;
		w.hdr_written = 0;
	} else {
		*fd = reopen_file();
		if (*fd < 0) {
			w.last_err = errno;
			return -1;
		}
	}
	if (w.file_state == 2 && !w.hdr_written) {
		uint8_t hdr[AP_HEADER_SIZE];

		ap_encode_file_header(hdr, sizeof(hdr));
		if (pwrite_all(*fd, hdr, sizeof(hdr), 0) < 0) {
			w.last_err = errno;
			warn_write("cannot write", errno);
			if (ftruncate(*fd, 0)) {
			}
			return -1;
		}
		w.hdr_written = 1;
	}
	return 0;
}

static int put_record(struct ap_seg_header *h, const struct ap_record *r);

static void diag_into(struct ap_seg_header *h, unsigned code, const char *msg)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_DIAG);
	r.u.diag.code = code;
	r.u.diag.time_ns = ap_now();
	ap_strlcpy(r.u.diag.msg, msg, sizeof(r.u.diag.msg));
	put_record(h, &r);
}

/*
 * The process log: a process that ends with nothing but its start and end records (a shell's
 * /bin/true, a helper that never touched the network) appends them to one shared file,
 * agentprof.procs.zst, instead of creating a file of its own. Creating an inode can cost more
 * than the whole fork+exec of a short program (130-180 us of CPU per file when a loop creates
 * them into one ext4 directory here; it depends on the directory), against about 3 us for this
 * append, and a shell loop would leave a file per iteration. Each unit is a file header and one
 * frame, written with one O_APPEND writev, so concurrent appenders never interleave and the file
 * stays a sequence of whole units (docs/FORMAT.md "The process log"). A log that is not a plain
 * private file of ours, or has grown past PROCLOG_MAX, is left alone: the process writes its own
 * file.
 */
#define PROCLOG_NAME "agentprof.procs.zst"
#define PROCLOG_MAX  (256ull << 20)

/* 1 if fd is on a local filesystem whose O_APPEND writes never interleave (the inode is locked
 * for the whole write): ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, F2FS, ZFS. On NFS, SMB or FUSE
 * two clients' appends can overwrite each other, so processes there write their own files. */
static int appends_are_atomic(int fd)
{
	static const long local_fs[] = {0xEF53,	    0x58465342, 0x9123683E, 0x01021994,
					0x794C7630, 0xF2F52010, 0x2FC12FC1};
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(local_fs) / sizeof(local_fs[0]); i++)
		if ((long)sf.f_type == local_fs[i])
			return 1;
	return 0;
}

static int append_proclog(const uint8_t *frame, size_t z)
{
	char path[sizeof(ap_rt.file_path)];
	uint8_t hdr[AP_HEADER_SIZE];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)frame, z}};
	struct stat st;
	ssize_t k;
	int fd;
	size_t dl = strlen(ap_rt.cfg.out_dir);

	/* under a file-size limit an appender cannot know where its unit will land (others append
	 * too), and one that starts at the limit is killed by SIGXFSZ: our own file instead. The
	 * path is put together by hand: snprintf's text pages are page faults a short process
	 * pays for at exit */
	if (!fsize_allows(UINT64_MAX) || dl + sizeof("/" PROCLOG_NAME) > sizeof(path))
		return -1;
	memcpy(path, ap_rt.cfg.out_dir, dl);
	memcpy(path + dl, "/" PROCLOG_NAME, sizeof("/" PROCLOG_NAME));
	fd = open(path,
		  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || (st.st_mode & (S_IRWXG | S_IRWXO)) ||
	    (uint64_t)st.st_size > PROCLOG_MAX || !appends_are_atomic(fd)) {
		AP_REAL(close)(fd);
		return -1;
	}
	ap_encode_file_header(hdr, sizeof(hdr));
	k = AP_REAL(writev)(fd, iov, 2);
	AP_REAL(close)(fd);
	if (k != (ssize_t)(sizeof(hdr) + z))
		return -1; /* a short unit is damage the reader skips; our own file gets them all */
	ap_strlcpy(ap_rt.file_path, path, sizeof(ap_rt.file_path));
	return 0;
}

/* Write one slot as a frame and empty it. 0 on success, -1 to stop this flush. */
static int flush_slot(struct ap_seg_header *h, uint32_t s, int *fd)
{
	struct ap_seg_slot *sl = &h->slot[s];
	uint64_t gen = __atomic_load_n(&sl->gen, __ATOMIC_ACQUIRE);
	uint64_t used = __atomic_load_n(&sl->cursor, __ATOMIC_ACQUIRE);
	const uint8_t *frame = NULL;
	size_t n, z;
	int shared = !w.seg_private;

	if (used) {
		if (ensure_buffers() < 0)
			return -1;
		n = stage_slot(h, s);
		z = n ? make_frame(n, &frame) : 0;
		if (n && !z)
			return -1; /* no memory for the compressor: keep the slot */
		if (z && w.to_proclog) {
			if (!dir_is_safe(ap_rt.cfg.out_dir)) {
				w.file_state = -1;
				return -1;
			}
			if (append_proclog(frame, z) == 0) {
				w.file_state = -1; /* a record racing the end is dropped, never
						      written to a file without its process */
				z = 0;		   /* written */
			}
		}
		if (z) {
			if (open_for_flush(fd) < 0)
				return -1;
			if (shared) {
				h->pending_slot = s;
				h->pending_gen = gen;
				__atomic_store_n(&h->pending_off, w.frames_end, __ATOMIC_RELEASE);
			}
			if (pwrite_all(*fd, frame, z, w.frames_end) < 0) {
				int err = errno;

				/* cut a partial frame back to the last good offset */
				if (ftruncate(*fd, (off_t)w.frames_end)) {
				}
				__atomic_store_n(&h->pending_off, 0, __ATOMIC_RELEASE);
				atomic_fetch_add(&w.write_failures, 1);
				w.last_err = err;
				warn_write("cannot write", err);
				return -1;
			}
			w.frames_end += z;
			if (shared)
				__atomic_store_n(&h->frames_end, w.frames_end, __ATOMIC_RELEASE);
			if (w.last_err) {
				char msg[160];

				snprintf(msg, sizeof(msg),
					 "writing resumed after a failure (%s); records were kept",
					 strerror(w.last_err));
				w.last_err = 0;
				atomic_store(&w.warned_write, 0);
				diag_into(h, AP_DIAG_OUTPUT, msg);
			}
		}
		memset(slot_data(h, s), 0, used > AP_SEG_SLOT_BYTES ? AP_SEG_SLOT_BYTES : used);
		__atomic_store_n(&sl->cursor, 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&sl->gen, gen + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sl->state, AP_SLOT_FREE, __ATOMIC_SEQ_CST);
	if (shared)
		__atomic_store_n(&h->pending_off, 0, __ATOMIC_RELEASE);
	return 0;
}

/* Counters at flush points: resident set size and CPU time. The last flush takes the peak
 * resident set size from the getrusage it makes anyway when this image raised the peak (then
 * it is this image's own), instead of sampling statm (three system calls that cost a short
 * process more than everything else it records); a peak inherited across exec or fork (a big
 * parent's, under vfork or posix_spawn) is not ours, and statm is sampled as at other flushes. */
static void counters(struct ap_seg_header *h, int64_t now, int final)
{
	struct ap_record r;
	struct rusage ru;
	char statm[128];
	ssize_t n = 0;
	int have_ru = getrusage(RUSAGE_SELF, &ru) == 0;
	int own_peak = final && have_ru && ru.ru_maxrss > ap_rt.maxrss_base;

	if (!own_peak)
		n = read_file("/proc/self/statm", statm, sizeof(statm) - 1);
	if (n > 0) {
		const char *q = statm;
		long rss = 0;
		int digits = 0;

		statm[n] = 0;
		/* "size resident ...": the second field, in pages (no sscanf: at a short process's
		 * exit its text pages are page faults that cost more than the parse) */
		while (*q >= '0' && *q <= '9')
			q++;
		for (q += *q == ' '; *q >= '0' && *q <= '9'; q++, digits++)
			rss = rss * 10 + (*q - '0');
		if (digits && digits < 19) {
			ap_record_init(&r, AP_REC_COUNTER);
			r.u.counter.kind = AP_CNT_RSS_BYTES;
			r.u.counter.time_ns = now;
			r.u.counter.value = (int64_t)rss * sysconf(_SC_PAGESIZE);
			put_record(h, &r);
		}
	}
	if (have_ru) {
		ap_record_init(&r, AP_REC_COUNTER);
		r.u.counter.kind = AP_CNT_CPU_USER_NS;
		r.u.counter.time_ns = now;
		r.u.counter.value =
			ru.ru_utime.tv_sec * 1000000000ll + ru.ru_utime.tv_usec * 1000ll;
		put_record(h, &r);
		r.u.counter.kind = AP_CNT_CPU_SYS_NS;
		r.u.counter.value =
			ru.ru_stime.tv_sec * 1000000000ll + ru.ru_stime.tv_usec * 1000ll;
		put_record(h, &r);
		if (own_peak) {
			r.u.counter.kind = AP_CNT_PEAK_RSS_BYTES;
			r.u.counter.value = (int64_t)ru.ru_maxrss * 1024; /* KiB on Linux */
			put_record(h, &r);
		}
	}
}

/* Diagnostics that vfork children left in the mailbox (see rt.h). */
static void vfork_notes(struct ap_seg_header *h, int64_t now)
{
	for (int i = 0; i < AP_VFORK_NOTES; i++) {
		struct ap_vfork_note *n = &ap_vfork_notes[i];
		struct ap_record r;

		if (atomic_load(&n->state) != 2)
			continue;
		ap_record_init(&r, AP_REC_DIAG);
		r.u.diag.code = AP_DIAG_STATIC_CHILD;
		r.u.diag.time_ns = now;
		snprintf(r.u.diag.msg, sizeof(r.u.diag.msg), "not profiled: %s: %.200s",
			 n->kind == 1 ? "static binary" : "set-user-ID binary", n->path);
		put_record(h, &r);
		atomic_store(&n->state, 0);
	}
}

/* 1 if no slot holds a record (everything is in frames). */
static int seg_empty(struct ap_seg_header *h)
{
	for (uint32_t s = 0; s < AP_SEG_SLOTS; s++)
		if (__atomic_load_n(&h->slot[s].cursor, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&h->slot[s].inflight, __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

/*
 * At exit, once every record is in a frame, the live segment is dead weight (half a megabyte
 * at the front of the file). The frames are copied behind a fresh header in a new file, which
 * then replaces ours with rename(): a kill at any instant leaves either the old file (segment
 * and frames, complete) or the new one, never a mix. Any failure keeps the old file.
 */
static void compact_file(void)
{
	char tmp[sizeof(ap_rt.file_path) + 32];
	uint8_t hdr[AP_HEADER_SIZE];
	const char *slash = strrchr(ap_rt.file_path, '/');
	uint64_t in = AP_SEG_BYTES, out = AP_HEADER_SIZE, left = w.frames_end - AP_SEG_BYTES;
	int src, dst, ok = 1;

	if (!slash || w.frames_end < AP_SEG_BYTES)
		return;
	snprintf(tmp, sizeof(tmp), "%.*s/.agentprof.%d.compact", (int)(slash - ap_rt.file_path),
		 ap_rt.file_path, (int)ap_rt.pid);
	src = reopen_file();
	if (src < 0)
		return;
	dst = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (dst < 0) {
		AP_REAL(close)(src);
		return;
	}
	ap_encode_file_header(hdr, sizeof(hdr));
	ok = pwrite_all(dst, hdr, sizeof(hdr), 0) == 0;
	while (ok && left) {
		loff_t i = (loff_t)in, o = (loff_t)out;
		ssize_t k = copy_file_range(src, &i, dst, &o, left, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			ok = 0;
			break;
		}
		in += (uint64_t)k;
		out += (uint64_t)k;
		left -= (uint64_t)k;
	}
	AP_REAL(close)(src);
	AP_REAL(close)(dst);
	if (ok && rename(tmp, ap_rt.file_path) == 0) {
		w.compacted =
			1; /* the mapping now belongs to a removed inode: write nothing more */
		return;
	}
	unlink(tmp);
}

/* How many slots hold records. */
static int used_slots(struct ap_seg_header *h)
{
	int n = 0;

	for (uint32_t s = 0; s < AP_SEG_SLOTS; s++)
		n += __atomic_load_n(&h->slot[s].cursor, __ATOMIC_ACQUIRE) != 0;
	return n;
}

/* The flush itself; the caller holds the flush flag. seal_active: seal the active slot first
 * if it holds records (a timed or final flush), not when a writer has just sealed a full slot
 * (its successor holds a record or two: sealing it too made a tiny frame every time). */
static void flush_held(int final, int seal_active)
{
	struct ap_seg_header *h = __atomic_load_n(&w.seg, __ATOMIC_ACQUIRE);
	int64_t now = ap_now();
	int fd = -1;
	uint32_t act;

	if (!h || w.compacted)
		return;
	vfork_notes(h, now);
	if (final ||
	    (!w.last_err && now - atomic_load(&ap_rt.last_counters_ns) >= ap_rt.cfg.flush_ns)) {
		atomic_store(&ap_rt.last_counters_ns, now);
		counters(h, now, final);
	}
	if (final && (atomic_load(&ap_rt.dropped) || w.last_err)) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%llu records dropped (buffer full or no output)%s%s",
			 (unsigned long long)atomic_load(&ap_rt.dropped),
			 w.last_err ? "; last write error: " : "",
			 w.last_err ? strerror(w.last_err) : "");
		diag_into(h, AP_DIAG_DROPS, msg);
	}
	act = __atomic_load_n(&h->active, __ATOMIC_SEQ_CST);
	if (seal_active && __atomic_load_n(&h->slot[act].cursor, __ATOMIC_ACQUIRE))
		seg_rotate(h, act); /* seal what the active slot holds (if a slot is free) */
	w.to_proclog = final == 2 && w.record_only && w.file_state == 0 && !w.last_err &&
		       used_slots(h) == 1;
	for (uint32_t i = 1; i <= AP_SEG_SLOTS; i++) {
		uint32_t s = (act + i) % AP_SEG_SLOTS;

		if (__atomic_load_n(&h->slot[s].state, __ATOMIC_SEQ_CST) != AP_SLOT_SEALED)
			continue;
		if (__atomic_load_n(&h->slot[s].inflight, __ATOMIC_SEQ_CST))
			continue; /* a writer is still copying (or died copying): later */
		if (flush_slot(h, s, &fd) < 0)
			break;
	}
	if (fd >= 0)
		AP_REAL(close)(fd);
	atomic_store(&ap_rt.last_flush_ns, now);
	if (final == 2 && w.file_state == 1 && !w.seg_private && seg_empty(h))
		compact_file();
}

/* Run a flush unless one is running (then skip and count). Never blocks. */
static void flush_try(int final, int seal_active)
{
	int expect = 0, old_cancel, err = errno;

	if (final != 2 && ap_getpid_raw() != ap_rt.pid)
		return; /* vfork child or a clone we were not told about (the final flush has just
			   checked: ap_final_flush) */
	if (!atomic_compare_exchange_strong(&w.flushing, &expect, 1)) {
		atomic_fetch_add(&w.flush_skipped, 1);
		return;
	}
	ap_tls.guard++;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_cancel);
	flushing_here = 1;
	flush_held(final, seal_active);
	flushing_here = 0;
	pthread_setcancelstate(old_cancel, NULL);
	ap_tls.guard--;
	atomic_store(&w.flushing, 0);
	errno = err;
}

static void flush_now(int final)
{
	flush_try(final, 1);
}

void ap_flush(int final)
{
	if (final && !__atomic_load_n(&w.seg, __ATOMIC_ACQUIRE))
		seg_get(0); /* a process with nothing but its start and end: a private segment */
	flush_now(final);
}

void ap_maybe_flush(int64_t now)
{
	if (!__atomic_load_n(&w.seg, __ATOMIC_RELAXED) ||
	    now - atomic_load_explicit(&ap_rt.last_flush_ns, memory_order_relaxed) <
		    ap_rt.cfg.flush_ns)
		return;
	flush_now(0);
}

/* --- records ---------------------------------------------------------------------------------- */

/* Record types a process without tracked I/O still writes; they do not need a mapped file. */
static int needs_file(uint32_t type)
{
	return type != AP_REC_PROCESS_END && type != AP_REC_COUNTER;
}

/* The live segment for a record of this type, or NULL with the record counted as a drop. */
static struct ap_seg_header *seg_for(uint32_t type)
{
	struct ap_seg_header *h = seg_get(needs_file(type));

	if (!h)
		atomic_fetch_add(&ap_rt.dropped, 1);
	return h;
}

void ap_record(const struct ap_record *r)
{
	struct ap_seg_header *h = seg_for(r->type);

	if (h)
		put_record(h, r);
}

void ap_record_exchange(const struct ap_exchange *x)
{
	struct ap_seg_header *h = seg_for(AP_REC_EXCHANGE);
	uint8_t buf[AP_SEG_ENTRY_MAX];

	if (h)
		put_bytes(h, buf, ap_encode_exchange(buf, sizeof(buf), x));
}

int ap_writer_has_file(void)
{
	return __atomic_load_n(&w.seg, __ATOMIC_ACQUIRE) != NULL;
}

void ap_write_process_end(int exit_code, int clean)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROCESS_END);
	r.u.process_end.end_ns = ap_now();
	r.u.process_end.exit_code = exit_code;
	r.u.process_end.dropped = atomic_load(&ap_rt.dropped);
	r.u.process_end.dropped_bytes = atomic_load(&ap_rt.dropped_bytes);
	r.u.process_end.overhead_ns = atomic_load(&ap_rt.overhead_ns);
	r.u.process_end.calls = atomic_load(&ap_rt.calls);
	r.u.process_end.clean = (uint32_t)clean;
	ap_record(&r);
}

void ap_diag(unsigned code, const char *msg)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_DIAG);
	r.u.diag.code = code;
	r.u.diag.time_ns = ap_now();
	ap_strlcpy(r.u.diag.msg, msg, sizeof(r.u.diag.msg));
	ap_record(&r);
}

/* fork child: the parent's segment and file are not ours. Replace the inherited shared
 * mapping with private zero pages (a copy interrupted by the fork lands there harmlessly) and
 * start again lazily. */
void ap_writer_after_fork_child(void)
{
	struct ap_seg_header *h = __atomic_load_n(&w.seg, __ATOMIC_RELAXED);

	if (h && !w.seg_private)
		mmap(h, AP_SEG_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	w.seg = NULL;
	w.seg_private = 0;
	atomic_store(&w.creating, 0);
	atomic_store(&w.flushing, 0);
	atomic_store(&w.final_started, 0);
	atomic_store(&w.warned_write, 0);
	w.file_state = 0;
	w.proc_written = 0;
	w.compacted = 0;
	w.hdr_written = 0;
	w.record_only = 0;
	/* quiet_seg_used stays: if the parent handed quiet_seg out, the child's copy holds the
	 * parent's records (and maybe a copy the fork interrupted); the child maps its own */
	w.last_err = 0;
	ap_rt.file_path[0] = 0;
}

/* 1 the first time it is called: the final flush runs once, whichever exit path comes first. */
int ap_writer_begin_final(void)
{
	return !atomic_exchange(&w.final_started, 1);
}

/*
 * libzstd built with tracing support calls these weak hooks when they are defined. Hidden
 * definitions here bind its calls to no-ops inside the library, so that a host which defines
 * them is never called by our compressor.
 */
__attribute__((visibility("hidden"))) unsigned long long ZSTD_trace_compress_begin(const void *cctx)
{
	return 0;
}

__attribute__((visibility("hidden"))) void ZSTD_trace_compress_end(unsigned long long ctx,
								   const void *trace)
{
}
