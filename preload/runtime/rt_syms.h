/* rt_syms.h: the tables of real functions the wrappers forward to. */
#ifndef AGENTPROF_RT_SYMS_H
#define AGENTPROF_RT_SYMS_H

#include <netdb.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

/*
 * The one table of real libc functions: every function a wrapper forwards to, resolved once with
 * dlsym(RTLD_NEXT) by ap_resolve_libc() (the first step of the constructor, or lazily by the
 * first wrapper that runs before it). A name glibc does not have stays NULL: its wrapper passes
 * through another way (hook_fd.c falls back to the raw system call) or fails with ENOSYS.
 */
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
	X(pid_t, wait, (int *))                                                                  \
	X(pid_t, wait3, (int *, int, struct rusage *))                                           \
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *))                                    \
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int))                                       \
	X(int, daemon, (int, int))                                                               \
	X(void, exit, (int))                                                                     \
	X(void, _exit, (int))                                                                    \
	X(void, _Exit, (int))                                                                    \
	X(int, close_range, (unsigned int, unsigned int, int))                                   \
	X(void, closefrom, (int))                                                                \
	X(int, dup2, (int, int))                                                                 \
	X(int, dup3, (int, int, int))                                                            \
	X(int, pipe2, (int *, int))                                                              \
	X(int, system, (const char *))                                                           \
	X(FILE *, popen, (const char *, const char *))                                           \
	X(int, pclose, (FILE *))                                                                 \
	X(int, __libc_start_main,                                                                \
	  (int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void),         \
	   void (*)(void), void *))

/*
 * Versioned libc functions (contract.md §1.5): posix_spawn and posix_spawnp exist as GLIBC_2.15
 * (the default) and GLIBC_2.2.5 (the old semantics), quick_exit as GLIBC_2.24 (the default) and
 * GLIBC_2.10; each of our exported versions forwards to its own, found with dlvsym (or dlsym
 * when the version is not there). X(type, field, name, version).
 */
typedef int (*ap_spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
typedef void (*ap_quick_exit_fn)(int);
#define AP_LIBC_VERSIONED_SYMS(X)                                       \
	X(ap_spawn_fn, posix_spawn_2_15, posix_spawn, "GLIBC_2.15")     \
	X(ap_spawn_fn, posix_spawn_2_2_5, posix_spawn, "GLIBC_2.2.5")   \
	X(ap_spawn_fn, posix_spawnp_2_15, posix_spawnp, "GLIBC_2.15")   \
	X(ap_spawn_fn, posix_spawnp_2_2_5, posix_spawnp, "GLIBC_2.2.5") \
	X(ap_quick_exit_fn, quick_exit_2_24, quick_exit, "GLIBC_2.24")  \
	X(ap_quick_exit_fn, quick_exit_2_10, quick_exit, "GLIBC_2.10")

#define AP_DECL_PTR(ret, name, args)		  ret(*name) args;
#define AP_DECL_VERSIONED(type, field, name, ver) type field;
struct ap_libc {
	AP_LIBC_SYMS(AP_DECL_PTR)
	AP_LIBC_VERSIONED_SYMS(AP_DECL_VERSIONED)
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
/* fork() child: the per-object table's lock is re-initialised (rt_init.c's fork table). */
void ap_resolve_after_fork_child(void);
/* The real curl_easy_getinfo for a handle created anywhere (first libcurl seen). */
int (*ap_curl_getinfo_any(void))(void *, int, ...);

#define AP_CALLER() __builtin_extract_return_addr(__builtin_return_address(0))

/*
 * Helper libraries loaded privately (zlib, nghttp2, libunwind, capstone; contract.md §5.3):
 * dlopen with RTLD_LOCAL, so the host's symbol resolution does not change, then one table of
 * names. The loader opens the file and closes it before returning: no fd of it survives.
 */
struct ap_lib_sym {
	const char *name; /* NULL ends the table */
	void **slot;
	const char *alt; /* tried when name is missing (an older name), or NULL */
};
/* Load soname privately (RTLD_LOCAL | RTLD_LAZY, or RTLD_NOW when now) and fill every slot of
 * syms. Returns the handle when every symbol was found; else NULL, every slot NULL and the
 * library unloaded again. */
void *ap_lib_open(const char *soname, int now, const struct ap_lib_sym *syms);
/* The loader's list lock (glibc's dl_load_write_lock, taken by dl_iterate_phdr and dlopen), which
 * fork() leaves as it was: found once at start-up (ap_loader_probe), read by a fork child
 * (ap_loader_after_fork_child). ap_loader_usable() is 0 in a child forked while it was held (or
 * while one of our calls below ran), or when it was never found: there dl_iterate_phdr, dlopen and
 * libunwind could wait forever or crash, so nothing of ours calls them (ap_lib_open refuses,
 * stacks use frame pointers), and the first refusal records one diagnostic. */
void ap_loader_probe(void);
void ap_loader_after_fork_child(void);
int ap_loader_usable(void);
/* Around each call of ours into dlopen, dl_iterate_phdr or libunwind: 1 when the call may be
 * made (then ap_loader_leave after it), 0 when not (a child as above, or a fork being prepared:
 * wait != 0 waits for that fork, up to 100 ms). The fork's prepare step keeps new calls out and
 * waits, at most 5 ms and without a lock, for those under way (rt_init.c's fork table); a child
 * forked while one still ran is a child as above. */
int ap_loader_enter(int wait);
void ap_loader_leave(void);
void ap_loader_before_fork(void);
void ap_loader_after_fork_parent(void);
/* 1 if soname is already loaded by the host (its copy is the host's, not ours). */
int ap_lib_loaded_by_host(const char *soname);
/* dlsym(RTLD_DEFAULT, name), except that a name no loaded object defines is NULL at once: no
 * failing dlsym (it allocates an error message, the first malloc of a short process, and leaves
 * it for the host's dlerror()). */
void *ap_dlsym_default(const char *name);

#endif
