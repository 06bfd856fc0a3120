/* rt_conn.c: the connection table (fd and SSL* keyed), byte routing to the parsers, exchanges. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>

#include "classify.h"
#include "redact.h"
#include "h2.h"
#include "rt.h"
#include "rt_h2.h"
#include "rt_metrics.h"
#include "rt_pystack.h"
#include "rt_stack.h"
#include "sni.h"

enum conn_kind { CK_FREE = 0, CK_SOCKET = 1, CK_SSL = 2 };

/* TLS record framing per direction, to tell handshake bytes from application data. */
struct tls_track {
	uint8_t hdr[5];
	uint8_t hlen;
	uint8_t type;
	uint32_t left;
	uint32_t rec_len; /* length of the record in progress */
};

/* TLS 1.3 servers send session tickets (encrypted, so they look like application data) right
 * after the handshake. In the first turn, up to this many small records are taken as tickets
 * and not as the response's first byte. */
#define TLS13_TICKETS	 2
#define TLS13_TICKET_MAX 600

/* Outgoing application-data records this small carry no request: a TLS 1.3 close_notify alert
 * (19 bytes: 2 + content type + 16-byte tag), HTTP/2 control frames (GOAWAY, PING and SETTINGS
 * acks, WINDOW_UPDATE, RST_STREAM: 26 to 34 bytes). The smallest HTTP/1.1 request needs 44. A
 * chunk of only such records never ends a turn whose response has begun, and a turn made of
 * them alone that gets no response is not an exchange. */
#define TLS_CONTROL_MAX 34
/* A TLS 1.3 alert record (close_notify): 2 bytes of alert, the content type, a 16-byte tag. After
 * the client sends one, nothing the server sends belongs to the response any more. */
#define TLS13_ALERT_LEN 19

struct ap_conn {
	atomic_int kind;  /* enum conn_kind; CK_FREE slots are claimed by CAS */
	atomic_flag busy; /* one thread at a time feeds the parser; others skip */
	uint8_t role;
	uint8_t tls;	     /* TLS bytes seen on this socket */
	uint8_t bound;	     /* socket whose plaintext an SSL* carries: ignore its bytes */
	uint8_t opaque;	     /* TLS socket with no SSL* seen: infer request/response turns */
	uint8_t decided;     /* first outgoing bytes classified */
	uint8_t emitted;     /* connection record written */
	uint8_t sni_pending; /* SSL conn with SNI set, no socket yet (memory BIO) */
	uint8_t tls13;	     /* the ServerHello negotiated TLS 1.3 */
	uint8_t tickets;     /* session-ticket records still expected (TLS 1.3, first turn) */
	int fd;
	void *ssl;
	struct ap_conn *link; /* socket <-> SSL pair */
	int local_port;
	uint64_t req_stack;   /* call stack at the current request's first byte */
	uint64_t req_pystack; /* Python stack at the same moment */
	int64_t connect_start;
	int64_t dns_ns;
	int64_t tls_start;
	int64_t tls_ns;
	int64_t sni_time;
	int64_t touch_ns; /* last SSL_* call on an SSL conn with no socket yet (memory BIO) */
	struct ap_connection info; /* the connection record being built */
	struct ap_http_env env;	   /* rt http env with ctx = this connection */
	struct ap_http http;
	struct tls_track tt[2];
	/* opaque turn in progress */
	int turn_active;
	int turn_control; /* every outgoing chunk of the turn was control-sized */
	int turn_closing; /* the client sent an alert after the response: the turn is over */
	struct ap_exchange turn;
	/* exchange parked for libcurl to merge with its own timings */
	int has_parked;
	struct ap_exchange parked;
	/* HTTP/2 (ALPN h2 or the prior-knowledge preface): the h2 observer replaces http */
	struct ap_h2_conn *h2;
	uint8_t alpn_h2; /* the TLS handshake selected "h2" */
	uint8_t h2_off;	 /* HTTP/2 seen but not parsed (no libnghttp2, pool full) */
	/* what the endpoint's host and port decide, computed once per connection */
	uint8_t cls_valid;
	int32_t cls_port;
	char cls_host[AP_STR_HOST];
	struct ap_endpoint_class cls;
	/* the host text the parser last named (cls_host is it without ":port"), valid while
	 * cls_host is unchanged */
	uint8_t cls_raw_ok;
	char cls_raw[AP_STR_HOST];
	/* the last path's verdict under cls: an API client sends one path again and again */
	uint8_t cls_path_ok, cls_cat, cls_prov;
	char cls_path[AP_STR_PATH];
};

struct ssl_slot {
	_Atomic(void *) ssl;
	_Atomic(struct ap_conn *) conn;
};

static struct ssl_slot *ssl_slots; /* AP_SSL_SLOTS, mmap'ed at init */

/* Recent DNS answers: address -> host name, so that connect() can name its peer. */
#define DNS_SLOTS 64
struct dns_entry {
	char host[AP_STR_HOST];
	char addr[AP_STR_PEER];
	int64_t end_ns;
	int64_t dns_ns;
};
static struct dns_entry *dns_tab;
static atomic_uint dns_next;

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Bytes of one table in the arena, rounded up so the next one starts on a cache line. */
#define ARENA_PART(n) (((n) + 63) & ~(size_t)63)

/* The four tables share one mapping (one system call at start-up instead of four; untouched
 * pages cost nothing either way). */
