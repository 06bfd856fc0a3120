/* rt.h: private declarations of the preload runtime (init, resolver, writer, connections, hooks).
 */
#ifndef AGENTPROF_RT_H
#define AGENTPROF_RT_H

/*
 * Safety rules for everything under preload/ (docs/internals/contract.md):
 * 1. Real symbols are resolved once: libc ones at init (RTLD_NEXT), library ones (OpenSSL,
 *    libcurl) once per call site in the caller's own scope (RTLD_LOCAL-safe). A symbol that
 *    cannot be found means pass-through with an error return; never a call through NULL.
 * 2. Every wrapper checks the per-thread guard first. While it is set (our own I/O, a signal
 *    that interrupted a wrapper) the wrapper forwards immediately and records nothing.
 * 3. No malloc on any path that runs in the host: memory comes from mmap at init, and zstd
 *    works in a static workspace.
 * 4. TLS is initial-exec and tiny.
 * 5. errno is saved after the real call and restored before returning.
 * 6. A vfork child (same memory, other pid) is pure pass-through: no state is touched.
 * 7. No thread is created (the opt-in metrics endpoint is the only exception).
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ap_records.h"
#include "classify.h"
#include "http.h"

#define AP_EXPORT      __attribute__((visibility("default")))
#define AP_LIKELY(x)   __builtin_expect(!!(x), 1)
#define AP_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Large static tables used late or rarely: placed after every small variable (the linker puts
 * .lbss behind .bss), so that what a short process touches shares a few pages (an anonymous
 * page costs a fault of about 2 us when first touched). */
#define AP_COLD_BSS __attribute__((section(".lbss")))

#define AP_FD_MAX    65536 /* fds tracked by the fd table; larger fds pass through */
#define AP_CONN_MAX  512   /* live connections tracked at once */
#define AP_SSL_SLOTS 1024  /* SSL* -> connection hash slots */
#define AP_PATH_MAX  512

/* --- configuration (read once in the constructor, never changed afterwards) ------------------
 * Every AGENTPROF_* variable is parsed here, by ap_config_parse (rt_init.c): a malformed value
 * gets one warning and its default. No other file reads the environment for our settings. */

/* AGENTPROF_PROMETHEUS=[HOST:]PORT, parsed (by ap_metrics_parse, rt_metrics.c). */
struct ap_metrics_addr {
	int set; /* a valid address was given: serve it */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char label[96]; /* the value as given, for messages */
};

struct ap_config {
	int disabled;	     /* AGENTPROF_DISABLE=1 */
	int children;	     /* AGENTPROF_CHILDREN (default 1) */
	int stacks;	     /* AGENTPROF_STACKS (default 1) */
	int pystacks;	     /* AGENTPROF_PYSTACKS (default 1) */
	int unwind_fp;	     /* AGENTPROF_UNWIND=fp (default libunwind) */
	int inline_hooks;    /* AGENTPROF_INLINE_HOOKS (default 1) */
	uint32_t sample_ppm; /* AGENTPROF_SAMPLE * 1e6 */
	int64_t flush_ns;    /* AGENTPROF_FLUSH_MS */
	char out_dir[AP_PATH_MAX];
	int out_explicit; /* AGENTPROF_UNSAFE_OUT repeats out_dir: a risky one is used, with a
			     warning */
	char agent[AP_STR_AGENT];
	struct ap_rules *rules; /* AGENTPROF_RULES, parsed (NULL: the built-in rules only) */
	struct ap_metrics_addr metrics; /* AGENTPROF_PROMETHEUS */
	pid_t only_pid; /* AGENTPROF_CHILDREN=0: the one process profiled, through its execs */
};

/* --- per-thread state (initial-exec TLS) ----------------------------------------------------- */
struct ap_thread {
	uint32_t tid;
	uint8_t guard;	   /* inside agentprof: forward everything */
	uint8_t in_curl;   /* inside curl_easy_perform / curl_multi_*: nested calls are curl's */
	uint8_t ssl_depth; /* inside an SSL_* call */
	void *cur_ssl;	   /* SSL* of the SSL_* call in progress (nested socket calls bind to it) */
	uint64_t span_stack[16]; /* open manual spans, innermost last */
	uint32_t span_depth;
	char agent[AP_STR_AGENT];
	int *pipe_catch; /* loading libunwind: this thread's next pipe2 fds are stored here */
};

extern __thread struct ap_thread ap_tls __attribute__((tls_model("initial-exec")));

/* --- process-wide runtime state ---------------------------------------------------------------
 * One instance, ap_rt. Written by the constructor (init) and the fork child handler (pid,
 * file); the counters are atomics. */
struct ap_conn;

