/* test_usage.c: usage extraction from the verbatim provider examples (docs/internals/formats.md
 * §6). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "http.h"
#include "json_scan.h"
#include "unit.h"
#include "usage.h"

#define U AP_UNKNOWN

/*
 * VERBATIM examples copied from the providers' API references (the shapes are summarised in
 * docs/internals/formats.md §6). Some carry the abridgement marks ("...", "[...]", "// ...");
 * unabridge() removes exactly those marks before
 * the text is used, since the real wire bytes never contain them.
 */
static const char openai_chat[] = "{\n"
				  "  \"id\": \"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\n"
				  "  \"object\": \"chat.completion\",\n"
				  "  \"created\": 1741569952,\n"
				  "  \"model\": \"gpt-5.4\",\n"
				  "  \"choices\": [\n"
				  "    {\n"
				  "      \"index\": 0,\n"
				  "      \"message\": {\n"
				  "        \"role\": \"assistant\",\n"
				  "        \"content\": \"Hello! How can I assist you today?\",\n"
				  "        \"refusal\": null,\n"
				  "        \"annotations\": []\n"
				  "      },\n"
				  "      \"logprobs\": null,\n"
				  "      \"finish_reason\": \"stop\"\n"
				  "    }\n"
				  "  ],\n"
				  "  \"usage\": {\n"
				  "    \"prompt_tokens\": 19,\n"
				  "    \"completion_tokens\": 10,\n"
				  "    \"total_tokens\": 29,\n"
				  "    \"prompt_tokens_details\": {\n"
				  "      \"cached_tokens\": 0,\n"
				  "      \"audio_tokens\": 0\n"
				  "    },\n"
				  "    \"completion_tokens_details\": {\n"
				  "      \"reasoning_tokens\": 0,\n"
				  "      \"audio_tokens\": 0,\n"
				  "      \"accepted_prediction_tokens\": 0,\n"
				  "      \"rejected_prediction_tokens\": 0\n"
				  "    }\n"
				  "  },\n"
				  "  \"service_tier\": \"default\"\n"
				  "}\n";

