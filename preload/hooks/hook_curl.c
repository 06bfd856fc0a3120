/* hook_curl.c: libcurl wrappers: one exchange per transfer, merged with what the bytes showed. */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "redact.h"
#include "rt.h"
#include "rt_curl_multi.h"
#include "rt_h2.h"
#include "rt_pystack.h"
#include "rt_stack.h"

typedef int (*getinfo_fn)(void *, int, ...);

static int64_t info_us(getinfo_fn gi, void *easy, int what)
{
	curl_off_t v = -1;

	if (gi(easy, what, &v) != CURLE_OK || v < 0)
		return AP_UNKNOWN;
	return (int64_t)v;
}

static long info_long(getinfo_fn gi, void *easy, int what)
{
	long v = -1;

	return gi(easy, what, &v) == CURLE_OK ? v : -1;
}

/* Copy a string-valued info into out (empty if unavailable). */
static const char *info_str(getinfo_fn gi, void *easy, int what, char *out, size_t cap)
{
	char *s = NULL;

	out[0] = 0;
	if (gi(easy, what, &s) == CURLE_OK && s)
		ap_strlcpy(out, s, cap);
	return out[0] ? out : NULL;
}

/* Split "scheme://user@host:port/path?q" into host and redacted path. */
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

/* The transfer on easy ended at t1: build its exchange from curl's view and the bytes' view. */
static void transfer_done(void *easy, int64_t t0, int64_t t1, int result)
{
	getinfo_fn gi = ap_curl_getinfo_any();
	struct ap_record r;
	struct ap_exchange *x = &r.u.exchange;
	struct ap_conn *c;
	int64_t total, dns, con, app, pre, start;
	const char *s;
	char sbuf[2048];
	int parked;

	if (!gi || !easy)
		return;
	ap_record_init(&r, AP_REC_EXCHANGE);
	c = ap_conn_by_ports((int)info_long(gi, easy, CURLINFO_LOCAL_PORT),
			     (int)info_long(gi, easy, CURLINFO_PRIMARY_PORT));
	/* HTTP/2: each stream's own exchange from the byte view, matched by URL */
	parked = c && ap_conn_take_parked_h2(
			      c, info_str(gi, easy, CURLINFO_EFFECTIVE_URL, sbuf, sizeof(sbuf)), x);
	parked = parked || (c && ap_conn_take_parked(c, x));
	parked = parked ||
		 (!c && ap_h2_take_closed(
				(int)info_long(gi, easy, CURLINFO_LOCAL_PORT),
				info_str(gi, easy, CURLINFO_EFFECTIVE_URL, sbuf, sizeof(sbuf)), x));
	total = info_us(gi, easy, CURLINFO_TOTAL_TIME_T);
	dns = info_us(gi, easy, CURLINFO_NAMELOOKUP_TIME_T);
	con = info_us(gi, easy, CURLINFO_CONNECT_TIME_T);
	app = info_us(gi, easy, CURLINFO_APPCONNECT_TIME_T);
	pre = info_us(gi, easy, CURLINFO_PRETRANSFER_TIME_T);
	start = t0 != AP_UNKNOWN ? t0 : (total != AP_UNKNOWN ? t1 - total * 1000 : t1);
	x->new_conn = info_long(gi, easy, CURLINFO_NUM_CONNECTS) > 0;
	if (x->new_conn) {
		x->dns_ns = dns != AP_UNKNOWN ? dns * 1000 : AP_UNKNOWN;
		x->connect_ns = con > 0 && dns != AP_UNKNOWN ? (con - dns) * 1000 : AP_UNKNOWN;
		x->tls_ns = app > 0 && con != AP_UNKNOWN ? (app - con) * 1000 : AP_UNKNOWN;
	} else {
		x->dns_ns = x->connect_ns = x->tls_ns = AP_UNKNOWN;
	}
	if (!parked) {
		int64_t st = info_us(gi, easy, CURLINFO_STARTTRANSFER_TIME_T);
		curl_off_t up = 0, down = 0;
		long hdr = 0, req = 0;

		x->visibility = AP_VIS_LIBCURL;
		x->start_ns = pre != AP_UNKNOWN ? start + pre * 1000 : start;
		x->first_byte_ns = st > 0 ? start + st * 1000 : AP_UNKNOWN;
		/* curl 7.88 reports about the request-sent time as start-transfer on HTTP/2 */
		if (info_long(gi, easy, CURLINFO_HTTP_VERSION) == CURL_HTTP_VERSION_2_0)
			x->first_byte_ns = AP_UNKNOWN;
		x->end_ns = total != AP_UNKNOWN ? start + total * 1000 : t1;
		gi(easy, CURLINFO_SIZE_UPLOAD_T, &up);
		gi(easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
		gi(easy, CURLINFO_HEADER_SIZE, &hdr);
		gi(easy, CURLINFO_REQUEST_SIZE, &req);
		x->bytes_sent = (uint64_t)(up + req);
		x->bytes_received = (uint64_t)(down + hdr);
		s = info_str(gi, easy, CURLINFO_EFFECTIVE_METHOD, sbuf, sizeof(sbuf));
		if (s)
			ap_strlcpy(x->method, s, sizeof(x->method));
		s = info_str(gi, easy, CURLINFO_CONTENT_TYPE, sbuf, sizeof(sbuf));
		if (s)
			ap_strlcpy(x->content_type, s, sizeof(x->content_type));
		x->id = ap_new_id();
		x->tid = ap_gettid();
		x->span_id = ap_current_span();
		x->stack_id = ap_stack_capture();
		x->pystack_id = ap_pystack_capture();
		ap_strlcpy(x->agent, ap_tls.agent[0] ? ap_tls.agent : ap_rt.cfg.agent,
			   sizeof(x->agent));
	}
	s = info_str(gi, easy, CURLINFO_EFFECTIVE_URL, sbuf, sizeof(sbuf));
	if (s) {
		if (!parked)
			x->tls = !strncasecmp(s, "https:", 6);
		url_parts(s, x);
	}
	if (c && !parked)
		x->conn_id = ap_conn_id(c); /* the bytes were not HTTP/1.x we could read (HTTP/2) */
	if (x->status == AP_UNKNOWN) {
		long code = info_long(gi, easy, CURLINFO_RESPONSE_CODE);
		x->status = code > 0 ? (int32_t)code : AP_UNKNOWN;
	}
	x->port = (int32_t)info_long(gi, easy, CURLINFO_PRIMARY_PORT);
	if (x->port <= 0)
		x->port = AP_UNKNOWN;
	if (result == CURLE_OPERATION_TIMEDOUT)
		x->error = AP_XERR_TIMEOUT;
	else if (result == CURLE_RECV_ERROR || result == CURLE_SEND_ERROR)
		x->error = AP_XERR_RESET;
	else if (result == CURLE_PARTIAL_FILE || result == CURLE_GOT_NOTHING)
		x->error = AP_XERR_EOF;
	else if (result == CURLE_COULDNT_CONNECT || result == CURLE_COULDNT_RESOLVE_HOST ||
		 result == CURLE_SSL_CONNECT_ERROR || result == CURLE_PEER_FAILED_VERIFICATION)
		x->error = AP_XERR_CONNECT;
	else if (result != CURLE_OK && !x->error)
		x->error = AP_XERR_PROTOCOL;
	ap_classify_exchange(x);
	if (ap_sampled_out())
		return;
	ap_record(&r);
}

/* --- wrappers
 * -------------------------------------------------------------------------------------- */

AP_EXPORT CURLcode curl_easy_perform(CURL *easy)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());
	int64_t t0;
	pid_t pid;
	int rc, err;

	if (AP_UNLIKELY(!api->curl_easy_perform))
		return CURLE_FAILED_INIT;
	if (!ap_active() || ap_tls.in_curl)
		return api->curl_easy_perform(easy);
	t0 = ap_now();
	pid = ap_rt.pid;
	ap_tls.in_curl = 1;
	rc = api->curl_easy_perform(easy);
	ap_tls.in_curl = 0;
	err = errno;
	if (pid == ap_rt.pid) { /* not a child forked by a callback: the parent records it */
		ap_tls.guard++;
		transfer_done(easy, t0, ap_now(), rc);
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

/* Nested calls from inside curl_easy_perform are curl's own: pass them through. */
AP_EXPORT CURLMcode curl_multi_perform(CURLM *m, int *running)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());
	int rc;

	if (AP_UNLIKELY(!api->curl_multi_perform))
		return CURLM_INTERNAL_ERROR;
	if (!ap_active() || ap_tls.in_curl)
		return api->curl_multi_perform(m, running);
	ap_tls.in_curl = 1;
	rc = api->curl_multi_perform(m, running);
	ap_tls.in_curl = 0;
	return rc;
}

