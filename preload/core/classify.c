/* classify.c: endpoint classification from user rules, known API paths, hosts and ports. */
#include <string.h>

#include "ap_records.h"
#include "classify.h"

#define NELEM(a) (sizeof(a) / sizeof(a[0]))

/* Path suffixes of LLM APIs (query removed). */
static const char *const llm_suffixes[] = {
	"/chat/completions", "/v1/completions",	       "/v1/responses",
	"/openai/responses", "/v1/embeddings",	       "/v1/messages",
	":generateContent",  ":streamGenerateContent", "/v1/messages/count_tokens",
	":countTokens",
};

static const char *const ollama_paths[] = {"/api/chat", "/api/generate", "/api/embed",
					   "/api/embeddings"};

static const int memory_ports[] = {6379, 6380, 5432, 11211, 6333, 6334, 19530, 9200, 27017};

static const char *const memory_hosts[] = {
	"*.pinecone.io", "*.qdrant.io", "*.weaviate.network", "*.weaviate.cloud", "*.upstash.io",
};

static const char *const weaviate_paths[] = {"/v1/objects*", "/v1/graphql*", "/v1/schema*",
					     "/v1/batch*"};

/* --- glob ----------------------------------------------------------------------------------- */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

int ap_glob_match(const char *pat, const char *s, size_t n, int icase)
{
	const char *star = NULL;
	size_t i = 0, resume = 0;

	while (i < n) {
		char pc = icase ? lower(*pat) : *pat, sc = icase ? lower(s[i]) : s[i];

		if (*pat == '*') {
			star = ++pat;
			resume = i;
		} else if (*pat && (*pat == '?' || pc == sc)) {
			pat++;
			i++;
		} else if (star) {
			pat = star;
			i = ++resume;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == 0;
}

/* --- endpoint pieces ------------------------------------------------------------------------ */

struct endpoint {
	const char *host;
	size_t hn;
	int port;
	const char *path;
	size_t pn;
};

/* Split "host:port" / "[v6]:port", drop a trailing dot; path without its query. */
static void endpoint_init(struct endpoint *e, const char *host, int port, const char *path)
{
	const char *c;

	e->host = host ? host : "";
	e->hn = strlen(e->host);
	e->port = port;
	if (e->host[0] == '[') {
		c = memchr(e->host, ']', e->hn);
		c = c && c[1] == ':' ? c + 1 : NULL;
	} else {
		c = memchr(e->host, ':', e->hn);
		if (c && memchr(c + 1, ':', e->hn - (size_t)(c + 1 - e->host)))
			c = NULL; /* bare IPv6 address */
	}
	if (c) {
		int p = 0;
		for (const char *d = c + 1; *d >= '0' && *d <= '9' && p < 100000; d++)
			p = p * 10 + (*d - '0');
		if (e->port <= 0 && p > 0 && p < 65536)
			e->port = p;
		e->hn = (size_t)(c - e->host);
	}
	if (e->hn && e->host[e->hn - 1] == '.')
		e->hn--;
	e->path = path ? path : "";
	e->pn = strcspn(e->path, "?#");
}

static int host_is(const struct endpoint *e, const char *glob)
{
	return e->hn && ap_glob_match(glob, e->host, e->hn, 1);
}

static int path_ends(const struct endpoint *e, const char *suffix)
{
	size_t k = strlen(suffix);

	return e->pn >= k && memcmp(e->path + e->pn - k, suffix, k) == 0;
}

static int path_is_ollama(const struct endpoint *e)
{
	for (size_t i = 0; i < NELEM(ollama_paths); i++)
		if (strlen(ollama_paths[i]) == e->pn &&
		    memcmp(e->path, ollama_paths[i], e->pn) == 0)
			return 1;
	return 0;
}

/* gRPC methods of the Gemini API (any service of the package) and of Vertex AI's prediction
 * services: "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent". */
static unsigned grpc_llm(const struct endpoint *e)
{
	static const char gemini[] = "/google.ai.generativelanguage.";
	static const char vertex[] = "/google.cloud.aiplatform.";

	if (e->pn > sizeof(gemini) - 1 && memcmp(e->path, gemini, sizeof(gemini) - 1) == 0)
		return AP_PROV_GEMINI;
	if (e->pn > sizeof(vertex) - 1 && memcmp(e->path, vertex, sizeof(vertex) - 1) == 0 &&
	    memmem(e->path, e->pn, "PredictionService/", 18))
		return AP_PROV_VERTEX_AI;
	return AP_PROV_NONE;
}

static int path_is_llm(const struct endpoint *e)
{
	for (size_t i = 0; i < NELEM(llm_suffixes); i++)
		if (path_ends(e, llm_suffixes[i]))
			return 1;
	if (grpc_llm(e) != AP_PROV_NONE)
		return 1;
	return path_is_ollama(e) ||
	       (e->pn > 20 && memcmp(e->path, "/openai/deployments/", 20) == 0);
}

/* The first row of the provider table (providers.h) with a host glob matching e's host. */
static unsigned host_provider(const struct endpoint *e)
{
	char glob[AP_STR_HOST];

	for (unsigned p = AP_PROV_NONE + 1; p < AP_PROV_MAX; p++) {
		const char *h = ap_provider_row(p)->hosts, *bar;

		for (; *h; h = *bar ? bar + 1 : bar) {
			size_t n;

			bar = strchr(h, '|');
			if (!bar)
				bar = h + strlen(h);
			n = (size_t)(bar - h) < sizeof(glob) ? (size_t)(bar - h) : sizeof(glob) - 1;
			memcpy(glob, h, n);
			glob[n] = 0;
			if (host_is(e, glob))
				return p;
		}
	}
	if (e->port == 11434)
		return AP_PROV_OLLAMA;
	return AP_PROV_NONE;
}

/* Memory stores named by their path on their usual port: Chroma (8000), Weaviate (8080). */
static int is_memory_path(const struct endpoint *e)
{
	if (e->port == 8000 && (ap_glob_match("/api/v1/*", e->path, e->pn, 0) ||
				ap_glob_match("/api/v2/*", e->path, e->pn, 0)))
		return 1;
	if (e->port == 8080)
		for (size_t i = 0; i < NELEM(weaviate_paths); i++)
			if (ap_glob_match(weaviate_paths[i], e->path, e->pn, 0))
				return 1;
	return 0;
}

void ap_classify_endpoint(const struct ap_rules *r, const char *host, int port,
			  struct ap_endpoint_class *ec)
{
	struct endpoint e;

	endpoint_init(&e, host, port, NULL);
	ec->rules = 0;
	for (unsigned i = 0; r && i < r->n && i < AP_RULES_MAX; i++) {
		const struct ap_rule *u = &r->rule[i];
		if ((u->port < 0 || u->port == e.port) &&
		    (!u->host[0] || ap_glob_match(u->host, e.host, e.hn, 1)))
			ec->rules |= 1ull << i;
	}
	ec->host_prov = (uint8_t)host_provider(&e);
	ec->memory = 0;
	for (size_t i = 0; i < NELEM(memory_ports); i++)
		if (e.port == memory_ports[i])
			ec->memory = 1;
	for (size_t i = 0; i < NELEM(memory_hosts) && !ec->memory; i++)
		if (host_is(&e, memory_hosts[i]))
			ec->memory = 1;
	ec->port = e.port;
}

/* Provider of an LLM endpoint: the host's, else the API shape its path names. */
static unsigned path_provider(const struct ap_endpoint_class *ec, const struct endpoint *e)
{
	if (ec->host_prov != AP_PROV_NONE)
		return ec->host_prov;
	if (path_is_ollama(e))
		return AP_PROV_OLLAMA;
	if (path_ends(e, "/v1/messages") || path_ends(e, "/v1/messages/count_tokens"))
		return AP_PROV_ANTHROPIC;
	if (path_ends(e, ":generateContent") || path_ends(e, ":streamGenerateContent") ||
	    path_ends(e, ":countTokens"))
		return AP_PROV_GEMINI;
	if (grpc_llm(e) != AP_PROV_NONE)
		return grpc_llm(e);
	return AP_PROV_OPENAI_COMPATIBLE;
}

void ap_classify_path(const struct ap_rules *r, const struct ap_endpoint_class *ec,
		      const char *path, uint8_t *category, uint8_t *provider)
{
	struct endpoint e;
	unsigned cat = AP_CAT_TOOL, prov = AP_PROV_NONE;

	memset(&e, 0, sizeof(e));
	e.port = ec->port;
	e.path = path ? path : "";
	e.pn = strcspn(e.path, "?#");
	for (uint64_t m = r ? ec->rules : 0; m; m &= m - 1) {
		const struct ap_rule *u = &r->rule[__builtin_ctzll(m)];
		if (u->path[0] && !ap_glob_match(u->path, e.path, e.pn, 0))
			continue;
		cat = u->category;
		prov = u->provider;
		if (cat == AP_CAT_LLM && prov == AP_PROV_NONE)
			prov = path_provider(ec, &e);
		goto out;
	}
	if (path_is_llm(&e)) {
		cat = AP_CAT_LLM;
		prov = path_provider(ec, &e);
	} else if (ec->host_prov != AP_PROV_NONE) {
		cat = AP_CAT_LLM;
		prov = ec->host_prov;
	} else if (ec->memory || is_memory_path(&e)) {
		cat = AP_CAT_MEMORY;
	}
out:
	if (cat != AP_CAT_LLM)
		prov = AP_PROV_NONE;
	*category = (uint8_t)cat;
	*provider = (uint8_t)prov;
}

void ap_classify(const struct ap_rules *r, const char *host, int port, const char *path,
		 uint8_t *category, uint8_t *provider)
{
	struct ap_endpoint_class ec;

	ap_classify_endpoint(r, host, port, &ec);
	ap_classify_path(r, &ec, path, category, provider);
}

/* --- rules file ----------------------------------------------------------------------------- */

struct strbuf {
	char *p;
	size_t cap, n;
};

static void sb_put(struct strbuf *b, const char *s)
{
	while (*s && b->n + 1 < b->cap)
		b->p[b->n++] = *s++;
	if (b->cap)
		b->p[b->n] = 0;
}

static void sb_num(struct strbuf *b, unsigned v)
{
	char tmp[12];
	int i = (int)sizeof(tmp) - 1;

	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	sb_put(b, tmp + i);
}

/* "line N: reason". The offending word is never quoted: the file may not be a rules file at
 * all (a .env named by mistake), and its words may be secrets. */
static int fail(char *err, size_t errlen, unsigned line, const char *why, const char *tok,
		size_t tn)
{
	struct strbuf b = {err, err ? errlen : 0, 0};

	(void)tok;
	(void)tn;
	sb_put(&b, "line ");
	sb_num(&b, line);
	sb_put(&b, ": ");
	sb_put(&b, why);
	return -1;
}

struct tok {
	const char *s;
	size_t n;
};

/* Split one line (comment removed) into at most max tokens; returns the count or max + 1. */
static size_t tokenize(const char *s, size_t n, struct tok *t, size_t max)
{
	size_t k = 0, i = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= n || s[i] == '#')
			break;
		if (k == max)
			return max + 1;
		t[k].s = s + i;
		while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '#')
			i++;
		t[k].n = (size_t)(s + i - t[k].s);
		k++;
	}
	return k;
}

