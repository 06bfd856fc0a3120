/* rt_writer.c: the bounded record buffer and the span file, one checksummed zstd frame per flush.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "ap_codec.h"
#include "argv_redact.h"
#include "rt.h"
#include "rt_metrics.h"

#define AP_ZLEVEL	  3
#define AP_VERSION_STRING "0.1.0"

/* Compression state: written under ap_rt.lock only. */
static ZSTD_CCtx *cctx;
static uint8_t *zout;
static size_t zout_cap;

/* Identity captured at init (exe, argv), reused for every process-start record. */
static struct ap_record proc_rec;

static void *map(size_t n)
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
	}
	AP_REAL(close)(fd);
	return n;
}

/* Fill proc_rec with exe and argv (secrets redacted), read from /proc at init. */
static void capture_identity(void)
{
	struct ap_process *p = &proc_rec.u.process;
	char cmd[AP_STR_ARGV];
	ssize_t n, i;
	size_t o = 0;
	int prev_secret = 0;

	ap_record_init(&proc_rec, AP_REC_PROCESS);
	n = readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = 0;
	n = read_file("/proc/self/cmdline", cmd, sizeof(cmd) - 1);
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
	size_t ws = ZSTD_estimateCCtxSize(AP_ZLEVEL);
	void *w;

	ap_rt.buf = map(AP_BUF_BYTES);
	zout_cap = ZSTD_compressBound(AP_BUF_BYTES);
	zout = map(zout_cap);
	w = map(ws);
	if (!ap_rt.buf || !zout || !w)
		goto fail;
	cctx = ZSTD_initStaticCCtx(w, ws);
	if (!cctx)
		goto fail;
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, AP_ZLEVEL);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	capture_identity();
	return;
