/* rt_curl_multi.h: start times of libcurl multi transfers, kept by easy handle until they end. */
#ifndef AGENTPROF_RT_CURL_MULTI_H
#define AGENTPROF_RT_CURL_MULTI_H

#include <stdint.h>

/* curl_multi_add_handle: remember when this process started the transfer on easy. */
void ap_curl_transfer_started(void *easy, int64_t t0);
/* The transfer on easy ended: its start time, forgotten here; AP_UNKNOWN if it was not (or no
 * longer) there, or another process (the parent, before a fork) started it. */
int64_t ap_curl_transfer_take(void *easy);
/* fork() child: a fresh lock (another thread may have held it) and an empty table. */
void ap_curl_transfers_after_fork_child(void);

#endif