struct ap_runtime {
	atomic_int ready;    /* 1 once init finished and recording is on */
	atomic_int finished; /* 1 after the final flush: pass-through from then on */
	pid_t pid;	     /* our pid; a wrapper running with another pid is a vfork child */
	pid_t ppid;
	struct ap_config cfg;
	char file_path[AP_PATH_MAX + 64];
	int writer_ok; /* the writer is set up (rt_writer.c owns the rest of its state) */
	atomic_int_fast64_t last_flush_ns;
	atomic_int_fast64_t last_counters_ns;
	int64_t start_ns;
	long maxrss_base; /* ru_maxrss (KiB) when this image (or fork child) began: Linux carries
			     the peak across exec, so a peak at the end is ours only above it */
	atomic_uint_fast64_t next_id;
	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t dropped_bytes;
	atomic_uint_fast64_t calls;
	atomic_int_fast64_t overhead_ns;
	atomic_uint_fast64_t sample_seq;
	struct ap_conn **fd_conn; /* AP_FD_MAX entries, mmap'ed */
	struct ap_conn *conns;	  /* AP_CONN_MAX entries, mmap'ed */
	struct ap_http_env http_env;
	int opaque_tls_reported;
	int init_argc;	  /* the arguments glibc passed our constructor (the process's argv); */
	char **init_argv; /* NULL when start-up ran earlier, from another library's constructor */
};

extern struct ap_runtime ap_rt;

/* --- time and small helpers (rt_util.c) ------------------------------------------------------- */
int64_t ap_now(void);	   /* CLOCK_MONOTONIC ns */
int64_t ap_now_real(void); /* CLOCK_REALTIME ns */
uint32_t ap_gettid(void);
pid_t ap_getpid_raw(void); /* the kernel's view, bypassing any cache */
long ap_maxrss_now(void);  /* getrusage's ru_maxrss (KiB), 0 if it fails */
void ap_strlcpy(char *dst, const char *src, size_t cap);
void ap_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t ap_new_id(void);

/* Common wrapper prologue: 1 if this call should be recorded. */
static inline int ap_active(void)
{
	return AP_LIKELY(atomic_load_explicit(&ap_rt.ready, memory_order_relaxed)) &&
	       !atomic_load_explicit(&ap_rt.finished, memory_order_relaxed) && !ap_tls.guard;
}

/* The innermost open manual span of this thread, 0 if none. */
static inline uint64_t ap_current_span(void)
{
	uint32_t d = ap_tls.span_depth;

	if (!d)
		return 0;
	return ap_tls.span_stack[(d > 16 ? 16 : d) - 1];
}

/* --- init / config (rt_init.c) -----------------------------------------------------------------
 */
void ap_init_once(void);
void ap_config_parse(struct ap_config *cfg); /* cfg zero on entry (static storage) */
void ap_after_fork_child(void);
void ap_final_flush(int exit_code);
/* exit(code) was called: the atexit handler reports this status. */
void ap_exit_code_hint(int code);

/* --- resolver (rt_resolve.c) --------------------------------------------------------------------
 */
#include "rt_syms.h"

/* --- inline hooks (rt_inline.c) -----------------------------------------------------------------
 * A TLS library linked into the executable (Node's OpenSSL, Bun's BoringSSL) is called directly,
 * never through the dynamic linker: its functions' entries are patched to jump to these wrappers
 * (hook_ssl.c), and `real` is set to a trampoline that continues in the original. */
struct ap_inline_hook {
	const char *name;
	void *wrapper; /* NULL: not patched, only looked up (*real is then the function itself) */
	void **real;
	/* 1: the object is hooked only if this function is found; 0: optional; -1: optional, and
	 * left unpatched (the others still hooked) when its prologue cannot be moved */
	int required;
};
extern const struct ap_inline_hook ap_ssl_inline_hooks[]; /* ends with a NULL name */
/* Find and patch, from the constructor only (single-threaded: see rt_inline.c). */
void ap_inline_init(void);
/* Why TLS without SSL_* calls is expected in this process (Bun), or NULL. */
const char *ap_inline_opaque_reason(void);
/* 1 when the hooked TLS library's SSL_free is not known (Bun): an SSL connection ends with its
 * socket. */
int ap_inline_ssl_ends_with_socket(void);

/* --- writer (rt_writer.c) -----------------------------------------------------------------------
 */
void ap_writer_init(void);
/*
 * Hand a finished record to the writer. On return it is durable: it sits in the file's shared
 * mapping, so kill -9 an instant later keeps it (unless the file could not be created, which
 * a diagnostic reports). One memcpy, no lock, no system call on the common path; safe from a
 * signal handler and across fork. The first record of a process creates its file.
 */
