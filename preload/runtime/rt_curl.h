/* rt_curl.h: libcurl in the runtime: multi transfers' start times, and a finished transfer merged
 * with the exchange its bytes showed. */
#ifndef AGENTPROF_RT_CURL_H
#define AGENTPROF_RT_CURL_H

#include <stdint.h>

/* What libcurl says about a finished transfer (hook_curl.c gathers it; rt_curl.c merges it with
 * the bytes' view and finishes the exchange). Times in microseconds, AP_UNKNOWN if not known. */
struct ap_curl_transfer {
	int64_t t0, t1; /* our start (AP_UNKNOWN: not seen) and end, ns */
	int local_port, primary_port;
	const char *url; /* effective URL, or NULL */
	const char *method, *content_type;
	int64_t total_us, dns_us, connect_us, appconnect_us, pretransfer_us, starttransfer_us;
	long num_connects, response_code;
	int http2; /* libcurl used HTTP/2 */
	uint64_t up, down, header_size, request_size;
	uint8_t error;	/* AP_XERR_* the transfer's result maps to, 0 if none */
	uint8_t failed; /* the result was not CURLE_OK */
};
void ap_curl_transfer_done(const struct ap_curl_transfer *t);

/* curl_multi_add_handle: remember when this process started the transfer on easy. */
void ap_curl_transfer_started(void *easy, int64_t t0);
/* The transfer on easy ended: its start time, forgotten here; AP_UNKNOWN if it was not (or no
 * longer) there, or another process (the parent, before a fork) started it. */
int64_t ap_curl_transfer_take(void *easy);
/* fork() child: a fresh lock (another thread may have held it) and an empty table. */
void ap_curl_transfers_after_fork_child(void);

#endif
