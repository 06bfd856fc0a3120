/* hook_curl.c: libcurl wrappers: one exchange per transfer, merged with what the bytes showed. */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "rt.h"
#include "rt_curl.h"

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

/* The transfer on easy ended at t1: hand libcurl's view of it to the runtime, which merges it
 * with what the bytes showed and finishes the exchange (rt_curl.c). */
static void transfer_done(void *easy, int64_t t0, int64_t t1, int result)
{
	getinfo_fn gi = ap_curl_getinfo_any();
	struct ap_curl_transfer t = {.t0 = t0, .t1 = t1};
	char url[2048], method[AP_STR_METHOD], ctype[AP_STR_CTYPE];
	curl_off_t up = 0, down = 0;
	long hdr = 0, req = 0;

	if (!gi || !easy)
		return;
	t.local_port = (int)info_long(gi, easy, CURLINFO_LOCAL_PORT);
	t.primary_port = (int)info_long(gi, easy, CURLINFO_PRIMARY_PORT);
	t.url = info_str(gi, easy, CURLINFO_EFFECTIVE_URL, url, sizeof(url));
	t.method = info_str(gi, easy, CURLINFO_EFFECTIVE_METHOD, method, sizeof(method));
	t.content_type = info_str(gi, easy, CURLINFO_CONTENT_TYPE, ctype, sizeof(ctype));
	t.total_us = info_us(gi, easy, CURLINFO_TOTAL_TIME_T);
	t.dns_us = info_us(gi, easy, CURLINFO_NAMELOOKUP_TIME_T);
	t.connect_us = info_us(gi, easy, CURLINFO_CONNECT_TIME_T);
	t.appconnect_us = info_us(gi, easy, CURLINFO_APPCONNECT_TIME_T);
	t.pretransfer_us = info_us(gi, easy, CURLINFO_PRETRANSFER_TIME_T);
	t.starttransfer_us = info_us(gi, easy, CURLINFO_STARTTRANSFER_TIME_T);
	t.num_connects = info_long(gi, easy, CURLINFO_NUM_CONNECTS);
	t.response_code = info_long(gi, easy, CURLINFO_RESPONSE_CODE);
	t.http2 = info_long(gi, easy, CURLINFO_HTTP_VERSION) == CURL_HTTP_VERSION_2_0;
	gi(easy, CURLINFO_SIZE_UPLOAD_T, &up);
	gi(easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
	gi(easy, CURLINFO_HEADER_SIZE, &hdr);
	gi(easy, CURLINFO_REQUEST_SIZE, &req);
	t.up = (uint64_t)up;
	t.down = (uint64_t)down;
	t.header_size = (uint64_t)hdr;
	t.request_size = (uint64_t)req;
	if (result == CURLE_OPERATION_TIMEDOUT)
		t.error = AP_XERR_TIMEOUT;
	else if (result == CURLE_RECV_ERROR || result == CURLE_SEND_ERROR)
		t.error = AP_XERR_RESET;
	else if (result == CURLE_PARTIAL_FILE || result == CURLE_GOT_NOTHING)
		t.error = AP_XERR_EOF;
	else if (result == CURLE_COULDNT_CONNECT || result == CURLE_COULDNT_RESOLVE_HOST ||
		 result == CURLE_SSL_CONNECT_ERROR || result == CURLE_PEER_FAILED_VERIFICATION)
		t.error = AP_XERR_CONNECT;
	t.failed = result != CURLE_OK;
	ap_curl_transfer_done(&t);
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
