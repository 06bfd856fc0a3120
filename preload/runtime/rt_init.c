/* rt_init.c: the one constructor (start-up in order), configuration from the environment, the
 * fork table and exit handling. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"
#include "rt_curl.h"
#include "rt_h2.h"
#include "rt_metrics.h"
#include "rt_pystack.h"
#include "rt_stack.h"

struct ap_runtime ap_rt;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* --- configuration --------------------------------------------------------------------------- */

/*
 * The AGENTPROF_* variables, gathered in one pass over environ before anything is parsed: the
 * parsers below look their names up in this short list, not in the whole environment (one
 * secure_getenv per name scanned every variable each time). Like secure_getenv, nothing is read
 * in a set-uid or set-gid program (AT_SECURE). The first occurrence of a name wins, as getenv's.
 */
#define OUR_VARS_MAX 32
static struct {
	const char *name; /* the "AGENTPROF_..." entry of environ */
	size_t len;	  /* length of its name */
} our_vars[OUR_VARS_MAX];
static unsigned n_our_vars;

static void gather_our_vars(void)
{
	if (getauxval(AT_SECURE) || !environ)
		return;
	for (char **e = environ; *e && n_our_vars < OUR_VARS_MAX; e++) {
		const char *eq;

		if (memcmp(*e, "AGENTPROF_", 10) || !(eq = strchr(*e + 10, '=')))
			continue;
		our_vars[n_our_vars].name = *e;
		our_vars[n_our_vars].len = (size_t)(eq - *e);
		n_our_vars++;
	}
}

static const char *env(const char *name)
{
	size_t len = strlen(name);

	for (unsigned i = 0; i < n_our_vars; i++) {
		if (our_vars[i].len == len && !memcmp(our_vars[i].name, name, len)) {
			const char *v = our_vars[i].name + len + 1;
			return v[0] ? v : NULL;
		}
	}
	return NULL;
}

static void bad_value(const char *name, const char *why, const char *fallback)
{
	ap_warn("ignoring %s: %s; using %s", name, why, fallback);
}

static int parse_bool(const char *name, int def)
{
	const char *v = env(name);

	if (!v)
		return def;
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
		return 1;
	if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
		return 0;
	bad_value(name, "not 0 or 1", def ? "1" : "0");
	return def;
}

static void parse_sample(struct ap_config *cfg)
{
	const char *v = env("AGENTPROF_SAMPLE");
	char *end;
	double f;

	cfg->sample_ppm = 1000000;
	if (!v)
		return;
	errno = 0;
	f = strtod(v, &end);
	if (errno || end == v || *end || !(f >= 0.0 && f <= 1.0)) {
		bad_value("AGENTPROF_SAMPLE", "not a number in 0..1", "1");
		return;
	}
	cfg->sample_ppm = (uint32_t)(f * 1e6 + 0.5);
}

static void parse_flush(struct ap_config *cfg)
{
	const char *v = env("AGENTPROF_FLUSH_MS");
	char *end;
	long ms;

	cfg->flush_ns = 100 * 1000000ll;
	if (!v)
		return;
	errno = 0;
	ms = strtol(v, &end, 10);
	if (errno || end == v || *end || ms < 1 || ms > 3600000) {
		bad_value("AGENTPROF_FLUSH_MS", "not an integer in 1..3600000", "100");
		return;
	}
	cfg->flush_ns = ms * 1000000ll;
}

static void parse_out(struct ap_config *cfg)
{
	const char *v = env("AGENTPROF_OUT");

	if (v && strlen(v) >= sizeof(cfg->out_dir) - 1) {
		bad_value("AGENTPROF_OUT", "path too long", "the working directory");
		v = NULL;
	}
	if (v) {
		const char *unsafe = env("AGENTPROF_UNSAFE_OUT");

		ap_strlcpy(cfg->out_dir, v, sizeof(cfg->out_dir));
		cfg->out_explicit = unsafe && !strcmp(unsafe, v);
		return;
	}
	if (!getcwd(cfg->out_dir, sizeof(cfg->out_dir)))
		ap_strlcpy(cfg->out_dir, ".", sizeof(cfg->out_dir));
}

/*
 * The rules file: a regular file of at most 64 KiB, opened non-blocking (a FIFO or a terminal
 * named here must not stop the host, /dev/stdin must not take the host's input) and checked
 * with fstat before a byte is read. Warnings name the line and the reason, never the file's
 * content (a mistaken path may name a .env file full of keys).
 */