void ap_conn_init(void)
{
	size_t fd_bytes = ARENA_PART(sizeof(struct ap_conn *) * AP_FD_MAX);
	size_t conn_bytes = ARENA_PART(sizeof(struct ap_conn) * AP_CONN_MAX);
	size_t ssl_bytes = ARENA_PART(sizeof(struct ssl_slot) * AP_SSL_SLOTS);
	size_t dns_bytes = ARENA_PART(sizeof(struct dns_entry) * DNS_SLOTS);
	uint8_t *arena = map(fd_bytes + conn_bytes + ssl_bytes + dns_bytes);

	if (!arena) {
		ap_warn("cannot allocate the connection table; profiling is off");
		ap_rt.conns = NULL;
		return;
	}
	ap_rt.fd_conn = (struct ap_conn **)arena;
	ap_rt.conns = (struct ap_conn *)(arena + fd_bytes);
	ssl_slots = (struct ssl_slot *)(arena + fd_bytes + conn_bytes);
	dns_tab = (struct dns_entry *)(arena + fd_bytes + conn_bytes + ssl_bytes);
}

static int lock_conn(struct ap_conn *c)
{
	if (atomic_flag_test_and_set_explicit(&c->busy, memory_order_acquire)) {
		atomic_fetch_add(&ap_rt.dropped, 1);
		return 0;
	}
	return 1;
}

static void unlock_conn(struct ap_conn *c)
{
	atomic_flag_clear_explicit(&c->busy, memory_order_release);
}

static void emit_from_parser(void *ctx, struct ap_exchange *x);
static void dropped_by_parser(void *ctx);
static void classify_for_parser(void *ctx, const char *host, int port, const char *path,
				uint8_t *category, uint8_t *provider);

/* Slots are claimed first-fit, so none at or above this index was ever used: the scans at
 * fork and exit stop here instead of touching every page of the table. */
static atomic_int conn_hwm;

static int conns_used(void)
{
	return atomic_load_explicit(&conn_hwm, memory_order_acquire);
}

static struct ap_conn *conn_alloc(int kind)
{
	for (int i = 0; i < AP_CONN_MAX; i++) {
		struct ap_conn *c = &ap_rt.conns[i];
		int expect = CK_FREE;

		if (atomic_load_explicit(&c->kind, memory_order_relaxed) != CK_FREE)
			continue;
		if (!atomic_compare_exchange_strong(&c->kind, &expect, CK_SOCKET))
			continue;
		for (int h = conns_used(); h < i + 1;)
			if (atomic_compare_exchange_weak(&conn_hwm, &h, i + 1))
				break;
		memset((char *)c + offsetof(struct ap_conn, role), 0,
		       sizeof(*c) - offsetof(struct ap_conn, role));
		atomic_flag_clear(&c->busy);
		c->fd = -1;
		{
			struct ap_record r;
			ap_record_init(&r, AP_REC_CONNECTION);
			c->info = r.u.connection;
		}
		c->info.id = ap_new_id();
		c->info.tid = ap_gettid();
		c->info.open_ns = ap_now();
		c->connect_start = c->dns_ns = c->tls_start = c->tls_ns = AP_UNKNOWN;
		c->env = ap_rt.http_env;
		c->env.emit = emit_from_parser;
		c->env.dropped = dropped_by_parser;
		c->env.classify = classify_for_parser;
		c->env.ctx = c;
		ap_http_init(&c->http, &c->env);
		atomic_store(&c->kind, kind);
		return c;
	}
	atomic_fetch_add(&ap_rt.dropped, 1);
	return NULL;
}

static void set_fd(int fd, struct ap_conn *c)
{
	if ((unsigned)fd < AP_FD_MAX && ap_rt.fd_conn)
		__atomic_store_n(&ap_rt.fd_conn[fd], c, __ATOMIC_RELEASE);
}

/* --- naming --------------------------------------------------------------------------------------
 */

/* The address as text into out (a connection's, used by one thread after another: inet_ntop
 * writes into a local, so that a ThreadSanitizer host's interceptor never sees the shared
 * buffer; rt_libc.c). */
static void addr_text(const struct sockaddr *sa, char *out, size_t cap, int *port)
{
	char text[INET6_ADDRSTRLEN] = "";

	out[0] = 0;
	*port = AP_UNKNOWN;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)))
			ap_strlcpy(out, text, cap);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)))
			ap_strlcpy(out, text, cap);
		*port = ntohs(in6->sin6_port);
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		ap_strlcpy(out, un->sun_path[0] ? un->sun_path : "@abstract", cap);
	}
}

void ap_dns_remember(const char *host, const struct sockaddr *sa, int64_t dns_ns)
{
	unsigned i = atomic_fetch_add(&dns_next, 1) % DNS_SLOTS;
	struct dns_entry *e = &dns_tab[i];
	int port;

	if (!dns_tab)
		return;
	ap_strlcpy(e->host, host, sizeof(e->host));
	addr_text(sa, e->addr, sizeof(e->addr), &port);
	e->dns_ns = dns_ns;
	e->end_ns = ap_now();
}

static void name_from_dns(struct ap_conn *c, int64_t connect_t0)
{
	for (unsigned k = 0; k < DNS_SLOTS; k++) {
		unsigned i = (atomic_load(&dns_next) - 1 - k) % DNS_SLOTS;
		struct dns_entry *e = &dns_tab[i];
		if (e->host[0] && !strcmp(e->addr, c->info.peer)) {
			ap_strlcpy(c->info.host, e->host, sizeof(c->info.host));
			/* the lookup belongs to this connection if it ended just before */
			if (connect_t0 - e->end_ns < 2000000000ll)
				c->dns_ns = e->dns_ns;
			return;
		}
	}
}

/* --- connection lifecycle
 * ------------------------------------------------------------------------- */

static void write_connection(struct ap_conn *c, int64_t now)
{
	struct ap_record r;

	if (c->emitted)
		return;
	c->emitted = 1;
	r.type = AP_REC_CONNECTION;
	r.u.connection = c->info;
	if (r.u.connection.close_ns == AP_UNKNOWN)
		r.u.connection.close_ns = now;
	ap_record(&r);
}

