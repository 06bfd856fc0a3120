/* usage.c: provider usage extraction from JSON scalars, API shape by path, OTel normalisation. */
#include <stdint.h>
#include <string.h>

#include "usage.h"

enum ufield { UF_INPUT, UF_OUTPUT, UF_CACHE_READ, UF_CACHE_WRITE, UF_REASONING };

struct umap {
	const char *path; /* after the prefix is stripped */
	uint8_t field;	  /* enum ufield */
	uint8_t len;	  /* strlen(path): compared first */
};

/* The union of every provider's paths; no two shapes disagree on a path's meaning. */
#define UMAP_ROWS(X)                                                        \
	/* OpenAI Chat Completions and compatible servers */                \
	X("usage.prompt_tokens", UF_INPUT)                                  \
	X("usage.completion_tokens", UF_OUTPUT)                             \
	X("usage.prompt_tokens_details.cached_tokens", UF_CACHE_READ)       \
	X("usage.prompt_tokens_details.cache_write_tokens", UF_CACHE_WRITE) \
	X("usage.completion_tokens_details.reasoning_tokens", UF_REASONING) \
	/* OpenAI Responses and Anthropic Messages */                       \
	X("usage.input_tokens", UF_INPUT)                                   \
	X("usage.output_tokens", UF_OUTPUT)                                 \
	X("usage.input_tokens_details.cached_tokens", UF_CACHE_READ)        \
	X("usage.input_tokens_details.cache_write_tokens", UF_CACHE_WRITE)  \
	X("usage.output_tokens_details.reasoning_tokens", UF_REASONING)     \
	X("usage.cache_read_input_tokens", UF_CACHE_READ)                   \
	X("usage.cache_creation_input_tokens", UF_CACHE_WRITE)              \
	/* Gemini / Vertex AI */                                            \
	X("usageMetadata.promptTokenCount", UF_INPUT)                       \
	X("usageMetadata.candidatesTokenCount", UF_OUTPUT)                  \
	X("usageMetadata.cachedContentTokenCount", UF_CACHE_READ)           \
	X("usageMetadata.thoughtsTokenCount", UF_REASONING)                 \
	/* Ollama native */                                                 \
	X("prompt_eval_count", UF_INPUT)                                    \
	X("eval_count", UF_OUTPUT)                                          \
	/* Bedrock Converse */                                              \
	X("usage.inputTokens", UF_INPUT)                                    \
	X("usage.outputTokens", UF_OUTPUT)                                  \
	X("usage.cacheReadInputTokens", UF_CACHE_READ)                      \
	X("usage.cacheWriteInputTokens", UF_CACHE_WRITE)

#define UM(path, field) {path, field, sizeof(path) - 1},
static const struct umap umap[] = {UMAP_ROWS(UM)};

/*
 * One bit per (length, byte after "usage.") hash of the table's paths: most numbers the
 * scanner reports ("usage.total_tokens", "..._details.audio_tokens") miss it and skip the loop.
 */
#define UMAP_HASH(len, c)   (((len) + 5u * ((unsigned)(c)&31u)) & 63u)
#define UM_BIT(path, field) | (1ull << UMAP_HASH(sizeof(path) - 1, (path)[6]))
static const uint64_t umap_hashes = 0 UMAP_ROWS(UM_BIT);

