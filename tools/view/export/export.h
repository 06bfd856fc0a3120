/* export.h: exports other than jsonl (folded, speedscope, chrome, otlp, prom), the folded-stack
 * builder shared with the flamegraph and html commands, and the names the exporters share. */
#ifndef AGENTPROF_VIEW_EXPORT_H
#define AGENTPROF_VIEW_EXPORT_H

#include <stdio.h>

#include "pystack.h"
#include "symbolize.h"
#include "context.h"

#define EXPORT_FORMATS "jsonl, folded, speedscope, chrome, otlp, prom, otlp-metrics"

/* Help texts of the commands in main.c's table (docs/EXPORTS.md has the details). */
#define EXPORT_MORE_HELP                                                                   \
	"\nOther formats (docs/EXPORTS.md): folded (flamegraph.pl, inferno; --weight,\n"   \
	"--roots), speedscope, chrome (Perfetto, chrome://tracing), otlp (OTLP/JSON,\n"    \
	"OpenTelemetry GenAI conventions; --endpoint URL or OTEL_EXPORTER_OTLP_ENDPOINT\n" \
	"POSTs it to a collector in gzip batches; --follow DIR ships a live run),\n"       \
	"prom (Prometheus text), otlp-metrics (what prom shows, as OTLP/JSON metrics)."
#define FLAMEGRAPH_BRIEF "folded stacks: the code paths that call each endpoint"
#define HTML_BRIEF	 "a self-contained HTML report: flame graph, waterfall, tables, findings"
#define FLAMEGRAPH_HELP                                                                   \
	"Folded stacks: the program's call paths to each endpoint, with the endpoint\n"   \
	"as the leaf frame (main;run_agent;curl_easy_perform;[llm] openai gpt-4o 812),\n" \
	"symbolized from the recorded stacks. Python programs show their Python frames\n" \
	"(agent.py:Agent.run:177) in place of the interpreter's; --native keeps both.\n"  \
	"Manual spans are frames ([span NAME]) above what ran in them; child processes\n" \
	"are [process] leaves under the span and stack that started them.\n"              \
	"Pipe into flamegraph.pl; --json prints the merged tree."
#define HTML_HELP                                                                          \
	"One self-contained HTML report that needs no network: interactive flame graph,\n" \
	"waterfall, time breakdown, percentiles, tokens and cost, bottleneck findings.\n"  \
	"--json prints the data the page embeds instead."

/* 1 if fmt is one of EXPORT_FORMATS. */
int export_format_ok(const char *fmt);
/* `export --format F` for every format but jsonl; returns the exit status. */
int export_dispatch(struct view *v);

int export_folded(struct view *v);
int export_speedscope(struct view *v);
int export_chrome(struct view *v);
int export_otlp(struct view *v);
int export_prom(struct view *v);

/* --- names ----------------------------------------------------------------------------------- */

/* The endpoint as a leaf frame: "[llm] openai gpt-4o", "[tool] api.github.com", ... */
void x_leaf(const struct run *run, const struct vxch *x, char *buf, size_t n);
/* Leaf frame of a child process item: "[process] sh -c" (its first two argv words). */
struct pitem;
void process_leaf(const struct run *run, const struct pitem *it, char *buf, size_t cap);
/* Per process: the child process item whose exec chain it belongs to, -1 (caller frees). */
int32_t *pitems_owner(const struct run *run, const struct pitem *pi, size_t npi);
/* Per child process item: the item whose (profiled) process started it, -1 (caller frees);
 * *agent (caller frees) marks the items that are the agent or a wrapper on the way to it (a
 * launcher's child): they are not tools, and no tree goes through them. */
int32_t *pitems_up(const struct run *run, const struct pitem *pi, size_t npi, uint8_t **agent);
/* OTel GenAI operation of an LLM exchange: chat, text_completion, generate_content, embeddings. */
const char *x_operation(const struct run *run, const struct vxch *x);
/* Span / slice name: "chat gpt-4o" for LLM calls, "POST api.github.com" otherwise. */
void x_title(const struct run *run, const struct vxch *x, char *buf, size_t n);
/* gen_ai.provider.name for a provider (well-known OTel values where one exists). */
const char *otel_provider(unsigned prov);
/* Basename of the process's executable, "pid N" when unknown. */
const char *proc_label(const struct run *run, const struct vproc *p, char *buf, size_t n);

/* Phases of an exchange that have known, positive durations (at most XPHASE_MAX). */
#define XPHASE_MAX 6
struct xphase {
	const char *name; /* dns, connect, tls, send request, wait for first byte, receive */
	int64_t a, b;
};
size_t x_phases(const struct vxch *x, struct xphase *out);

/* --- folded stacks ------------------------------------------------------------------------ */

enum fweight { FW_TIME, FW_CALLS, FW_TOKENS, FW_COST, FW_N };
enum froots { FR_NONE, FR_PROCESS, FR_THREAD };

/* --weight and --roots values (NULL: the default); -1 after printing a message to v->err. */
int fweight_parse(struct view *v, enum fweight *w);
int froots_parse(struct view *v, enum froots *r);
/* The unit of a weight in folded output: "us", "calls", "tokens", "micro-USD". */
const char *fweight_unit(enum fweight w);

/* One distinct stack: frame indexes into names (root first) and every weight. */
struct fstack {
	uint32_t *fr;
	uint32_t n;
	double w[FW_N]; /* us, calls (scaled for sampling), tokens, micro-USD */
};

struct folded {
	char **names; /* distinct sanitised frame names */
	size_t n_names, cap_names;
	struct fstack *st;
	size_t n_st, cap_st;
	size_t *nh, nh_cap; /* name hash (index + 1) */
	size_t *sh, sh_cap; /* stack hash (index + 1) */
	size_t exchanges, with_stack;
};

/* Folded stacks of the selected exchanges: roots, program frames outermost first (our own
 * removed), then the endpoint leaf. */
void folded_build(const struct view *v, struct symbolizer *sym, enum froots roots,
		  struct folded *f);
void folded_free(struct folded *f);
/* "frame;frame;leaf COUNT" lines sorted by stack, integer weights, zero-weight lines left out. */
void folded_print(FILE *out, const struct folded *f, enum fweight w);
/* A frame name that flamegraph.pl, inferno and speedscope read back unchanged: no ';', no
 * control characters, and no trailing whitespace + digits (read as a count). */
void frame_sanitize(char *dst, size_t cap, const char *src);

#endif