static void finish_turn(struct ap_conn *c);
static void flush_parked(struct ap_conn *c);

/* Emit what is pending and release the slot. */
static void conn_release(struct ap_conn *c, int64_t now)
{
	if (lock_conn(c)) {
		ap_http_close(&c->http, now, c->info.error);
		if (c->h2)
			ap_h2_conn_close(c->h2, now, c->info.error,
					 ap_tls.in_curl ? c->local_port : 0);
		c->h2 = NULL;
		finish_turn(c);
		flush_parked(c);
		unlock_conn(c);
	}
	if (c->h2)
		ap_h2_conn_forget(c->h2); /* another thread held the connection */
	c->h2 = NULL;
	c->info.close_ns = now;
	if (c->link) {
		c->link->link = NULL;
		c->link = NULL;
	}
	/* A socket carrying an SSL* is described by the SSL connection's record. */
	if (!c->bound)
		write_connection(c, now);
	ap_http_reset(&c->http);
	atomic_store(&c->kind, CK_FREE);
}

void ap_conn_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int64_t t0, int64_t t1,
			int rc, int err)
{
	struct ap_conn *c;
	int port;

	if (!sa || len < sizeof(sa->sa_family) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6 && sa->sa_family != AF_UNIX))
		return;
	if (rc < 0 && err != EINPROGRESS && err != EINTR)
		return; /* failed connect: no connection */
	c = ap_conn_for_fd(fd);
	if (c)
		ap_conn_on_close(fd, t0);
	c = conn_alloc(CK_SOCKET);
	if (!c)
		return;
	c->fd = fd;
	c->info.fd = fd;
	c->info.open_ns = t0;
	c->connect_start = t0;
	addr_text(sa, c->info.peer, sizeof(c->info.peer), &port);
	c->info.port = port;
	if (rc == 0)
		c->info.connect_ns = t1 - t0;
	{
		struct sockaddr_storage ls;
		socklen_t ll = sizeof(ls);
		int lp;
		char tmp[AP_STR_PEER];
		if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) {
			addr_text((struct sockaddr *)&ls, tmp, sizeof(tmp), &lp);
			c->local_port = lp;
		}
	}
	name_from_dns(c, t0);
	set_fd(fd, c);
}

void ap_conn_on_accept(int fd, int64_t now)
{
	struct ap_conn *c;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int port;

	if (ap_conn_for_fd(fd))
		ap_conn_on_close(fd, now);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return;
	c = conn_alloc(CK_SOCKET);
	if (!c)
		return;
	c->fd = fd;
	c->info.fd = fd;
	c->role = AP_ROLE_SERVER;
	c->decided = 1; /* inbound traffic is not parsed: we profile the client side */
	c->info.open_ns = now;
	addr_text((struct sockaddr *)&ss, c->info.peer, sizeof(c->info.peer), &port);
	c->info.port = port;
	c->info.category = AP_CAT_TOOL;
	set_fd(fd, c);
}

void ap_conn_on_close(int fd, int64_t now)
{
	struct ap_conn *c = ap_conn_for_fd(fd);

	if (!c)
		return;
	set_fd(fd, NULL);
	if (atomic_load(&c->kind) != CK_SOCKET)
		return;
	if (c->link && ap_inline_ssl_ends_with_socket() && atomic_load(&c->link->kind) == CK_SSL)
		ap_conn_ssl_free(c->link->ssl, now);
	conn_release(c, now);
}

void ap_conn_on_error(struct ap_conn *c, int err, int64_t now)
{
	if (err == ECONNRESET || err == EPIPE)
		c->info.error = AP_XERR_RESET;
	else if (err == ETIMEDOUT)
		c->info.error = AP_XERR_TIMEOUT;
}

/* --- TLS framing and opaque turns ----------------------------------------------------------------
 */

/* Count application-data bytes in a chunk of TLS records (dir 0 = out, 1 = in). Incoming
 * records taken for TLS 1.3 session tickets are relabelled (type 0) and not counted. */
static size_t tls_app_bytes(struct ap_conn *c, int dir, const uint8_t *p, size_t n, int *big)
{
	struct tls_track *t = &c->tt[dir];
	size_t app = 0;

	while (n) {
		if (t->left) {
			size_t k = n < t->left ? n : t->left;
			if (t->type == 23) {
				app += k;
				if (t->rec_len > TLS_CONTROL_MAX)
					*big = 1;
			}
			t->left -= (uint32_t)k;
			p += k;
			n -= k;
			continue;
		}
		t->hdr[t->hlen++] = *p++;
		n--;
		if (t->hlen == 5) {
			t->type = t->hdr[0];
			t->left = (uint32_t)t->hdr[3] << 8 | t->hdr[4];
			t->rec_len = t->left;
			t->hlen = 0;
			if (dir == 1 && t->type == 23 && c->tickets && c->turn_active &&
			    c->turn.first_byte_ns == AP_UNKNOWN) {
				if (t->left <= TLS13_TICKET_MAX && !c->info.exchanges) {
					c->tickets--;
					t->type = 0;
				} else {
					c->tickets = 0;
				}
			}
		}
	}
	return app;
}

/* The ServerHello names the version in its supported_versions extension (0x002b): 0x0304. */
static void note_server_hello(struct ap_conn *c, const uint8_t *p, size_t n)
{
	static const uint8_t v13[6] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};

	if (n > 5 && p[0] == 22 && memmem(p, n < 512 ? n : 512, v13, sizeof(v13))) {
		c->tls13 = 1;
		c->tickets = TLS13_TICKETS;
	}
}

