/* classify.h: puts an endpoint (host, port, path) in a category (llm/tool/memory) and provider. */
#ifndef AGENTPROF_CLASSIFY_H
#define AGENTPROF_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Rules file (AGENTPROF_RULES), one rule per line; '#' starts a comment, blank lines are skipped:
 *
 *   MATCHER... CATEGORY [PROVIDER]
 *   MATCHER  := host GLOB | path GLOB | port NUMBER
 *   CATEGORY := llm | tool | memory | process
 *   PROVIDER := openai | azure_openai | anthropic | gemini | vertex_ai | bedrock | mistral |
 *               groq | deepseek | openrouter | together | ollama | openai_compatible
 *
 * Every matcher of a rule must match; the first matching rule wins. GLOB: '*' matches any run
 * of characters (also empty), '?' one character. Hosts compare case-insensitively (a trailing
 * dot is ignored); paths are matched without their query string, case-sensitively. Examples:
 *
 *   host api.mycorp.com llm openai_compatible
 *   host *.search.internal path /v1/search* tool
 *   port 6379 memory
 *   host localhost port 8000 path /generate llm
 *
 * An llm rule without a provider takes the built-in provider for the host or path, else
 * openai_compatible. At most AP_RULES_MAX rules; a glob longer than AP_RULE_GLOB_MAX - 1 is an
 * error.
 *
 * Built-in order after the user's rules (docs/PARSERS.md, classification):
 *   1. known LLM API paths (/v1/chat/completions, /v1/completions, /v1/responses,
 *      /v1/embeddings, /v1/messages, :generateContent, :streamGenerateContent, /api/chat,
 *      /api/generate, /api/embed, and the token counters /v1/messages/count_tokens and
 *      :countTokens) -> llm whatever the host (a custom base URL or gateway); provider from the
 * host when known, /api/... -> ollama, else openai_compatible (the API shape comes from the path:
 * see usage.h ap_usage_api);
 *   2. known provider hosts (api.openai.com, *.openai.azure.com, api.anthropic.com,
 *      generativelanguage.googleapis.com, *-aiplatform.googleapis.com, bedrock-runtime.*.
 *      amazonaws.com, api.mistral.ai, api.groq.com, api.deepseek.com, openrouter.ai,
 *      api.together.xyz/.ai, ...) and Ollama's port 11434 -> llm, any path;
 *   3. memory stores: ports 6379/6380 (Redis), 5432 (PostgreSQL), 11211 (memcached),
 *      6333/6334 (Qdrant), 19530 (Milvus), 9200 (Elasticsearch/OpenSearch), 27017 (MongoDB);
 *      hosts *.pinecone.io, *.qdrant.io, *.weaviate.network, *.weaviate.cloud, *.upstash.io;
 *      Chroma paths (/api/v1/..., /api/v2/...) on port 8000; Weaviate paths (/v1/objects,
 *      /v1/graphql, /v1/schema, /v1/batch) on port 8080 -> memory;
 *   4. anything else -> tool.
 */

#define AP_RULES_MAX	 64
#define AP_RULE_GLOB_MAX 128

struct ap_rule {
	char host[AP_RULE_GLOB_MAX]; /* "" = any */
	char path[AP_RULE_GLOB_MAX]; /* "" = any */
	int32_t port;		     /* -1 = any */
	uint8_t category;	     /* enum ap_category */
	uint8_t provider;	     /* enum ap_provider, AP_PROV_NONE = derive */
};

struct ap_rules {
	unsigned n;
	struct ap_rule rule[AP_RULES_MAX];
};

/* Parse a rules file. Returns the rule count, or -1 with "line N: why" in err. */
int ap_rules_parse(struct ap_rules *r, const char *text, size_t n, char *err, size_t errlen);

/*
 * Classify an endpoint. r may be NULL; host and path may be NULL or ""; port <= 0 = unknown.
 * category: enum ap_category (never AP_CAT_UNKNOWN); provider: enum ap_provider (NONE unless
 * llm).
 */
void ap_classify(const struct ap_rules *r, const char *host, int port, const char *path,
		 uint8_t *category, uint8_t *provider);

/*
 * The same in two steps, so that a connection classifies its endpoint once: what host and port
 * decide (cached per connection by the preload), then per exchange what the path decides
 * (user rules with a path glob, known LLM API paths, Chroma/Weaviate paths). ap_classify is
 * ap_classify_endpoint followed by ap_classify_path.
 */
struct ap_endpoint_class {
	uint64_t rules;	   /* bit i: user rule i matches the host and port */
	uint8_t host_prov; /* provider the host (or Ollama's port) names, AP_PROV_NONE if none */
	uint8_t memory;	   /* a memory store by port or host */
	int32_t port;	   /* the port (from host:port when port <= 0) */
};
void ap_classify_endpoint(const struct ap_rules *r, const char *host, int port,
			  struct ap_endpoint_class *ec);
void ap_classify_path(const struct ap_rules *r, const struct ap_endpoint_class *ec,
		      const char *path, uint8_t *category, uint8_t *provider);

/* Glob match ('*', '?'), optionally case-insensitive; s is s[0..n). Exposed for tests. */
int ap_glob_match(const char *pat, const char *s, size_t n, int icase);

#endif