static const char openai_stream[] =
	"data: "
	"{\"id\":\"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh\",\"object\":\"chat.completion.chunk\","
	"\"created\":1727346171,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_"
	"7568d46099\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
	"\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}\n"
	"\n"
	"data: "
	"{\"id\":\"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh\",\"object\":\"chat.completion.chunk\","
	"\"created\":1727346171,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_"
	"7568d46099\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"{\\\"\"},\"logprobs\":"
	"null,\"finish_reason\":null}]}\n"
	"\n"
	"data: "
	"{\"id\":\"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh\",\"object\":\"chat.completion.chunk\","
	"\"created\":1727346171,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_"
	"7568d46099\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
	"\"length\"}]}\n"
	"\n"
	"data: "
	"{\"id\":\"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh\",\"object\":\"chat.completion.chunk\","
	"\"created\":1727346171,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_"
	"7568d46099\",\"choices\":[],\"usage\":{\"prompt_tokens\":79,\"completion_tokens\":1,"
	"\"total_tokens\":80,\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n"
	"\n"
	"data: [DONE]\n"
	"\n"
	"\n";

static const char openai_chunk[] =
	"{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,"
	"\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", "
	"\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
	"\"logprobs\":null,\"finish_reason\":null}],\"obfuscation\":\"r4N7vQ2m\"}";

static const char responses_json[] =
	"{\n"
	"  \"id\": \"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b\",\n"
	"  \"object\": \"response\",\n"
	"  \"created_at\": 1741476542,\n"
	"  \"status\": \"completed\",\n"
	"  \"completed_at\": 1741476543,\n"
	"  \"error\": null,\n"
	"  \"model\": \"gpt-5.4\",\n"
	"  \"output\": [\n"
	"    {\n"
	"      \"type\": \"message\",\n"
	"      \"id\": \"msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b\",\n"
	"      \"status\": \"completed\",\n"
	"      \"role\": \"assistant\",\n"
	"      \"content\": [ { \"type\": \"output_text\", \"text\": \"In a peaceful grove ...\", "
	"\"annotations\": [] } ]\n"
	"    }\n"
	"  ],\n"
	"  ...\n"
	"  \"usage\": {\n"
	"    \"input_tokens\": 36,\n"
	"    \"input_tokens_details\": { \"cached_tokens\": 0, \"cache_write_tokens\": 0 },\n"
	"    \"output_tokens\": 87,\n"
	"    \"output_tokens_details\": { \"reasoning_tokens\": 0 },\n"
	"    \"total_tokens\": 123\n"
	"  },\n"
	"  \"user\": null,\n"
	"  \"metadata\": {}\n"
	"}\n";

static const char responses_sse[] =
	"event: response.created\n"
	"data: "
	"{\"type\":\"response.created\",\"response\":{\"id\":\"resp_"
	"67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654\",\"object\":\"response\",\"created_at\":"
	"1741290958,\"status\":\"in_progress\",...,\"model\":\"gpt-5.4\",\"output\":[],...,"
	"\"usage\":null,\"user\":null,\"metadata\":{}}}\n"
	"\n"
	"event: response.output_text.delta\n"
	"data: "
	"{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_"
	"67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654\",\"output_index\":0,\"content_index\":0,"
	"\"delta\":\"Hi\"}\n"
	"\n"
	"event: response.completed\n"
	"data: "
	"{\"type\":\"response.completed\",\"response\":{\"id\":\"resp_"
	"67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654\",\"object\":\"response\",\"created_at\":"
	"1741290958,\"status\":\"completed\",...,\"model\":\"gpt-5.4\",...,\"usage\":{\"input_"
	"tokens\":37,\"output_tokens\":11,\"output_tokens_details\":{\"reasoning_tokens\":0},"
	"\"total_tokens\":48},\"user\":null,\"metadata\":{}}}\n"
	"\n";

static const char anthropic_json[] =
	"{\n"
	"  \"model\": \"claude-sonnet-4-5-20250929\",\n"
	"  \"id\": \"msg_01T4jd6NyD9xGGtTPDC4ogy5\",\n"
	"  \"type\": \"message\",\n"
	"  \"role\": \"assistant\",\n"
	"  \"content\": [\n"
	"    { \"type\": \"text\", \"text\": \"{\\\"items\\\":[{\\\"product_name\\\":\\\"Green "
	"Tea\\\",\\\"price\\\":5.50,\\\"quantity\\\":2},{\\\"product_name\\\":\\\"Coffee\\\","
	"\\\"price\\\":3.00,\\\"quantity\\\":1}],\\\"total\\\":14.0}\" }\n"
	"  ],\n"
	"  \"stop_reason\": \"end_turn\",\n"
	"  \"stop_sequence\": null,\n"
	"  \"usage\": {\n"
	"    \"input_tokens\": 406,\n"
	"    \"cache_creation_input_tokens\": 0,\n"
	"    \"cache_read_input_tokens\": 0,\n"
	"    \"cache_creation\": { \"ephemeral_5m_input_tokens\": 0, "
	"\"ephemeral_1h_input_tokens\": 0 },\n"
	"    \"output_tokens\": 50,\n"
	"    \"service_tier\": \"standard\",\n"
	"    \"inference_geo\": \"not_available\"\n"
	"  }\n"
	"}\n";

static const char anthropic_sse[] =
	"event: message_start\n"
	"data: "
	"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_"
	"4QpJur2dWWDjF6C758FbBw5vm12BaVipnK\",\"type\":\"message\",\"role\":\"assistant\","
	"\"content\":[],\"model\":\"claude-3-opus-latest\",\"stop_reason\":null,\"stop_sequence\":"
	"null,\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n"
	"\n"
	"event: content_block_start\n"
	"data: "
	"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
	"\"text\":\"\"}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: content_block_delta\n"
	"data: "
	"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
	"\"Hello\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: "
	"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
	"\" there\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: "
	"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
	"\"!\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: message_delta\n"
	"data: "
	"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":"
	"null},\"usage\":{\"output_tokens\":6}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";

static const char anthropic_sse_new[] =
	"event: message_start\n"
	"data: "
	"{\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5-20250929\",\"id\":"
	"\"msg_013nnniYDrJDocdy5nrMU7cH\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
	"],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":135,\"cache_"
	"creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_"
	"5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,\"service_tier\":"
	"\"standard\",\"inference_geo\":\"not_available\"}}   }\n"
	"\n"
	"event: message_delta\n"
	"data: "
	"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":"
	"null},\"usage\":{\"input_tokens\":135,\"cache_creation_input_tokens\":0,\"cache_read_"
	"input_tokens\":0,\"output_tokens\":10}             }\n"
	"\n";

static const char gemini_json[] =
	"{\n"
	"  \"candidates\": [\n"
	"    {\n"
	"      \"content\": {\n"
	"        \"parts\": [ { \"text\": \"```python\\n# Example list to be sorted\\n...\" } ],\n"
	"        \"role\": \"model\"\n"
	"      },\n"
	"      \"finishReason\": \"STOP\",\n"
	"      \"index\": 0,\n"
	"      \"safetyRatings\": [ { \"category\": \"HARM_CATEGORY_SEXUALLY_EXPLICIT\", "
	"\"probability\": \"NEGLIGIBLE\" } ]\n"
	"    }\n"
	"  ],\n"
	"  \"usageMetadata\": {\n"
	"    \"promptTokenCount\": 9,\n"
	"    \"candidatesTokenCount\": 87,\n"
	"    \"totalTokenCount\": 96\n"
	"  }\n"
	"}\n";

static const char gemini_vertex_tail[] =
	"\"usageMetadata\": { \"promptTokenCount\": 10, \"candidatesTokenCount\": 98, "
	"\"totalTokenCount\": 108, \"trafficType\": \"ON DEMAND\", \"promptTokensDetails\": [ { "
	"\"modality\": \"TEXT\", \"tokenCount\": 10 } ], \"candidatesTokensDetails\": [ { "
	"\"modality\": \"TEXT\", \"tokenCount\": 98 } ] }, \"modelVersion\": \"gemini-2.0-flash\", "
	"\"createTime\": \"2025-05-19T14:42:55.000643Z\", \"responseId\": "
	"\"b0MraIMFoqnf-Q-D66G4BQ\" }\n";

static const char gemini_sse_chunk[] =
	"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"In the quaint, sunlit "
	"cottage nestled amidst a lush meadow, resided two feline\"}],\"role\": "
	"\"model\"},\"finishReason\": \"STOP\",\"index\": 0,\"safetyRatings\": "
	"[...]}],\"promptFeedback\": {\"safetyRatings\": [...]}}\n"
	"\n";

static const char ollama_generate_json[] = "{\n"
					   "  \"model\": \"gemma4\",\n"
					   "  \"created_at\": \"2025-10-17T23:14:07.414671Z\",\n"
					   "  \"response\": \"Hello! How can I help you today?\",\n"
					   "  \"done\": true,\n"
					   "  \"done_reason\": \"stop\",\n"
					   "  \"total_duration\": 174560334,\n"
					   "  \"load_duration\": 101397084,\n"
					   "  \"prompt_eval_count\": 11,\n"
					   "  \"prompt_eval_duration\": 13074791,\n"
					   "  \"eval_count\": 18,\n"
					   "  \"eval_duration\": 52479709\n"
					   "}\n";

static const char ollama_generate_stream[] =
	"{\"model\":\"gemma4\",\"created_at\":\"2025-10-26T17:15:24.097767Z\",\"response\":"
	"\"That\",\"done\":false}\n"
	"{\"model\":\"gemma4\",\"created_at\":\"2025-10-26T17:15:24.109172Z\",\"response\":\"'\","
	"\"done\":false}\n"
	"{\"model\":\"gemma4\",\"created_at\":\"2025-10-26T17:15:24.166576Z\",\"response\":\"!\","
	"\"done\":true, \"done_reason\": \"stop\"}\n";

static const char ollama_chat_first[] =
	"{\n"
	"  \"model\": \"llama3.2\",\n"
	"  \"created_at\": \"2023-08-04T08:52:19.385406455-07:00\",\n"
	"  \"message\": { \"role\": \"assistant\", \"content\": \"The\", \"images\": null },\n"
	"  \"done\": false\n"
	"}\n";

static const char ollama_chat_final[] =
	"{\n"
	"  \"model\": \"llama3.2\",\n"
	"  \"created_at\": \"2023-08-04T19:22:45.499127Z\",\n"
	"  \"message\": { \"role\": \"assistant\", \"content\": \"\" },\n"
	"  \"done\": true,\n"
	"  \"total_duration\": 4883583458,\n"
	"  \"load_duration\": 1334875,\n"
	"  \"prompt_eval_count\": 26,\n"
	"  \"prompt_eval_duration\": 342546000,\n"
	"  \"eval_count\": 282,\n"
	"  \"eval_duration\": 4535599000\n"
	"}\n";

static const char llamacpp_usage[] = "{\n"
				     "    // ...\n"
				     "    \"usage\": {\n"
				     "        \"completion_tokens\": 48,\n"
				     "        \"prompt_tokens\": 44,\n"
				     "        \"total_tokens\": 92,\n"
				     "        \"prompt_tokens_details\": {\n"
				     "            \"cached_tokens\": 0\n"
				     "        }\n"
				     "    }\n"
				     "}\n";

/* --- helpers -------------------------------------------------------------------------------- */

/* Drop the report's abridgement marks outside JSON strings: "...," / "..." lines / "[...]" /
 * "// ..." comments. */
static char *unabridge(const char *in)
{
	size_t n = strlen(in);
	char *out = calloc(1, n + 1);
	size_t o = 0;
	int instr = 0, esc = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (instr) {
			out[o++] = c;
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
			continue;
		}
		if (c == '"') {
			instr = 1;
			out[o++] = c;
			continue;
		}
		if (strncmp(in + i, "//", 2) == 0) { /* comment to end of line */
			while (i < n && in[i] != '\n')
				i++;
			out[o++] = '\n';
			continue;
		}
		if (strncmp(in + i, "...,", 4) == 0) {
			i += 3;
			continue;
		}
		if (strncmp(in + i, "...", 3) == 0) {
			i += 2;
			continue;
		}
		out[o++] = c;
	}
	/* a removed line may leave ",\n  }" : drop commas before a closing bracket */
	for (size_t i = 0; i < o; i++) {
		if (out[i] != ',')
			continue;
		size_t j = i + 1;
		while (j < o && (out[j] == ' ' || out[j] == '\n' || out[j] == '\t'))
			j++;
		if (j < o && (out[j] == '}' || out[j] == ']'))
			out[i] = ' ';
	}
	out[o] = 0;
	return out;
}