static void parse_rules(struct ap_config *cfg)
{
	const char *path = env("AGENTPROF_RULES");
	static char text[65536] AP_COLD_BSS;
	static struct ap_rules rules AP_COLD_BSS;
	char err[160];
	ssize_t n = 0, r;
	struct stat sb;
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ap_warn("AGENTPROF_RULES: cannot open %s: %s; using built-in rules", path,
			strerror(errno));
		return;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		AP_REAL(close)(fd);
		ap_warn("AGENTPROF_RULES: %s is not a regular file; using built-in rules", path);
		return;
	}
	if (sb.st_size >= (off_t)sizeof(text)) {
		AP_REAL(close)(fd);
		ap_warn("AGENTPROF_RULES: %s is larger than 64 KiB; using built-in rules", path);
		return;
	}
	while (n < (ssize_t)sizeof(text) &&
	       ((r = AP_REAL(read)(fd, text + n, sizeof(text) - n)) > 0 ||
		(r < 0 && errno == EINTR)))
		n += r > 0 ? r : 0;
	AP_REAL(close)(fd);
	if (n == (ssize_t)sizeof(text)) {
		ap_warn("AGENTPROF_RULES: %s is larger than 64 KiB; using built-in rules", path);
		return;
	}
	if (ap_rules_parse(&rules, text, (size_t)n, err, sizeof(err)) < 0) {
		ap_warn("AGENTPROF_RULES: %s: %s; using built-in rules", path, err);
		return;
	}
	cfg->rules = &rules;
}

/* AGENTPROF_UNWIND=libunwind (the default) or fp: how native stacks are walked. */
static void parse_unwind(struct ap_config *cfg)
{
	const char *v = env("AGENTPROF_UNWIND");

	cfg->unwind_fp = v && !strcmp(v, "fp");
	if (v && !cfg->unwind_fp && strcmp(v, "libunwind"))
		bad_value("AGENTPROF_UNWIND", "not 'fp' or 'libunwind'", "libunwind");
}

/* AGENTPROF_PROMETHEUS=[HOST:]PORT: the address is parsed now, served after start-up. */
static void parse_prometheus(struct ap_config *cfg)
{
	const char *v = env("AGENTPROF_PROMETHEUS");
	const char *why;

	if (!v)
		return;
	why = ap_metrics_parse(v, &cfg->metrics);
	if (why)
		ap_warn("ignoring AGENTPROF_PROMETHEUS=%s: %s; not serving metrics",
			cfg->metrics.label, why);
}

/* cfg is zero (static storage, parsed once): no memset, so the rules table stays untouched
 * pages unless AGENTPROF_RULES fills them. */
void ap_config_parse(struct ap_config *cfg)
{
	const char *a;

	gather_our_vars();
	cfg->disabled = parse_bool("AGENTPROF_DISABLE", 0);
	cfg->children = parse_bool("AGENTPROF_CHILDREN", 1);
	cfg->stacks = parse_bool("AGENTPROF_STACKS", 1);
	cfg->pystacks = parse_bool("AGENTPROF_PYSTACKS", 1);
	cfg->inline_hooks = parse_bool("AGENTPROF_INLINE_HOOKS", 1);
	parse_unwind(cfg);
	parse_sample(cfg);
	parse_flush(cfg);
	parse_out(cfg);
	parse_rules(cfg);
	parse_prometheus(cfg);
	a = env("AGENTPROF_AGENT");
	if (a)
		ap_strlcpy(cfg->agent, a, sizeof(cfg->agent));
}

/* --- zlib, loaded privately so the host's symbol resolution does not change ------------------ */

#define ZPOOL_BLOCKS 32
#define ZPOOL_BLOCK  (48 * 1024)

static uint8_t *zpool;
static atomic_uint_fast32_t zpool_used;
static struct ap_zlib_api zlib_api;

static void *zpool_alloc(void *opaque, unsigned items, unsigned size)
{
	uint_fast32_t used, bit;

	if (!zpool || (size_t)items * size > ZPOOL_BLOCK)
		return NULL;
	used = atomic_load(&zpool_used);
	for (unsigned i = 0; i < ZPOOL_BLOCKS; i++) {
		bit = (uint_fast32_t)1 << i;
		if (used & bit)
			continue;
		if (atomic_compare_exchange_strong(&zpool_used, &used, used | bit))
			return zpool + (size_t)i * ZPOOL_BLOCK;
		i = (unsigned)-1; /* lost a race: rescan with the fresh mask */
	}
	return NULL; /* pool exhausted: the body is counted but not decoded */
}

static void zpool_free(void *opaque, void *p)
{
	size_t i = (size_t)((uint8_t *)p - zpool) / ZPOOL_BLOCK;

	if (p && i < ZPOOL_BLOCKS)
		atomic_fetch_and(&zpool_used, ~((uint_fast32_t)1 << i));
}

/* libz.so.1 is opened on the first compressed body, not at start: a process that never sees
 * one (most children) pays nothing. The entry points below stand in until then. */
static pthread_once_t zlib_once = PTHREAD_ONCE_INIT;
static struct ap_zlib_api zlib_real;

