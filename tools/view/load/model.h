/* model.h: the run model: every span file of a run merged onto one epoch-ns time axis. */
#ifndef AGENTPROF_VIEW_MODEL_H
#define AGENTPROF_VIEW_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reader.h"
#include "util.h"

/*
 * All times in the model are nanoseconds since the Unix epoch (UNK when unknown); durations are
 * nanoseconds. Strings are ids in run->st (0 = unknown). Indexes link the flat arrays (-1 none).
 */

struct vfile {
	char *path;
	uint64_t size;
	struct rd_stats st;
	int32_t first_proc; /* index of the first process read from this file, -1 if none */
};

struct vproc {
	int32_t pid, ppid;
	uint32_t exe, argv, argc; /* argv: '\0'-joined */
	uint32_t agent, tool_version;
	uint32_t sample_ppm, format_version;
	int64_t mono0, real0; /* the anchor: epoch = mono - mono0 + real0 */
	int64_t start, end;   /* epoch; end from PROCESS_END, else UNK */
	int64_t last_seen;    /* latest time of any record of this process */
	int32_t exit_code;    /* from PROCESS_END, else from the parent's wait, else AP_UNKNOWN */
	uint32_t clean, has_end;
	uint8_t end_by; /* enum proc_end_by: where end and exit_code come from */
	uint64_t dropped, dropped_bytes, calls;
	int64_t overhead_ns;
	int64_t peak_rss, cpu_user_ns, cpu_sys_ns; /* from counters, UNK if none */
	int32_t file;
	int32_t parent;	   /* process that forked/spawned this one (ppid), -1 */
	int32_t exec_of;   /* previous image of the same pid (this one was exec'd), -1 */
	int32_t exec_next; /* the image that replaced this one by exec, -1 */
	uint32_t nthreads, nexchanges;
};

/* How a process's end is known: its own PROCESS_END record, or, without one (a raw exit_group,
 * a kill -9, a file still being written), inferred from the parent's wait (end = when it was
 * reaped, exit code = the wait's status) or else from the last record it wrote. A process
 * replaced by exec ends in its next image: PEND_NONE. */
enum proc_end_by { PEND_NONE, PEND_RECORD, PEND_PARENT_WAIT, PEND_LAST_RECORD };

/* "recorded", "parent's wait", "last record" (or "" for PEND_NONE) */
const char *proc_end_by_name(unsigned end_by);

struct vconn {
	uint64_t id;
	int32_t proc;
	uint32_t tid;
	uint32_t host, peer;
	int32_t port, fd;
	uint8_t tls, vis, cat, prov, error;
	int64_t open, close, connect_ns;
	uint64_t bytes_sent, bytes_received;
	uint32_t exchanges;
};

struct vxch {
	uint64_t id, conn_id, request_hash, stack_id, span_id;
	int64_t start, req_sent, first_byte, end, first_event; /* epoch */
	int64_t dns_ns, connect_ns, tls_ns;		       /* set-up phases before start */
	int64_t t0, t1; /* busy interval: start minus set-up .. end (UNK if no times) */
	/* usage normalised (usage.h ap_usage_otel): input includes cache reads and writes, output
	 * includes reasoning; UNK when not reported */
	int64_t in, out, cache_read, cache_write, reasoning;
	uint64_t bytes_sent, bytes_received;
	double cost; /* USD, NAN when unknown (filled by prices_apply) */
	int32_t proc;
	uint32_t tid;
	int32_t port, status;
	int32_t grpc_status; /* UNK unless gRPC */
	int32_t span;	     /* enclosing manual span index, -1 */
	int32_t conn;	     /* connection index, -1 */
	uint32_t method, path, host, ctype, req_model, resp_model, agent; /* agent: resolved */
	uint32_t events;
	uint8_t cat, prov, vis, tls, stream, error, new_conn;
	uint8_t provisional; /* written before libcurl finished the transfer (FORMAT.md) */
	uint64_t pystack_id; /* Python stack of the calling thread, 0 if none */
};

struct vspan {
	uint64_t id, parent_id;
	int32_t proc, parent; /* parent span index, -1 */
	uint32_t tid, name, agent;
	uint8_t cat, depth;
	int64_t start, end;
	uint64_t stack_id, pystack_id;
};

struct vpev {
	int32_t proc;
	uint8_t kind, profiled;
	uint32_t tid;
	int64_t time, end;
	int32_t child_pid, status;
	uint32_t path, argv, argc;
	uint64_t span_id;
	uint64_t stack_id; /* call stack of the spawning thread, 0 if none */
	uint64_t pystack_id;
};

struct vthread {
	int32_t proc;
	uint32_t tid;
	int64_t first, last; /* extent of its exchanges and spans */
	uint32_t nx, nspans;
};

struct vdiag {
	int32_t proc;
	uint32_t code, msg;
	int64_t time;
};

struct vdns {
	int32_t proc;
	uint32_t tid, host, addr;
	int64_t start, end;
	int32_t result;
};

struct vstack {
	uint64_t id;
	int32_t proc;
	uint32_t nframes;
	size_t first; /* index into run->frames */
};

struct vmodule {
	uint64_t id, base, start, end;
	int32_t proc;
	uint32_t path, build_id;
};