struct scan {
	struct ap_usage u;
	char model[AP_STR_MODEL];
	int failed;
};

static void scan_json(const char *body, struct scan *r)
{
	struct ap_json j;
	struct ap_usage_x x;

	ap_json_init(&j);
	ap_usage_x_init(&x);
	ap_json_feed(&j, body, strlen(body), ap_usage_x_field, &x);
	ap_json_end(&j, ap_usage_x_field, &x);
	r->failed = ap_json_failed(&j);
	r->model[0] = 0;
	ap_usage_x_finish(&x, &r->u, r->model, sizeof(r->model));
}

static void check_usage(const struct ap_usage *u, int64_t in, int64_t out, int64_t cr, int64_t cw,
			int64_t rs, int line)
{
	if (u->input != in || u->output != out || u->cache_read != cr || u->cache_write != cw ||
	    u->reasoning != rs) {
		unit_failed++;
		fprintf(stderr,
			"line %d: usage %lld/%lld/%lld/%lld/%lld, want %lld/%lld/%lld/%lld/%lld\n",
			line, (long long)u->input, (long long)u->output, (long long)u->cache_read,
			(long long)u->cache_write, (long long)u->reasoning, (long long)in,
			(long long)out, (long long)cr, (long long)cw, (long long)rs);
	} else {
		unit_passed++;
	}
}
#define USAGE(u, a, b, c, d, e) check_usage(u, a, b, c, d, e, __LINE__)

static struct ap_exchange got;
static int ngot;

static void on_emit(void *ctx, struct ap_exchange *ex)
{
	got = *ex;
	ngot++;
}

static const struct ap_zlib_api zapi = {inflateInit2_, inflate, inflateEnd};
static const struct ap_http_env env = {.emit = on_emit, .zlib = &zapi};
static struct ap_http h;

