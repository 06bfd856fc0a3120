/* rt_metrics.c: opt-in live metrics: fixed-size aggregation of exchanges and one thread serving
 * them as Prometheus text (GET /metrics) on a loopback port. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"
#include "rt_metrics.h"
#include "price_table.h"
#include "usage.h"

/*
 * Aggregation: AP_METRICS_SERIES slots keyed by a hash of (category, provider, host, model),
 * updated under a spin lock held for a few hundred nanoseconds. The serving thread copies the
 * slots under the same lock and renders the copy outside it, with its own formatter (no stdio,
 * no floating point, no malloc) into a buffer mmap()ed at start.
 */

#define NB	      14	 /* GenAI duration buckets: 0.01 s * 2^i, i = 0..13 */
#define OUT_CAP	      (4u << 20) /* rendered page */
#define REQ_CAP	      4096	 /* request head we read */
#define IO_TIMEOUT_S  2
#define LISTEN_FD_MIN 900 /* move our listening socket out of the way of the host's fds */

static const char *const le_names[NB] = {"0.01",  "0.02",  "0.04",  "0.08", "0.16",
					 "0.32",  "0.64",  "1.28",  "2.56", "5.12",
					 "10.24", "20.48", "40.96", "81.92"};

enum { TOK_IN, TOK_OUT, TOK_CREAD, TOK_CWRITE, TOK_REASON, TOK_N };
static const char *const tok_names[TOK_N] = {"input", "output", "cache_read", "cache_write",
					     "reasoning"};

struct hist {
	uint64_t n, sum_ns, b[NB]; /* b: per-bucket (not cumulative) counts */
};

struct series {
	uint64_t key;
	uint8_t cat, prov;
	char host[AP_STR_HOST];
	char model[AP_STR_MODEL];
	struct hist dur, ttfb;
	uint64_t errors;
	uint64_t tok[TOK_N];
	uint64_t cost_nusd; /* nano-USD from the built-in price table (core/price_table.c) */
	uint8_t has_cost;
};

struct agg {
	atomic_flag lock;
	uint32_t n;
	uint64_t exchanges;
	struct series s[AP_METRICS_SERIES];
};

static struct {
	atomic_int on;
	int fd;
	const struct ap_metrics_addr *at; /* where we serve: ap_rt.cfg.metrics */
	struct agg *agg;		  /* live */
	struct agg *snap;		  /* the serving thread's copy */
	char *out;
} m;

/* --- aggregation ------------------------------------------------------------------------- */

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&m.agg->lock, memory_order_acquire))
		__builtin_ia32_pause();
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&m.agg->lock, memory_order_release);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static void hist_add(struct hist *h, int64_t ns)
{
	uint64_t bound = 10000000; /* 0.01 s */
	int i;

	if (ns < 0)
		return;
	for (i = 0; i < NB && (uint64_t)ns > bound; i++)
		bound <<= 1;
	if (i < NB)
		h->b[i]++;
	h->n++;
	h->sum_ns += (uint64_t)ns;
}

static struct series *find_locked(uint64_t key, const struct ap_exchange *x, const char *model)
{
	struct agg *a = m.agg;
	struct series *s;

	for (uint32_t i = 0; i < a->n; i++) {
		s = &a->s[i];
		if (s->key == key && s->cat == x->category && s->prov == x->provider &&
		    !strcmp(s->host, x->host) && !strcmp(s->model, model))
			return s;
	}
	if (a->n < AP_METRICS_SERIES - 1) {
		s = &a->s[a->n++];
		s->key = key;
		s->cat = x->category;
		s->prov = x->provider;
		ap_strlcpy(s->host, x->host, sizeof(s->host));
		ap_strlcpy(s->model, model, sizeof(s->model));
		return s;
	}
	s = &a->s[AP_METRICS_SERIES - 1]; /* the overflow series */
	if (a->n == AP_METRICS_SERIES - 1) {
		a->n++;
		s->key = 0;
		ap_strlcpy(s->host, "other", sizeof(s->host));
		ap_strlcpy(s->model, "other", sizeof(s->model));
	}
	return s;
}

