/* ap_records.h: the record model shared by the preload (writer) and agentprof-view (reader). */
#ifndef AGENTPROF_AP_RECORDS_H
#define AGENTPROF_AP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "providers.h"

/*
 * Conventions
 * - Times are CLOCK_MONOTONIC nanoseconds of the recording process. The process record carries
 *   one (monotonic, realtime) anchor pair so the viewer can place every process on one axis.
 * - AP_UNKNOWN (-1) marks an unknown signed value (tokens, status, phase durations, times).
 *   The codec does not write unknown fields at all, and the decoder fills them back as AP_UNKNOWN.
 * - Strings are fixed-size, NUL-terminated, truncated to fit; the preload never allocates.
 */

#define AP_UNKNOWN (-1)

#define AP_FORMAT_VERSION  2
#define AP_FILE_MAGIC	   "AGENTPROF" /* inside the leading skippable zstd frame */
#define AP_SKIPPABLE_MAGIC 0x184D2A5Au /* zstd skippable frame magic used for the header */

enum ap_rec_type {
	AP_REC_PROCESS = 1,	/* process start: identity, argv, anchors */
	AP_REC_PROCESS_END = 2, /* process end: exit status, drops, overhead */
	AP_REC_CONNECTION = 3,	/* one socket / SSL / curl connection, written at close */
	AP_REC_EXCHANGE = 4,	/* one HTTP request + response (or one opaque turn) */
	AP_REC_PROC_EVENT = 5,	/* fork, exec, spawn, wait, exit */
	AP_REC_SPAN = 6,	/* manual span from include/agentprof.h */
	AP_REC_COUNTER = 7,	/* RSS / CPU samples */
	AP_REC_STACK = 8,	/* one distinct call stack, referenced by id */
	AP_REC_MODULE = 9,	/* one loaded object: path, base, build-id */
	AP_REC_DIAG = 10,	/* a diagnostic: coverage gap, static child, ... */
	AP_REC_DNS = 11,	/* one getaddrinfo call */
	AP_REC_PYCODE = 12,	/* one Python code object: qualified name, file, first line */
	AP_REC_PYSTACK = 13,	/* one distinct Python stack: (code, line) per frame */
	AP_REC_TYPE_MAX
};

enum ap_category {
	AP_CAT_UNKNOWN = 0,
	AP_CAT_LLM = 1,
	AP_CAT_TOOL = 2,
	AP_CAT_MEMORY = 3,
	AP_CAT_PROCESS = 4,
	AP_CAT_MAX
};

/* Order is part of the file format: append only. */
#define AP_PROVIDER_ENUM(ID, NAME, OTEL, PRICE, HOSTS) AP_PROV_##ID,
enum ap_provider { /* one row each in providers.h */
		   AP_PROV_NONE = 0,
		   AP_PROVIDER_TABLE(AP_PROVIDER_ENUM) AP_PROV_MAX
};

enum ap_visibility {
	AP_VIS_UNKNOWN = 0,
	AP_VIS_PLAINTEXT = 1, /* we saw the HTTP bytes (plain socket or SSL_* plaintext) */
	AP_VIS_LIBCURL = 2,   /* libcurl's own view (URL, status, phase timings) */
	AP_VIS_OPAQUE = 3,    /* encrypted bytes only: SNI + request/response turns */
};

enum ap_xerr {
	AP_XERR_NONE = 0,
	AP_XERR_RESET = 1,    /* ECONNRESET / EPIPE */
	AP_XERR_EOF = 2,      /* peer closed before the response completed */
	AP_XERR_TIMEOUT = 3,  /* ETIMEDOUT / curl timeout */
	AP_XERR_CLOSED = 4,   /* host closed the connection mid-exchange */
	AP_XERR_PROTOCOL = 5, /* malformed HTTP */
	AP_XERR_CONNECT = 6   /* the connection could not be made (refused, DNS, TLS) */
};

enum ap_proc_kind {
	AP_PEV_FORK = 1,
	AP_PEV_EXEC = 2,
	AP_PEV_SPAWN = 3, /* posix_spawn / system / popen */
	AP_PEV_WAIT = 4,  /* a child was reaped: status + time waited */
	AP_PEV_EXIT = 5
};

enum ap_counter_kind {
	AP_CNT_RSS_BYTES = 1,	  /* resident set size at a flush point (/proc/self/statm) */
	AP_CNT_CPU_USER_NS = 2,	  /* cumulative */
	AP_CNT_CPU_SYS_NS = 3,	  /* cumulative */
	AP_CNT_PEAK_RSS_BYTES = 4 /* the kernel's peak resident set size (ru_maxrss), at the end */
};