/* One POST exchange through the HTTP parser, the response body written in 7-byte pieces. */
static const struct ap_exchange *http(const char *path, const char *req_body, const char *ctype,
				      const char *body)
{
	char req[4096], hdr[512];
	size_t bn = strlen(body);

	snprintf(req, sizeof(req),
		 "POST %s HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 path, strlen(req_body), req_body);
	snprintf(hdr, sizeof(hdr),
		 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, bn);
	ngot = 0;
	ap_http_init(&h, &env);
	ap_http_out(&h, req, strlen(req), 100);
	ap_http_in(&h, hdr, strlen(hdr), 200);
	for (size_t i = 0; i < bn; i += 7)
		ap_http_in(&h, body + i, bn - i < 7 ? bn - i : 7, 300 + (int64_t)i);
	CHECK_EQ_INT(ngot, 1);
	return &got;
}

/* NDJSON needs one object per line: squeeze a pretty-printed object onto one line. */
static char *one_line(const char *s)
{
	char *o = calloc(1, strlen(s) + 2);
	size_t k = 0;

	for (; *s; s++)
		if (*s != '\n')
			o[k++] = *s;
	o[k++] = '\n';
	return o;
}

/* --- provider examples ---------------------------------------------------------------------- */

static void test_openai(void)
{
	struct scan r;
	const struct ap_exchange *x;
	char *s;

	scan_json(openai_chat, &r);
	CHECK(!r.failed);
	USAGE(&r.u, 19, 10, 0, U, 0);
	CHECK_EQ_STR(r.model, "gpt-5.4");

	x = http("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"stream\":true}",
		 "text/event-stream", openai_stream);
	USAGE(&x->usage, 79, 1, U, U, 0);
	CHECK_EQ_STR(x->request_model, "gpt-4o");
	CHECK_EQ_STR(x->response_model, "gpt-4o-2024-08-06");
	CHECK_EQ_INT(x->stream, 1);
	CHECK_EQ_INT(x->events, 4); /* data: [DONE] is not counted */
	CHECK(x->first_event_ns > 300 && x->first_event_ns < x->end_ns); /* when it completed */
	CHECK_EQ_INT(x->status, 200);

	/* a chunk without usage: every field unknown, never 0 */
	s = calloc(1, strlen(openai_chunk) + 16);
	strcpy(s, "data: ");
	strcat(s, openai_chunk);
	strcat(s, "\n\n");
	x = http("/v1/chat/completions", "{}", "text/event-stream", s);
	USAGE(&x->usage, U, U, U, U, U);
	CHECK_EQ_STR(x->response_model, "gpt-4o-mini");
	CHECK_EQ_INT(x->events, 1);
	free(s);

	/* llama.cpp OpenAI-compatible usage (comments removed) */
	s = unabridge(llamacpp_usage);
	scan_json(s, &r);
	CHECK(!r.failed);
	USAGE(&r.u, 44, 48, 0, U, U);
	free(s);
}

static void test_responses(void)
{
	struct scan r;
	const struct ap_exchange *x;
	char *s = unabridge(responses_json);

	scan_json(s, &r);
	CHECK(!r.failed);
	USAGE(&r.u, 36, 87, 0, 0, 0);
	CHECK_EQ_STR(r.model, "gpt-5.4");
	free(s);

	s = unabridge(responses_sse);
	x = http("/v1/responses", "{\"model\":\"gpt-5.4\",\"stream\":true}", "text/event-stream",
		 s);
	USAGE(&x->usage, 37, 11, U, U, 0);
	CHECK_EQ_STR(x->response_model, "gpt-5.4");
	CHECK_EQ_INT(x->events, 3);
	free(s);
}

static void test_anthropic(void)
{
	struct scan r;
	const struct ap_exchange *x;

	scan_json(anthropic_json, &r);
	CHECK(!r.failed);
	USAGE(&r.u, 406, 50, 0, 0, U);
	CHECK_EQ_STR(r.model, "claude-sonnet-4-5-20250929");

	x = http("/v1/messages", "{\"model\":\"claude-3-opus-latest\",\"stream\":true}",
		 "text/event-stream", anthropic_sse);
	USAGE(&x->usage, 11, 6, U, U, U);
	CHECK_EQ_STR(x->response_model, "claude-3-opus-latest");
	CHECK_EQ_STR(x->request_model, "claude-3-opus-latest");
	CHECK_EQ_INT(x->events, 9);

	x = http("/v1/messages", "{\"model\":\"claude-sonnet-4-5\",\"stream\":true}",
		 "text/event-stream", anthropic_sse_new);
	USAGE(&x->usage, 135, 10, 0, 0, U);
	CHECK_EQ_STR(x->request_model, "claude-sonnet-4-5");
	CHECK_EQ_STR(x->response_model, "claude-sonnet-4-5-20250929");
	CHECK_EQ_INT(x->events, 2);
}

static void test_gemini(void)
{
	struct scan r;
	const struct ap_exchange *x;
	char *s, buf[2048];

	x = http("/v1beta/models/gemini-pro:generateContent?key=AIzaSECRET", "{\"contents\":[]}",
		 "application/json; charset=UTF-8", gemini_json);
	USAGE(&x->usage, 9, 87, U, U, U);
	CHECK_EQ_STR(x->request_model, "gemini-pro");
	CHECK_EQ_STR(x->response_model, ""); /* gemini-pro era: no modelVersion */
	CHECK_EQ_STR(x->path, "/v1beta/models/gemini-pro:generateContent?key=REDACTED");

	snprintf(buf, sizeof(buf), "{%s", gemini_vertex_tail);
	scan_json(buf, &r);
	CHECK(!r.failed);
	USAGE(&r.u, 10, 98, U, U, U);
	CHECK_EQ_STR(r.model, "gemini-2.0-flash");

	s = unabridge(gemini_sse_chunk);
	x = http("/v1beta/models/gemini-pro:streamGenerateContent?alt=sse", "{}",
		 "text/event-stream", s);
	USAGE(&x->usage, U, U, U, U, U);
	CHECK_EQ_INT(x->events, 1);
	CHECK_EQ_STR(x->request_model, "gemini-pro");
	free(s);

	/* CONSTRUCTED: the last usageMetadata wins, but a later partial one keeps earlier fields */
	x = http(
		"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "{}",
		"text/event-stream",
		"data: {\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":1,"
		"\"thoughtsTokenCount\":30,\"cachedContentTokenCount\":4},"
		"\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n"
		"data: "
		"{\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":12}}\r\n\r\n");
	USAGE(&x->usage, 7, 12, 4, U, 30);
	CHECK_EQ_STR(x->response_model, "gemini-2.5-flash");

	/* CONSTRUCTED: streamGenerateContent without alt=sse is one JSON array */
	scan_json("[{\"candidates\":[]},{\"usageMetadata\":{\"promptTokenCount\":3,"
		  "\"candidatesTokenCount\":5},\"modelVersion\":\"gemini-2.0-flash\"}]",
		  &r);
	USAGE(&r.u, 3, 5, U, U, U);
	CHECK_EQ_STR(r.model, "gemini-2.0-flash");
}