static void finish_turn(struct ap_conn *c)
{
	if (!c->turn_active)
		return;
	c->turn_active = 0;
	if (c->turn_control && !c->turn.bytes_received)
		return; /* close_notify, GOAWAY...: not a request */
	if (c->turn.end_ns == AP_UNKNOWN)
		c->turn.error = AP_XERR_EOF;
	ap_emit_exchange(c, &c->turn);
}

static void opaque_io(struct ap_conn *c, int dir, size_t app, int big, int64_t now)
{
	struct ap_exchange *x = &c->turn;

	if (!app)
		return;
	if (dir == 0) {
		if (c->turn_active && x->first_byte_ns != AP_UNKNOWN) {
			if (!big) {
				/* control records while (or after) a response arrives */
				if (c->tt[0].rec_len == TLS13_ALERT_LEN)
					c->turn_closing = 1;
				return;
			}
			finish_turn(c);
		}
		if (!c->turn_active) {
			struct ap_record r;
			ap_record_init(&r, AP_REC_EXCHANGE);
			*x = r.u.exchange;
			x->start_ns = now;
			c->turn_active = 1;
			c->turn_control = 1;
			c->turn_closing = 0;
			c->req_stack = ap_stack_capture();
			c->req_pystack = ap_pystack_capture();
		}
		if (big)
			c->turn_control = 0;
		x->req_sent_ns = now;
		x->bytes_sent += app;
		return;
	}
	if (!c->turn_active || c->turn_closing)
		return; /* a TLS 1.3 session ticket before any request; the server's close_notify */
	if (x->first_byte_ns == AP_UNKNOWN)
		x->first_byte_ns = now;
	x->end_ns = now;
	x->bytes_received += app;
}

/* First outgoing bytes on a client socket decide how it is parsed. */
static void decide(struct ap_conn *c, const uint8_t *p, size_t n, int64_t now)
{
	char sni[AP_STR_HOST];

	c->decided = 1;
	if (!ap_tls_record_start(p, n))
		return; /* plaintext: the HTTP parser decides whether it is HTTP */
	c->tls = 1;
	c->info.tls = 1;
	ap_http_reset(&c->http);
	c->http.mode = AP_HTTP_GAVE_UP;
	if (ap_sni_parse(p, n, sni, sizeof(sni)) == 1) {
		ap_strlcpy(c->info.host, sni, sizeof(c->info.host));
		/* A memory-BIO SSL* (asyncio, Node) with this SNI and no socket yet: that is us.
		 * Of several, the one whose SSL_* call just produced this ClientHello. */
		struct ap_conn *best = NULL;
		for (int i = 0; i < AP_CONN_MAX; i++) {
			struct ap_conn *s = &ap_rt.conns[i];
			if (atomic_load(&s->kind) == CK_SSL && s->sni_pending && !s->link &&
			    !strcmp(s->info.host, sni) && (!best || s->touch_ns > best->touch_ns))
				best = s;
		}
		if (best) {
			best->sni_pending = 0;
			ap_conn_bind_ssl_fd(best->ssl, c->fd);
			/* the ClientHello going out now starts the handshake */
			if (best->tls_start == AP_UNKNOWN)
				best->tls_start = now;
		}
	}
	if (!c->bound) {
		c->opaque = 1;
		c->info.visibility = AP_VIS_OPAQUE;
		if (!ap_rt.opaque_tls_reported) {
			char msg[AP_STR_MSG];
			ap_rt.opaque_tls_reported = 1;
			const char *why = ap_inline_opaque_reason();
			if (why)
				snprintf(msg, sizeof(msg), "TLS to %.100s without SSL_* calls: %s",
					 c->info.host[0] ? c->info.host : c->info.peer, why);
			else
				snprintf(msg, sizeof(msg),
					 "TLS to %.120s without SSL_* calls (statically linked "
					 "TLS): endpoints are timed at socket level only",
					 c->info.host[0] ? c->info.host : c->info.peer);
			ap_diag(AP_DIAG_OPAQUE_TLS, msg);
		}
		c->tls_start = c->connect_start != AP_UNKNOWN && c->info.connect_ns != AP_UNKNOWN
				       ? c->connect_start + c->info.connect_ns
				       : now;
	}
}

/* HTTP/2 in plaintext is timed per connection but not parsed: say so once per process. */
static void note_http2(struct ap_conn *c)
{
	static atomic_int reported;
	char msg[AP_STR_MSG];

	if (atomic_exchange(&reported, 1))
		return;
	snprintf(msg, sizeof(msg), "HTTP/2 to %.120s is not parsed (%s): timed per connection only",
		 c->info.host[0] ? c->info.host : c->info.peer,
		 ap_h2_available() ? "too many HTTP/2 connections at once"
				   : "libnghttp2.so.14 not found");
	ap_diag(AP_DIAG_HTTP2, msg);
}

/* HTTP/2 goes to the h2 observer: selected by ALPN "h2" at the first byte of the connection,
 * or by the connection preface as the client's first bytes (h2c prior knowledge, and TLS
 * where the handshake was not seen). Returns 1 if the bytes were taken. */
static int h2_route(struct ap_conn *c, int dir, const uint8_t *p, size_t n, int64_t now)
{
	if (!c->h2 && !c->h2_off) {
		int first = c->info.bytes_sent + c->info.bytes_received == n;
		int preface = dir == 0 && c->info.bytes_sent == n && ap_h2_preface_start(p, n);

		if (!(c->alpn_h2 && first) && !preface)
			return 0;
		c->h2 = ap_h2_conn_new(&c->env);
		if (!c->h2) {
			c->h2_off = 1;
			return 0; /* the HTTP/1.1 parser gives up on the preface and says why */
		}
		c->http.mode = AP_HTTP_GAVE_UP;
	}
	if (!c->h2)
		return 0;
	/* streams interleave: each exchange takes the stack of the call that completes it */
	ap_h2_conn_io(c->h2, dir, p, n, now);
	return 1;
}

