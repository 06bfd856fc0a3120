/* hook_ssl.c: OpenSSL wrappers: plaintext per SSL*, SNI, handshake time, socket binding; the
 * same logic behind the symbol wrappers and the inline hooks on a TLS library in the executable. */
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

typedef int (*read_fn)(void *, void *, int);
typedef int (*write_fn)(void *, const void *, int);
typedef int (*read_ex_fn)(void *, void *, size_t, size_t *);
typedef int (*write_ex_fn)(void *, const void *, size_t, size_t *);

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

/* --- the shared logic: `real` is the library's function (or the inline hook's trampoline) --- */

static int do_read(read_fn real, void *ssl, void *buf, int num)
{
	int rc;

	if (!ap_active())
		return real(ssl, buf, num);
	rc = WITH_SSL(ssl, real(ssl, buf, num));
	if (rc > 0)
		plaintext(ssl, 1, buf, (size_t)rc);
	return rc;
}

static int do_read_ex(read_ex_fn real, void *ssl, void *buf, size_t num, size_t *got)
{
	int rc;

	if (!ap_active())
		return real(ssl, buf, num, got);
	rc = WITH_SSL(ssl, real(ssl, buf, num, got));
	if (rc == 1 && got && *got)
		plaintext(ssl, 1, buf, *got);
	return rc;
}

static int do_write(write_fn real, void *ssl, const void *buf, int num)
{
	int rc;

	if (!ap_active())
		return real(ssl, buf, num);
	rc = WITH_SSL(ssl, real(ssl, buf, num));
	if (rc > 0)
		plaintext(ssl, 0, buf, (size_t)rc);
	return rc;
}

static int do_write_ex(write_ex_fn real, void *ssl, const void *buf, size_t num, size_t *written)
{
	int rc;

	if (!ap_active())
		return real(ssl, buf, num, written);
	rc = WITH_SSL(ssl, real(ssl, buf, num, written));
	if (rc == 1 && written && *written)
		plaintext(ssl, 0, buf, *written);
	return rc;
}