static void test_ollama(void)
{
	struct scan r;
	const struct ap_exchange *x;
	char *a, *b, *s;

	scan_json(ollama_generate_json, &r);
	CHECK(!r.failed);
	USAGE(&r.u, 11, 18, U, U, U);
	CHECK_EQ_STR(r.model, "gemma4");

	/* the documented stream's final object carries no metrics: unknown, not 0 */
	x = http("/api/generate", "{\"model\":\"gemma4\"}", "application/x-ndjson",
		 ollama_generate_stream);
	USAGE(&x->usage, U, U, U, U, U);
	CHECK_EQ_INT(x->events, 3);
	CHECK_EQ_INT(x->stream, 1);
	CHECK_EQ_STR(x->response_model, "gemma4");
	CHECK_EQ_STR(x->request_model, "gemma4");

	a = one_line(ollama_chat_first);
	b = one_line(ollama_chat_final);
	s = calloc(1, strlen(a) + strlen(b) + 1);
	strcat(strcpy(s, a), b);
	x = http("/api/chat", "{\"model\":\"llama3.2\",\"messages\":[]}", "application/x-ndjson",
		 s);
	USAGE(&x->usage, 26, 282, U, U, U);
	CHECK_EQ_INT(x->events, 2);
	CHECK_EQ_STR(x->response_model, "llama3.2");
	free(a);
	free(b);
	free(s);

	/* CONSTRUCTED: a done object with durations but no prompt_eval_count (cached prompt) */
	scan_json("{\"model\":\"m\",\"done\":true,\"total_duration\":5,\"eval_count\":3}", &r);
	USAGE(&r.u, 0, 3, U, U, U);
}

/* --- API shape, URL model, normalisation ---------------------------------------------------- */

static void test_api(void)
{
	char m[AP_STR_MODEL];
	struct ap_usage in = {10, 5, 3, 2, U}, out;

	CHECK_EQ_INT(ap_usage_api("/v1/chat/completions"), AP_API_OPENAI_CHAT);
	CHECK_EQ_INT(ap_usage_api("/openai/deployments/gpt4o/chat/completions?api-version=1"),
		     AP_API_OPENAI_CHAT);
	CHECK_EQ_INT(ap_usage_api("/v1/embeddings"), AP_API_OPENAI_CHAT);
	CHECK_EQ_INT(ap_usage_api("/v1/responses"), AP_API_OPENAI_RESPONSES);
	CHECK_EQ_INT(ap_usage_api("/v1/messages?beta=true"), AP_API_ANTHROPIC);
	CHECK_EQ_INT(ap_usage_api("/v1beta/models/gemini-pro:streamGenerateContent?alt=sse"),
		     AP_API_GEMINI);
	CHECK_EQ_INT(ap_usage_api("/api/chat"), AP_API_OLLAMA);
	CHECK_EQ_INT(ap_usage_api("/api/chatter"), AP_API_UNKNOWN);
	CHECK_EQ_INT(ap_usage_api("/model/anthropic.claude-v2/converse"), AP_API_BEDROCK);
	CHECK_EQ_INT(ap_usage_api("/"), AP_API_UNKNOWN);
	CHECK_EQ_INT(ap_usage_api(NULL), AP_API_UNKNOWN);

	CHECK(ap_usage_path_model("/v1beta/models/gemini-2.0-flash:generateContent", m, sizeof(m)));
	CHECK_EQ_STR(m, "gemini-2.0-flash");
	CHECK(ap_usage_path_model("/v1/projects/p/locations/us/publishers/google/models/"
				  "gemini-1.5-pro:streamGenerateContent?alt=sse",
				  m, sizeof(m)));
	CHECK_EQ_STR(m, "gemini-1.5-pro");
	CHECK(ap_usage_path_model("/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse", m,
				  sizeof(m)));
	CHECK_EQ_STR(m, "anthropic.claude-3-sonnet-20240229-v1:0");
	CHECK(ap_usage_path_model("/openai/deployments/my-gpt4o/chat/completions?api-version=x", m,
				  sizeof(m)));
	CHECK_EQ_STR(m, "my-gpt4o");
	CHECK(!ap_usage_path_model("/v1/chat/completions", m, sizeof(m)));
	CHECK(ap_usage_path_model("/v1beta/models/abcdefghijklmnop:generateContent", m, 5));
	CHECK_EQ_STR(m, "abcd");

	ap_usage_otel(AP_API_ANTHROPIC, &in, &out);
	CHECK_EQ_INT(out.input, 15);
	ap_usage_otel(AP_API_OPENAI_CHAT, &in, &out);
	CHECK_EQ_INT(out.input, 10);
	in.reasoning = 4;
	ap_usage_otel(AP_API_GEMINI, &in, &out);
	CHECK_EQ_INT(out.output, 9);
	in.input = U;
	ap_usage_otel(AP_API_ANTHROPIC, &in, &out);
	CHECK_EQ_INT(out.input, U);
}

static void test_parse_int(void)
{
	int64_t v = -7;

	CHECK(ap_usage_parse_int("0", 1, &v) && v == 0);
	CHECK(ap_usage_parse_int("123", 3, &v) && v == 123);
	CHECK(ap_usage_parse_int("12.0", 4, &v) && v == 12);
	CHECK(!ap_usage_parse_int("-1", 2, &v));
	CHECK(!ap_usage_parse_int("1e3", 3, &v));
	CHECK(!ap_usage_parse_int("", 0, &v));
	CHECK(!ap_usage_parse_int("99999999999999999999999", 23, &v));
	CHECK(ap_usage_parse_int("9223372036854775800", 19, &v) && v == 9223372036854775800LL);
}

/* null usage and a string count are ignored; a present 0 stays 0 */
static void test_null_and_zero(void)
{
	struct scan r;

	scan_json("{\"usage\":null,\"model\":null}", &r);
	USAGE(&r.u, U, U, U, U, U);
	CHECK_EQ_STR(r.model, "");
	scan_json("{\"usage\":{\"prompt_tokens\":\"5\",\"completion_tokens\":0}}", &r);
	USAGE(&r.u, U, 0, U, U, U);
	scan_json("{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}} "
		  "{\"usage\":null}",
		  &r);
	USAGE(&r.u, 5, 2, U, U, U);
}

/* --- JSON scanner --------------------------------------------------------------------------- */

static char seen[64][AP_JSON_PATH_MAX + AP_JSON_VAL_MAX + 8];
static int nseen;

