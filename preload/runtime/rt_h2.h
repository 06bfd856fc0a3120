/* rt_h2.h: HTTP/2 connections in the preload: libnghttp2's HPACK loaded privately, a fixed pool
 * of h2 observers, and per-stream exchanges parked for libcurl. */
#ifndef AGENTPROF_RT_H2_H
#define AGENTPROF_RT_H2_H

#include <stddef.h>
#include <stdint.h>

#include "ap_records.h"
#include "http.h"

#define AP_H2_CONNS  32 /* HTTP/2 connections observed at once per process */
#define AP_H2_PARKED 8	/* finished streams waiting for libcurl's transfer-done per connection */

struct ap_h2_conn;

/* libnghttp2 is dlopen()ed (RTLD_LOCAL | RTLD_NOW) and the pool mapped at the first HTTP/2
 * connection; a fork child retries a load its parent left half done. */
void ap_h2_after_fork_child(void);
/* 1 if HTTP/2 can be parsed (libnghttp2 found, pool mapped); loads it if not tried yet. */
int ap_h2_available(void);
/* A pool slot for a new HTTP/2 connection whose exchanges go to http->emit; NULL if none. */
struct ap_h2_conn *ap_h2_conn_new(const struct ap_http_env *http);
/* Bytes of the connection (dir 0 = written by the client, 1 = read). Caller holds the conn. */
void ap_h2_conn_io(struct ap_h2_conn *h, int dir, const void *buf, size_t n, int64_t now);
/* Emit pending streams and parked exchanges, release the slot. Inside a libcurl call
 * (local_port > 0) the parked exchanges outlive the connection, keyed by its local port, until
 * the transfer that owns them ends (ap_h2_take_closed) or the process exits. */
void ap_h2_conn_close(struct ap_h2_conn *h, int64_t now, unsigned err, int local_port);
/* A stream of an already closed connection parked for libcurl (1 if taken). */
int ap_h2_take_closed(int local_port, const char *url, struct ap_exchange *out);
/* Record what no transfer claimed (exit). */
void ap_h2_flush_closed(void);
/* Fork child: the parent's waiting exchanges are the parent's to report. */
void ap_h2_forget_closed(void);
/* Release the slot without emitting (fork child, a close racing with another thread). */
void ap_h2_conn_forget(struct ap_h2_conn *h);
/* Park a finished stream for libcurl (1), or 0 if it cannot be parked. */
int ap_h2_conn_park(struct ap_h2_conn *h, const struct ap_exchange *x);
/* Take the parked stream whose path matches the transfer's URL (any, oldest first, if url is
 * NULL); 1 if one was taken. */
int ap_h2_conn_take(struct ap_h2_conn *h, const char *url, struct ap_exchange *out);

#endif