static void zlib_open(void)
{
	const struct ap_lib_sym syms[] = {
		{"inflateInit2_", (void **)&zlib_real.inflateInit2_, NULL},
		{"inflate", (void **)&zlib_real.inflate, NULL},
		{"inflateEnd", (void **)&zlib_real.inflateEnd, NULL},
		{NULL, NULL, NULL},
	};

	zpool = mmap(NULL, (size_t)ZPOOL_BLOCKS * ZPOOL_BLOCK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_NORESERVE | MAP_ANONYMOUS, -1, 0);
	if (zpool == MAP_FAILED) {
		zpool = NULL; /* zlib stays unloaded: lazy_inflate_init says Z_VERSION_ERROR */
		return;
	}
	ap_lib_open("libz.so.1", 0, syms); /* no zlib: every entry point stays NULL */
}

static int lazy_inflate_init(z_streamp strm, int window_bits, const char *version, int size)
{
	pthread_once(&zlib_once, zlib_open);
	if (!zlib_real.inflateInit2_)
		return Z_VERSION_ERROR; /* no zlib: the body is counted, not decoded */
	return zlib_real.inflateInit2_(strm, window_bits, version, size);
}

static int lazy_inflate(z_streamp strm, int flush)
{
	return zlib_real.inflate ? zlib_real.inflate(strm, flush) : Z_STREAM_ERROR;
}

static int lazy_inflate_end(z_streamp strm)
{
	return zlib_real.inflateEnd ? zlib_real.inflateEnd(strm) : Z_STREAM_ERROR;
}

/* The zlib entry points and its memory pool come at the first compressed body (zlib_open). */
static void load_zlib(void)
{
	zlib_api.inflateInit2_ = lazy_inflate_init;
	zlib_api.inflate = lazy_inflate;
	zlib_api.inflateEnd = lazy_inflate_end;
	ap_rt.http_env.zlib = &zlib_api;
	ap_rt.http_env.zalloc = zpool_alloc;
	ap_rt.http_env.zfree = zpool_free;
}

/* --- fork ----------------------------------------------------------------------------------------
 */

/* The child's process identity and counters: a new pid, a new start, nothing counted yet. */
static void child_identity(void)
{
	ap_rt.ppid = ap_rt.pid;
	ap_rt.pid = ap_getpid_raw();
	ap_tls.tid = 0;
	ap_rt.start_ns = ap_now();
	ap_rt.maxrss_base = ap_maxrss_now();
	atomic_store(&ap_rt.finished, 0);
	atomic_store(&ap_rt.dropped, 0);
	atomic_store(&ap_rt.dropped_bytes, 0);
	atomic_store(&ap_rt.calls, 0);
	atomic_store(&ap_rt.overhead_ns, 0);
}

/* AGENTPROF_CHILDREN=0: a forked child is not profiled. */
static void children_policy_after_fork(void)
{
	if (!ap_rt.cfg.children)
		ap_unprofiled_after_fork();
}

/*
 * What a forked child resets, in this order: the one table of fork handling, registered once
 * (pthread_atfork) at the end of start-up. Nothing of ours is held across fork (the writer takes
 * no lock; the mutexes another thread may have held at fork are re-initialised here); the only
 * prepare step (before_fork, below) lets our calls into the loader and libunwind finish, whose
 * locks are not ours to re-initialise. Identity comes first (the steps after it read the new pid),
 * then the writer (the child drops the parent's segment and writes a file of its own) and the
 * connection table, then the tables that only repeat what the parent's file already holds. A step
 * does nothing for a part that is not set up (stacks before the first capture, Python stacks
 * without CPython, the metrics endpoint when off).
 */
static void (*const fork_child_steps[])(void) = {
	/* pid, ppid, thread id, start time, counters */
	child_identity,
	/* was the loader's lock held, or one of our loader or libunwind calls under way, at fork?
	 * then no dl_iterate_phdr, dlopen or libunwind of ours in this child */
	ap_loader_after_fork_child,
	/* AGENTPROF_CHILDREN=0: a forked child records nothing and writes no file */
	children_policy_after_fork,
	/* the parent's segment is dropped: the child's first record creates its own file */
	ap_writer_after_fork_child,
	/* connections stay, their in-flight exchanges are the parent's */
	ap_conn_reset_after_fork,
	/* the resolver's lock, for call sites first seen in the child */
	ap_resolve_after_fork_child,
	/* libcurl multi transfers: a fresh lock, an empty table */
	ap_curl_transfers_after_fork_child,
	/* native stacks and modules: a fresh lock, none written yet */
	ap_stack_after_fork_child,
	/* Python code objects and stacks: none written yet */
	ap_pystack_after_fork_child,
	/* no thread serves in the child: close the parent's listening socket */
	ap_metrics_after_fork_child,
};