fail:
	ap_warn("cannot allocate the record buffer; profiling is off");
	ap_rt.buf = NULL;
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

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = AP_REAL(write)(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int dir_is_safe(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		ap_warn("output directory %s: %s; nothing will be recorded", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		ap_warn("output directory %s is not a directory; nothing will be recorded", dir);
		return 0;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		ap_warn("output directory %s is world-writable without the sticky bit; refusing it",
			dir);
		return 0;
	}
	return 1;
}

/* Create the per-process file (0600, O_EXCL|O_NOFOLLOW) and write the header frame. */
static int create_file(void)
{
	uint8_t hdr[AP_HEADER_SIZE];
	char prog[72];
	int fd = -1;

	if (!dir_is_safe(ap_rt.cfg.out_dir))
		return -1;
	prog_name(prog, sizeof(prog));
	for (int attempt = 0; attempt < 10; attempt++) {
		if (attempt)
			snprintf(ap_rt.file_path, sizeof(ap_rt.file_path),
				 "%s/agentprof.%s.%d.%d.zst", ap_rt.cfg.out_dir, prog,
				 (int)ap_rt.pid, attempt);
		else
			snprintf(ap_rt.file_path, sizeof(ap_rt.file_path), "%s/agentprof.%s.%d.zst",
				 ap_rt.cfg.out_dir, prog, (int)ap_rt.pid);
		fd = open(ap_rt.file_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		ap_warn("cannot create %s: %s; nothing will be recorded", ap_rt.file_path,
			strerror(errno));
		return -1;
	}
	fchmod(fd, 0600);
	ap_encode_file_header(hdr, sizeof(hdr));
	if (write_all(fd, hdr, sizeof(hdr)) < 0) {
		AP_REAL(close)(fd);
		return -1;
	}
	return fd;
}

static int open_file(void)
{
	if (!ap_rt.file_path[0])
		return create_file();
	return open(ap_rt.file_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
}

/* --- records ---------------------------------------------------------------------------------- */

/* Append under the lock; on a full buffer flush first. Returns 0 if stored. */
static int append_locked(const struct ap_record *r)
{
	size_t n = ap_encode(ap_rt.buf + ap_rt.buf_len, AP_BUF_BYTES - ap_rt.buf_len, r);

	if (!n && ap_rt.buf_len) {
		ap_flush(0);
		n = ap_encode(ap_rt.buf + ap_rt.buf_len, AP_BUF_BYTES - ap_rt.buf_len, r);
	}
	if (!n) {
		atomic_fetch_add(&ap_rt.dropped, 1);
		return -1;
	}
	ap_rt.buf_len += n;
	return 0;
}

static void process_start_locked(void)
{
	struct ap_process *p = &proc_rec.u.process;

	if (ap_rt.process_written)
		return;
	ap_rt.process_written = 1;
	p->pid = ap_rt.pid;
	p->ppid = ap_rt.ppid;
	p->start_ns = ap_rt.start_ns;
	p->start_real_ns = ap_now_real() - (ap_now() - ap_rt.start_ns);
	append_locked(&proc_rec);
}

void ap_record(const struct ap_record *r)
{
	if (r->type == AP_REC_EXCHANGE)
		ap_metrics_observe(&r->u.exchange);
	if (!ap_rt.buf || ap_rt.file_failed)
		goto dropped;
	ap_tls.guard++;
	pthread_mutex_lock(&ap_rt.lock);
	process_start_locked();
	append_locked(r);
	if (r->type == AP_REC_EXCHANGE && r->u.exchange.category == AP_CAT_LLM)
		ap_rt.has_llm = 1;
	if (ap_rt.has_llm)
		ap_flush(0);
	pthread_mutex_unlock(&ap_rt.lock);
	ap_tls.guard--;
	return;
dropped:
	atomic_fetch_add(&ap_rt.dropped, 1);
}

void ap_maybe_flush(int64_t now)
{
	if (!ap_rt.buf_len || now - ap_rt.last_flush_ns < ap_rt.cfg.flush_ns)
		return;
	ap_tls.guard++;
	if (pthread_mutex_trylock(&ap_rt.lock) == 0) {
		if (ap_rt.buf_len && now - ap_rt.last_flush_ns >= ap_rt.cfg.flush_ns)
			ap_flush(0);
		pthread_mutex_unlock(&ap_rt.lock);
	}
	ap_tls.guard--;
}

/* Counters at flush points: resident set size and CPU time. */
static void counters_locked(int64_t now)
{
	struct ap_record r;
	struct rusage ru;
	char statm[128];
	ssize_t n;

	n = read_file("/proc/self/statm", statm, sizeof(statm) - 1);
	if (n > 0) {
		long pages = 0, rss = 0;
		statm[n] = 0;
		if (sscanf(statm, "%ld %ld", &pages, &rss) == 2) {
			ap_record_init(&r, AP_REC_COUNTER);
			r.u.counter.kind = AP_CNT_RSS_BYTES;
			r.u.counter.time_ns = now;
			r.u.counter.value = (int64_t)rss * sysconf(_SC_PAGESIZE);
			append_locked(&r);
		}
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		ap_record_init(&r, AP_REC_COUNTER);
		r.u.counter.kind = AP_CNT_CPU_USER_NS;
		r.u.counter.time_ns = now;
		r.u.counter.value =
			ru.ru_utime.tv_sec * 1000000000ll + ru.ru_utime.tv_usec * 1000ll;
		append_locked(&r);
		r.u.counter.kind = AP_CNT_CPU_SYS_NS;
		r.u.counter.value =
			ru.ru_stime.tv_sec * 1000000000ll + ru.ru_stime.tv_usec * 1000ll;
		append_locked(&r);
	}
}

/* Diagnostics that vfork children left in the mailbox (see rt.h). Caller holds the lock. */
static void vfork_notes_locked(int64_t now)
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
		append_locked(&r);
		atomic_store(&n->state, 0);
	}
}

/* Compress the buffer as one complete frame and append it to the file. Caller holds the lock. */
void ap_flush(int final)
{
	size_t z;
	int fd;
	int64_t now = ap_now();

	if (!ap_rt.buf || ap_rt.file_failed || (!ap_rt.buf_len && !final))
		return;
	if (ap_getpid_raw() != ap_rt.pid)
		return; /* vfork child or a clone we were not told about */
	process_start_locked();
	vfork_notes_locked(now);
	if (AP_BUF_BYTES - ap_rt.buf_len > 256)
		counters_locked(now);
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	z = ZSTD_compress2(cctx, zout, zout_cap, ap_rt.buf, ap_rt.buf_len);
	if (ZSTD_isError(z)) {
		atomic_fetch_add(&ap_rt.dropped_bytes, ap_rt.buf_len);
		goto done;
	}
	fd = open_file();
	if (fd < 0) {
		ap_rt.file_failed = 1;
		goto done;
	}
	if (write_all(fd, zout, z) < 0)
		atomic_fetch_add(&ap_rt.dropped_bytes, ap_rt.buf_len);
	AP_REAL(close)(fd);
done:
	ap_rt.buf_len = 0;
	ap_rt.has_llm = 0;
	ap_rt.last_flush_ns = now;
}

void ap_write_process_start(void)
{
	ap_tls.guard++;
	pthread_mutex_lock(&ap_rt.lock);
	process_start_locked();
	pthread_mutex_unlock(&ap_rt.lock);
	ap_tls.guard--;
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
