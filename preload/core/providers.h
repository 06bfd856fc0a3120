/* providers.h: the one table of LLM providers; adding a provider is adding one row at its end. */
#ifndef AGENTPROF_PROVIDERS_H
#define AGENTPROF_PROVIDERS_H

/*
 * One row per provider, in file-format order (the enum value is stored in span files: append
 * rows, never reorder). Columns:
 *   ID     the enum ap_provider suffix (AP_PROV_ID)
 *   NAME   our name: span files' JSON exports, --provider, the summary
 *   OTEL   OpenTelemetry's gen_ai.provider.name (docs/internals/formats.md §4.4)
 *   PRICE  the LiteLLM price-file prefix ("" = none: prices are looked up by model alone)
 *   HOSTS  host globs that name the provider, separated by '|' ("" = by API shape only)
 */
#define AP_PROVIDER_TABLE(X)                                                                   \
	X(OPENAI, "openai", "openai", "openai", "api.openai.com")                              \
	X(AZURE_OPENAI, "azure_openai", "azure.ai.openai", "azure",                            \
	  "*.openai.azure.com|*.cognitiveservices.azure.com|*.services.ai.azure.com")          \
	X(ANTHROPIC, "anthropic", "anthropic", "anthropic", "api.anthropic.com")               \
	X(GEMINI, "gemini", "gcp.gemini", "gemini", "generativelanguage.googleapis.com")       \
	X(VERTEX_AI, "vertex_ai", "gcp.vertex_ai", "vertex_ai",                                \
	  "*-aiplatform.googleapis.com|aiplatform.googleapis.com")                             \
	X(BEDROCK, "bedrock", "aws.bedrock", "bedrock",                                        \
	  "bedrock-runtime.*.amazonaws.com|bedrock-runtime-fips.*.amazonaws.com")              \
	X(MISTRAL, "mistral", "mistral_ai", "mistral", "api.mistral.ai|codestral.mistral.ai")  \
	X(GROQ, "groq", "groq", "groq", "api.groq.com")                                        \
	X(DEEPSEEK, "deepseek", "deepseek", "deepseek", "api.deepseek.com")                    \
	X(OPENROUTER, "openrouter", "openrouter", "openrouter", "openrouter.ai")               \
	X(TOGETHER, "together", "together", "together_ai", "api.together.xyz|api.together.ai") \
	X(OLLAMA, "ollama", "ollama", "ollama", "")                                            \
	X(OPENAI_COMPATIBLE, "openai_compatible", "openai_compatible", "",                     \
	  "api.x.ai|api.fireworks.ai|api.perplexity.ai|api.cerebras.ai")

/* The columns of row p (an enum ap_provider; AP_PROV_NONE and unknown values give NULL). */
struct ap_provider_row {
	const char *name, *otel, *price_prefix, *hosts;
};
const struct ap_provider_row *ap_provider_row(unsigned p);

#endif
