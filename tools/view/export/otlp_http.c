/* otlp_http.c: OTLP/HTTP delivery (endpoint and headers from the OTEL_* variables, gzip,
 * retries with backoff and Retry-After, decoded error bodies) and the OTLP resource. */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "export.h"
#include "otlp.h"
#include "progress.h"

#define RESP_MAX (1u << 20)

/* --- destination ---------------------------------------------------------------------------- */

static const char *env_sig(const char *signal, const char *what, char *name, size_t n)
{
	char up[16];
	size_t i;
	const char *v;

	for (i = 0; signal[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)signal[i]);
	up[i] = 0;
	snprintf(name, n, "OTEL_EXPORTER_OTLP_%s_%s", up, what);
	v = getenv(name);
	if (v && *v)
		return v;
	snprintf(name, n, "OTEL_EXPORTER_OTLP_%s", what);
	v = getenv(name);
	return v && *v ? v : NULL;
}

static int parse_url(struct otlp_dest *d, const char *s, const char **why)
{
	const char *h, *slash, *colon;
	size_t hl;

	if (!strncmp(s, "https://", 8))
		return *why = "https is not supported: point it at a local collector's http "
			      "endpoint",
		       -1;
	if (strncmp(s, "http://", 7))
		return *why = "expected http://HOST[:PORT][/PATH]", -1;
	h = s + 7;
	slash = strchr(h, '/');
	hl = slash ? (size_t)(slash - h) : strlen(h);
	if (*h == '[') {
		const char *e = memchr(h, ']', hl);

		if (!e)
			return *why = "bad [IPv6] host", -1;
		colon = e + 1 < h + hl && e[1] == ':' ? e + 1 : NULL;
		snprintf(d->host, sizeof(d->host), "%.*s", (int)(e - h - 1), h + 1);
	} else {
		colon = memchr(h, ':', hl);
		snprintf(d->host, sizeof(d->host), "%.*s", (int)(colon ? (size_t)(colon - h) : hl),
			 h);
	}
	if (colon)
		snprintf(d->port, sizeof(d->port), "%.*s", (int)(h + hl - colon - 1), colon + 1);
	else
		snprintf(d->port, sizeof(d->port), "80");
	if (slash && slash[1])
		snprintf(d->path, sizeof(d->path), "%s", slash);
	else
		snprintf(d->path, sizeof(d->path), "/v1/%s", d->signal);
	if (!d->host[0] || !d->port[0] || strspn(d->port, "0123456789") != strlen(d->port))
		return *why = "bad host or port", -1;
	return 0;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* "k=v,k2=v2" with percent-encoded values (the W3C baggage form the SDKs read). */
static int add_headers(struct otlp_dest *d, const char *list, const char **why)
{
	size_t o = strlen(d->headers);

	while (*list) {
		const char *end = strchr(list, ','), *eq;
		size_t len = end ? (size_t)(end - list) : strlen(list);
		char key[256], val[1024];
		size_t kl, vl = 0;

		eq = memchr(list, '=', len);
		if (!eq)
			return *why = "OTEL_EXPORTER_OTLP_HEADERS: expected key=value[,key=value]",
			       -1;
		while (list < eq && isspace((unsigned char)*list))
			list++;
		kl = (size_t)(eq - list);
		while (kl && isspace((unsigned char)list[kl - 1]))
			kl--;
		if (!kl || kl >= sizeof(key))
			return *why = "OTEL_EXPORTER_OTLP_HEADERS: empty or long key", -1;
		memcpy(key, list, kl);
		key[kl] = 0;
		for (const char *p = eq + 1; p < list + len && vl < sizeof(val) - 1; p++) {
			if (*p == '%' && p + 2 < list + len + 1 && hexval(p[1]) >= 0 &&
			    hexval(p[2]) >= 0) {
				val[vl++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
			} else {
				val[vl++] = *p;
			}
		}
		val[vl] = 0;
		while (vl && isspace((unsigned char)val[vl - 1]))
			val[--vl] = 0;
		if (strpbrk(key, "\r\n: ") || strpbrk(val, "\r\n"))
			return *why = "OTEL_EXPORTER_OTLP_HEADERS: bad character in a header", -1;
		o += (size_t)snprintf(d->headers + o,
				      o < sizeof(d->headers) ? sizeof(d->headers) - o : 0,
				      "%s: %s\r\n", key, val + strspn(val, " "));
		if (o >= sizeof(d->headers))
			return *why = "OTEL_EXPORTER_OTLP_HEADERS: too long", -1;
		list += len + (end != NULL);
	}
	return 0;
}

int otlp_dest_init(struct view *v, struct otlp_dest *d, const char *signal)
{
	char name[80], url[1024];
	const char *e, *why = NULL;

	memset(d, 0, sizeof(*d));
	d->signal = signal;
	d->gzip = !v->o.no_gzip;
	d->timeout_ms = 10000;
	d->max_attempts = 6;
	d->backoff_s = 1.0;
	if ((e = env_sig(signal, "COMPRESSION", name, sizeof(name))) && !strcmp(e, "none"))
		d->gzip = 0;
	if ((e = env_sig(signal, "TIMEOUT", name, sizeof(name))) && atoi(e) > 0)
		d->timeout_ms = atoi(e);
	if ((e = getenv("AGENTPROF_OTLP_BACKOFF_MS")) && atoi(e) > 0) /* tests */
		d->backoff_s = atoi(e) / 1000.0;
	if (v->o.endpoint) {
		if (!strcmp(v->o.endpoint, "-"))
			return 0;
		snprintf(url, sizeof(url), "%s", v->o.endpoint);
	} else {
		char up[16], sig[80];
		size_t i;

		for (i = 0; signal[i] && i < sizeof(up) - 1; i++)
			up[i] = (char)toupper((unsigned char)signal[i]);
		up[i] = 0;
		snprintf(sig, sizeof(sig), "OTEL_EXPORTER_OTLP_%s_ENDPOINT", up);
		if ((e = getenv(sig)) && *e) {
			snprintf(url, sizeof(url), "%s", e);
		} else if ((e = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) && *e) {
			size_t l = strlen(e);

			snprintf(url, sizeof(url), "%.*s/v1/%s",
				 (int)(l && e[l - 1] == '/' ? l - 1 : l), e, signal);
		} else {
			return 0;
		}
	}
	snprintf(d->url, sizeof(d->url), "%s", url);
	if (parse_url(d, url, &why) < 0) {
		fprintf(v->err, "agentprof-view export: endpoint '%s': %s\n", url, why);
		return 2;
	}
	if ((e = getenv("OTEL_EXPORTER_OTLP_HEADERS")) && add_headers(d, e, &why) < 0) {
		fprintf(v->err, "agentprof-view export: %s\n", why);
		return 2;
	}
	snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_HEADERS",
		 !strcmp(signal, "traces") ? "TRACES" : "METRICS");
	if ((e = getenv(name)) && add_headers(d, e, &why) < 0) {
		fprintf(v->err, "agentprof-view export: %s\n", why);
		return 2;
	}
	return 1;
}

/* --- gzip and the response -------------------------------------------------------------------- */

static char *gzip_body(const char *in, size_t n, size_t *outn)
{
	z_stream z = {0};
	size_t cap = deflateBound(&z, (uLong)n) + 64;
	char *out;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, (uLong)n) + 64;
	out = xmalloc(cap);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outn = z.total_out;
	deflateEnd(&z);
	return out;
}