/* --- byte routing
 * --------------------------------------------------------------------------------- */

/* Inlined into ap_conn_on_io/ap_conn_on_iov: one frame fewer under a captured call stack. */
static inline __attribute__((always_inline)) void
socket_bytes(struct ap_conn *c, int dir, const uint8_t *p, size_t n, int64_t now)
{
	if (c->role == AP_ROLE_SERVER) {
		if (dir)
			c->info.bytes_received += n;
		else
			c->info.bytes_sent += n;
		return;
	}
	if (ap_tls.cur_ssl && c->ssl != ap_tls.cur_ssl && !c->bound)
		ap_conn_bind_ssl_fd(ap_tls.cur_ssl, c->fd);
	if (c->bound)
		return; /* ciphertext of an SSL connection: its plaintext is counted there */
	if (!c->decided) {
		/* non-blocking connect: the socket is connected by the time bytes flow (upper
		 * bound) */
		if (c->info.connect_ns == AP_UNKNOWN && c->connect_start != AP_UNKNOWN)
			c->info.connect_ns = now - c->connect_start;
		if (dir == 1) {
			/* server speaks first (Redis greeting, SMTP...): not an HTTP client */
			c->decided = 1;
		} else {
			decide(c, p, n, now);
			if (c->bound)
				return;
		}
	}
	if (dir)
		c->info.bytes_received += n;
	else
		c->info.bytes_sent += n;
	if (c->opaque) {
		size_t app;
		int big = 0;
		if (dir == 1 && !c->tls13 && c->info.bytes_received == n)
			note_server_hello(c, p, n);
		app = tls_app_bytes(c, dir, p, n, &big);
		if (c->tls_ns == AP_UNKNOWN && dir == 0 && app && c->tls_start != AP_UNKNOWN)
			c->tls_ns = now - c->tls_start;
		opaque_io(c, dir, app, big, now);
		return;
	}
	if (h2_route(c, dir, p, n, now) || c->http.mode == AP_HTTP_GAVE_UP)
		return;
	if (dir) {
		ap_http_in(&c->http, p, n, now);
	} else {
		if (!ap_http_pending(&c->http)) {
			c->req_stack = ap_stack_capture();
			c->req_pystack = ap_pystack_capture();
		}
		ap_http_out(&c->http, p, n, now);
	}
	if (c->http.http2)
		note_http2(c);
}

void ap_conn_on_io(struct ap_conn *c, int dir, const void *buf, size_t n, int64_t now)
{
	if (!n || !lock_conn(c))
		return;
	socket_bytes(c, dir, buf, n, now);
	unlock_conn(c);
}

void ap_conn_on_iov(struct ap_conn *c, int dir, const struct iovec *iov, int iovcnt, size_t n,
		    int64_t now)
{
	if (!n || !lock_conn(c))
		return;
	for (int i = 0; i < iovcnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
		socket_bytes(c, dir, iov[i].iov_base, k, now);
		n -= k;
	}
	unlock_conn(c);
}

/* --- SSL connections
 * ------------------------------------------------------------------------------ */

static unsigned ssl_hash(void *ssl)
{
	return (unsigned)((((uintptr_t)ssl >> 4) * 0x9E3779B97F4A7C15ull) >> 40) % AP_SSL_SLOTS;
}

struct ap_conn *ap_conn_for_ssl(void *ssl, int create)
{
	unsigned h = ssl_hash(ssl);
	struct ap_conn *c;

	if (!ssl_slots || !ssl)
		return NULL;
	for (unsigned i = 0; i < AP_SSL_SLOTS; i++) {
		struct ssl_slot *s = &ssl_slots[(h + i) % AP_SSL_SLOTS];
		void *cur = atomic_load(&s->ssl);
		if (cur == ssl)
			return atomic_load(&s->conn);
		if (!cur)
			break;
	}
	if (!create)
		return NULL;
	c = conn_alloc(CK_SSL);
	if (!c)
		return NULL;
	c->ssl = ssl;
	c->tls = 1;
	c->info.tls = 1;
	c->info.visibility = AP_VIS_PLAINTEXT;
	c->decided = 1;
	for (unsigned i = 0; i < AP_SSL_SLOTS; i++) {
		struct ssl_slot *s = &ssl_slots[(h + i) % AP_SSL_SLOTS];
		void *expect = NULL;
		if (atomic_compare_exchange_strong(&s->ssl, &expect, ssl) || expect == (void *)1) {
			atomic_store(&s->ssl, ssl);
			atomic_store(&s->conn, c);
			return c;
		}
	}
	atomic_store(&c->kind, CK_FREE);
	return NULL;
}

static void ssl_unmap(void *ssl)
{
	unsigned h = ssl_hash(ssl);

	for (unsigned i = 0; i < AP_SSL_SLOTS; i++) {
		struct ssl_slot *s = &ssl_slots[(h + i) % AP_SSL_SLOTS];
		void *cur = atomic_load(&s->ssl);
		if (cur == ssl) {
			atomic_store(&s->conn, NULL);
			atomic_store(&s->ssl, (void *)1); /* tombstone keeps probe chains intact */
			return;
		}
		if (!cur)
			return;
	}
}