static int tok_is(const struct tok *t, const char *s)
{
	return strlen(s) == t->n && memcmp(t->s, s, t->n) == 0;
}

/* Name lookups need NUL-terminated strings. */
static int tok_name(const struct tok *t, int (*parse)(const char *))
{
	char b[32];

	if (t->n >= sizeof(b))
		return -1;
	memcpy(b, t->s, t->n);
	b[t->n] = 0;
	return parse(b);
}

/* 1..65535, else -1. */
static int32_t parse_port(const struct tok *v)
{
	int32_t n = 0;

	if (v->n == 0 || v->n > 5)
		return -1;
	for (size_t j = 0; j < v->n; j++) {
		if (v->s[j] < '0' || v->s[j] > '9')
			return -1;
		n = n * 10 + (v->s[j] - '0');
	}
	return n >= 1 && n <= 65535 ? n : -1;
}

static int parse_line(struct ap_rule *r, const struct tok *t, size_t k, unsigned line, char *err,
		      size_t errlen)
{
	size_t i = 0;
	int c, p;

	memset(r, 0, sizeof(*r));
	r->port = -1;
	while (i + 1 < k &&
	       (tok_is(&t[i], "host") || tok_is(&t[i], "path") || tok_is(&t[i], "port"))) {
		const struct tok *v = &t[i + 1];

		if (tok_is(&t[i], "port")) {
			if ((r->port = parse_port(v)) < 0)
				return fail(err, errlen, line, "bad port", v->s, v->n);
		} else {
			char *dst = tok_is(&t[i], "host") ? r->host : r->path;
			if (v->n >= AP_RULE_GLOB_MAX)
				return fail(err, errlen, line, "pattern too long", v->s, v->n);
			memcpy(dst, v->s, v->n);
			dst[v->n] = 0;
		}
		i += 2;
	}
	if (i + 1 == k && (tok_is(&t[i], "host") || tok_is(&t[i], "path") || tok_is(&t[i], "port")))
		return fail(err, errlen, line, "missing value after host, path or port", t[i].s,
			    t[i].n);
	if (i == 0)
		return fail(err, errlen, line, "the first word is not host, path or port", t[0].s,
			    t[0].n);
	if (i >= k)
		return fail(err, errlen, line, "missing category", NULL, 0);
	if ((c = tok_name(&t[i], ap_category_parse)) < 0)
		return fail(err, errlen, line, "unknown category", t[i].s, t[i].n);
	r->category = (uint8_t)c;
	if (++i < k) {
		if ((p = tok_name(&t[i], ap_provider_parse)) < 0)
			return fail(err, errlen, line, "unknown provider", t[i].s, t[i].n);
		r->provider = (uint8_t)p;
		i++;
	}
	if (i < k)
		return fail(err, errlen, line, "unexpected word after the provider", t[i].s,
			    t[i].n);
	return 0;
}

int ap_rules_parse(struct ap_rules *r, const char *text, size_t n, char *err, size_t errlen)
{
	struct tok t[10];
	unsigned line = 0;
	size_t i = 0;

	r->n = 0;
	if (!err)
		errlen = 0;
	if (errlen)
		err[0] = 0;
	while (i < n) {
		const char *s = text + i;
		const char *nl = memchr(s, '\n', n - i);
		size_t len = nl ? (size_t)(nl - s) : n - i, k;

		i += len + 1;
		line++;
		k = tokenize(s, len, t, NELEM(t));
		if (k == 0)
			continue;
		if (k > NELEM(t))
			return fail(err, errlen, line, "too many words", NULL, 0);
		if (r->n >= AP_RULES_MAX)
			return fail(err, errlen, line, "too many rules (max 64)", NULL, 0);
		if (parse_line(&r->rule[r->n], t, k, line, err, errlen) < 0)
			return -1;
		r->n++;
	}
	return (int)r->n;
}