struct resp {
	int code;
	double retry_after; /* seconds, -1 when absent */
	char body[600];	    /* decoded, printable */
};

static const char *hdr(const char *head, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, l) && p[2 + l] == ':')
			return p + 3 + l + strspn(p + 3 + l, " \t");
	return NULL;
}

/* Retry-After: delay-seconds or an HTTP-date. */
static double retry_after(const char *v)
{
	struct tm tm = {0};
	char *end;
	long s;

	if (!v)
		return -1;
	s = strtol(v, &end, 10);
	if (end != v && (*end == '\r' || *end == 0 || *end == ' '))
		return s < 0 ? 0 : (double)s;
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
		double d = difftime(timegm(&tm), time(NULL));

		return d < 0 ? 0 : d;
	}
	return -1;
}

/* Body of the response: de-chunked, gunzipped, control bytes replaced, cut to fit. */
static void decode_body(const char *head, const char *b, size_t n, struct resp *r)
{
	const char *te = hdr(head, "Transfer-Encoding"), *ce = hdr(head, "Content-Encoding");
	char *plain = xmalloc(n + 1), *tmp = NULL;
	size_t pn = 0, o = 0;

	if (te && !strncasecmp(te, "chunked", 7)) {
		while (o < n) {
			char *end;
			unsigned long len = strtoul(b + o, &end, 16);
			const char *crlf = memmem(b + o, n - o, "\r\n", 2);

			if (!crlf || end == b + o || len == 0)
				break;
			o = (size_t)(crlf - b) + 2;
			if (len > n - o)
				len = n - o;
			memcpy(plain + pn, b + o, len);
			pn += len;
			o += len + 2;
		}
	} else {
		memcpy(plain, b, n);
		pn = n;
	}
	if (ce && !strncasecmp(ce, "gzip", 4)) {
		z_stream z = {0};
		size_t cap = sizeof(r->body) * 4;

		tmp = xmalloc(cap);
		if (inflateInit2(&z, 15 + 32) == Z_OK) {
			z.next_in = (Bytef *)plain;
			z.avail_in = (uInt)pn;
			z.next_out = (Bytef *)tmp;
			z.avail_out = (uInt)cap;
			inflate(&z, Z_FINISH);
			pn = z.total_out;
			inflateEnd(&z);
			free(plain);
			plain = tmp;
		} else {
			free(tmp);
		}
	}
	o = 0;
	for (size_t i = 0; i < pn && o < sizeof(r->body) - 4; i++) {
		unsigned char c = (unsigned char)plain[i];

		r->body[o++] = c == '\n' || c == '\r' || c == '\t' ? ' '
			       : c < 0x20 || c == 0x7f		   ? '?'
								   : (char)c;
	}
	while (o && r->body[o - 1] == ' ')
		o--;
	if (pn > o && o >= sizeof(r->body) - 4)
		memcpy(r->body + o, "...", 3), o += 3;
	r->body[o] = 0;
	free(plain);
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : (errno = r == 0 ? ETIMEDOUT : errno, -1);
}