void ap_record(const struct ap_record *r);
/* ap_record of an exchange record holding x, encoded from x itself (no 1.4 KB record copy). */
void ap_record_exchange(const struct ap_exchange *x);
/* Compress sealed records into frames if the flush interval elapsed (called from wrappers). */
void ap_maybe_flush(int64_t now);
/* Compress everything that can be now; final (1, or 2 when the process ends: the file is then
 * compacted) also writes counters and the drop diagnostic. Skips (and counts) when another flush
 * is running: never blocks. */
void ap_flush(int final);
void ap_write_process_end(int exit_code, int clean);
/* 1 once a record created the segment (a process that did nothing has no file yet). */
int ap_writer_has_file(void);
/* 1 the first time: the final flush runs once, whichever exit path comes first. */
int ap_writer_begin_final(void);
void ap_writer_after_fork_child(void);
/* A host unmapped [addr, addr+len): if it covers the segment, map it again on next use. */
void ap_writer_unmapped(const void *addr, size_t len);
void ap_diag(unsigned code, const char *msg);
/* An exec'd file that cannot carry the preload (static, set-id) gets one AP_DIAG_STATIC_CHILD
 * (rt_proc.c). use_path: a name without '/' is searched in PATH. Returns 0 if profilable. */
int ap_child_unprofilable(const char *file, int use_path);
/* Copy argv into a process event, redacting each argument (rt_proc.c). */
void ap_copy_argv(struct ap_proc_event *e, char *const argv[]);
/* 1 when envp hands our preload on (an LD_PRELOAD naming libagentprof). */
int ap_env_has_preload(char *const envp[]);

/*
 * AGENTPROF_CHILDREN=0 (rt_proc.c): one process is profiled, through every exec of its own
 * (the pid stays), and no child of it. The profiled pid travels in AGENTPROF_ONLY_PID, so a
 * child that starts with our preload anyway (system, popen) knows it is not the one.
 * ap_children_policy_init runs in the constructor: 1 if this process is such a child (it then
 * takes our variables out of its environment and records nothing). ap_unprofiled_child: 1 in a
 * child of the profiled process (forked or vforked), whose execs get ap_env_for_child's copy of
 * the environment: no LD_PRELOAD of ours, no AGENTPROF_* (the buffers are the caller's stack:
 * out holds ap_env_count(envp) + 1 pointers; exec may follow vfork). ap_unprofiled_after_fork:
 * in a forked child, stop recording (environ is left as it is).
 */
#define AP_ENV_LD_MAX 4096
/* Larger environments are passed as they are (the copy lives on the stack): the child's own
 * constructor then finds AGENTPROF_ONLY_PID is not its pid and records nothing. */
#define AP_ENV_COPY_MAX 4096
int ap_children_policy_init(void);
/* AGENTPROF_CHILDREN=0 and this is not the one profiled process (a forked child). */
int ap_unprofiled_child(void);
size_t ap_env_count(char *const envp[]);
char *const *ap_env_for_child(char *const envp[], char **out, char *ld);
void ap_unprofiled_after_fork(void);

/*
 * A vfork child shares our memory and must not record, but it may leave a note: the exec'd file
 * is static or set-id. The note goes into a small fixed mailbox (plain stores, no lock, no
 * allocation); the parent turns it into a diagnostic at its next flush.
 */
#define AP_VFORK_NOTES 8
struct ap_vfork_note {
	atomic_int state; /* 0 free, 1 being written by a vfork child, 2 ready */
	int kind;	  /* 1 static, 2 set-id */
	char path[200];
};
extern struct ap_vfork_note ap_vfork_notes[AP_VFORK_NOTES];
void ap_vfork_note_exec(const char *file, int use_path);

/* --- connections (rt_conn.c) --------------------------------------------------------------------
 */
enum ap_conn_role { AP_ROLE_CLIENT = 0, AP_ROLE_SERVER = 1 };

void ap_conn_init(void);
/* The connection on fd, or NULL: the only work a wrapper does for a non-socket fd (inline). */
static inline struct ap_conn *ap_conn_for_fd(int fd)
{
	struct ap_conn **tab = ap_rt.fd_conn;

	if ((unsigned)fd >= AP_FD_MAX || !tab)
		return NULL;
	return __atomic_load_n(&tab[fd], __ATOMIC_ACQUIRE);
}
void ap_conn_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int64_t t0, int64_t t1,
			int rc, int err);
void ap_conn_on_accept(int fd, int64_t now);
void ap_conn_on_close(int fd, int64_t now);
/* Plain socket traffic (fd layer). dir: 0 = out (written), 1 = in (read). */
void ap_conn_on_io(struct ap_conn *c, int dir, const void *buf, size_t n, int64_t now);
void ap_conn_on_iov(struct ap_conn *c, int dir, const struct iovec *iov, int iovcnt, size_t n,
		    int64_t now);