/* Tie the socket fd to the SSL connection: the socket then only supplies peer facts. */
void ap_conn_bind_ssl_fd(void *ssl, int fd)
{
	struct ap_conn *s = ap_conn_for_ssl(ssl, 1);
	struct ap_conn *k = ap_conn_for_fd(fd);

	if (!s || !k || k == s || s->link == k)
		return;
	k->bound = 1;
	k->opaque = 0;
	k->turn_active = 0;
	k->http.mode = AP_HTTP_GAVE_UP;
	s->link = k;
	k->link = s;
	s->fd = fd;
	s->info.fd = fd;
	ap_strlcpy(s->info.peer, k->info.peer, sizeof(s->info.peer));
	s->info.port = k->info.port;
	s->info.connect_ns = k->info.connect_ns;
	s->info.open_ns = k->info.open_ns;
	s->connect_start = k->connect_start;
	s->local_port = k->local_port;
	if (!s->info.host[0])
		ap_strlcpy(s->info.host, k->info.host, sizeof(s->info.host));
	s->dns_ns = k->dns_ns;
}

void ap_conn_ssl_set_fd(void *ssl, int fd)
{
	if (ap_conn_for_fd(fd))
		ap_conn_bind_ssl_fd(ssl, fd);
}

void ap_conn_ssl_sni(void *ssl, const char *host)
{
	struct ap_conn *c = ap_conn_for_ssl(ssl, 1);

	if (!c)
		return;
	ap_strlcpy(c->info.host, host, sizeof(c->info.host));
	if (!c->link)
		c->sni_pending = 1;
	c->sni_time = ap_now();
}

void ap_conn_ssl_io(void *ssl, int dir, const void *buf, size_t n, int64_t now)
{
	struct ap_conn *c = ap_conn_for_ssl(ssl, 1);

	if (!c || !n || !lock_conn(c))
		return;
	if (dir)
		c->info.bytes_received += n;
	else
		c->info.bytes_sent += n;
	if (!h2_route(c, dir, buf, n, now) && c->http.mode != AP_HTTP_GAVE_UP) {
		if (dir) {
			ap_http_in(&c->http, buf, n, now);
		} else {
			if (!ap_http_pending(&c->http)) {
				c->req_stack = ap_stack_capture();
				c->req_pystack = ap_pystack_capture();
			}
			ap_http_out(&c->http, buf, n, now);
		}
		if (c->http.http2)
			note_http2(c);
	}
	unlock_conn(c);
}

void ap_conn_ssl_handshake(void *ssl, int64_t t0, int64_t t1, int done)
{
	struct ap_conn *c = ap_conn_for_ssl(ssl, 1);

	if (!c)
		return;
	if (c->tls_start == AP_UNKNOWN)
		c->tls_start = t0;
	if (done && c->tls_ns == AP_UNKNOWN)
		c->tls_ns = t1 - c->tls_start;
}

int ap_conn_ssl_touch(void *ssl)
{
	struct ap_conn *c = ap_conn_for_ssl(ssl, 0);

	if (!c)
		return 0;
	if (c->sni_pending)
		c->touch_ns = ap_now();
	return c->tls_start != AP_UNKNOWN && c->tls_ns == AP_UNKNOWN;
}

void ap_conn_ssl_free(void *ssl, int64_t now)
{
	struct ap_conn *c = ap_conn_for_ssl(ssl, 0);

	if (!c)
		return;
	ssl_unmap(ssl);
	if (c->link) {
		c->link->link = NULL;
		c->link = NULL;
	}
	conn_release(c, now);
}

/* --- exchanges
 * ------------------------------------------------------------------------------------ */

/* host[0..cap) without ":port" (IPv6 brackets kept), in place: cut to cap - 1 bytes first. */
static void host_cut_port(char *host, size_t cap)
{
	host[cap - 1] = 0;
	if (host[0] != '[') {
		char *colon = strchr(host, ':');
		if (colon && !strchr(colon + 1, ':'))
			*colon = 0;
	}
}

/* Host without ":port" (IPv6 brackets kept), as exchanges record it. */
static void host_no_port(char *host, size_t cap, const char *src)
{
	ap_strlcpy(host, src, cap);
	host_cut_port(host, cap);
}

/* Classify host and port on connection c (once per connection: cached until they change). */
static void conn_classify_endpoint(struct ap_conn *c, const char *host, int port)
{
	const struct ap_rules *rules = ap_rt.cfg.rules;

	if (!c->cls_valid || c->cls_port != port || strcmp(c->cls_host, host) != 0) {
		ap_classify_endpoint(rules, host, port, &c->cls);
		ap_strlcpy(c->cls_host, host, sizeof(c->cls_host));
		c->cls_port = port;
		c->cls_valid = 1;
		c->cls_raw_ok = c->cls_path_ok = 0;
	}
}

/* The path under the connection's endpoint verdict; the last path's verdict is kept (the rules
 * and the endpoint verdict are fixed while it is valid, so the same path classifies the same). */
static void conn_classify_path(struct ap_conn *c, const char *path, uint8_t *category,
			       uint8_t *provider)
{
	const struct ap_rules *rules = ap_rt.cfg.rules;
	size_t n;

	if (!path)
		path = "";
	if (c->cls_path_ok && strcmp(c->cls_path, path) == 0) {
		*category = c->cls_cat;
		*provider = c->cls_prov;
		return;
	}
	ap_classify_path(rules, &c->cls, path[0] ? path : NULL, category, provider);
	n = strnlen(path, sizeof(c->cls_path));
	c->cls_path_ok = n < sizeof(c->cls_path); /* a longer one is classified every time */
	if (c->cls_path_ok) {
		memcpy(c->cls_path, path, n + 1);
		c->cls_cat = *category;
		c->cls_prov = *provider;
	}
}

/* Classify on connection c: the host/port part once per connection, the path per exchange. */
static void conn_classify(struct ap_conn *c, const char *host, int port, const char *path,
			  uint8_t *category, uint8_t *provider)
{
	conn_classify_endpoint(c, host, port);
	conn_classify_path(c, path, category, provider);
}

/* The parser classifies with the host and port the exchange will be recorded with. The host
 * text it named last is remembered, so the same text skips the ":port" cut and the compare. */