static int64_t tok(int64_t v)
{
	return v > 0 ? v : 0;
}

/* USD of one exchange at built-in list prices (response model first, as the viewer prices it);
 * NAN when unknown. Usage normalised the way the viewer does (usage.h). Outside the lock. */
static double exchange_cost(const struct ap_exchange *x)
{
	const struct ap_price *pr;
	struct ap_usage u;

	if (x->category != AP_CAT_LLM)
		return NAN;
	pr = ap_price_builtin_find(x->response_model);
	if (!pr)
		pr = ap_price_builtin_find(x->request_model);
	if (!pr)
		return NAN;
	ap_usage_otel(ap_usage_api(x->path), &x->usage, &u);
	return ap_price_cost(pr, u.input, u.output, u.cache_read, u.cache_write, u.reasoning);
}

void ap_metrics_observe(const struct ap_exchange *x)
{
	const char *model;
	struct series *s;
	uint64_t key;
	double cost;

	if (!atomic_load_explicit(&m.on, memory_order_relaxed))
		return;
	model = x->request_model[0] ? x->request_model : x->response_model;
	cost = exchange_cost(x);
	key = fnv(fnv(0xcbf29ce484222325ull ^ ((uint64_t)x->category << 8 | x->provider), x->host),
		  model);
	lock();
	s = find_locked(key, x, model);
	m.agg->exchanges++;
	if (x->start_ns >= 0 && x->end_ns >= x->start_ns)
		hist_add(&s->dur, x->end_ns - x->start_ns);
	if (x->start_ns >= 0 && x->first_byte_ns >= x->start_ns)
		hist_add(&s->ttfb, x->first_byte_ns - x->start_ns);
	if (x->error != AP_XERR_NONE || x->status >= 400)
		s->errors++;
	s->tok[TOK_IN] += (uint64_t)tok(x->usage.input);
	s->tok[TOK_OUT] += (uint64_t)tok(x->usage.output);
	s->tok[TOK_CREAD] += (uint64_t)tok(x->usage.cache_read);
	s->tok[TOK_CWRITE] += (uint64_t)tok(x->usage.cache_write);
	s->tok[TOK_REASON] += (uint64_t)tok(x->usage.reasoning);
	if (cost >= 0) { /* not NAN */
		s->cost_nusd += (uint64_t)(cost * 1e9 + 0.5);
		s->has_cost = 1;
	}
	unlock();
}

/* --- rendering ----------------------------------------------------------------------------- */

struct ob {
	char *p;
	size_t len, cap;
	int full;
};

