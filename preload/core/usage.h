/* usage.h: maps JSON (path, value) pairs of LLM responses to token usage and the response model. */
#ifndef AGENTPROF_USAGE_H
#define AGENTPROF_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ap_records.h"
#include "json_scan.h"

/*
 * The API shape of an exchange is chosen from its request path (ap_usage_api). The numbers
 * stored in struct ap_usage are the provider's own, NOT normalised; per shape they mean:
 *
 *   AP_API_OPENAI_CHAT   (/v1/chat/completions, /v1/completions, /v1/embeddings; vLLM,
 *                         llama.cpp, Ollama /v1, Azure, OpenRouter, Groq, ...)
 *       input = usage.prompt_tokens (includes cached), output = usage.completion_tokens
 *       (includes reasoning), cache_read = usage.prompt_tokens_details.cached_tokens,
 *       cache_write = usage.prompt_tokens_details.cache_write_tokens,
 *       reasoning = usage.completion_tokens_details.reasoning_tokens. Streams: the usage chunk.
 *   AP_API_OPENAI_RESPONSES (/v1/responses)
 *       input = usage.input_tokens (includes cached), output = usage.output_tokens (includes
 *       reasoning), cache_read = usage.input_tokens_details.cached_tokens, cache_write =
 *       ...cache_write_tokens, reasoning = usage.output_tokens_details.reasoning_tokens.
 *       Streams: response.completed -> response.usage, response.model.
 *   AP_API_ANTHROPIC     (/v1/messages)
 *       input = usage.input_tokens, which EXCLUDES cache reads and writes;
 *       cache_read = cache_read_input_tokens, cache_write = cache_creation_input_tokens,
 *       output = output_tokens, reasoning unknown. Streams: message_start.message.usage, then
 *       message_delta.usage (cumulative, the last value wins); model = message.model.
 *   AP_API_GEMINI        (models/{m}:generateContent, :streamGenerateContent, Vertex too)
 *       input = usageMetadata.promptTokenCount (includes cached), output =
 *       candidatesTokenCount, which EXCLUDES thoughts; reasoning = thoughtsTokenCount;
 *       cache_read = cachedContentTokenCount; model = modelVersion; the request model is
 *       taken from the URL. The last usageMetadata wins field by field.
 *   AP_API_OLLAMA        (/api/chat, /api/generate, /api/embed)
 *       input = prompt_eval_count, output = eval_count (final "done":true object). Ollama omits
 *       zero counts, so when the done object carries total_duration a missing count is 0.
 *   AP_API_BEDROCK       (/model/{id}/converse, non-streaming): usage.inputTokens,
 *       outputTokens, cacheReadInputTokens, cacheWriteInputTokens; model from the URL.
 *
 * Field paths of every shape are recognised whatever the path says (a proxy may use any URL);
 * the shape only decides the request model from the URL and the normalisation below.
 * A field that never appears stays AP_UNKNOWN; a present 0 is 0; null is ignored.
 */

enum ap_api {
	AP_API_UNKNOWN = 0,
	AP_API_OPENAI_CHAT,
	AP_API_OPENAI_RESPONSES,
	AP_API_ANTHROPIC,
	AP_API_GEMINI,
	AP_API_OLLAMA,
	AP_API_BEDROCK,
	AP_API_MAX
};

/* API shape of a request path (query ignored). */
unsigned ap_usage_api(const char *path);

/*
 * Model named in the request URL (Gemini "models/{m}:...", Bedrock "/model/{id}/...", Azure
 * "/openai/deployments/{d}/..."); returns 1 and copies it, 0 if the path names none.
 */
int ap_usage_path_model(const char *path, char *model, size_t cap);
/* ap_usage_api(path), and ap_usage_path_model(path, model, cap) unless model is NULL. */
unsigned ap_usage_request(const char *path, char *model, size_t cap);

/* Per-response extraction state (fixed size, no pointers; reset per exchange). */
struct ap_usage_x {
	struct ap_usage u;
	char model[AP_STR_MODEL];
	uint8_t done;	   /* Ollama: "done":true seen */
	uint8_t durations; /* Ollama: total_duration seen */
};

void ap_usage_x_init(struct ap_usage_x *x);
/* The JSON scanner callback: ctx is a struct ap_usage_x. */
void ap_usage_x_field(void *ctx, const struct ap_json_value *v);
/* Final usage and response model (model untouched when none was seen). */
void ap_usage_x_finish(const struct ap_usage_x *x, struct ap_usage *out, char *model, size_t cap);

/*
 * Normalise to OpenTelemetry GenAI meaning: input includes cached tokens (Anthropic: input +
 * cache_read + cache_write), output includes reasoning (Gemini: output + reasoning).
 * Unknown parts count as 0 when the main figure is known.
 */
void ap_usage_otel(unsigned api, const struct ap_usage *in, struct ap_usage *out);

/* Parse a JSON integer token ("12", "12.0"); returns 1 on success. */
int ap_usage_parse_int(const char *s, size_t n, int64_t *out);

#endif
