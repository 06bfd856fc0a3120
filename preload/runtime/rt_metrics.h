/* rt_metrics.h: opt-in live Prometheus endpoint (AGENTPROF_PROMETHEUS) served from the process. */
#ifndef AGENTPROF_RT_METRICS_H
#define AGENTPROF_RT_METRICS_H

#include "ap_records.h"

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

/* From the constructor, after the configuration: spec is getenv("AGENTPROF_PROMETHEUS").
 * NULL or "" does nothing; an invalid spec or a bind error prints one agentprof: warning
 * (an address in use, as in profiled child processes of a served process, is only a
 * diagnostic record) and starts no thread. */
void ap_metrics_start(const char *spec);

/* Every recorded exchange (from ap_record): O(series) work under a tiny spin lock, no malloc. */
void ap_metrics_observe(const struct ap_exchange *x);

#endif