static void put(struct ob *o, const char *s, size_t n)
{
	if (o->full || o->len + n > o->cap) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct ob *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u(struct ob *o, uint64_t v)
{
	char b[24];
	int i = sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while (v /= 10);
	put(o, b + i, sizeof(b) - (size_t)i);
}

/* Nanoseconds as decimal seconds. */
static void put_secs(struct ob *o, uint64_t ns)
{
	char frac[10];

	put_u(o, ns / 1000000000u);
	ns %= 1000000000u;
	if (!ns)
		return;
	frac[0] = '.';
	for (int i = 9; i >= 1; i--, ns /= 10)
		frac[i] = (char)('0' + ns % 10);
	put(o, frac, 10);
}

/* Label value: escape \ " and newline; control bytes and invalid UTF-8 become '?'. */
static void put_label(struct ob *o, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	while (*p) {
		uint8_t c = *p;
		int n = c < 0x80	 ? 1
			: (c >> 5) == 6	 ? 2
			: (c >> 4) == 14 ? 3
			: (c >> 3) == 30 ? 4
					 : 0;
		int ok = n > 0;

		for (int i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (n == 1 && (c == '\\' || c == '"')) {
			put(o, "\\", 1);
			put(o, (const char *)p, 1);
		} else if (n == 1 && c == '\n') {
			put(o, "\\n", 2);
		} else if (!ok || c < 0x20 || c == 0x7f) {
			put(o, "?", 1);
			n = 1;
		} else {
			put(o, (const char *)p, (size_t)n);
		}
		p += n;
	}
}

static void head(struct ob *o, const char *name, const char *type, const char *help)
{
	puts_(o, "# HELP ");
	puts_(o, name);
	put(o, " ", 1);
	puts_(o, help);
	puts_(o, "\n# TYPE ");
	puts_(o, name);
	put(o, " ", 1);
	puts_(o, type);
	put(o, "\n", 1);
}

static void labels(struct ob *o, const struct series *s, int per_model)
{
	if (!per_model) {
		puts_(o, "category=\"");
		put_label(o, ap_category_name(s->cat));
		puts_(o, "\",");
	}
	puts_(o, "provider=\"");
	put_label(o, s->prov ? ap_provider_name(s->prov) : "");
	if (!per_model) {
		puts_(o, "\",host=\"");
		put_label(o, s->host);
	}
	puts_(o, "\",model=\"");
	put_label(o, s->model);
	put(o, "\"", 1);
}

static void hist_lines(struct ob *o, const char *name, const struct series *s, int per_model,
		       const struct hist *h)
{
	uint64_t cum = 0;

	for (int i = 0; i <= NB; i++) {
		cum += i < NB ? h->b[i] : 0;
		puts_(o, name);
		puts_(o, "_bucket{");
		labels(o, s, per_model);
		puts_(o, ",le=\"");
		puts_(o, i < NB ? le_names[i] : "+Inf");
		puts_(o, "\"} ");
		put_u(o, i < NB ? cum : h->n);
		put(o, "\n", 1);
	}
	puts_(o, name);
	puts_(o, "_sum{");
	labels(o, s, per_model);
	puts_(o, "} ");
	put_secs(o, h->sum_ns);
	puts_(o, "\n");
	puts_(o, name);
	puts_(o, "_count{");
	labels(o, s, per_model);
	puts_(o, "} ");
	put_u(o, h->n);
	put(o, "\n", 1);
}

static void hist_merge(struct hist *d, const struct hist *s)
{
	d->n += s->n;
	d->sum_ns += s->sum_ns;
	for (int i = 0; i < NB; i++)
		d->b[i] += s->b[i];
}

static size_t render(void)
{
	struct agg *a = m.snap;
	struct ob o = {.p = m.out, .cap = OUT_CAP};
	static const char dur[] = "agentprof_request_duration_seconds";
	static const char ttfb[] = "agentprof_time_to_first_byte_seconds";
	static const char mdur[] = "agentprof_model_duration_seconds";

	head(&o, dur, "histogram",
	     "Wall time of HTTP exchanges from the first request byte to the last response byte, "
	     "by endpoint.");
	for (uint32_t i = 0; i < a->n; i++)
		hist_lines(&o, dur, &a->s[i], 0, &a->s[i].dur);
	head(&o, ttfb, "histogram",
	     "Time from the first request byte to the first response byte, by endpoint.");
	for (uint32_t i = 0; i < a->n; i++)
		hist_lines(&o, ttfb, &a->s[i], 0, &a->s[i].ttfb);
	head(&o, mdur, "histogram", "Wall time of LLM calls by provider and model.");
	for (uint32_t i = 0; i < a->n; i++) {
		struct series agg = a->s[i];
		int seen = 0;

		if (agg.cat != AP_CAT_LLM)
			continue;
		for (uint32_t j = 0; j < i && !seen; j++)
			seen = a->s[j].cat == AP_CAT_LLM && a->s[j].prov == agg.prov &&
			       !strcmp(a->s[j].model, agg.model);
		if (seen)
			continue;
		for (uint32_t j = i + 1; j < a->n; j++)
			if (a->s[j].cat == AP_CAT_LLM && a->s[j].prov == agg.prov &&
			    !strcmp(a->s[j].model, agg.model))
				hist_merge(&agg.dur, &a->s[j].dur);
		hist_lines(&o, mdur, &agg, 1, &agg.dur);
	}
	head(&o, "agentprof_request_errors_total", "counter",
	     "Exchanges that failed: HTTP status >= 400 or a transport error.");
	for (uint32_t i = 0; i < a->n; i++) {
		puts_(&o, "agentprof_request_errors_total{");
		labels(&o, &a->s[i], 0);
		puts_(&o, "} ");
		put_u(&o, a->s[i].errors);
		put(&o, "\n", 1);
	}
	head(&o, "agentprof_tokens_total", "counter",
	     "Tokens reported by the providers' usage objects, by type.");
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->s[i].cat != AP_CAT_LLM)
			continue;
		for (int t = 0; t < TOK_N; t++) {
			puts_(&o, "agentprof_tokens_total{");
			labels(&o, &a->s[i], 0);
			puts_(&o, ",type=\"");
			puts_(&o, tok_names[t]);
			puts_(&o, "\"} ");
			put_u(&o, a->s[i].tok[t]);
			put(&o, "\n", 1);
		}
	}
	for (uint32_t i = 0, any = 0; i < a->n; i++) {
		if (!a->s[i].has_cost)
			continue;
		if (!any++)
			head(&o, "agentprof_cost_usd_total", "counter",
			     "Cost of LLM calls in US dollars at the built-in list prices "
			     "(" AP_PRICES_BUILTIN_DATE "), known part.");
		puts_(&o, "agentprof_cost_usd_total{");
		labels(&o, &a->s[i], 0);
		puts_(&o, "} ");
		put_secs(&o, a->s[i].cost_nusd); /* nano-USD as decimal USD */
		put(&o, "\n", 1);
	}
	head(&o, "agentprof_exchanges_total", "counter", "Exchanges recorded by this process.");
	puts_(&o, "agentprof_exchanges_total ");
	put_u(&o, a->exchanges);
	put(&o, "\n", 1);
	while (o.full && o.len && o.p[o.len - 1] != '\n') /* cannot happen at 64 series */
		o.len--;
	return o.len;
}

