/* agentprof.h: optional annotations for programs profiled by libagentprof.so (all weak). */
#ifndef AGENTPROF_H
#define AGENTPROF_H

/*
 * The symbols are weak: a program built with these calls runs unchanged without the preload,
 * where the functions are simply absent. Use the AGENTPROF_* macros, which check for that.
 *
 *   AGENTPROF_SPAN_BEGIN("plan", "llm");   ... calls ...   AGENTPROF_SPAN_END();
 *   AGENTPROF_SET_AGENT("researcher");
 *
 * Spans nest per thread (up to 16 deep). category is "llm", "tool", "memory", "process" or
 * NULL. Exchanges made inside a span nest under it in agentprof-view. The agent label applies
 * to the calling thread; AGENTPROF_AGENT=name labels a whole process.
 * From Python: ctypes.CDLL(None).agentprof_span_begin(b"plan", b"llm") when preloaded.
 */

#ifdef __cplusplus
extern "C" {
#endif

void agentprof_span_begin(const char *name, const char *category) __attribute__((weak));
void agentprof_span_end(void) __attribute__((weak));
void agentprof_set_agent(const char *name) __attribute__((weak));

#define AGENTPROF_SPAN_BEGIN(name, cat)                      \
	do {                                                 \
		if (agentprof_span_begin)                    \
			agentprof_span_begin((name), (cat)); \
	} while (0)
#define AGENTPROF_SPAN_END()                  \
	do {                                  \
		if (agentprof_span_end)       \
			agentprof_span_end(); \
	} while (0)
#define AGENTPROF_SET_AGENT(name)                  \
	do {                                       \
		if (agentprof_set_agent)           \
			agentprof_set_agent(name); \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif
