/* rt_syms.h: the tables of real functions the wrappers forward to. */
#ifndef AGENTPROF_RT_SYMS_H
#define AGENTPROF_RT_SYMS_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* libc functions: resolved once with dlsym(RTLD_NEXT) at init (or lazily before it). */
#define AP_LIBC_SYMS(X)                                                                          \
	X(int, connect, (int, const struct sockaddr *, socklen_t))                               \
	X(int, accept, (int, struct sockaddr *, socklen_t *))                                    \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                              \
	X(int, close, (int))                                                                     \
	X(int, shutdown, (int, int))                                                             \
	X(ssize_t, send, (int, const void *, size_t, int))                                       \
	X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                   \
	X(int, sendmmsg, (int, struct mmsghdr *, unsigned int, int))                             \
	X(ssize_t, recv, (int, void *, size_t, int))                                             \
	X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))         \
	X(ssize_t, recvmsg, (int, struct msghdr *, int))                                         \
	X(int, recvmmsg, (int, struct mmsghdr *, unsigned int, int, struct timespec *))          \
	X(ssize_t, read, (int, void *, size_t))                                                  \
	X(ssize_t, write, (int, const void *, size_t))                                           \
	X(ssize_t, readv, (int, const struct iovec *, int))                                      \
	X(ssize_t, writev, (int, const struct iovec *, int))                                     \
	X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))                               \
	X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                    \
	X(ssize_t, __recvfrom_chk,                                                               \
	  (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *))                    \
	X(int, getaddrinfo,                                                                      \
	  (const char *, const char *, const struct addrinfo *, struct addrinfo **))             \
	X(pid_t, fork, (void))                                                                   \
	X(int, execve, (const char *, char *const[], char *const[]))                             \
	X(int, execveat, (int, const char *, char *const[], char *const[], int))                 \
	X(int, fexecve, (int, char *const[], char *const[]))                                     \
	X(int, execv, (const char *, char *const[]))                                             \
	X(int, execvp, (const char *, char *const[]))                                            \
	X(int, execvpe, (const char *, char *const[], char *const[]))                            \
	X(pid_t, waitpid, (pid_t, int *, int))                                                   \
	X(int, daemon, (int, int))                                                               \
	X(void, exit, (int))                                                                     \
	X(void, _exit, (int))                                                                    \
	X(void, _Exit, (int))

#define AP_DECL_PTR(ret, name, args) ret(*name) args;
struct ap_libc {
	AP_LIBC_SYMS(AP_DECL_PTR)
};

/* Written once by ap_resolve_libc(); read by every wrapper. */
extern struct ap_libc ap_real;
void ap_resolve_libc(void);

#define AP_REAL(name) \
	(AP_UNLIKELY(!ap_real.name) ? (ap_resolve_libc(), ap_real.name) : ap_real.name)

/* OpenSSL and libcurl: resolved once per calling object, in that object's own scope, so that
 * Python's RTLD_LOCAL libssl and several copies of one library are each reached correctly. */
struct ap_libapi {
	int (*SSL_read)(void *, void *, int);
	int (*SSL_write)(void *, const void *, int);
	int (*SSL_read_ex)(void *, void *, size_t, size_t *);
	int (*SSL_write_ex)(void *, const void *, size_t, size_t *);
	int (*SSL_peek)(void *, void *, int);
	int (*SSL_peek_ex)(void *, void *, size_t, size_t *);
	int (*SSL_set_fd)(void *, int);
	void (*SSL_set_bio)(void *, void *, void *);
	long (*SSL_ctrl)(void *, int, long, void *);
	void (*SSL_free)(void *);
	int (*SSL_connect)(void *);
	int (*SSL_do_handshake)(void *);
	int (*curl_easy_perform)(void *);
	int (*curl_easy_getinfo)(void *, int, ...);
	int (*curl_multi_perform)(void *, int *);
	void *(*curl_multi_info_read)(void *, int *);
	int (*curl_multi_add_handle)(void *, void *);
	int (*curl_multi_remove_handle)(void *, void *);
	int (*curl_multi_socket_action)(void *, int, int, int *);
	void (*SSL_get0_alpn_selected)(const void *, const unsigned char **, unsigned int *);
};

/* The real entry points as seen from the object containing ret_addr. Never NULL; its members
 * may be NULL when the object cannot reach that function. */
const struct ap_libapi *ap_libapi_for(const void *ret_addr);
/* The real curl_easy_getinfo for a handle created anywhere (first libcurl seen). */
int (*ap_curl_getinfo_any(void))(void *, int, ...);

#define AP_CALLER() __builtin_extract_return_addr(__builtin_return_address(0))

#endif