/* --- the serving thread ------------------------------------------------------------------- */

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = AP_REAL(send)(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void reply(int fd, const char *status, const char *ctype, const char *body, size_t n,
		  int head_only)
{
	struct ob o;
	char h[256];

	o = (struct ob){.p = h, .cap = sizeof(h)};
	puts_(&o, "HTTP/1.1 ");
	puts_(&o, status);
	puts_(&o, "\r\nContent-Type: ");
	puts_(&o, ctype);
	puts_(&o, "\r\nContent-Length: ");
	put_u(&o, n);
	puts_(&o, "\r\nConnection: close\r\n\r\n");
	if (send_all(fd, h, o.len) == 0 && !head_only)
		send_all(fd, body, n);
}

static void serve(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	char req[REQ_CAP];
	size_t len = 0;
	int head_only;
	const char *path;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(req) - 1) {
		ssize_t r = AP_REAL(recv)(fd, req + len, sizeof(req) - 1 - len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = 0;
	head_only = !strncmp(req, "HEAD ", 5);
	if (strncmp(req, "GET ", 4) && !head_only) {
		static const char msg[] = "only GET /metrics\n";

		if (len)
			reply(fd, "405 Method Not Allowed", "text/plain", msg, sizeof(msg) - 1, 0);
		return;
	}
	path = req + (head_only ? 5 : 4);
	if (!strncmp(path, "/metrics", 8) && strchr(" ?", path[8])) {
		size_t n;

		lock();
		memcpy(m.snap, m.agg, sizeof(*m.agg));
		unlock();
		n = render();
		reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", m.out, n,
		      head_only);
	} else {
		static const char msg[] = "agentprof: metrics are at /metrics\n";

		reply(fd, "404 Not Found", "text/plain", msg, sizeof(msg) - 1, head_only);
	}
}

/* Our listening socket is still ours: a host that closes every fd may reuse the number. */
static int still_ours(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int acc = 0;
	socklen_t alen = sizeof(acc);

	if (getsockname(m.fd, (struct sockaddr *)&ss, &len) < 0 || len != m.at->addrlen ||
	    memcmp(&ss, &m.at->addr, len))
		return 0;
	return getsockopt(m.fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0 && acc;
}

static void *serve_loop(void *arg)
{
	ap_tls.guard = 1; /* forever: nothing this thread does is recorded */
	prctl(PR_SET_NAME, "agentprof-prom", 0, 0, 0);
	for (;;) {
		struct pollfd p = {.fd = m.fd, .events = POLLIN};
		int r = poll(&p, 1, 1000), c;

		if (r < 0 && errno != EINTR)
			break;
		if (!still_ours())
			break;
		if (r <= 0)
			continue;
		c = AP_REAL(accept4)(m.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EBADF || errno == ENOTSOCK || errno == EINVAL)
				break;
			continue;
		}
		serve(c);
		AP_REAL(close)(c);
	}
	atomic_store(&m.on, 0);
	return NULL;
}

/* --- start ----------------------------------------------------------------------------------- */

/* [HOST:]PORT with HOST = IPv4, [IPv6] or localhost; no name lookup. 0 or a reason. */
static const char *parse_spec(const char *spec, struct ap_metrics_addr *a)
{
	char host[64] = "127.0.0.1";
	const char *port = spec, *colon;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->addr;
	unsigned long pn = 0;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof(host))
			return "expected [IPv6]:PORT";
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = 0;
		port = end + 2;
	} else if ((colon = strrchr(spec, ':'))) {
		if ((size_t)(colon - spec) >= sizeof(host))
			return "host too long";
		if (colon > spec) {
			memcpy(host, spec, (size_t)(colon - spec));
			host[colon - spec] = 0;
		}
		port = colon + 1;
	}
	if (!*port || strlen(port) > 5)
		return "expected [HOST:]PORT";
	for (const char *p = port; *p; p++) {
		if (*p < '0' || *p > '9')
			return "port is not a number";
		pn = pn * 10 + (unsigned long)(*p - '0');
	}
	if (pn < 1 || pn > 65535)
		return "port out of range 1..65535";
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	memset(&a->addr, 0, sizeof(a->addr));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)pn);
		a->addrlen = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)pn);
		a->addrlen = sizeof(*v6);
	} else {
		return "host must be a numeric address or localhost";
	}
	return NULL;
}