static void record(void *ctx, const struct ap_json_value *v)
{
	if (nseen < 64)
		snprintf(seen[nseen], sizeof(seen[0]), "%s=%d:%s%s", v->path, v->type, v->val,
			 v->truncated ? "~" : "");
	nseen++;
}

/* ap_json_feed from a heap block of exactly n bytes: the sanitizer stops a read past them. */
static void json_feed_exact(struct ap_json *j, const char *s, size_t n, ap_json_cb cb, void *ctx)
{
	char *exact = malloc(n ? n : 1);

	if (!exact)
		abort();
	memcpy(exact, s, n);
	ap_json_feed(j, exact, n, cb, ctx);
	free(exact);
}

static int scan_record(const char *s, size_t split)
{
	struct ap_json j;
	size_t n = strlen(s);

	nseen = 0;
	ap_json_init(&j);
	if (split == 0) {
		json_feed_exact(&j, s, n, record, NULL);
	} else {
		for (size_t i = 0; i < n; i += split)
			json_feed_exact(&j, s + i, n - i < split ? n - i : split, record, NULL);
	}
	ap_json_end(&j, record, NULL);
	return ap_json_failed(&j);
}

static void test_json(void)
{
	const char *doc = " {\"a\":{\"b\":[1,{\"c\":\"x\\\"y\\u0041\\u00e9\"}],\"d\":true},"
			  "\"e\":null,\"f\":-1.5e3,\"g\":[[false]]} ";
	char ref[8][160];
	char big[600];
	int nref;

	CHECK(!scan_record(doc, 0));
	CHECK_EQ_INT(nseen, 6);
	CHECK_EQ_STR(seen[0], "a.b[]=2:1");
	CHECK_EQ_STR(seen[1], "a.b[].c=1:x\"yA?");
	CHECK_EQ_STR(seen[2], "a.d=3:");
	CHECK_EQ_STR(seen[3], "e=5:");
	CHECK_EQ_STR(seen[4], "f=2:-1.5e3");
	CHECK_EQ_STR(seen[5], "g[][]=4:");
	nref = nseen;
	for (int i = 0; i < nref && i < 8; i++)
		strcpy(ref[i], seen[i]);
	for (size_t split = 1; split < strlen(doc); split++) {
		int same = !scan_record(doc, split) && nseen == nref;
		for (int i = 0; same && i < nref; i++)
			same = strcmp(ref[i], seen[i]) == 0;
		CHECK(same);
	}

	/* top-level scalars and several values in a row */
	CHECK(!scan_record("42", 0));
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_STR(seen[0], "=2:42");
	CHECK(!scan_record("{\"x\":1}{\"x\":2}\n{\"x\":3}", 0));
	CHECK_EQ_INT(nseen, 3);

	/* depth cap: deeper scalars are not reported, shallower ones still are */
	CHECK(!scan_record("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}},"
			   "\"g2\":2}}}}}},\"z\":3}",
			   0));
	CHECK_EQ_INT(nseen, 2);
	CHECK_EQ_STR(seen[0], "a.b.c.d.e.f.g2=2:2");
	CHECK_EQ_STR(seen[1], "z=2:3");

	/* long keys are cut and marked; long values are cut and flagged */
	memset(big, 'k', sizeof(big));
	memcpy(big, "{\"", 2);
	strcpy(big + 2 + 60, "\":1,\"v\":\"");
	memset(big + strlen(big), 'v', 200);
	strcpy(big + 2 + 60 + 9 + 200, "\"}");
	CHECK(!scan_record(big, 0));
	CHECK_EQ_INT(nseen, 2);
	CHECK(strlen(seen[0]) == AP_JSON_KEY_MAX + 1 + 4 && seen[0][AP_JSON_KEY_MAX] == '\x7f');
	CHECK(strncmp(seen[1], "v=1:vvvv", 8) == 0 && seen[1][strlen(seen[1]) - 1] == '~');

	/* malformed input stops the scanner, without reporting garbage */
	CHECK(scan_record("{\"a\":tru}", 0));
	CHECK(scan_record("{\"a\" 1}", 0));
	CHECK(scan_record("{\"a\":1]", 0));
	CHECK(scan_record("[1,}", 0));
	CHECK(scan_record("{\"a\":\"\\q\"}", 0));
	CHECK(scan_record("data: [DONE]", 0));
	CHECK(scan_record("{\"a\":\"x\ny\"}", 0));

	/* nesting beyond AP_JSON_NEST_MAX fails cleanly */
	{
		char deep[2 * AP_JSON_NEST_MAX + 10];
		memset(deep, '[', AP_JSON_NEST_MAX + 1);
		deep[AP_JSON_NEST_MAX + 1] = 0;
		CHECK(scan_record(deep, 0));
		deep[AP_JSON_NEST_MAX] = 0;
		CHECK(!scan_record(deep, 0));
	}

	/* random bytes never crash */
	srand(7);
	for (int i = 0; i < 2000; i++) {
		char junk[64];
		for (size_t k = 0; k < sizeof(junk) - 1; k++)
			junk[k] = "{}[]\":,\\ tfn0123e.-u\"x"[rand() % 23];
		junk[sizeof(junk) - 1] = 0;
		scan_record(junk, (size_t)(rand() % 5));
	}
	CHECK(1);
}

/* Filter for test_json_filter: keep "keep" and everything under it. */
static int want_keep(const char *path, size_t len)
{
	(void)len;
	return strncmp(path, "keep", 4) == 0 && (path[4] == 0 || path[4] == '.' || path[4] == '[');
}

static int scan_filtered(const char *s, size_t split)
{
	struct ap_json j;
	size_t n = strlen(s);

	nseen = 0;
	ap_json_init_filtered(&j, want_keep);
	for (size_t i = 0; i < n; i += split ? split : n)
		json_feed_exact(&j, s + i, split && n - i > split ? split : n - i, record, NULL);
	ap_json_end(&j, record, NULL);
	return ap_json_failed(&j);
}

/* Declined keys: their string and container values are skipped (brackets and quotes inside
 * strings, escapes, nesting), their numbers and literals validated but not reported, the rest
 * unchanged, whatever the split. */