/* A Python code object (AP_REC_PYCODE) and a Python stack (AP_REC_PYSTACK) of one process. */
struct vpycode {
	uint64_t id;
	int32_t proc;
	uint32_t qualname, file, firstline;
};

struct vpyframe {
	uint64_t code;
	uint32_t line;
};

struct vpystack {
	uint64_t id;
	int32_t proc;
	uint32_t nframes; /* innermost first in run->pyframes[first..] */
	uint8_t truncated;
	size_t first;
};

#define ARR(type, name) \
	type *name;     \
	size_t n_##name, cap_##name

struct run {
	struct strtab st;
	ARR(struct vfile, files);
	ARR(struct vproc, procs);
	ARR(struct vconn, conns);
	ARR(struct vxch, xs);
	ARR(struct vspan, spans);
	ARR(struct vpev, pevs);
	ARR(struct vthread, threads); /* sorted by (proc, tid) */
	ARR(struct vdiag, diags);
	ARR(struct vdns, dns);
	ARR(struct vstack, stacks);
	ARR(struct vmodule, mods);
	ARR(uint64_t, frames);
	ARR(struct vpycode, pycodes);
	ARR(struct vpystack, pystacks);
	ARR(struct vpyframe, pyframes);
	int64_t start, end;	 /* the run's extent, epoch ns */
	uint64_t orphan_records; /* records in files without a process record */
	uint64_t bad_times;	 /* times or counts out of range or out of order: unknown */
};

/*
 * Load every PATH (span files, or directories of them: one directory is one run) into run.
 * Returns 0, or 2 after printing "agentprof-view: PATH: problem" to err. Notes about damaged
 * files go to err too.
 */
int run_load(struct run *run, char *const *paths, int npaths, FILE *err);
void run_free(struct run *run);

/* Feed one file's bytes into the model (used by run_load and by tests/fuzzing). */
int run_add_buf(struct run *run, const char *name, const uint8_t *buf, size_t n, char *msg,
		size_t msglen);
/*
 * One file decoded on several threads (load.c schedules them): the file's complete frames are
 * cut into pieces; each piece is decoded into a model of its own (file_load_piece, any thread;
 * piece 0 first, the others need the process record it finds), then file_load_merge appends
 * them in order and reads the rest of the file (damage, the live segment) sequentially. The
 * result is the one run_add_buf gives, record for record and string id for string id.
 */
struct run_piece {
	size_t a, b;		   /* frames [a, b) of the plan */
	struct run run;		   /* own string table; process indexes local to the piece */
	struct rd_stats st;	   /* counts of these frames */
	int ok;			   /* decoded completely; else the sequential walk resumes at a */
	size_t out_cap;		   /* the frame buffer it grew to */
	int32_t cur;		   /* piece 0: the process current at its end, -1 */
	struct ap_record *pending; /* piece 0: records seen before any process record */
	size_t n_pending, cap_pending;
	uint64_t orphans;
};

struct file_load {
	char *path;
	uint8_t *buf;
	size_t n;
	int plan_rc; /* rd_plan's result; -1: msg says why the file cannot be read */
	char msg[256];
	struct rd_plan plan;
	struct rd_stats st0; /* the header's version */
	struct run_piece *pieces;
	size_t n_pieces;
	struct vproc head_proc; /* set by piece 0 for the others */
	int head_ok;
	/* merging (main thread) */
	int32_t file, cur;
	size_t first_x, resume_at, out_cap;
	struct ap_record *pending;
	size_t n_pending, cap_pending;
	uint64_t orphans;
};

void file_load_piece(struct file_load *fl, size_t i);
/* run_add_buf for the file fl describes, in three steps: begin (-1 with the reason in msg when
 * the file is not a span file), take each piece in order once decoded (frees it), end. */
int file_load_begin(struct run *run, struct file_load *fl, char *msg, size_t msglen);
void file_load_take(struct run *run, struct file_load *fl, size_t i);
void file_load_end(struct run *run, struct file_load *fl);
void run_piece_free(struct run_piece *pc);
/* Free the arrays run_piece_free keeps for the next pieces (after the last piece). */
void run_piece_stash_free(void);

/* Link and sort after the last file: process tree, spans, connections, run extent. */
void run_finish(struct run *run);

static inline const char *S(const struct run *r, uint32_t id)
{
	return strtab_get(&r->st, id);
}

/* Index of the thread (proc, tid) in run->threads, -1 if none. */
int32_t run_thread(const struct run *run, int32_t proc, uint32_t tid);

/* Duration of an exchange (end - start), UNK if unknown. Time to first byte likewise. */
int64_t x_duration(const struct vxch *x);
int64_t x_ttfb(const struct vxch *x);
/* The exchange's model for grouping: request model, else response model; 0 if none. */
uint32_t x_model(const struct vxch *x);
/* Sampling weight of a process's exchanges: 1e6 / sample_ppm (1 when full or unknown). */
double proc_weight(const struct vproc *p);

/* A file name made safe to print on a terminal: control characters (C0, DEL, C1) and bytes
 * that are not UTF-8 become \xNN. Writes into buf (cap bytes, cut if needed) and returns it. */
const char *name_esc(const char *s, char *buf, size_t cap);

#endif