const char *ap_metrics_parse(const char *spec, struct ap_metrics_addr *a)
{
	const char *why;

	memset(a, 0, sizeof(*a));
	ap_strlcpy(a->label, spec, sizeof(a->label));
	why = parse_spec(spec, a);
	a->set = !why;
	return why;
}

void ap_metrics_after_fork_child(void)
{
	/* No thread serves in the child; do not keep the parent's port bound after it exits. */
	if (atomic_load(&m.on))
		syscall(SYS_close, m.fd);
	atomic_store(&m.on, 0);
}

void ap_metrics_start(const struct ap_metrics_addr *at)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int one = 1, fd = -1, hi, rc;
	void *p;

	if (!at->set || atomic_load(&m.on))
		return;
	ap_tls.guard++;
	m.at = at;
	fd = socket(at->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&at->addr, at->addrlen) < 0 || listen(fd, 16) < 0)
		goto fail;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, LISTEN_FD_MIN);
	if (hi >= 0) {
		AP_REAL(close)(fd);
		fd = hi;
	}
	p = mmap(NULL, 2 * sizeof(struct agg) + OUT_CAP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto fail;
	m.agg = p;
	m.snap = (struct agg *)((char *)p + sizeof(struct agg));
	m.out = (char *)p + 2 * sizeof(struct agg);
	atomic_flag_clear(&m.agg->lock);
	m.fd = fd;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store(&m.on, 1);
	rc = pthread_create(&th, &attr, serve_loop, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_store(&m.on, 0);
		errno = rc;
		ap_unmap_raw(p, 2 * sizeof(struct agg) + OUT_CAP);
		goto fail;
	}
	goto out;
fail:
	if (errno == EADDRINUSE) {
		char msg[160];

		/* expected in the profiled children of a process that serves the port */
		strcpy(msg, "AGENTPROF_PROMETHEUS: address in use, not serving: ");
		ap_strlcpy(msg + strlen(msg), at->label, sizeof(msg) - strlen(msg));
		ap_diag(AP_DIAG_CONFIG, msg);
	} else {
		ap_warn("AGENTPROF_PROMETHEUS=%s: %s; not serving metrics", at->label,
			strerrordesc_np(errno));
	}
	if (fd >= 0)
		AP_REAL(close)(fd);
out:
	ap_tls.guard--;
}