static void test_json_filter(void)
{
	const char *doc = "{\"skip\":{\"a\":[1,\"}]\\\"{\",{\"b\":[]}],\"c\":\"x\"},"
			  "\"keep\":{\"usage\":{\"n\":5},\"m\":\"q\"},\"s2\":\"a\\\\\\\"]}\","
			  "\"num\":7,\"arr\":[[{\"z\":1}]],\"keep2\":true,\"keep\":[\"v\"]}";

	for (size_t split = 0; split < strlen(doc); split++) {
		int ok = !scan_filtered(doc, split);

		ok = ok && nseen == 3 && strcmp(seen[0], "keep.usage.n=2:5") == 0 &&
		     strcmp(seen[1], "keep.m=1:q") == 0 && strcmp(seen[2], "keep[]=1:v") == 0;
		if (!ok)
			fprintf(stderr, "filtered scan, split %zu: %d values\n", split, nseen);
		CHECK(ok);
	}
	/* a declined number or literal is still validated: a bad one stops the scan */
	CHECK(scan_filtered("{\"num\":7x,\"keep\":1}", 0));
	CHECK_EQ_INT(nseen, 0);
	CHECK(scan_filtered("{\"num\":nul,\"keep\":1}", 0));
	CHECK_EQ_INT(nseen, 0);
	CHECK(!scan_filtered("{\"num\":-7e2,\"k2\":false,\"keep\":1}", 0));
	CHECK_EQ_INT(nseen, 1);
	/* the unfiltered scanner sees the skipped values */
	CHECK(!scan_record(doc, 0));
	CHECK_EQ_INT(nseen, 10);
}

/* --- the 64-byte block skip against the byte rules ------------------------------------------ */

static char *gen_at;
static size_t gen_left;

static void gen_put(const char *s)
{
	size_t k = strlen(s);

	if (k < gen_left) {
		memcpy(gen_at, s, k);
		gen_at += k;
		gen_left -= k;
	}
}

/* A random JSON value dense in what the skip must get right: quotes, backslash runs of every
 * length before quotes, brackets inside strings, deep nesting, long plain runs; with junk, also
 * bytes that are not JSON (backslashes and brackets outside strings, stray quotes). */
static void gen_value(int depth, int junk)
{
	static const char *const bits[] = {"\\\"", "\\\\", "\\\\\\\"", "\\\\\\\\",
					   "{",	   "}",	   "[",	       "]",
					   "x",	   "\\n",  "\\u00e9",  "abcdefghijklmnopqrstuvwxyz",
					   ",",	   ":"};
	int r = rand() % (depth > 5 ? 3 : 8);

	if (junk && rand() % 8 == 0) {
		static const char *const bad[] = {"\\", "\\\"", "]", "}", "\"", "{", "[", "\\\\"};
		gen_put(bad[rand() % 8]);
	}
	switch (r) {
	case 0:
		gen_put(rand() % 2 ? "12" : "true");
		break;
	case 1:
	case 2: {
		int n = rand() % 40;

		gen_put("\"");
		while (n--)
			gen_put(bits[rand() % (sizeof(bits) / sizeof(bits[0]))]);
		gen_put("\"");
		break;
	}
	case 3:
	case 4:
	case 5: {
		int n = rand() % 6;

		gen_put("[");
		for (int i = 0; i < n; i++) {
			if (i)
				gen_put(",");
			gen_value(depth + 1, junk);
		}
		gen_put("]");
		break;
	}
	default: {
		int n = rand() % 6;

		gen_put("{");
		for (int i = 0; i < n; i++) {
			gen_put(i ? ",\"k\":" : "\"k\":");
			gen_value(depth + 1, junk);
		}
		gen_put("}");
	}
	}
}

/* What the filtered scanner reports for doc fed in pieces of at most piece bytes (0: whole),
 * and whether it failed, as one string. */