enum ap_diag_code {
	AP_DIAG_OPAQUE_TLS = 1,	  /* TLS seen on a socket without SSL_* calls (static OpenSSL) */
	AP_DIAG_STATIC_CHILD = 2, /* exec of a binary the preload cannot enter */
	AP_DIAG_DROPS = 3,	  /* records dropped because the buffer was full */
	AP_DIAG_CONFIG = 4,	  /* an invalid environment value was ignored */
	AP_DIAG_OUTPUT = 5,	  /* output directory problem */
	AP_DIAG_HTTP2 = 6,	  /* HTTP/2 seen in plaintext: not parsed */
	AP_DIAG_DEEPBIND = 7,	  /* dlopen(RTLD_DEEPBIND): calls may bypass us */
	AP_DIAG_PYSTACKS = 8,	  /* CPython found but its stacks cannot be read (version) */
	AP_DIAG_TLS_SIG = 9,	  /* TLS functions of a stripped executable found by signature */
	AP_DIAG_FORK_LOCKED = 10, /* fork child: a loader or libunwind lock was held */
	AP_DIAG_MAX
};

#define AP_STR_METHOD 16
#define AP_STR_PATH   512
#define AP_STR_HOST   256
#define AP_STR_PEER   64
#define AP_STR_MODEL  128
#define AP_STR_CTYPE  64
#define AP_STR_NAME   128
#define AP_STR_AGENT  64
#define AP_STR_EXE    256
#define AP_STR_ARGV   1024 /* argv joined with '\0', argc gives the count */
#define AP_STR_MSG    256
#define AP_MAX_FRAMES 64

struct ap_usage {
	int64_t input;	     /* provider input/prompt tokens as reported */
	int64_t output;	     /* output/completion tokens */
	int64_t cache_read;  /* cached prompt tokens read */
	int64_t cache_write; /* prompt tokens written to the cache */
	int64_t reasoning;   /* reasoning / thinking tokens */
};

struct ap_process {
	int32_t pid;
	int32_t ppid;
	char exe[AP_STR_EXE];
	char argv[AP_STR_ARGV];
	uint32_t argc;
	int64_t start_ns;      /* monotonic */
	int64_t start_real_ns; /* realtime at the same instant */
	char agent[AP_STR_AGENT];
	uint32_t sample_ppm; /* AGENTPROF_SAMPLE as parts per million */
	uint32_t format_version;
	char tool_version[32];
};

struct ap_process_end {
	int64_t end_ns;
	int32_t exit_code; /* AP_UNKNOWN if not seen */
	uint64_t dropped;  /* records that did not fit */
	uint64_t dropped_bytes;
	int64_t overhead_ns; /* time spent inside our wrappers (excluding the real call) */
	uint64_t calls;	     /* intercepted calls counted */
	uint32_t clean;	     /* 1 if written by an orderly exit path */
};

struct ap_connection {
	uint64_t id;
	int32_t fd; /* AP_UNKNOWN for fd-less (memory BIO) connections */
	uint32_t tid;
	char peer[AP_STR_PEER]; /* numeric address */
	int32_t port;
	char host[AP_STR_HOST]; /* SNI, DNS name, Host header or curl URL host */
	uint8_t tls;
	uint8_t visibility;
	uint8_t category;
	uint8_t provider;
	int64_t open_ns;
	int64_t close_ns;
	int64_t connect_ns; /* duration of connect(), AP_UNKNOWN if not seen */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint32_t exchanges;
	uint8_t error; /* enum ap_xerr */
};

struct ap_exchange {
	uint64_t id;
	uint64_t conn_id;
	uint32_t tid;
	char method[AP_STR_METHOD];
	char path[AP_STR_PATH]; /* secret query values redacted */
	char host[AP_STR_HOST];
	int32_t port;
	int32_t status; /* AP_UNKNOWN if none */
	char content_type[AP_STR_CTYPE];
	uint8_t category;
	uint8_t provider;
	uint8_t visibility;
	uint8_t tls;
	uint8_t stream;	       /* SSE or NDJSON streamed response */
	uint8_t error;	       /* enum ap_xerr */
	uint8_t new_conn;      /* this exchange opened its connection (connect/TLS paid here) */
	int64_t start_ns;      /* first request byte written */
	int64_t req_sent_ns;   /* last request byte written */
	int64_t first_byte_ns; /* first response byte */
	int64_t end_ns;	       /* last response byte */
	int64_t dns_ns;	       /* phase durations, AP_UNKNOWN if not known */
	int64_t connect_ns;
	int64_t tls_ns;
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint32_t events;	/* SSE events / NDJSON lines */
	int64_t first_event_ns; /* time of the first SSE data event */
	char request_model[AP_STR_MODEL];
	char response_model[AP_STR_MODEL];
	struct ap_usage usage;
	uint64_t request_hash; /* XXH64 of method, path and request body; 0 = none */
	uint64_t stack_id;     /* 0 = none */
	uint64_t span_id;      /* enclosing manual span, 0 = none */
	char agent[AP_STR_AGENT];
	uint64_t unscanned_bytes; /* compressed response bytes past the inflate cap: not scanned */
	uint64_t pystack_id; /* Python stack of the calling thread (AP_REC_PYSTACK), 0 = none */
	int32_t grpc_status; /* gRPC: grpc-status of the trailers, AP_UNKNOWN if not gRPC */
	uint8_t provisional; /* 1: written at the provider's end while libcurl still holds the
			      * transfer; a record with the same id and 0 here replaces it */
};