AP_EXPORT CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());
	int rc;

	if (AP_UNLIKELY(!api->curl_multi_socket_action))
		return CURLM_INTERNAL_ERROR;
	if (!ap_active() || ap_tls.in_curl)
		return api->curl_multi_socket_action(m, s, ev, running);
	ap_tls.in_curl = 1;
	rc = api->curl_multi_socket_action(m, s, ev, running);
	ap_tls.in_curl = 0;
	return rc;
}

AP_EXPORT CURLMcode curl_multi_add_handle(CURLM *m, CURL *easy)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());
	int rc;

	if (AP_UNLIKELY(!api->curl_multi_add_handle))
		return CURLM_INTERNAL_ERROR;
	rc = api->curl_multi_add_handle(m, easy);
	if (rc == CURLM_OK && ap_active() && !ap_tls.in_curl)
		ap_curl_transfer_started(easy, ap_now());
	return rc;
}

AP_EXPORT CURLMsg *curl_multi_info_read(CURLM *m, int *queued)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());
	CURLMsg *msg;
	int err;

	if (AP_UNLIKELY(!api->curl_multi_info_read))
		return NULL;
	msg = api->curl_multi_info_read(m, queued);
	if (!msg || msg->msg != CURLMSG_DONE || !ap_active() || ap_tls.in_curl)
		return msg;
	err = errno;
	ap_tls.guard++;
	{
		int64_t t0 = ap_curl_transfer_take(msg->easy_handle);
		if (t0 != AP_UNKNOWN)
			transfer_done(msg->easy_handle, t0, ap_now(), msg->data.result);
	}
	ap_tls.guard--;
	errno = err;
	return msg;
}

AP_EXPORT CURLMcode curl_multi_remove_handle(CURLM *m, CURL *easy)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());
	int64_t t0;

	if (AP_UNLIKELY(!api->curl_multi_remove_handle))
		return CURLM_INTERNAL_ERROR;
	/* A transfer whose DONE message the host never read still ends here. */
	if (ap_active() && !ap_tls.in_curl) {
		t0 = ap_curl_transfer_take(easy);
		if (t0 != AP_UNKNOWN) {
			int err = errno;
			ap_tls.guard++;
			if (ap_curl_getinfo_any()) {
				long code = info_long(ap_curl_getinfo_any(), easy,
						      CURLINFO_RESPONSE_CODE);
				if (code > 0)
					transfer_done(easy, t0, ap_now(), CURLE_OK);
			}
			ap_tls.guard--;
			errno = err;
		}
	}
	return api->curl_multi_remove_handle(m, easy);
}
