/* rt_metrics.h: opt-in live Prometheus endpoint (AGENTPROF_PROMETHEUS) served from the process. */
#ifndef AGENTPROF_RT_METRICS_H
#define AGENTPROF_RT_METRICS_H

#include "ap_records.h"

struct ap_metrics_addr; /* rt.h: the parsed AGENTPROF_PROMETHEUS */

/*
 * AGENTPROF_PROMETHEUS=[HOST:]PORT serves GET /metrics (text format 0.0.4) from ONE thread,
 * the only thread the preload ever adds. HOST is a numeric IPv4 address, [IPv6] or localhost;
 * without it the endpoint binds 127.0.0.1. The thread blocks every signal and keeps
 * ap_tls.guard set, so its own socket calls are never recorded.
 *
 * Metric names and labels are those of `agentprof-view export --format prom` (docs/EXPORTS.md):
 * per endpoint key (category, provider, host, model), at most AP_METRICS_SERIES series; later
 * keys are counted under host="other", model="other".
 */
#define AP_METRICS_SERIES 64

/* The configuration (rt_init.c) parses AGENTPROF_PROMETHEUS with this: NULL if spec is a valid
 * [HOST:]PORT (then a->set), else the reason it is not. */
const char *ap_metrics_parse(const char *spec, struct ap_metrics_addr *a);

/* From the constructor, after the writer: serve at (ap_rt.cfg.metrics); nothing unless at->set.
 * A bind error prints one agentprof: warning (an address in use, as in profiled child processes
 * of a served process, is only a diagnostic record) and starts no thread. */
void ap_metrics_start(const struct ap_metrics_addr *at);

/* fork() child: no thread serves there; close the parent's listening socket (rt_init.c). */
void ap_metrics_after_fork_child(void);

/* Every recorded exchange (from ap_record): O(series) work under a tiny spin lock, no malloc. */
void ap_metrics_observe(const struct ap_exchange *x);

#endif