static void skip_result(const char *doc, size_t piece, char *out, size_t cap)
{
	size_t o;

	o = (size_t)snprintf(out, cap, "%d:", scan_filtered(doc, piece));
	for (int i = 0; i < nseen && i < 64 && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s|", seen[i]);
}

/* Whole 64-byte blocks (SSE2 and AVX2) skip a declined value as the byte rules do, on valid
 * JSON and on junk: the same values reported after it, the same failure, for every kind of
 * document piece. Pieces under 64 bytes never take the blocks: they are the reference. */
static void test_skip_blocks(void)
{
	static char doc[16384];
	char ref[8192], got[8192];
	int bad = 0, docs = 0;

	srand(15);
	for (int t = 0; t < 3000; t++) {
		int junk = t % 3 == 2;

		gen_at = doc;
		gen_left = sizeof(doc) - 1;
		gen_put("{\"a\":1,\"skip\":");
		gen_value(0, junk);
		gen_put(",\"keep\":{\"n\":7},\"s2\":");
		gen_value(5, junk);
		gen_put(",\"keep\":[true],\"z\":");
		gen_value(0, junk);
		gen_put(",\"keep\":\"end\"}");
		*gen_at = 0;
		if (strlen(doc) < 64)
			continue;
		docs++;
		skip_result(doc, 63, ref, sizeof(ref));
		for (int avx2 = 0; avx2 < 2; avx2++) {
			ap_cpu_avx2_pretend(avx2);
			skip_result(doc, 0, got, sizeof(got));
			if (strcmp(ref, got) != 0 && !bad++)
				fprintf(stderr,
					"skip blocks (avx2 %d) differ on %s\n  ref %s\n  got %s\n",
					avx2, doc, ref, got);
			skip_result(doc, 64 + (size_t)rand() % 200, got, sizeof(got));
			if (strcmp(ref, got) != 0 && !bad++)
				fprintf(stderr, "skip blocks (avx2 %d, pieces) differ on %s\n",
					avx2, doc);
		}
	}
	ap_cpu_avx2_pretend(1);
	CHECK(docs > 2000);
	CHECK_EQ_INT(bad, 0);
	/* a long skipped conversation before the key that is kept, as agents send it */
	gen_at = doc;
	gen_left = sizeof(doc) - 1;
	gen_put("{\"messages\":[");
	for (int i = 0; i < 60; i++)
		gen_put("{\"role\":\"tool\",\"content\":\"{\\\"a\\\":[1,2]}\\n\\\\\"},");
	gen_put("{}],\"keep\":\"m\"}");
	*gen_at = 0;
	CHECK(!scan_filtered(doc, 0));
	CHECK_EQ_INT(nseen, 1);
	CHECK_EQ_STR(seen[0], "keep=1:m");
}

/* One exchange whose response body is cut once at cut (0: whole; SIZE_MAX: byte by byte). */
static const struct ap_exchange *http_cut(const char *ctype, const char *body, size_t cut)
{
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	char hdr[256];
	size_t bn = strlen(body);

	snprintf(hdr, sizeof(hdr),
		 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, bn);
	ngot = 0;
	ap_http_init(&h, &env);
	ap_http_out(&h, req, strlen(req), 100);
	ap_http_in(&h, hdr, strlen(hdr), 200);
	if (cut == SIZE_MAX) {
		for (size_t i = 0; i < bn; i++)
			ap_http_in(&h, body + i, 1, 300);
	} else {
		if (cut && cut < bn)
			ap_http_in(&h, body, cut, 300);
		ap_http_in(&h, body + (cut < bn ? cut : 0), bn - (cut < bn ? cut : 0), 300);
	}
	return &got;
}

/* Every cut of body gives input/output tokens in/out and response model m. */
static void check_cuts(const char *ctype, const char *body, int64_t in, int64_t out, const char *m,
		       int line)
{
	int bad = 0;

	for (size_t cut = 0; cut <= strlen(body) + 1; cut++) {
		const struct ap_exchange *x =
			http_cut(ctype, body, cut == strlen(body) + 1 ? SIZE_MAX : cut);

		if (ngot != 1 || x->usage.input != in || x->usage.output != out ||
		    strcmp(x->response_model, m) != 0) {
			if (!bad++)
				fprintf(stderr,
					"line %d, cut %zu: %d exchanges, %lld/%lld, model '%s'\n",
					line, cut, ngot, (long long)x->usage.input,
					(long long)x->usage.output, x->response_model);
		}
	}
	CHECK(line && !bad);
}
#define CUTS(ct, body, in, out, m) check_cuts(ct, body, in, out, m, __LINE__)

/* The key scan of bodies and events: quotes, escapes, look-alike keys, nesting, whitespace,
 * malformed tails, every cut. */
static void test_key_scan(void)
{
	const char *json = "application/json", *sse = "text/event-stream";
	char ev[512];

	/* an escaped quote before a wanted key; a look-alike inside a skipped string */
	CUTS(json, "{\"id\":\"a\\\"\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}", 3,
	     4, "");
	CUTS(json,
	     "{\"id\":\"x\\\",\\\"usage\\\":{\\\"prompt_tokens\\\":9}\",\"usage\":{"
	     "\"prompt_tokens\":3}}",
	     3, U, "");
	/* a wanted key inside a string value is not a key */
	CUTS(json, "{\"content\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":99}\",\"model\":\"m1\"}", U,
	     U, "m1");
	/* the same key names nested under a skipped key, or deeper than usage reads */
	CUTS(json,
	     "{\"choices\":[{\"usage\":{\"prompt_tokens\":99},\"model\":\"bad\"}],\"model\":"
	     "\"good\",\"usage\":{\"prompt_tokens\":5,\"details\":{\"prompt_tokens\":77}}}",
	     5, U, "good");
	/* whitespace everywhere the compact fast path expects none */
	CUTS(json,
	     " { \"usage\" : { \"prompt_tokens\" :3 ,\"completion_tokens\": 4 } ,\n\"model\"\t:"
	     "\"m\" } ",
	     3, 4, "m");
	/* numbers in runs: long, fractional, signed (not an integer: unknown) */
	CUTS(json, "{\"usage\":{\"prompt_tokens\":123456789012,\"completion_tokens\":-4}}",
	     123456789012, U, "");
	CUTS(json, "{\"usage\":{\"prompt_tokens\":12.0,\"completion_tokens\":4e1}}", 12, U, "");
	/* malformed input stops the scan: what came before counts, nothing after */
	CUTS(json, "{\"usage\":{\"prompt_tokens\":3},\"x\":tru,\"model\":\"m\"}", 3, U, "");
	CUTS(json, "{\"model\":\"m\" \"usage\":{\"prompt_tokens\":3}}", U, U, "m");
	/* ... but a skipped value is only bracket-counted, not validated */
	CUTS(json, "{\"x\":[1,},\"usage\":{\"prompt_tokens\":3}}", 3, U, "");
	/* a skipped container with every bracket and quote kind inside its strings */
	CUTS(json,
	     "{\"choices\":[{\"a\":\"]}[{\\\\\",\"b\":[{}],\"c\":\"\\\"}\"}],\"usage\":{"
	     "\"completion_tokens\":8}}",
	     U, 8, "");

	/* SSE: "usage" found at every offset of the data line (32-byte blocks, read ends) */
	for (int pad = 0; pad < 70; pad++) {
		snprintf(ev, sizeof(ev),
			 "data: {\"model\":\"m\"}\n\ndata: {\"pad\":\"%.*s\",\"usage\":{"
			 "\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n",
			 pad,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		CUTS(sse, ev, 3, 4, "m");
	}
	/* ... and a '"u' that is not usage, next to one that is */
	CUTS(sse,
	     "data: {\"model\":\"m\"}\n\ndata: "
	     "{\"url\":\"u\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	     "xxxxxx\",\"uu\":1,\"usage\":{\"prompt_tokens\":3}}\r\n\r\ndata: [DONE]\n\n",
	     3, U, "m");
}

int main(void)
{
	test_key_scan();
	test_json_filter();
	test_skip_blocks();
	test_openai();
	test_responses();
	test_anthropic();
	test_gemini();
	test_ollama();
	test_api();
	test_parse_int();
	test_null_and_zero();
	test_json();
	UNIT_DONE();
}
