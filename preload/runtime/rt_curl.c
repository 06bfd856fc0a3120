/* rt_curl.c: libcurl in the runtime: multi transfers' start times, and a finished transfer merged
 * with the exchange its bytes showed, then finished. */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "redact.h"
#include "rt.h"
#include "rt_curl.h"
#include "rt_h2.h"

/* Split "scheme://user@host:port/path?q" into host and redacted path (where still unset). */
static void url_parts(const char *url, struct ap_exchange *x)
{
	const char *p = strstr(url, "://");
	const char *host, *end, *at;
	size_t n;

	host = p ? p + 3 : url;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	n = (size_t)(end - host);
	if (!x->host[0] && n < sizeof(x->host)) {
		memcpy(x->host, host, n);
		x->host[n] = 0;
		if (x->host[0] != '[' && strchr(x->host, ':'))
			*strchr(x->host, ':') = 0;
	}
	if (!x->path[0]) {
		ap_strlcpy(x->path, *end ? end : "/", sizeof(x->path));
		if (x->path[0] != '/') {
			memmove(x->path + 1, x->path, strnlen(x->path, sizeof(x->path) - 2) + 1);
			x->path[0] = '/';
		}
		ap_redact_path(x->path, sizeof(x->path));
	}
}

/* The exchange the bytes' view parked for this transfer: an HTTP/2 stream matched by URL, the
 * connection's parked HTTP/1.x exchange, or a stream of a connection closed meanwhile. */
static int take_parked(struct ap_conn *c, const struct ap_curl_transfer *t, struct ap_exchange *x)
{
	if (c)
		return ap_conn_take_parked_h2(c, t->url, x) || ap_conn_take_parked(c, x);
	return ap_h2_take_closed(t->local_port, t->url, x);
}

/* No byte view (not plaintext HTTP/1.x we could read): the exchange from libcurl alone. */
static void from_curl(const struct ap_curl_transfer *t, int64_t start, struct ap_exchange *x)
{
	x->visibility = AP_VIS_LIBCURL;
	x->start_ns = t->pretransfer_us != AP_UNKNOWN ? start + t->pretransfer_us * 1000 : start;
	x->first_byte_ns =
		t->starttransfer_us > 0 ? start + t->starttransfer_us * 1000 : AP_UNKNOWN;
	/* curl 7.88 reports about the request-sent time as start-transfer on HTTP/2 */
	if (t->http2)
		x->first_byte_ns = AP_UNKNOWN;
	x->end_ns = t->total_us != AP_UNKNOWN ? start + t->total_us * 1000 : t->t1;
	x->bytes_sent = t->up + t->request_size;
	x->bytes_received = t->down + t->header_size;
	if (t->method)
		ap_strlcpy(x->method, t->method, sizeof(x->method));
	if (t->content_type)
		ap_strlcpy(x->content_type, t->content_type, sizeof(x->content_type));
	if (t->url)
		x->tls = !strncasecmp(t->url, "https:", 6);
}

void ap_curl_transfer_done(const struct ap_curl_transfer *t)
{
	struct ap_record r;
	struct ap_exchange *x = &r.u.exchange;
	struct ap_conn *c;
	int64_t start;
	int parked;

	ap_record_init(&r, AP_REC_EXCHANGE);
	c = ap_conn_by_ports(t->local_port, t->primary_port);
	parked = take_parked(c, t, x);
	start = t->t0 != AP_UNKNOWN
			? t->t0
			: (t->total_us != AP_UNKNOWN ? t->t1 - t->total_us * 1000 : t->t1);
	x->new_conn = t->num_connects > 0;
	if (x->new_conn) {
		x->dns_ns = t->dns_us != AP_UNKNOWN ? t->dns_us * 1000 : AP_UNKNOWN;
		x->connect_ns = t->connect_us > 0 && t->dns_us != AP_UNKNOWN
					? (t->connect_us - t->dns_us) * 1000
					: AP_UNKNOWN;
		x->tls_ns = t->appconnect_us > 0 && t->connect_us != AP_UNKNOWN
				    ? (t->appconnect_us - t->connect_us) * 1000
				    : AP_UNKNOWN;
	} else {
		x->dns_ns = x->connect_ns = x->tls_ns = AP_UNKNOWN;
	}
	if (!parked)
		from_curl(t, start, x);
	if (t->url)
		url_parts(t->url, x);
	if (c && !parked)
		x->conn_id = ap_conn_id(c); /* the bytes were not HTTP/1.x we could read (HTTP/2) */
	if (x->status == AP_UNKNOWN)
		x->status = t->response_code > 0 ? (int32_t)t->response_code : AP_UNKNOWN;
	x->port = t->primary_port > 0 ? t->primary_port : AP_UNKNOWN;
	if (t->error)
		x->error = t->error;
	else if (t->failed && !x->error)
		x->error = AP_XERR_PROTOCOL;
	/* a parked record was identified when the bytes ended it; the host and port are libcurl's,
	 * so the class comes from the merged record, not the connection's cache */
	ap_exchange_finish(NULL, x, parked ? AP_FIN_IDENTIFIED : 0);
}

/*
 * Transfer start times for multi handles, keyed by easy handle; guarded by easy_lock. Each slot
 * remembers the pid that started the transfer: a forked child inherits the table (and may read
 * the DONE messages or remove the handles of its parent's transfers), but only the process
 * that ran a transfer records it. The child also gets a fresh lock (another thread may have
 * held it at fork) and an empty table.
 */
#define EASY_SLOTS 256
struct easy_slot {
	void *easy;
	int64_t t0;
	pid_t pid;
};
static struct easy_slot easy_tab[EASY_SLOTS] AP_COLD_BSS;
static pthread_mutex_t easy_lock = PTHREAD_MUTEX_INITIALIZER;

void ap_curl_transfer_started(void *easy, int64_t t0)
{
	pthread_mutex_lock(&easy_lock);
	for (int i = 0; i < EASY_SLOTS; i++)
		if (!easy_tab[i].easy || easy_tab[i].easy == easy) {
			easy_tab[i].easy = easy;
			easy_tab[i].t0 = t0;
			easy_tab[i].pid = ap_rt.pid;
			break;
		}
	pthread_mutex_unlock(&easy_lock);
}

int64_t ap_curl_transfer_take(void *easy)
{
	int64_t t0 = AP_UNKNOWN;

	pthread_mutex_lock(&easy_lock);
	for (int i = 0; i < EASY_SLOTS; i++)
		if (easy_tab[i].easy == easy) {
			if (easy_tab[i].pid == ap_rt.pid)
				t0 = easy_tab[i].t0;
			easy_tab[i].easy = NULL;
			break;
		}
	pthread_mutex_unlock(&easy_lock);
	return t0;
}

void ap_curl_transfers_after_fork_child(void)
{
	pthread_mutex_init(&easy_lock, NULL);
	memset(easy_tab, 0, sizeof(easy_tab));
}