static void classify_for_parser(void *ctx, const char *host, int port, const char *path,
				uint8_t *category, uint8_t *provider)
{
	struct ap_conn *c = ctx;
	const char *src = host[0] ? host : c->info.host[0] ? c->info.host : c->info.peer;

	(void)port; /* exchanges record the connection's port */
	if (!c->cls_raw_ok || !c->cls_valid || c->cls_port != c->info.port ||
	    strcmp(c->cls_raw, src) != 0) {
		char h[AP_STR_HOST];
		size_t n = strnlen(src, sizeof(c->cls_raw));

		host_no_port(h, sizeof(h), src);
		conn_classify_endpoint(c, h, c->info.port);
		c->cls_raw_ok = n < sizeof(c->cls_raw);
		if (c->cls_raw_ok)
			memcpy(c->cls_raw, src, n + 1);
	}
	conn_classify_path(c, path, category, provider);
}

/* --- finishing an exchange: the one path for the socket, TLS and libcurl views ------------- */

/* Who ran the exchange: ids, thread, span, call stacks, agent. */
static void identify(struct ap_conn *c, struct ap_exchange *x)
{
	x->id = ap_new_id();
	x->tid = ap_gettid();
	x->span_id = ap_current_span();
	if (c && c->req_stack) { /* the stacks at the request's first byte (opaque turns) */
		x->stack_id = c->req_stack;
		x->pystack_id = c->req_pystack;
	} else {
		x->stack_id = ap_stack_capture();
		x->pystack_id = c && c->req_pystack ? c->req_pystack : ap_pystack_capture();
	}
	if (c)
		c->req_stack = c->req_pystack = 0;
	if (ap_tls.agent[0] || ap_rt.cfg.agent[0])
		ap_strlcpy(x->agent, ap_tls.agent[0] ? ap_tls.agent : ap_rt.cfg.agent,
			   sizeof(x->agent));
	else
		x->agent[0] = 0; /* no agent named: the usual case */
}

/* Category and provider: on a connection, its host and port are classified once (cached) and
 * the path per exchange, unless the parser did it already; without one, from x alone. */
static void classify(struct ap_conn *c, struct ap_exchange *x)
{
	const struct ap_rules *rules = ap_rt.cfg.rules;

	if (!c) {
		ap_classify(rules, x->host, x->port, x->path[0] ? x->path : NULL, &x->category,
			    &x->provider);
		return;
	}
	if (!x->category) /* the parser classified it already with the same host and port */
		conn_classify(c, x->host, x->port, x->path, &x->category, &x->provider);
	if (!c->info.category || x->category == AP_CAT_LLM) {
		c->info.category = x->category;
		c->info.provider = x->provider;
	}
}

/*
 * Inside a libcurl call the bytes' view waits for libcurl's transfer-done (rt_curl.c), which
 * adds curl's own timings: an LLM call is durable now as a provisional record the merged one
 * replaces (same id); HTTP/2 streams park in the h2 observer (matched by URL), others on the
 * connection (a second one pushes the first out unmerged).
 */
static void park_for_curl(struct ap_conn *c, struct ap_exchange *x)
{
	if (x->category == AP_CAT_LLM && ap_rt.cfg.sample_ppm >= 1000000) {
		struct ap_exchange prov = *x;

		prov.provisional = 1;
		ap_exchange_write(&prov);
	}
	if (c->h2 && ap_h2_conn_park(c->h2, x))
		return;
	if (c->has_parked)
		ap_exchange_write(&c->parked);
	c->parked = *x;
	c->has_parked = 1;
}

void ap_exchange_finish(struct ap_conn *c, struct ap_exchange *x, unsigned how)
{
	if (!(how & AP_FIN_IDENTIFIED))
		identify(c, x);
	classify(how & AP_FIN_CONN_CLASS ? c : NULL, x);
	if (c && ap_tls.in_curl && (how & AP_FIN_MAY_PARK)) {
		park_for_curl(c, x);
		return;
	}
	if (ap_sampled_out())
		return;
	ap_exchange_write(x);
}

/* The parser (or an opaque turn) ended an exchange on c: add the connection's facts, finish. */
void ap_emit_exchange(struct ap_conn *c, struct ap_exchange *x)
{
	x->conn_id = c->info.id;
	/* The connection's name (SNI, DNS) wins over a Host header only when the header is absent.
	 */
	if (!x->host[0])
		ap_strlcpy(x->host, c->info.host[0] ? c->info.host : c->info.peer, sizeof(x->host));
	/* strip ":port" from a Host header */
	host_cut_port(x->host, sizeof(x->host));
	if (!c->info.host[0])
		ap_strlcpy(c->info.host, x->host, sizeof(c->info.host));
	x->port = c->info.port;
	x->tls = c->tls;
	x->visibility = c->opaque ? AP_VIS_OPAQUE : AP_VIS_PLAINTEXT;
	if (!c->info.exchanges) {
		x->new_conn = 1;
		x->dns_ns = c->dns_ns;
		x->connect_ns = c->info.connect_ns;
		x->tls_ns = c->tls_ns;
	}
	c->info.exchanges++;
	if (c->info.visibility == AP_VIS_UNKNOWN)
		c->info.visibility = x->visibility;
	ap_exchange_finish(c, x, AP_FIN_CONN_CLASS | AP_FIN_MAY_PARK);
}

static void emit_from_parser(void *ctx, struct ap_exchange *x)
{
	ap_emit_exchange(ctx, x);
}