static int do_set_fd(int (*real)(void *, int), void *ssl, int fd)
{
	int rc = real(ssl, fd);
	int err = errno;

	if (rc == 1 && ap_active()) {
		ap_tls.guard++;
		ap_conn_ssl_set_fd(ssl, fd);
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

/* Memory BIOs (asyncio, Node's TLSWrap) have no fd: the connection is keyed by SSL* and tied
 * to its socket by SNI when the ClientHello goes out. */
static void do_set_bio(void (*real)(void *, void *, void *), void *ssl, void *rbio, void *wbio)
{
	real(ssl, rbio, wbio);
	if (ap_active()) {
		int err = errno;
		ap_tls.guard++;
		ap_conn_for_ssl(ssl, 1);
		ap_tls.guard--;
		errno = err;
	}
}

static long do_ctrl(long (*real)(void *, int, long, void *), void *ssl, int cmd, long larg,
		    void *parg)
{
	long rc = real(ssl, cmd, larg, parg);
	int err = errno;

	if (cmd == SSL_CTRL_SET_TLSEXT_HOSTNAME && parg && rc == 1 && ap_active()) {
		ap_tls.guard++;
		ap_conn_ssl_sni(ssl, parg);
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

static int handshake(void *ssl, int (*fn)(void *))
{
	int64_t t0;
	int rc;
	int err;

	if (!ap_active())
		return fn(ssl);
	t0 = ap_now();
	rc = WITH_SSL(ssl, fn(ssl));
	err = errno;
	ap_tls.guard++;
	ap_conn_ssl_handshake(ssl, t0, ap_now(), rc == 1);
	ap_tls.guard--;
	errno = err;
	return rc;
}

static void do_free(void (*real)(void *), void *ssl)
{
	if (ssl && ap_active()) {
		int err = errno;
		ap_tls.guard++;
		ap_conn_ssl_free(ssl, ap_now());
		ap_tls.guard--;
		errno = err;
	}
	if (real)
		real(ssl);
}

/* --- symbol wrappers (a shared libssl reached through the dynamic linker) --------------------
 */

AP_EXPORT int SSL_read(void *ssl, void *buf, int num)
{
	API_OR(SSL_read, -1);
	return do_read(api->SSL_read, ssl, buf, num);
}

AP_EXPORT int SSL_read_ex(void *ssl, void *buf, size_t num, size_t *got)
{
	API_OR(SSL_read_ex, 0);
	return do_read_ex(api->SSL_read_ex, ssl, buf, num, got);
}

AP_EXPORT int SSL_write(void *ssl, const void *buf, int num)
{
	API_OR(SSL_write, -1);
	return do_write(api->SSL_write, ssl, buf, num);
}

AP_EXPORT int SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
	API_OR(SSL_write_ex, 0);
	return do_write_ex(api->SSL_write_ex, ssl, buf, num, written);
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
	return do_set_fd(api->SSL_set_fd, ssl, fd);
}

AP_EXPORT void SSL_set_bio(void *ssl, void *rbio, void *wbio)
{
	const struct ap_libapi *api = ap_libapi_for(AP_CALLER());

	if (AP_UNLIKELY(!api->SSL_set_bio))
		return;
	do_set_bio(api->SSL_set_bio, ssl, rbio, wbio);
}

AP_EXPORT long SSL_ctrl(void *ssl, int cmd, long larg, void *parg)
{
	API_OR(SSL_ctrl, 0);
	return do_ctrl(api->SSL_ctrl, ssl, cmd, larg, parg);
}

AP_EXPORT int SSL_connect(void *ssl)
{
	API_OR(SSL_connect, -1);
	return handshake(ssl, api->SSL_connect);
}

AP_EXPORT int SSL_do_handshake(void *ssl)
{
	API_OR(SSL_do_handshake, -1);
	return handshake(ssl, api->SSL_do_handshake);
}

AP_EXPORT void SSL_free(void *ssl)
{
	do_free(ap_libapi_for(AP_CALLER())->SSL_free, ssl);
}

/* --- inline hooks (rt_inline.c patches the entry of each function to jump here; `real` is the
 * trampoline that runs the displaced instructions and continues in the original) ------------- */

static struct {
	read_fn SSL_read;
	write_fn SSL_write;
	read_ex_fn SSL_read_ex;
	write_ex_fn SSL_write_ex;
	int (*SSL_set_fd)(void *, int);
	void (*SSL_set_bio)(void *, void *, void *);
	long (*SSL_ctrl)(void *, int, long, void *);
	int (*SSL_connect)(void *);
	int (*SSL_do_handshake)(void *);
	void (*SSL_free)(void *);
	int (*SSL_is_init_finished)(const void *);
} inl;

/* Node drives the handshake from SSL_read on memory BIOs and never sees SSL_do_handshake
 * return 1: the first read after the handshake finished ends the TLS phase. */
static void note_handshake_done(void *ssl)
{
	int err;

	if (!inl.SSL_is_init_finished || !ap_active())
		return;
	err = errno;
	ap_tls.guard++;
	if (ap_conn_ssl_tls_pending(ssl) && inl.SSL_is_init_finished(ssl) == 1)
		ap_conn_ssl_handshake(ssl, ap_now(), ap_now(), 1);
	ap_tls.guard--;
	errno = err;
}

static int inl_read(void *ssl, void *buf, int num)
{
	int rc = do_read(inl.SSL_read, ssl, buf, num);

	note_handshake_done(ssl);
	return rc;
}

static int inl_write(void *ssl, const void *buf, int num)
{
	return do_write(inl.SSL_write, ssl, buf, num);
}

static int inl_read_ex(void *ssl, void *buf, size_t num, size_t *got)
{
	int rc = do_read_ex(inl.SSL_read_ex, ssl, buf, num, got);

	note_handshake_done(ssl);
	return rc;
}

static int inl_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
	return do_write_ex(inl.SSL_write_ex, ssl, buf, num, written);
}

static int inl_set_fd(void *ssl, int fd)
{
	return do_set_fd(inl.SSL_set_fd, ssl, fd);
}

static void inl_set_bio(void *ssl, void *rbio, void *wbio)
{
	do_set_bio(inl.SSL_set_bio, ssl, rbio, wbio);
}

static long inl_ctrl(void *ssl, int cmd, long larg, void *parg)
{
	return do_ctrl(inl.SSL_ctrl, ssl, cmd, larg, parg);
}

static int inl_connect(void *ssl)
{
	return handshake(ssl, inl.SSL_connect);
}

static int inl_do_handshake(void *ssl)
{
	return handshake(ssl, inl.SSL_do_handshake);
}

static void inl_free(void *ssl)
{
	do_free(inl.SSL_free, ssl);
}

/* required: the object is hooked only when all of these are found and can be patched */
const struct ap_inline_hook ap_ssl_inline_hooks[] = {
	{"SSL_read", (void *)inl_read, (void **)&inl.SSL_read, 1},
	{"SSL_write", (void *)inl_write, (void **)&inl.SSL_write, 1},
	{"SSL_read_ex", (void *)inl_read_ex, (void **)&inl.SSL_read_ex, 0},
	{"SSL_write_ex", (void *)inl_write_ex, (void **)&inl.SSL_write_ex, 0},
	{"SSL_set_fd", (void *)inl_set_fd, (void **)&inl.SSL_set_fd, 0},
	{"SSL_set_bio", (void *)inl_set_bio, (void **)&inl.SSL_set_bio, 0},
	{"SSL_ctrl", (void *)inl_ctrl, (void **)&inl.SSL_ctrl, 0},
	{"SSL_connect", (void *)inl_connect, (void **)&inl.SSL_connect, 0},
	{"SSL_do_handshake", (void *)inl_do_handshake, (void **)&inl.SSL_do_handshake, 0},
	{"SSL_free", (void *)inl_free, (void **)&inl.SSL_free, 1},
	{"SSL_is_init_finished", NULL, (void **)&inl.SSL_is_init_finished, 0},
	{NULL, NULL, NULL, 0},
};