struct ap_proc_event {
	uint8_t kind; /* enum ap_proc_kind */
	uint32_t tid;
	int64_t time_ns;
	int64_t end_ns; /* for spawn/wait: when the child ended or was reaped */
	int32_t child_pid;
	int32_t status; /* exit status (wait/exit), AP_UNKNOWN if none */
	char path[AP_STR_EXE];
	char argv[AP_STR_ARGV];
	uint32_t argc;
	uint64_t stack_id;
	uint64_t span_id;
	uint8_t profiled; /* 1 if the child was expected to carry the preload */
	uint64_t pystack_id;
};

struct ap_span {
	uint64_t id;
	uint64_t parent_id;
	uint32_t tid;
	char name[AP_STR_NAME];
	uint8_t category;
	int64_t start_ns;
	int64_t end_ns;
	char agent[AP_STR_AGENT];
	uint64_t stack_id;
	uint64_t pystack_id;
};

struct ap_counter {
	uint8_t kind; /* enum ap_counter_kind */
	int64_t time_ns;
	int64_t value;
};

struct ap_stack {
	uint64_t id;
	uint32_t nframes;
	uint64_t frames[AP_MAX_FRAMES]; /* return addresses, innermost first */
};

struct ap_module {
	uint64_t id;
	uint64_t base; /* load bias (dlpi_addr) */
	uint64_t start;
	uint64_t end;
	char path[AP_STR_EXE];
	char build_id[41]; /* hex, empty if none */
};

struct ap_diag {
	uint32_t code; /* enum ap_diag_code */
	int64_t time_ns;
	char msg[AP_STR_MSG];
};

struct ap_dns {
	uint32_t tid;
	char host[AP_STR_HOST];
	int64_t start_ns;
	int64_t end_ns;
	int32_t result;		/* getaddrinfo return code */
	char addr[AP_STR_PEER]; /* first address returned */
};

struct ap_pycode {
	uint64_t id;		    /* hash of the code object's identity in its process */
	char qualname[AP_STR_NAME]; /* co_qualname (3.11+), co_name before */
	char filename[AP_STR_EXE];  /* co_filename */
	uint32_t firstlineno;	    /* co_firstlineno */
};

struct ap_pystack {
	uint64_t id;
	uint32_t nframes;
	uint64_t code[AP_MAX_FRAMES]; /* AP_REC_PYCODE ids, innermost first */
	uint32_t nlines;
	uint64_t line[AP_MAX_FRAMES]; /* line number per frame, 0 = unknown */
	uint8_t truncated; /* 1: the walk stopped early (depth or a frame that looked wrong) */
};

struct ap_record {
	uint32_t type; /* enum ap_rec_type */
	union {
		struct ap_process process;
		struct ap_process_end process_end;
		struct ap_connection connection;
		struct ap_exchange exchange;
		struct ap_proc_event proc_event;
		struct ap_span span;
		struct ap_counter counter;
		struct ap_stack stack;
		struct ap_module module;
		struct ap_diag diag;
		struct ap_dns dns;
		struct ap_pycode pycode;
		struct ap_pystack pystack;
	} u;
};

/* Names used in files, JSON and text output. Return "unknown"/NULL-safe strings. */
const char *ap_category_name(unsigned cat);
const char *ap_provider_name(unsigned prov);
const char *ap_visibility_name(unsigned vis);
const char *ap_xerr_name(unsigned err);
const char *ap_proc_kind_name(unsigned kind);
const char *ap_diag_name(unsigned code);
int ap_category_parse(const char *s); /* -1 if not a name */
int ap_provider_parse(const char *s); /* -1 if not a name */

/* Bytes of the union member a record type uses (the whole union for unknown types). */
size_t ap_record_size(uint32_t type);

/* Reset every field of the type's member to its "unknown" value (signed fields AP_UNKNOWN,
 * strings empty). Bytes of the union beyond that member are left as they were. */
void ap_record_init(struct ap_record *r, uint32_t type);
/* What ap_record_init gives an AP_REC_EXCHANGE's member, in place. */
void ap_exchange_init(struct ap_exchange *x);

#endif