/* A request pipelined deeper than the parser tracks: counted as a drop, said once. */
static void dropped_by_parser(void *ctx)
{
	static atomic_int reported;
	struct ap_conn *c = ctx;
	char msg[AP_STR_MSG];

	atomic_fetch_add(&ap_rt.dropped, 1);
	if (atomic_exchange(&reported, 1))
		return;
	snprintf(msg, sizeof(msg),
		 "requests to %.120s pipelined more than 4 deep: the excess is not recorded "
		 "(counted as drops)",
		 c->info.host[0] ? c->info.host : c->info.peer);
	ap_diag(AP_DIAG_DROPS, msg);
}

static void flush_parked(struct ap_conn *c)
{
	if (!c->has_parked)
		return;
	c->has_parked = 0;
	ap_exchange_write(&c->parked);
}

struct ap_conn *ap_conn_by_ports(int local_port, int peer_port)
{
	if (!ap_rt.conns || local_port <= 0)
		return NULL;
	for (int i = 0; i < AP_CONN_MAX; i++) {
		struct ap_conn *c = &ap_rt.conns[i];
		if (atomic_load(&c->kind) == CK_SOCKET && c->local_port == local_port &&
		    (peer_port <= 0 || c->info.port == peer_port))
			return c;
	}
	return NULL;
}

uint64_t ap_conn_id(const struct ap_conn *c)
{
	return c->link && c->bound ? c->link->info.id : c->info.id;
}

int ap_conn_take_parked(struct ap_conn *c, struct ap_exchange *out)
{
	struct ap_conn *src = c->has_parked ? c : (c->link && c->link->has_parked ? c->link : NULL);

	if (!src || !lock_conn(src))
		return 0;
	*out = src->parked;
	src->has_parked = 0;
	unlock_conn(src);
	return 1;
}

void ap_conn_flush_parked(void)
{
	for (int i = 0, n = conns_used(); ap_rt.conns && i < n; i++) {
		struct ap_conn *c = &ap_rt.conns[i];
		if (atomic_load(&c->kind) != CK_FREE && c->has_parked && lock_conn(c)) {
			flush_parked(c);
			unlock_conn(c);
		}
	}
}

struct ap_call_stripe ap_call_stripes[AP_CALL_STRIPES];
__thread struct ap_call_stripe *ap_my_stripe __attribute__((tls_model("initial-exec")));

static void fold_call_counters(void)
{
	for (int i = 0; i < AP_CALL_STRIPES; i++) {
		struct ap_call_stripe *s = &ap_call_stripes[i];
		atomic_fetch_add(&ap_rt.calls, atomic_exchange(&s->calls, 0));
		atomic_fetch_add(&ap_rt.overhead_ns, atomic_exchange(&s->overhead_ns, 0));
	}
}

void ap_conn_all_closed(int64_t now)
{
	fold_call_counters();
	if (!ap_rt.conns)
		return;
	ap_h2_flush_closed();
	/* SSL connections first, so that sockets they carry are described by them. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0, n = conns_used(); i < n; i++) {
			struct ap_conn *c = &ap_rt.conns[i];
			int k = atomic_load(&c->kind);
			if (k == CK_FREE || (pass == 0 && k != CK_SSL))
				continue;
			if (lock_conn(c)) {
				ap_http_close(&c->http, now, AP_XERR_CLOSED);
				if (c->h2)
					ap_h2_conn_close(c->h2, now, AP_XERR_CLOSED, 0);
				c->h2 = NULL;
				finish_turn(c);
				flush_parked(c);
				/* under the lock: another thread may still be counting bytes into
				 * c->info (an exit racing threads in wrappers); when it holds the
				 * connection, its record is skipped and counted as a drop */
				if (!c->bound)
					write_connection(c, now);
				unlock_conn(c);
			}
		}
	}
}

void ap_conn_reset_after_fork(void)
{
	for (int i = 0; i < AP_CALL_STRIPES; i++) { /* the parent's calls are the parent's */
		atomic_store(&ap_call_stripes[i].calls, 0);
		atomic_store(&ap_call_stripes[i].overhead_ns, 0);
	}
	ap_h2_after_fork_child();
	if (!ap_rt.conns)
		return;
	ap_h2_forget_closed();
	for (int i = 0; i < AP_CONN_MAX; i++) {
		struct ap_conn *c = &ap_rt.conns[i];
		if (atomic_load(&c->kind) == CK_FREE)
			continue;
		atomic_flag_clear(&c->busy);
		/* The parent reports what it had in flight; the child starts clean. */
		ap_http_reset(&c->http);
		ap_http_init(&c->http, &c->env);
		if (c->bound || c->opaque || c->h2)
			c->http.mode = AP_HTTP_GAVE_UP;
		if (c->h2)
			ap_h2_conn_forget(c->h2);
		c->h2 = NULL;
		c->h2_off = 1; /* the child cannot follow the parent's HPACK state */
		c->turn_active = 0;
		c->has_parked = 0;
		c->emitted = 0;
		c->info.id = ap_new_id();
		c->info.bytes_sent = c->info.bytes_received = 0;
		c->info.exchanges = 1; /* not a new connection for the child */
	}
}

/* The TLS handshake of ssl finished with ALPN "h2" (hook_ssl.c). */
void ap_conn_ssl_alpn_h2(void *ssl)
{
	struct ap_conn *c = ap_conn_for_ssl(ssl, 1);

	if (c)
		c->alpn_h2 = 1;
}

/* The parked HTTP/2 stream of this connection (or the SSL connection it carries) that
 * matches the transfer's URL. */
int ap_conn_take_parked_h2(struct ap_conn *c, const char *url, struct ap_exchange *out)
{
	struct ap_conn *src = c->h2 ? c : (c->link && c->link->h2 ? c->link : NULL);
	int got;

	if (!src || !lock_conn(src))
		return 0;
	got = src->h2 && ap_h2_conn_take(src->h2, url, out);
	unlock_conn(src);
	return got;
}