static int send_all(int fd, const char *p, size_t len, int ms)
{
	for (size_t off = 0; off < len;) {
		ssize_t w;

		if (wait_fd(fd, POLLOUT, ms) < 0)
			return -1;
		w = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* One attempt. Returns 0 with r filled, -1 on a transport error (errno; why says which step). */
static int attempt(struct otlp_dest *d, const char *body, size_t n, struct resp *r,
		   const char **why)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	char head[6000], *resp = NULL;
	size_t got = 0;
	int fd = -1, hl, e, rc = -1;

	*why = "cannot connect";
	e = getaddrinfo(d->host, d->port, &hints, &ai);
	if (e) {
		*why = gai_strerror(e);
		errno = 0;
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	hl = snprintf(head, sizeof(head),
		      "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: agentprof-view/0.1.0\r\n"
		      "Content-Type: application/json\r\n%sContent-Length: %zu\r\n%s"
		      "Connection: close\r\n\r\n",
		      d->path, d->host, d->port, d->gzip ? "Content-Encoding: gzip\r\n" : "", n,
		      d->headers);
	*why = "send";
	if (send_all(fd, head, (size_t)hl, d->timeout_ms) < 0 ||
	    send_all(fd, body, n, d->timeout_ms) < 0)
		goto out;
	*why = "no response";
	resp = xmalloc(RESP_MAX + 1);
	while (got < RESP_MAX) {
		ssize_t k;

		if (wait_fd(fd, POLLIN, d->timeout_ms) < 0)
			goto out;
		k = recv(fd, resp + got, RESP_MAX - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto out;
		if (k == 0)
			break;
		got += (size_t)k;
		/* stop at the end of a Content-Length body (servers may keep the connection) */
		resp[got] = 0;
		{
			const char *eoh = strstr(resp, "\r\n\r\n"), *cl;

			if (eoh) {
				char *h = strndup(resp, (size_t)(eoh - resp) + 2);

				cl = hdr(h, "Content-Length");
				if (cl && (size_t)(eoh + 4 - resp) + strtoul(cl, NULL, 10) <= got) {
					free(h);
					break;
				}
				free(h);
			}
		}
	}
	resp[got] = 0;
	if (sscanf(resp, "HTTP/%*d.%*d %d", &r->code) != 1) {
		errno = 0;
		goto out;
	}
	{
		const char *eoh = strstr(resp, "\r\n\r\n");
		char *h = strndup(resp, eoh ? (size_t)(eoh - resp) + 2 : got);

		r->retry_after = retry_after(hdr(h, "Retry-After"));
		r->body[0] = 0;
		if (eoh)
			decode_body(h, eoh + 4, got - (size_t)(eoh + 4 - resp), r);
		free(h);
	}
	rc = 0;
out:
	e = errno;
	free(resp);
	close(fd);
	errno = e;
	return rc;
}

static void pause_s(struct otlp_dest *d, double s)
{
	struct timespec ts = {0, 50 * 1000 * 1000};

	for (double t = 0; t < s && !(d->stop && *d->stop); t += 0.05)
		nanosleep(&ts, NULL);
}

int otlp_post(struct view *v, struct otlp_dest *d, const char *body, size_t n, size_t items)
{
	char *gz = NULL;
	const char *send_body = body, *why;
	size_t send_n = n;
	double delay = d->backoff_s;

	if (d->gzip) {
		gz = gzip_body(body, n, &send_n);
		if (gz)
			send_body = gz;
		else
			send_n = n;
	}
	for (int try = 1;; try++) {
		struct resp r = {0};
		int transient, st = attempt(d, send_body, send_n, &r, &why);
		double wait;

		if (st == 0 && r.code >= 200 && r.code < 300) {
			d->requests++;
			d->items += items;
			d->bytes_raw += n;
			d->bytes_sent += send_n;
			progress("agentprof-view export: %llu spans in %llu requests, %.1f MB sent",
				 (unsigned long long)d->items, (unsigned long long)d->requests,
				 (double)d->bytes_sent / 1e6);
			free(gz);
			return 0;
		}
		transient = (st < 0 && (d->retry_connect || errno != ECONNREFUSED)) ||
			    r.code == 429 || r.code == 502 || r.code == 503 || r.code == 504;
		progress_clear();
		if (!transient && st < 0) {
			fprintf(v->err, "agentprof-view export: POST %s: %s: %s\n", d->url, why,
				strerror(errno));
			free(gz);
			return 3;
		}
		if (!transient) {
			fprintf(v->err,
				"agentprof-view export: POST %s: HTTP %d: the collector refused "
				"%zu "
				"spans (%zu bytes%s)%s%s\n",
				d->url, r.code, items, send_n, d->gzip ? " gzip" : "",
				r.body[0] ? ": " : "", r.body);
			free(gz);
			return 1;
		}
		if (try >= d->max_attempts || (d->stop && *d->stop)) {
			if (st < 0)
				fprintf(v->err,
					"agentprof-view export: POST %s: %s%s%s (gave up after %d "
					"tries)\n",
					d->url, why, errno ? ": " : "",
					errno ? strerror(errno) : "", try);
			else
				fprintf(v->err,
					"agentprof-view export: POST %s: HTTP %d%s%s (gave up "
					"after %d tries)\n",
					d->url, r.code, r.body[0] ? ": " : "", r.body, try);
			free(gz);
			return 3;
		}
		wait = st == 0 && r.retry_after >= 0 ? r.retry_after : delay;
		if (wait > 120)
			wait = 120;
		if (st < 0)
			fprintf(v->err,
				"agentprof-view export: POST %s: %s%s%s; retrying in %.1f s\n",
				d->url, why, errno ? ": " : "", errno ? strerror(errno) : "", wait);
		else
			fprintf(v->err,
				"agentprof-view export: POST %s: HTTP %d; retrying in %.1f s%s\n",
				d->url, r.code, wait, r.retry_after >= 0 ? " (Retry-After)" : "");
		d->retries++;
		pause_s(d, wait);
		delay = delay * 2 > 30 ? 30 : delay * 2;
	}
}

/* --- attributes and the resource ----------------------------------------------------------------
 */

void otlp_kint64(struct jw *w, const char *k, int64_t v)
{
	char b[24];

	jw_fmt_int(b, v);
	jw_kstr(w, k, b);
}

/* An attribute is seven writer calls: staged as one write (jw_batch), ended by attr_tail. */
static void attr_head(struct jw *w, const char *k)
{
	jw_batch(w, 1);
	jw_obj(w);
	jw_kstr(w, "key", k);
	jw_key(w, "value");
	jw_obj(w);
}

static void attr_tail(struct jw *w)
{
	jw_obj_end(w);
	jw_obj_end(w);
	jw_batch(w, 0);
}

void otlp_attr_str(struct jw *w, const char *k, const char *s)
{
	if (!s || !*s)
		return;
	attr_head(w, k);
	jw_kstr(w, "stringValue", s);
	attr_tail(w);
}

void otlp_attr_int(struct jw *w, const char *k, int64_t v)
{
	attr_head(w, k);
	otlp_kint64(w, "intValue", v);
	attr_tail(w);
}

void otlp_attr_double(struct jw *w, const char *k, double v)
{
	attr_head(w, k);
	jw_kdouble(w, "doubleValue", v);
	attr_tail(w);
}

void otlp_attr_bool(struct jw *w, const char *k, int v)
{
	attr_head(w, k);
	jw_kbool(w, "boolValue", v);
	attr_tail(w);
}

/* Find key in OTEL_RESOURCE_ATTRIBUTES; copies the (percent-decoded) value. */
static int res_attr(const char *key, char *out, size_t n)
{
	const char *e = getenv("OTEL_RESOURCE_ATTRIBUTES");
	size_t kl = strlen(key);

	for (; e && *e; e = strchr(e, ',') ? strchr(e, ',') + 1 : NULL) {
		const char *eq = strchr(e, '='), *end = strchr(e, ',');
		size_t o = 0;

		e += strspn(e, " ");
		if (!eq || (end && end < eq) || (size_t)(eq - e) != kl || strncmp(e, key, kl))
			continue;
		for (const char *p = eq + 1; *p && p != end && o < n - 1; p++) {
			if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				out[o++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
			} else {
				out[o++] = *p;
			}
		}
		out[o] = 0;
		return 1;
	}
	return 0;
}

const char *otlp_service_name(const struct run *run, const struct vproc *p, char *buf, size_t n)
{
	const char *e = getenv("OTEL_SERVICE_NAME");
	const struct vproc *last = p;

	if (e && *e)
		return e;
	if (res_attr("service.name", buf, n) && *buf)
		return buf;
	for (int d = 0; d < 64 && last->exec_next >= 0; d++) /* the final program */
		last = &run->procs[last->exec_next];
	if (*S(run, p->agent))
		return S(run, p->agent);
	if (*S(run, last->agent))
		return S(run, last->agent);
	return proc_label(run, last, buf, n);
}

static void user_attrs(struct jw *w)
{
	const char *e = getenv("OTEL_RESOURCE_ATTRIBUTES");

	for (; e && *e; e = strchr(e, ',') ? strchr(e, ',') + 1 : NULL) {
		const char *eq = strchr(e, '='), *end = strchr(e, ',');
		char key[128], val[512];

		e += strspn(e, " ");
		if (!eq || (end && end < eq) || eq == e || (size_t)(eq - e) >= sizeof(key))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(eq - e), e);
		if (!strcmp(key, "service.name") || !res_attr(key, val, sizeof(val)))
			continue;
		otlp_attr_str(w, key, val);
	}
}

static int user_has(const char *key)
{
	char b[8];

	return res_attr(key, b, sizeof(b));
}

static void attr_argv(struct jw *w, const struct run *run, const struct vproc *p)
{
	const char *a = S(run, p->argv);
	size_t n = strtab_len(&run->st, p->argv), o = 0;

	if (!p->argc || user_has("process.command_args"))
		return;
	attr_head(w, "process.command_args");
	jw_key(w, "arrayValue");
	jw_obj(w);
	jw_key(w, "values");
	jw_arr(w);
	for (uint32_t i = 0; i < p->argc && o < n; i++) {
		size_t l = strnlen(a + o, n - o);

		jw_obj(w);
		jw_key(w, "stringValue");
		jw_strn(w, a + o, l);
		jw_obj_end(w);
		o += l + 1;
	}
	jw_arr_end(w);
	jw_obj_end(w);
	attr_tail(w);
}

void otlp_resource(struct jw *w, const struct run *run, const struct vproc *p)
{
	char lb[128], sb[256];

	jw_key(w, "resource");
	jw_obj(w);
	jw_key(w, "attributes");
	jw_arr(w);
	otlp_attr_str(w, "service.name", otlp_service_name(run, p, sb, sizeof(sb)));
	user_attrs(w);
	if (!user_has("process.pid"))
		otlp_attr_int(w, "process.pid", p->pid);
	if (p->ppid > 0 && !user_has("process.parent_pid"))
		otlp_attr_int(w, "process.parent_pid", p->ppid);
	if (!user_has("process.executable.name"))
		otlp_attr_str(w, "process.executable.name", proc_label(run, p, lb, sizeof(lb)));
	if (!user_has("process.executable.path"))
		otlp_attr_str(w, "process.executable.path", S(run, p->exe));
	attr_argv(w, run, p);
	otlp_attr_str(w, "telemetry.sdk.name", "agentprof");
	otlp_attr_str(w, "telemetry.sdk.version", S(run, p->tool_version));
	jw_arr_end(w);
	jw_obj_end(w);
}