void ap_conn_on_error(struct ap_conn *c, int err, int64_t now);
/* SSL layer. */
struct ap_conn *ap_conn_for_ssl(void *ssl, int create);
void ap_conn_ssl_set_fd(void *ssl, int fd);
void ap_conn_ssl_sni(void *ssl, const char *host);
void ap_conn_ssl_io(void *ssl, int dir, const void *buf, size_t n, int64_t now);
void ap_conn_ssl_handshake(void *ssl, int64_t t0, int64_t t1, int done);
/* An SSL_* call on ssl returned: remember when, if it has no socket yet (the next ClientHello
 * with its SNI is its own). 1 while its handshake started and its end is not known yet. */
int ap_conn_ssl_touch(void *ssl);
void ap_conn_ssl_free(void *ssl, int64_t now);
/* on: an SSL connection ends when its socket closes (a TLS library whose SSL_free is not
 * hooked: Bun's BoringSSL found by signature), so that its slot and SSL* are not kept. */
/* Nested socket call made while an SSL_* call is in progress on this thread. */
void ap_conn_bind_ssl_fd(void *ssl, int fd);
/* DNS: remember host -> address for naming peers. */
void ap_dns_remember(const char *host, const struct sockaddr *sa, int64_t dns_ns);
/* curl merge (rt_curl.c): find the connection with this local port and remote port. */
struct ap_conn *ap_conn_by_ports(int local_port, int peer_port);
/* The id recorded for this connection (the SSL connection's when a socket carries one). */
uint64_t ap_conn_id(const struct ap_conn *c);
/* Take the exchange parked on a connection for libcurl to merge (0 if none). */
int ap_conn_take_parked(struct ap_conn *c, struct ap_exchange *out);
void ap_conn_flush_parked(void);

/*
 * Finishing an exchange: ONE function for the socket, TLS and libcurl views (rt_conn.c). It sets
 * the ids, thread, span, call stacks and agent (unless AP_FIN_IDENTIFIED: a record parked for
 * libcurl has them), classifies (AP_FIN_CONN_CLASS: with connection c's cached endpoint class;
 * otherwise from x's host, port and path), parks it for libcurl's transfer-done when inside a
 * libcurl call (AP_FIN_MAY_PARK), applies sampling, and hands it to ap_exchange_write.
 */
#define AP_FIN_IDENTIFIED 1u
#define AP_FIN_CONN_CLASS 2u
#define AP_FIN_MAY_PARK	  4u
void ap_exchange_finish(struct ap_conn *c, struct ap_exchange *x, unsigned how);
/* The parser ended an exchange on c: the connection's facts, then ap_exchange_finish. */
void ap_emit_exchange(struct ap_conn *c, struct ap_exchange *x);
/* Metrics update and hand-off to the writer of a finished exchange (every exchange record
 * goes through here, the parked and provisional ones too). */
void ap_exchange_write(const struct ap_exchange *x);

/* 1 if AGENTPROF_SAMPLE says this exchange is not recorded in detail. */
int ap_sampled_out(void);	      /* rt_util.c */
void ap_unmap_raw(void *p, size_t n); /* munmap, bypassing our wrapper (rt_util.c) */
/* HTTP/2: ALPN "h2" on ssl; the parked stream of c matching a libcurl transfer's URL. */
void ap_conn_ssl_alpn_h2(void *ssl);
int ap_conn_take_parked_h2(struct ap_conn *c, const char *url, struct ap_exchange *out);
void ap_conn_all_closed(int64_t now); /* at exit: emit pending exchanges, connection records;
				       * folds the call counters below into ap_rt.calls */

/*
 * Counters of tracked calls and our time in them, striped by thread: a tracked call touches
 * only its stripe's cache line (never the line holding the fd table pointer, never another
 * thread's). ap_conn_all_closed adds them into ap_rt.calls and ap_rt.overhead_ns.
 */
#define AP_CALL_STRIPES 64
struct ap_call_stripe {
	_Alignas(64) atomic_uint_fast64_t calls;
	atomic_int_fast64_t overhead_ns;
};
extern struct ap_call_stripe ap_call_stripes[AP_CALL_STRIPES];
extern __thread struct ap_call_stripe *ap_my_stripe __attribute__((tls_model("initial-exec")));
static inline struct ap_call_stripe *ap_call_stripe(void)
{
	uintptr_t t;

	if (AP_LIKELY(ap_my_stripe != NULL))
		return ap_my_stripe;
	t = (uintptr_t)&ap_tls;
	return ap_my_stripe = &ap_call_stripes[((t >> 6) * 0x9E3779B97F4A7C15ull) >> 58];
}
void ap_conn_reset_after_fork(void);

#endif