int ap_usage_parse_int(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;

	if (n == 0 || s[0] < '0' || s[0] > '9')
		return 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		/* below (INT64_MAX - 9) / 10 no digit can overflow: the exact test only above */
		if (v >= (INT64_MAX - 9) / 10 && v > (INT64_MAX - (s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	if (i < n && s[i] == '.') /* "12.0": keep the integer part, digits only after the dot */
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	if (i != n)
		return 0;
	*out = v;
	return 1;
}

void ap_usage_x_init(struct ap_usage_x *x)
{
	x->u.input = x->u.output = x->u.cache_read = AP_UNKNOWN;
	x->u.cache_write = x->u.reasoning = AP_UNKNOWN;
	x->model[0] = 0;
	x->done = x->durations = 0;
}

static int64_t *field_ptr(struct ap_usage *u, unsigned f)
{
	switch (f) {
	case UF_INPUT:
		return &u->input;
	case UF_OUTPUT:
		return &u->output;
	case UF_CACHE_READ:
		return &u->cache_read;
	case UF_CACHE_WRITE:
		return &u->cache_write;
	default:
		return &u->reasoning;
	}
}

/* Length of the wrapper p starts with ("[].", "message.", "response."), 0 if none. */
static size_t prefix_len(const char *p, size_t n)
{
	/* the first letter rules out most paths before any comparison */
	switch (p[0]) {
	case '[':
		return n >= 3 && p[1] == ']' && p[2] == '.' ? 3 : 0;
	case 'm':
		return n >= 8 && memcmp(p, "message.", 8) == 0 ? 8 : 0;
	case 'r':
		return n >= 9 && memcmp(p, "response.", 9) == 0 ? 9 : 0;
	}
	return 0;
}

static void set_model(struct ap_usage_x *x, const struct ap_json_value *v)
{
	size_t n = v->len < sizeof(x->model) - 1 ? v->len : sizeof(x->model) - 1;

	if (v->type != AP_JSON_STRING || n == 0)
		return;
	memcpy(x->model, v->val, n);
	x->model[n] = 0;
}

#define IS(p, n, lit) ((n) == sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

void ap_usage_x_field(void *ctx, const struct ap_json_value *v)
{
	struct ap_usage_x *x = ctx;
	size_t plen = v->path_len, k = prefix_len(v->path, plen);
	const char *p = v->path + k;
	int64_t n;

	/* paths hold no NUL (the scanner writes none), so a length and memcmp is strcmp */
	plen -= k;
	switch (p[0]) { /* every wanted path starts with one of these letters */
	case 'm':
		if (IS(p, plen, "model") || IS(p, plen, "modelVersion"))
			set_model(x, v);
		return;
	case 'd':
		if (IS(p, plen, "done") && v->type == AP_JSON_TRUE)
			x->done = 1;
		return;
	case 't':
		if (IS(p, plen, "total_duration"))
			x->durations = 1;
		return;
	case 'u':
		if (plen < 6 || memcmp(p, "usage", 5) != 0)
			return;
		break;
	case 'p':
	case 'e':
		break;
	default:
		return;
	}
	if (v->type != AP_JSON_NUMBER || plen < 7 || !(umap_hashes >> UMAP_HASH(plen, p[6]) & 1) ||
	    !ap_usage_parse_int(v->val, v->len, &n))
		return;
	for (size_t i = 0; i < sizeof(umap) / sizeof(umap[0]); i++) {
		/* the length and the byte after "usage." tell most entries apart before memcmp */
		if (umap[i].len == plen && umap[i].path[6] == p[6] &&
		    memcmp(p, umap[i].path, plen) == 0) {
			*field_ptr(&x->u, umap[i].field) = n;
			return;
		}
	}
}

void ap_usage_x_finish(const struct ap_usage_x *x, struct ap_usage *out, char *model, size_t cap)
{
	*out = x->u;
	if (x->done && x->durations) { /* Ollama omits zero counts from its final object */
		if (out->input == AP_UNKNOWN)
			out->input = 0;
		if (out->output == AP_UNKNOWN)
			out->output = 0;
	}
	if (x->model[0] && cap) {
		size_t n = strnlen(x->model, sizeof(x->model));
		if (n >= cap)
			n = cap - 1;
		memcpy(model, x->model, n);
		model[n] = 0;
	}
}

static int64_t add_known(int64_t a, int64_t b)
{
	if (a == AP_UNKNOWN)
		return AP_UNKNOWN;
	return b == AP_UNKNOWN ? a : a + b;
}

void ap_usage_otel(unsigned api, const struct ap_usage *in, struct ap_usage *out)
{
	*out = *in;
	if (api == AP_API_ANTHROPIC)
		out->input = add_known(add_known(in->input, in->cache_read), in->cache_write);
	else if (api == AP_API_GEMINI)
		out->output = add_known(in->output, in->reasoning);
}

/* --- API shape and model from the URL path ---------------------------------------------------- */

static size_t path_len(const char *path)
{
	return strcspn(path, "?#");
}

static int ends_with(const char *p, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(p + n - k, suffix, k) == 0;
}

static int equals(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

static inline __attribute__((always_inline)) const char *find_in(const char *p, size_t n,
								 const char *needle)
{
	size_t k = strlen(needle), at = needle[0] == '/' ? 1 : 0; /* '/' is everywhere */
	const char *e = p + n, *q = p + at;

	if (n < k)
		return NULL;

	/* candidates are where the needle's byte at is (k >= 2: every needle is longer) */
	while (k - at <= (size_t)(e - q) &&
	       (q = memchr(q, needle[at], (size_t)(e - q) - (k - at) + 1)) != NULL) {
		if (memcmp(q - at, needle, k) == 0)
			return q - at;
		q++;
	}
	return NULL;
}

/* ap_usage_api for a path whose path_len is n */
static unsigned api_of(const char *path, size_t n)
{
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (find_in(path, n, ":generateContent") || find_in(path, n, ":streamGenerateContent"))
		return AP_API_GEMINI;
	if (n > 8 && memcmp(path, "/google.", 8) == 0 &&
	    (ends_with(path, n, "/GenerateContent") ||
	     ends_with(path, n, "/StreamGenerateContent")))
		return AP_API_GEMINI; /* gRPC: the Gemini and Vertex GenerateContent methods */
	if (equals(path, n, "/api/chat") || equals(path, n, "/api/generate") ||
	    equals(path, n, "/api/embed") || equals(path, n, "/api/embeddings"))
		return AP_API_OLLAMA;
	if (ends_with(path, n, "/completions") || ends_with(path, n, "/embeddings"))
		return AP_API_OPENAI_CHAT;
	if (ends_with(path, n, "/responses"))
		return AP_API_OPENAI_RESPONSES;
	if (ends_with(path, n, "/messages"))
		return AP_API_ANTHROPIC;
	if (find_in(path, n, "/model/") &&
	    (ends_with(path, n, "/converse") || ends_with(path, n, "/converse-stream") ||
	     ends_with(path, n, "/invoke") || ends_with(path, n, "/invoke-with-response-stream")))
		return AP_API_BEDROCK;
	return AP_API_UNKNOWN;
}

unsigned ap_usage_api(const char *path)
{
	return path ? api_of(path, path_len(path)) : AP_API_UNKNOWN;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copy p[0..n) percent-decoded into model; returns 1 if non-empty. */
static int copy_model(const char *p, size_t n, char *model, size_t cap)
{
	size_t o = 0;

	if (!cap)
		return 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
			model[o++] = (char)(hexval(p[i + 1]) << 4 | hexval(p[i + 2]));
			i += 2;
		} else {
			model[o++] = p[i];
		}
	}
	model[o] = 0;
	return o > 0;
}

/* The segment after marker, up to one of stops. */
static int segment_after(const char *p, size_t n, const char *marker, const char *stops,
			 char *model, size_t cap)
{
	const char *m = find_in(p, n, marker);
	size_t s, e;

	if (!m)
		return 0;
	s = (size_t)(m - p) + strlen(marker);
	for (e = s; e < n && !strchr(stops, p[e]); e++)
		;
	return copy_model(p + s, e - s, model, cap);
}

/* ap_usage_path_model for a path of shape api whose path_len is n */
static int model_of(unsigned api, const char *path, size_t n, char *model, size_t cap)
{
	size_t colon, s;

	switch (api) {
	case AP_API_GEMINI:
		for (colon = n; colon > 0 && path[colon - 1] != ':'; colon--)
			;
		if (colon == 0)
			return 0;
		colon--;
		for (s = colon; s > 0 && path[s - 1] != '/'; s--)
			;
		return copy_model(path + s, colon - s, model, cap);
	case AP_API_BEDROCK:
		return segment_after(path, n, "/model/", "/", model, cap);
	case AP_API_OPENAI_CHAT:
	case AP_API_OPENAI_RESPONSES:
		return segment_after(path, n, "/openai/deployments/", "/", model, cap);
	}
	return 0;
}

int ap_usage_path_model(const char *path, char *model, size_t cap)
{
	size_t n;

	if (!path)
		return 0;
	n = path_len(path);
	return model_of(api_of(path, n), path, n, model, cap);
}

unsigned ap_usage_request(const char *path, char *model, size_t cap)
{
	size_t n;
	unsigned api;

	if (!path)
		return AP_API_UNKNOWN;
	n = path_len(path);
	api = api_of(path, n);
	if (model)
		model_of(api, path, n, model, cap);
	return api;
}
