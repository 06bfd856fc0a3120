/* context.h: what every viewer stage is given: the parsed options, the loaded run(s), the output.
 */
#ifndef AGENTPROF_VIEW_CONTEXT_H
#define AGENTPROF_VIEW_CONTEXT_H

#include <stdio.h>

#include "selection.h"

/* Options a command accepts (its --help lists exactly these). */
enum opt_bits {
	O_JSON = 1 << 0,
	O_FILTER = 1 << 1, /* --pid --category --provider --model --host --agent */
	O_WIDTH = 1 << 2,
	O_PRICES = 1 << 3,
	O_BUDGET = 1 << 4,
	O_THRESH = 1 << 5,
	O_FAILON = 1 << 6,
	O_FORMAT = 1 << 7,
	O_DEPTH = 1 << 8,
	O_LIMIT = 1 << 9,
	O_PHASES = 1 << 10,    /* --no-phases */
	O_CALLS = 1 << 11,     /* --calls */
	O_WEIGHT = 1 << 12,    /* --weight (flamegraph, folded) */
	O_ROOTS = 1 << 13,     /* --roots */
	O_ENDPOINT = 1 << 14,  /* --endpoint (export otlp) */
	O_OUTPUT = 1 << 15,    /* -o, --output */
	O_ALL = 1 << 16,       /* --all (bottlenecks: every instance) */
	O_COLOR = 1 << 17,     /* --color=auto|always|never */
	O_LANES = 1 << 18,     /* --lanes (waterfall: one lane per thread and connection) */
	O_SHIP = 1 << 19,      /* --follow --state --batch-spans --batch-bytes --no-gzip (export) */
	O_QUIET = 1 << 20,     /* --quiet: no progress on stderr */
	O_NATIVE = 1 << 21,    /* --native (Python programs: keep the native frames) */
	O_CALLSITE = 1 << 22,  /* --call-site (summary) */
	O_EXECCHAIN = 1 << 23, /* --exec-chain (summary: each process's exec chain) */
};

enum budget_kind { B_TOKENS, B_INPUT, B_OUTPUT, B_COST, B_WALL, B_CAT_TIME, B_CAT_CALLS };

struct budget {
	enum budget_kind kind;
	int cat;      /* for B_CAT_*: enum ap_category, or AP_CAT_MAX for internal */
	double limit; /* tokens, USD, or ns */
	char spec[64];
};

struct failon {
	char key[24]; /* p50, p95, p99, mean, calls, tokens, cost, wall, ttfb_p95, ... */
	int relative; /* 1: value is a percentage change */
	double value; /* allowed increase (percent, or absolute in ns / count / USD) */
	char spec[64];
};

/* Bottleneck thresholds (--threshold KEY=VALUE); names listed in findings.c. */
struct thresholds {
	double seq_gap_ms, slow_tool_ms, slow_ttfb_ms, llm_share, call_count;
	double prompt_ratio, prompt_min_tokens, context_share, new_conns;
};

struct opts {
	int json, width, depth, limit, no_phases, calls;
	int all, lanes, color; /* color: 0 auto, 1 always, 2 never */
	const char *format, *prices;
	const char *weight, *roots, *endpoint, *output; /* flamegraph, export, html */
	int native;					/* --native */
	int call_site_any;				/* --call-site any */
	int exec_chain;					/* --exec-chain */
	struct filter f;
	struct budget budgets[MAX_LIST];
	int nbudgets;
	struct failon fail[MAX_LIST];
	int nfail;
	struct thresholds th;
	char **paths;
	int npaths;
	/* export otlp: batching and live shipping; --quiet */
	const char *follow, *state;
	long long batch_spans, batch_bytes;
	int no_gzip, quiet;
};

struct prices;

/* Terminal escapes by role; all "" when colour is off (NO_COLOR, piped, --color=never). */
struct color {
	const char *on; /* non-NULL marker: colour enabled when on[0] */
	const char *bold, *dim, *kind, *err, *off;
	const char *cat[AP_CAT_MAX + 1]; /* by category; [AP_CAT_MAX] internal */
};

struct view {
	const char *cmd;
	struct color color;
	struct opts o;
	struct vrun a, b; /* b only for diff */
	struct prices *prices;
	FILE *out, *err;
};

#endif
