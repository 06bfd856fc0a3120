/* hook_ssl.c: OpenSSL wrappers: plaintext per SSL*, SNI, handshake time, socket binding. */
#include <errno.h>

#include "rt.h"

#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55

/* Resolve the caller's real function; a function it cannot reach gets an error return. */
#define API_OR(fn, fail)                                          \
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER()); \
	if (AP_UNLIKELY(!api->fn)) {                              \
		errno = ENOSYS;                                   \
		return fail;                                      \
	}

/* Run the real call with the thread marked as inside this SSL*, so that nested socket calls
 * bind the socket to it (libcurl's own BIO, Python's socket BIO). */
#define WITH_SSL(ssl, expr)                   \
	({                                    \
		void *prev_ = ap_tls.cur_ssl; \
		__typeof__(expr) r_;          \
		ap_tls.cur_ssl = (ssl);       \
		r_ = (expr);                  \
		ap_tls.cur_ssl = prev_;       \
		r_;                           \
	})

static void plaintext(void *ssl, int dir, const void *buf, size_t n)
{
	int err = errno;

	ap_tls.guard++;
	atomic_fetch_add_explicit(&ap_rt.calls, 1, memory_order_relaxed);
	ap_conn_ssl_io(ssl, dir, buf, n, ap_now());
	ap_maybe_flush(ap_now());
	ap_tls.guard--;
	errno = err;
}

AP_EXPORT int SSL_read(void *ssl, void *buf, int num)
{
	API_OR(SSL_read, -1);
	int rc;

	if (!ap_active())
		return api->SSL_read(ssl, buf, num);
	rc = WITH_SSL(ssl, api->SSL_read(ssl, buf, num));
	if (rc > 0)
		plaintext(ssl, 1, buf, (size_t)rc);
	return rc;
}

AP_EXPORT int SSL_read_ex(void *ssl, void *buf, size_t num, size_t *got)
{
	API_OR(SSL_read_ex, 0);
	int rc;

	if (!ap_active())
		return api->SSL_read_ex(ssl, buf, num, got);
	rc = WITH_SSL(ssl, api->SSL_read_ex(ssl, buf, num, got));
	if (rc == 1 && got && *got)
		plaintext(ssl, 1, buf, *got);
	return rc;
}

AP_EXPORT int SSL_write(void *ssl, const void *buf, int num)
{
	API_OR(SSL_write, -1);
	int rc;

	if (!ap_active())
		return api->SSL_write(ssl, buf, num);
	rc = WITH_SSL(ssl, api->SSL_write(ssl, buf, num));
	if (rc > 0)
		plaintext(ssl, 0, buf, (size_t)rc);
	return rc;
}

AP_EXPORT int SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
	API_OR(SSL_write_ex, 0);
	int rc;

	if (!ap_active())
		return api->SSL_write_ex(ssl, buf, num, written);
	rc = WITH_SSL(ssl, api->SSL_write_ex(ssl, buf, num, written));
	if (rc == 1 && written && *written)
		plaintext(ssl, 0, buf, *written);
	return rc;
}

/* Peeked bytes are read again later: they are not counted. */
AP_EXPORT int SSL_peek(void *ssl, void *buf, int num)
{
	API_OR(SSL_peek, -1);
	if (!ap_active())
		return api->SSL_peek(ssl, buf, num);
	return WITH_SSL(ssl, api->SSL_peek(ssl, buf, num));
}

AP_EXPORT int SSL_peek_ex(void *ssl, void *buf, size_t num, size_t *got)
{
	API_OR(SSL_peek_ex, 0);
	if (!ap_active())
		return api->SSL_peek_ex(ssl, buf, num, got);
	return WITH_SSL(ssl, api->SSL_peek_ex(ssl, buf, num, got));
}

AP_EXPORT int SSL_set_fd(void *ssl, int fd)
{
	API_OR(SSL_set_fd, 0);
	int rc = api->SSL_set_fd(ssl, fd);
	int err = errno;

	if (rc == 1 && ap_active()) {
		ap_tls.guard++;
		ap_conn_ssl_set_fd(ssl, fd);
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

/* Memory BIOs (asyncio) have no fd: the connection is keyed by SSL* and named by SNI. */
AP_EXPORT void SSL_set_bio(void *ssl, void *rbio, void *wbio)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());

	if (AP_UNLIKELY(!api->SSL_set_bio))
		return;
	api->SSL_set_bio(ssl, rbio, wbio);
	if (ap_active()) {
		int err = errno;
		ap_tls.guard++;
		ap_conn_for_ssl(ssl, 1);
		ap_tls.guard--;
		errno = err;
	}
}

AP_EXPORT long SSL_ctrl(void *ssl, int cmd, long larg, void *parg)
{
	API_OR(SSL_ctrl, 0);
	long rc = api->SSL_ctrl(ssl, cmd, larg, parg);
	int err = errno;

	if (cmd == SSL_CTRL_SET_TLSEXT_HOSTNAME && parg && rc == 1 && ap_active()) {
		ap_tls.guard++;
		ap_conn_ssl_sni(ssl, parg);
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

static int handshake(void *ssl, int (*fn)(void *), const struct ap_libapi *api)
{
	int64_t t0 = ap_now();
	int rc = WITH_SSL(ssl, fn(ssl));
	int err = errno;

	ap_tls.guard++;
	ap_conn_ssl_handshake(ssl, t0, ap_now(), rc == 1);
	if (rc == 1 && api->SSL_get0_alpn_selected) {
		const unsigned char *alpn = NULL;
		unsigned int alen = 0;
		api->SSL_get0_alpn_selected(ssl, &alpn, &alen);
		if (alpn && alen == 2 && alpn[0] == 'h' && alpn[1] == '2')
			ap_conn_ssl_alpn_h2(ssl);
	}
	ap_tls.guard--;
	errno = err;
	return rc;
}

AP_EXPORT int SSL_connect(void *ssl)
{
	API_OR(SSL_connect, -1);
	if (!ap_active())
		return api->SSL_connect(ssl);
	return handshake(ssl, api->SSL_connect, api);
}

AP_EXPORT int SSL_do_handshake(void *ssl)
{
	API_OR(SSL_do_handshake, -1);
	if (!ap_active())
		return api->SSL_do_handshake(ssl);
	return handshake(ssl, api->SSL_do_handshake, api);
}

AP_EXPORT void SSL_free(void *ssl)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());

	if (ssl && ap_active()) {
		int err = errno;
		ap_tls.guard++;
		ap_conn_ssl_free(ssl, ap_now());
		ap_tls.guard--;
		errno = err;
	}
	if (api->SSL_free)
		api->SSL_free(ssl);
}
