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

/* alpn: the same library's SSL_get0_alpn_selected (NULL when unknown): "h2" selects the HTTP/2
 * observer for the connection (the client preface does too, when ALPN is not visible). */
static int handshake(void *ssl, int (*fn)(void *),
		     void (*alpn)(const void *, const unsigned char **, unsigned int *))
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
	if (rc == 1 && alpn) {
		const unsigned char *proto = NULL;
		unsigned int len = 0;

		alpn(ssl, &proto, &len);
		if (proto && len == 2 && proto[0] == 'h' && proto[1] == '2')
			ap_conn_ssl_alpn_h2(ssl);
	}
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
	return handshake(ssl, api->SSL_connect, api->SSL_get0_alpn_selected);
}

AP_EXPORT int SSL_do_handshake(void *ssl)
{
	API_OR(SSL_do_handshake, -1);
	return handshake(ssl, api->SSL_do_handshake, api->SSL_get0_alpn_selected);
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
	read_fn SSL_peek;
	read_ex_fn SSL_peek_ex;
	int (*SSL_set_fd)(void *, int);
	void (*SSL_set_bio)(void *, void *, void *);
	long (*SSL_ctrl)(void *, int, long, void *);
	int (*SSL_connect)(void *);
	int (*SSL_do_handshake)(void *);
	void (*SSL_free)(void *);
	int (*SSL_is_init_finished)(const void *);
} inl;

/* Node drives the handshake from SSL_read on memory BIOs and never sees SSL_do_handshake
 * return 1: the first read after the handshake finished ends the TLS phase. The read that
 * produces the ClientHello is also what tells concurrent connections with one SNI apart. */
static void note_handshake_done(void *ssl)
{
	int err;

	if (!ap_active())
		return;
	err = errno;
	ap_tls.guard++;
	if (ap_conn_ssl_touch(ssl) && inl.SSL_is_init_finished &&
	    inl.SSL_is_init_finished(ssl) == 1)
		ap_conn_ssl_handshake(ssl, ap_now(), ap_now(), 1);
	ap_tls.guard--;
	errno = err;
}

__attribute__((used)) static int inl_read(void *ssl, void *buf, int num)
{
	int rc = do_read(inl.SSL_read, ssl, buf, num);

	note_handshake_done(ssl);
	return rc;
}

__attribute__((used)) static int inl_write(void *ssl, const void *buf, int num)
{
	return do_write(inl.SSL_write, ssl, buf, num);
}

__attribute__((used)) static int inl_read_ex(void *ssl, void *buf, size_t num, size_t *got)
{
	int rc = do_read_ex(inl.SSL_read_ex, ssl, buf, num, got);

	note_handshake_done(ssl);
	return rc;
}

__attribute__((used)) static int inl_write_ex(void *ssl, const void *buf, size_t num,
					      size_t *written)
{
	return do_write_ex(inl.SSL_write_ex, ssl, buf, num, written);
}

/* Peeked bytes are read again later: not counted (as SSL_peek above); a peek can still finish
 * the handshake and bind the socket. */
__attribute__((used)) static int inl_peek(void *ssl, void *buf, int num)
{
	int rc = ap_active() ? WITH_SSL(ssl, inl.SSL_peek(ssl, buf, num))
			     : inl.SSL_peek(ssl, buf, num);

	note_handshake_done(ssl);
	return rc;
}

__attribute__((used)) static int inl_peek_ex(void *ssl, void *buf, size_t num, size_t *got)
{
	int rc = ap_active() ? WITH_SSL(ssl, inl.SSL_peek_ex(ssl, buf, num, got))
			     : inl.SSL_peek_ex(ssl, buf, num, got);

	note_handshake_done(ssl);
	return rc;
}

__attribute__((used)) static int inl_set_fd(void *ssl, int fd)
{
	return do_set_fd(inl.SSL_set_fd, ssl, fd);
}

__attribute__((used)) static void inl_set_bio(void *ssl, void *rbio, void *wbio)
{
	do_set_bio(inl.SSL_set_bio, ssl, rbio, wbio);
}

__attribute__((used)) static long inl_ctrl(void *ssl, int cmd, long larg, void *parg)
{
	return do_ctrl(inl.SSL_ctrl, ssl, cmd, larg, parg);
}

__attribute__((used)) static int inl_connect(void *ssl)
{
	return handshake(ssl, inl.SSL_connect, NULL);
}

__attribute__((used)) static int inl_do_handshake(void *ssl)
{
	return handshake(ssl, inl.SSL_do_handshake, NULL);
}

__attribute__((used)) static void inl_free(void *ssl)
{
	do_free(inl.SSL_free, ssl);
}

/*
 * The patched entry jumps to a thunk, not straight to the C wrapper. A caller compiled in the
 * same unit as the hooked function (OpenSSL's SSL_connect calling SSL_do_handshake, any caller
 * under LTO) may rely on -fipa-ra: it knows which registers the original clobbers and keeps
 * live values in the others across the call. The thunk therefore gives back every register the
 * ABI lets a callee clobber (rcx, rdx, rsi, rdi, r8-r11, xmm0-15) except the return value in
 * rax. The arguments are untouched on the way in (≤ 6 integer arguments, none on the stack).
 * Not covered: callers that keep values in the upper halves of ymm/zmm registers or in
 * xmm16-31 across the call (code built for AVX with IPA register allocation).
 */
#if defined(__x86_64__)
#define SAVING_THUNK(thunk, wrapper)                                                     \
	__asm__(".text\n"                                                                \
		".p2align 4\n"                                                           \
		".globl " #thunk "\n"                                                    \
		".hidden " #thunk "\n"                                                   \
		".type " #thunk ", @function\n" #thunk ":\n"                             \
		"	.cfi_startproc\n"                                                      \
		"	push %rdi\n	push %rsi\n	push %rdx\n	push %rcx\n"                       \
		"	push %r8\n	push %r9\n	push %r10\n	push %r11\n"                         \
		"	.cfi_adjust_cfa_offset 64\n"                                           \
		"	sub $264, %rsp\n" /* 16 xmm + 8: the call below is 16-aligned */ \
		"	.cfi_adjust_cfa_offset 264\n"                                          \
		"	movdqu %xmm0, 0(%rsp)\n	movdqu %xmm1, 16(%rsp)\n"                      \
		"	movdqu %xmm2, 32(%rsp)\n	movdqu %xmm3, 48(%rsp)\n"                     \
		"	movdqu %xmm4, 64(%rsp)\n	movdqu %xmm5, 80(%rsp)\n"                     \
		"	movdqu %xmm6, 96(%rsp)\n	movdqu %xmm7, 112(%rsp)\n"                    \
		"	movdqu %xmm8, 128(%rsp)\n	movdqu %xmm9, 144(%rsp)\n"                   \
		"	movdqu %xmm10, 160(%rsp)\n	movdqu %xmm11, 176(%rsp)\n"                 \
		"	movdqu %xmm12, 192(%rsp)\n	movdqu %xmm13, 208(%rsp)\n"                 \
		"	movdqu %xmm14, 224(%rsp)\n	movdqu %xmm15, 240(%rsp)\n"                 \
		"	call " #wrapper "\n"                                             \
		"	movdqu 0(%rsp), %xmm0\n	movdqu 16(%rsp), %xmm1\n"                      \
		"	movdqu 32(%rsp), %xmm2\n	movdqu 48(%rsp), %xmm3\n"                     \
		"	movdqu 64(%rsp), %xmm4\n	movdqu 80(%rsp), %xmm5\n"                     \
		"	movdqu 96(%rsp), %xmm6\n	movdqu 112(%rsp), %xmm7\n"                    \
		"	movdqu 128(%rsp), %xmm8\n	movdqu 144(%rsp), %xmm9\n"                   \
		"	movdqu 160(%rsp), %xmm10\n	movdqu 176(%rsp), %xmm11\n"                 \
		"	movdqu 192(%rsp), %xmm12\n	movdqu 208(%rsp), %xmm13\n"                 \
		"	movdqu 224(%rsp), %xmm14\n	movdqu 240(%rsp), %xmm15\n"                 \
		"	add $264, %rsp\n"                                                      \
		"	pop %r11\n	pop %r10\n	pop %r9\n	pop %r8\n"                             \
		"	pop %rcx\n	pop %rdx\n	pop %rsi\n	pop %rdi\n"                           \
		"	ret\n"                                                                 \
		"	.cfi_endproc\n"                                                        \
		".size " #thunk ", .-" #thunk "\n");                                     \
	void thunk(void)
#else
#define SAVING_THUNK(thunk, wrapper) static void (*const thunk)(void) = (void (*)(void))wrapper
#endif

SAVING_THUNK(ap_thunk_read, inl_read);
SAVING_THUNK(ap_thunk_write, inl_write);
SAVING_THUNK(ap_thunk_read_ex, inl_read_ex);
SAVING_THUNK(ap_thunk_write_ex, inl_write_ex);
SAVING_THUNK(ap_thunk_peek, inl_peek);
SAVING_THUNK(ap_thunk_peek_ex, inl_peek_ex);
SAVING_THUNK(ap_thunk_set_fd, inl_set_fd);
SAVING_THUNK(ap_thunk_set_bio, inl_set_bio);
SAVING_THUNK(ap_thunk_ctrl, inl_ctrl);
SAVING_THUNK(ap_thunk_connect, inl_connect);
SAVING_THUNK(ap_thunk_do_handshake, inl_do_handshake);
SAVING_THUNK(ap_thunk_free, inl_free);

/* required: the object is hooked only when all of these are found and can be patched */
const struct ap_inline_hook ap_ssl_inline_hooks[] = {
	{"SSL_read", (void *)ap_thunk_read, (void **)&inl.SSL_read, 1},
	{"SSL_write", (void *)ap_thunk_write, (void **)&inl.SSL_write, 1},
	{"SSL_read_ex", (void *)ap_thunk_read_ex, (void **)&inl.SSL_read_ex, 0},
	{"SSL_write_ex", (void *)ap_thunk_write_ex, (void **)&inl.SSL_write_ex, 0},
	{"SSL_peek", (void *)ap_thunk_peek, (void **)&inl.SSL_peek, -1},
	{"SSL_peek_ex", (void *)ap_thunk_peek_ex, (void **)&inl.SSL_peek_ex, -1},
	{"SSL_set_fd", (void *)ap_thunk_set_fd, (void **)&inl.SSL_set_fd, 0},
	{"SSL_set_bio", (void *)ap_thunk_set_bio, (void **)&inl.SSL_set_bio, 0},
	{"SSL_ctrl", (void *)ap_thunk_ctrl, (void **)&inl.SSL_ctrl, 0},
	{"SSL_connect", (void *)ap_thunk_connect, (void **)&inl.SSL_connect, 0},
	{"SSL_do_handshake", (void *)ap_thunk_do_handshake, (void **)&inl.SSL_do_handshake, 0},
	{"SSL_free", (void *)ap_thunk_free, (void **)&inl.SSL_free, 1},
	{"SSL_is_init_finished", NULL, (void **)&inl.SSL_is_init_finished, 0},
	{NULL, NULL, NULL, 0},
};
