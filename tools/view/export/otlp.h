/* otlp.h: OTLP/HTTP delivery shared by the trace, metrics and --follow exports: where to send
 * (--endpoint or the OTEL_EXPORTER_OTLP_* variables), headers, gzip, retries, and the resource. */
#ifndef AGENTPROF_VIEW_OTLP_H
#define AGENTPROF_VIEW_OTLP_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "context.h"

#define OTLP_BATCH_SPANS 2048
#define OTLP_BATCH_BYTES (3u << 20)

struct otlp_dest {
	const char *signal; /* "traces" or "metrics" */
	char url[1024];
	char host[256], port[8], path[1024];
	char headers[4096]; /* extra "Key: value\r\n" lines */
	int gzip, timeout_ms, max_attempts;
	int retry_connect;	     /* --follow: a collector that is down is waited for */
	double backoff_s;	     /* first retry delay; doubles up to 30 s */
	volatile sig_atomic_t *stop; /* set by SIGTERM in --follow: give up waiting early */
	uint64_t requests, retries, items, bytes_raw, bytes_sent;
};

/*
 * Resolve the destination: --endpoint URL (path defaults to /v1/<signal>), else
 * OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT (as is), else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/<signal>.
 * Headers from OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS, compression
 * from --no-gzip / OTEL_EXPORTER_OTLP[_<SIGNAL>]_COMPRESSION, timeout from
 * OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT (ms). Returns 1 to send, 0 to print (no endpoint, or
 * --endpoint -), 2 after printing a usage error.
 */
int otlp_dest_init(struct view *v, struct otlp_dest *d, const char *signal);

/*
 * POST one JSON body (gzip unless disabled). 429, 502, 503, 504 and lost connections are
 * retried with exponential backoff honouring Retry-After; the collector's response body is
 * decoded (chunked, gzip) for messages. Returns 0 on 2xx, 1 when the collector refused the
 * data (another status; the message is printed), 3 when it stayed unreachable or busy.
 */
int otlp_post(struct view *v, struct otlp_dest *d, const char *body, size_t n, size_t items);

/* OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else the agent label of the
 * process, else the final program of its exec chain. */
const char *otlp_service_name(const struct run *run, const struct vproc *p, char *buf, size_t n);
/* The resource object of a process: service.name, process.*, telemetry.sdk.*, and the pairs of
 * OTEL_RESOURCE_ATTRIBUTES (which win over ours for the same key). */
void otlp_resource(struct jw *w, const struct run *run, const struct vproc *p);

/* {"key":k,"value":{"stringValue":s}} and friends. */
void otlp_attr_str(struct jw *w, const char *k, const char *s);
void otlp_attr_int(struct jw *w, const char *k, int64_t v);
void otlp_attr_double(struct jw *w, const char *k, double v);
void otlp_attr_bool(struct jw *w, const char *k, int v);
/* 64-bit integers as decimal strings (the OTLP/JSON mapping). */
void otlp_kint64(struct jw *w, const char *k, int64_t v);

/* The shipped set of a --follow sidecar (follow_state.c); export_follow.c drives it. */
struct follow {
	uint64_t *slot; /* open addressing; 0 = empty (span ids are never 0) */
	size_t cap, n;
	uint64_t trace_hi, trace_lo;
	int have_trace;
	FILE *sf;
	char state[PATH_MAX];
	uint64_t shipped;
};

/* Read the state file fw->state (shipped ids, trace id) and open it for appending; 0, or 2 with
 * a message. */
int follow_state_open(struct view *v, struct follow *fw);
/* --follow state (export_follow.c): span ids already shipped, and the run's fixed trace id. */
int follow_seen(const struct follow *fw, uint64_t span_id);
/* The first call fixes the trace id (from the state file, else *hi, *lo); later calls get it. */
void follow_trace_id(struct follow *fw, uint64_t *hi, uint64_t *lo);
/* A batch carrying these span ids was accepted: remember them (state file, fsync). */
void follow_commit(struct follow *fw, const uint64_t *ids, size_t n);

/* --follow DIR: the sidecar (export_follow.c). */
int export_follow(struct view *v);
/* One OTLP trace export of the selected part of v->a (export_otlp.c). With fw (following):
 * only what was not shipped yet, process and manual spans once their process has ended (or,
 * when final, has been silent for 30 s). Returns 0, 1 (refused), 3 (collector unreachable). */
int otlp_export_run(struct view *v, struct otlp_dest *d, struct follow *fw, int final);
/* Metrics export (export_prom.c): --format otlp-metrics. */
int export_otlp_metrics(struct view *v);

#endif