void ap_after_fork_child(void)
{
	for (size_t i = 0; i < sizeof(fork_child_steps) / sizeof(fork_child_steps[0]); i++)
		fork_child_steps[i]();
}

/* The one prepare step (and its parent half): our calls into the loader and libunwind finish
 * before the fork, so that the child inherits none of their locks or half-done state held
 * (rt_resolve.c). Bounded, takes no lock. */
static void before_fork(void)
{
	ap_loader_before_fork();
}

static void after_fork_parent(void)
{
	ap_loader_after_fork_parent();
}

/* --- exit ----------------------------------------------------------------------------------------
 */

/* Written by the exit() wrapper, read by the atexit handler. */
static atomic_int exit_hint = AP_UNKNOWN;

void ap_exit_code_hint(int code)
{
	atomic_store(&exit_hint, code);
}

static void at_exit(void)
{
	ap_final_flush(atomic_load(&exit_hint));
}

/*
 * The last flush: pending exchanges, connection records, the process end. Runs once, whichever
 * exit path gets here first (exit racing _exit on another thread, or a signal handler calling
 * _exit while this thread flushes): the later ones return at once, and the records are already
 * durable in the segment. Cancellation is off throughout.
 */
void ap_final_flush(int exit_code)
{
	int64_t now;
	int old_cancel;

	if (!atomic_load(&ap_rt.ready) || atomic_load(&ap_rt.finished))
		return;
	if (ap_getpid_raw() != ap_rt.pid)
		return; /* vfork child: the parent's memory is not ours to touch */
	if (!ap_writer_begin_final())
		return;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_cancel);
	ap_tls.guard++;
	now = ap_now();
	ap_conn_all_closed(now);
	ap_write_process_end(exit_code, 1);
	ap_flush(2); /* 2: the process ends here; the file may be compacted */
	atomic_store(&ap_rt.finished, 1);
	ap_tls.guard--;
	pthread_setcancelstate(old_cancel, NULL);
}

static void at_quick_exit_handler(void)
{
	ap_final_flush(atomic_load(&exit_hint));
}

/* --- start-up ------------------------------------------------------------------------------------
 */

/*
 * The one constructor of libagentprof.so does all start-up, in the order below. The hooks have
 * no start-up of their own: their real functions come from the resolver table (the first step),
 * the state they feed lives in the runtime (connections, curl transfers), and their inline
 * patches are applied by ap_inline_init from the table hook_ssl.c provides. Native stacks start
 * on the first capture (rt_stack.c), zlib is loaded on the first compressed body.
 */
static void do_init(void)
{
	ap_tls.guard++;
	ap_resolve_libc(); /* real libc functions: every step and wrapper uses them */
	ap_loader_probe(); /* the loader lock fork() leaves held (read by fork children) */
	ap_config_parse(&ap_rt.cfg); /* every AGENTPROF_* variable, once */
	if (ap_rt.cfg.disabled)
		goto out;
	if (!ap_rt.cfg.children && ap_children_policy_init())
		goto out;	     /* AGENTPROF_CHILDREN=0: a child of the one profiled process */
	ap_rt.pid = ap_getpid_raw(); /* process identity */
	ap_rt.ppid = (int)syscall(SYS_getppid); /* the raw call: one libc text page fewer */
	ap_rt.start_ns = ap_now();
	ap_rt.maxrss_base = ap_maxrss_now();
	ap_rt.last_flush_ns = ap_rt.start_ns;
	ap_writer_init(); /* the writer and the connection table: without them nothing records */
	ap_conn_init();
	if (!ap_rt.writer_ok || !ap_rt.conns)
		goto out;
	load_zlib(); /* the HTTP environment: body decoding (nghttp2: at the first h2 conn), */
	ap_rt.http_env.rules = ap_rt.cfg.rules; /* and the AGENTPROF_RULES classification rules */
	ap_inline_init();  /* inline hooks on a TLS library linked into the program */
	ap_pystack_init(); /* Python stacks, when the host is CPython */
	ap_metrics_start(&ap_rt.cfg.metrics); /* the one thread we may add (opt-in) */
	pthread_atfork(before_fork, after_fork_parent, ap_after_fork_child); /* fork table above */
	atexit(at_exit);
	at_quick_exit(at_quick_exit_handler);
	atomic_store(&ap_rt.ready, 1); /* wrappers record from here on */
out:
	ap_tls.guard--;
}

void ap_init_once(void)
{
	pthread_once(&init_once, do_init);
}

/* glibc calls ELF constructors with the process's arguments: the identity is taken from them
 * rather than from /proc/self/cmdline (three system calls fewer for every process). */
__attribute__((constructor(101))) static void ap_constructor(int argc, char **argv)
{
	if (argc > 0 && argv) {
		ap_rt.init_argc = argc;
		ap_rt.init_argv = argv;
	}
	ap_init_once();
}
