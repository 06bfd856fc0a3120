/* test_classify.c: built-in endpoint classification and the AGENTPROF_RULES file format. */
#include <string.h>

#include "ap_records.h"
#include "classify.h"
#include "unit.h"

static struct ap_rules rules;

static void check(const struct ap_rules *r, const char *host, int port, const char *path,
		  unsigned cat, unsigned prov, int line)
{
	uint8_t c = 99, p = 99;

	ap_classify(r, host, port, path, &c, &p);
	if (c == cat && p == prov) {
		unit_passed++;
		return;
	}
	unit_failed++;
	fprintf(stderr, "line %d: %s:%d%s -> %s/%s, want %s/%s\n", line, host ? host : "(null)",
		port, path ? path : "(null)", ap_category_name(c), ap_provider_name(p),
		ap_category_name(cat), ap_provider_name(prov));
}
#define C(host, port, path, cat, prov) check(NULL, host, port, path, cat, prov, __LINE__)
#define R(host, port, path, cat, prov) check(&rules, host, port, path, cat, prov, __LINE__)

static void test_builtin(void)
{
	/* known LLM paths */
	C("api.openai.com", 443, "/v1/chat/completions", AP_CAT_LLM, AP_PROV_OPENAI);
	C("api.openai.com", 443, "/v1/responses", AP_CAT_LLM, AP_PROV_OPENAI);
	C("api.openai.com", 443, "/v1/files", AP_CAT_LLM, AP_PROV_OPENAI); /* provider host */
	C("api.anthropic.com", 443, "/v1/messages?beta=true", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	C("API.Anthropic.COM.", 443, "/v1/messages", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	C("generativelanguage.googleapis.com", 443,
	  "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=x", AP_CAT_LLM,
	  AP_PROV_GEMINI);
	C("us-central1-aiplatform.googleapis.com", 443,
	  "/v1/projects/p/locations/us-central1/publishers/google/models/g:generateContent",
	  AP_CAT_LLM, AP_PROV_VERTEX_AI);
	C("myres.openai.azure.com", 443, "/openai/deployments/gpt4o/chat/completions?api-version=1",
	  AP_CAT_LLM, AP_PROV_AZURE_OPENAI);
	C("bedrock-runtime.us-east-1.amazonaws.com", 443, "/model/x/converse", AP_CAT_LLM,
	  AP_PROV_BEDROCK);
	C("api.mistral.ai", 443, "/v1/chat/completions", AP_CAT_LLM, AP_PROV_MISTRAL);
	C("api.groq.com", 443, "/openai/v1/chat/completions", AP_CAT_LLM, AP_PROV_GROQ);
	C("api.deepseek.com", 443, "/chat/completions", AP_CAT_LLM, AP_PROV_DEEPSEEK);
	C("openrouter.ai", 443, "/api/v1/chat/completions", AP_CAT_LLM, AP_PROV_OPENROUTER);
	C("api.together.xyz", 443, "/v1/completions", AP_CAT_LLM, AP_PROV_TOGETHER);
	C("api.together.ai", 443, "/v1/embeddings", AP_CAT_LLM, AP_PROV_TOGETHER);
	/* Ollama by port or by path */
	C("localhost", 11434, "/api/tags", AP_CAT_LLM, AP_PROV_OLLAMA);
	C("localhost:11434", 0, "/api/ps", AP_CAT_LLM, AP_PROV_OLLAMA);
	C("gpu-box", 8080, "/api/chat", AP_CAT_LLM, AP_PROV_OLLAMA);
	C("gpu-box", 8080, "/api/generate", AP_CAT_LLM, AP_PROV_OLLAMA);
	C("gpu-box", 8080, "/api/embed", AP_CAT_LLM, AP_PROV_OLLAMA);
	C("gpu-box", 8080, "/api/chats", AP_CAT_TOOL, AP_PROV_NONE);
	/* LLM paths on unknown hosts: vLLM, llama.cpp, proxies */
	C("localhost", 8000, "/v1/chat/completions", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	C("127.0.0.1", 8080, "/v1/messages", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	C("[::1]:9931", 0, "/v1/responses", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	C("proxy", 4000, "/v1beta/models/m:generateContent", AP_CAT_LLM, AP_PROV_GEMINI);
	/* lookalikes are not LLM */
	C("api.openai.com.evil.example", 443, "/x", AP_CAT_TOOL, AP_PROV_NONE);
	C("slack.com", 443, "/api/channels/x/messages", AP_CAT_TOOL, AP_PROV_NONE);
	C("forms.example", 443, "/v2/survey/responses", AP_CAT_TOOL, AP_PROV_NONE);
	/* memory stores */
	C("redis", 6379, NULL, AP_CAT_MEMORY, AP_PROV_NONE);
	C("10.0.0.5", 5432, "", AP_CAT_MEMORY, AP_PROV_NONE);
	C("mc", 11211, NULL, AP_CAT_MEMORY, AP_PROV_NONE);
	C("qdrant", 6333, "/collections/x/points/search", AP_CAT_MEMORY, AP_PROV_NONE);
	C("qdrant", 6334, NULL, AP_CAT_MEMORY, AP_PROV_NONE);
	C("milvus", 19530, NULL, AP_CAT_MEMORY, AP_PROV_NONE);
	C("es", 9200, "/idx/_search", AP_CAT_MEMORY, AP_PROV_NONE);
	C("idx-abc.svc.us-east1-gcp.pinecone.io", 443, "/query", AP_CAT_MEMORY, AP_PROV_NONE);
	C("chroma", 8000, "/api/v1/collections", AP_CAT_MEMORY, AP_PROV_NONE);
	C("vllm", 8000, "/v1/completions", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	C("web", 8000, "/index.html", AP_CAT_TOOL, AP_PROV_NONE);
	C("weaviate", 8080, "/v1/objects", AP_CAT_MEMORY, AP_PROV_NONE);
	C("weaviate", 8080, "/v1/graphql", AP_CAT_MEMORY, AP_PROV_NONE);
	C("web", 8080, "/v1/other", AP_CAT_TOOL, AP_PROV_NONE);
	/* everything else */
	C("api.github.com", 443, "/repos", AP_CAT_TOOL, AP_PROV_NONE);
	C(NULL, -1, NULL, AP_CAT_TOOL, AP_PROV_NONE);
	C("", 0, "", AP_CAT_TOOL, AP_PROV_NONE);
}

/* Token counters are LLM-provider calls; LLM API shapes are llm on any host (custom base URL). */
static void test_count_tokens_and_base_urls(void)
{
	C("api.anthropic.com", 443, "/v1/messages/count_tokens", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	C("gw.corp.internal", 443, "/anthropic/v1/messages/count_tokens?beta=true", AP_CAT_LLM,
	  AP_PROV_ANTHROPIC);
	C("generativelanguage.googleapis.com", 443, "/v1beta/models/gemini-2.0-flash:countTokens",
	  AP_CAT_LLM, AP_PROV_GEMINI);
	C("llm-proxy.example.net", 443, "/v1beta/models/g:countTokens", AP_CAT_LLM, AP_PROV_GEMINI);
	C("llm-proxy.example.net", 443, "/openai/v1/chat/completions", AP_CAT_LLM,
	  AP_PROV_OPENAI_COMPATIBLE);
	C("llm-proxy.example.net", 443, "/v1/messages", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	C("llm-proxy.example.net", 443, "/v1/responses", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	C("10.0.0.7", 9000, "/v1/models/gemini-pro:generateContent", AP_CAT_LLM, AP_PROV_GEMINI);
	C("10.0.0.7", 9000, "/api/chat", AP_CAT_LLM, AP_PROV_OLLAMA);
	/* a memory port does not outrank an LLM path; other paths there stay memory */
	C("10.0.0.7", 6379, "/v1/chat/completions", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	C("10.0.0.7", 6379, "/v1/other", AP_CAT_MEMORY, AP_PROV_NONE);
	C("gw.corp.internal", 443, "/v1/messages/batches", AP_CAT_TOOL, AP_PROV_NONE);
}

static void test_rules(void)
{
	static const char text[] = "# agentprof rules\n"
				   "\n"
				   "host api.mycorp.com llm openai_compatible   # our gateway\r\n"
				   "host *.search.internal path /v1/search* tool\n"
				   "  port 6379 tool\n"
				   "host localhost port 8001 path /generate llm\n"
				   "path /v1/chat/completions tool\n"
				   "host api.openai.com memory\n"
				   "host *.corp llm anthropic";
	char err[128];

	CHECK_EQ_INT(ap_rules_parse(&rules, text, sizeof(text) - 1, err, sizeof(err)), 7);
	CHECK_EQ_STR(err, "");
	R("api.mycorp.com", 443, "/anything", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	R("API.MYCORP.COM", 443, "/anything", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	R("a.search.internal", 80, "/v1/search?q=1", AP_CAT_TOOL, AP_PROV_NONE);
	R("a.search.internal", 80, "/v1/other", AP_CAT_TOOL, AP_PROV_NONE);
	R("redis", 6379, NULL, AP_CAT_TOOL, AP_PROV_NONE); /* user rule beats built-in */
	R("localhost", 8001, "/generate", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	R("localhost:8001", 0, "/generate", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	R("localhost", 8002, "/generate", AP_CAT_TOOL, AP_PROV_NONE);
	R("x", 1, "/v1/chat/completions", AP_CAT_TOOL, AP_PROV_NONE);
	R("api.openai.com", 443, "/v1/files", AP_CAT_MEMORY, AP_PROV_NONE);
	R("a.corp", 443, "/", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	R("api.anthropic.com", 443, "/v1/messages", AP_CAT_LLM, AP_PROV_ANTHROPIC);
	R("postgres", 5432, NULL, AP_CAT_MEMORY, AP_PROV_NONE);

	/* an llm rule without provider derives it */
	CHECK_EQ_INT(ap_rules_parse(&rules, "host *.ollama.lan llm\nport 11434 llm\n", 36, err,
				    sizeof(err)),
		     2);
	R("box.ollama.lan", 80, "/api/chat", AP_CAT_LLM, AP_PROV_OLLAMA);
	R("box.ollama.lan", 80, "/x", AP_CAT_LLM, AP_PROV_OPENAI_COMPATIBLE);
	R("api.groq.com", 11434, "/x", AP_CAT_LLM, AP_PROV_GROQ);
}

static void bad(const char *text, const char *want)
{
	char err[128];

	CHECK_EQ_INT(ap_rules_parse(&rules, text, strlen(text), err, sizeof(err)), -1);
	CHECK_EQ_STR(err, want);
}

static void test_errors(void)
{
	char many[64 * 20 + 40] = "", err[8];
	size_t n = 0;

	bad("hots x llm\n", "line 1: the first word is not host, path or port");
	bad("# c\nhost x lm\n", "line 2: unknown category");
	bad("host x llm openia\n", "line 1: unknown provider");
	bad("host x\n", "line 1: missing category");
	bad("port\n", "line 1: missing value after host, path or port");
	bad("port 70000 memory\n", "line 1: bad port");
	bad("port 0 memory\n", "line 1: bad port");
	bad("port 12a memory\n", "line 1: bad port");
	bad("\n\nport 1 memory openai extra\n", "line 3: unexpected word after the provider");
	bad("host a b c d e f g h i j k\n", "line 1: too many words");
	bad("llm\n", "line 1: the first word is not host, path or port");
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(many + n, "port %d tool\n", i + 1);
	bad(many, "line 65: too many rules (max 64)");
	/* a .env file named by mistake: the message must not quote its words */
	bad("OPENAI_API_KEY=sk-canary-rules-0123456789\n",
	    "line 1: the first word is not host, path or port");
	{
		char longpat[300] = "host ";
		memset(longpat + 5, 'a', 200);
		strcpy(longpat + 205, " llm\n");
		CHECK_EQ_INT(ap_rules_parse(&rules, longpat, strlen(longpat), err, sizeof(err)),
			     -1);
		CHECK_EQ_STR(err, "line 1:"); /* the message is cut to the buffer */
	}
	CHECK_EQ_INT(ap_rules_parse(&rules, "x", 1, NULL, 0), -1);
	CHECK_EQ_INT(ap_rules_parse(&rules, "", 0, err, sizeof(err)), 0);
	CHECK_EQ_INT(ap_rules_parse(&rules, "# only\n\n   \n", 12, err, sizeof(err)), 0);
}

static void test_glob(void)
{
	CHECK(ap_glob_match("*", "", 0, 0));
	CHECK(ap_glob_match("a*b*c", "aXXbYYc", 7, 0));
	CHECK(!ap_glob_match("a*b*c", "aXXbYY", 6, 0));
	CHECK(ap_glob_match("*.openai.azure.com", "x.openai.azure.com", 18, 1));
	CHECK(!ap_glob_match("*.openai.azure.com", "openai.azure.com", 16, 1));
	CHECK(ap_glob_match("a?c", "abc", 3, 0));
	CHECK(!ap_glob_match("a?c", "ac", 2, 0));
	CHECK(ap_glob_match("ABC", "abc", 3, 1));
	CHECK(!ap_glob_match("ABC", "abc", 3, 0));
	CHECK(ap_glob_match("/v1/*", "/v1/x?y", 5, 0)); /* n bounds the subject */
	/* pathological pattern stays fast */
	CHECK(!ap_glob_match("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     44, 0));
}

/* Every row of the provider table (providers.h): its name parses back to it, it has an OTel
 * name, and each of its hosts (a glob's '*' replaced by a label) is classified as its own. */
static void test_provider_table(void)
{
	for (unsigned p = AP_PROV_NONE + 1; p < AP_PROV_MAX; p++) {
		const struct ap_provider_row *r = ap_provider_row(p);
		const char *h;

		CHECK(r && r->name && *r->otel && ap_provider_parse(r->name) == (int)p);
		CHECK(!strcmp(ap_provider_name(p), r->name));
		for (h = r->hosts; *h;) {
			char host[128];
			size_t n = 0;

			for (; *h && *h != '|' && n + 8 < sizeof(host); h++) {
				if (*h == '*') {
					memcpy(host + n, "us-east1", 8);
					n += 8;
				} else {
					host[n++] = *h;
				}
			}
			host[n] = 0;
			if (*h == '|')
				h++;
			C(host, 443, "/v1/chat/completions", AP_CAT_LLM, p);
		}
	}
	CHECK(ap_provider_row(AP_PROV_NONE) == NULL && ap_provider_row(AP_PROV_MAX) == NULL);
}

int main(void)
{
	test_provider_table();
	test_count_tokens_and_base_urls();
	test_builtin();
	test_rules();
	test_errors();
	test_glob();
	UNIT_DONE();
}
