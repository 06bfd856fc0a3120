/* view.h: the context every agentprof-view command gets: options, the loaded run(s), output. */
#ifndef AGENTPROF_VIEW_VIEW_H
#define AGENTPROF_VIEW_VIEW_H

#include <stdio.h>

#include "model.h"

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
	O_PHASES = 1 << 10,   /* --no-phases */
	O_CALLS = 1 << 11,    /* --calls */
	O_WEIGHT = 1 << 12,   /* --weight (flamegraph, folded) */
	O_ROOTS = 1 << 13,    /* --roots */
	O_ENDPOINT = 1 << 14, /* --endpoint (export otlp) */
	O_OUTPUT = 1 << 15,   /* -o, --output */
	O_NATIVE = 1 << 16,   /* --native (Python programs: keep the native frames) */
	O_CALLSITE = 1 << 17, /* --call-site (summary) */
};

#define MAX_LIST 32

struct filter {
	int32_t pids[MAX_LIST];
	int npids;
	uint32_t cats;	/* bit per enum ap_category; 0 = all */
	uint32_t provs; /* bit per enum ap_provider; 0 = all */
	const char *models[MAX_LIST], *hosts[MAX_LIST], *agents[MAX_LIST]; /* fnmatch globs */
	int nmodels, nhosts, nagents;
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
	const char *format, *prices;
	const char *weight, *roots, *endpoint, *output; /* flamegraph, export, html */
	int native;					/* --native */
	int call_site_any;				/* --call-site any */
	struct filter f;
	struct budget budgets[MAX_LIST];
	int nbudgets;
	struct failon fail[MAX_LIST];
	int nfail;
	struct thresholds th;
	char **paths;
	int npaths;
};

struct prices;

/* One loaded run with its selection under the filters. */
struct vrun {
	struct run run;
	uint8_t *xsel;	     /* per exchange: passes the filters */
	uint8_t *psel;	     /* per process: passes --pid/--agent */
	uint8_t *ssel;	     /* per span */
	int64_t start, end;  /* the window the analyses use */
	int exchange_filter; /* a filter narrower than --pid is active */
	int proc_items;	     /* child processes count as "process" time under the filters */
};

struct view {
	const char *cmd;
	struct opts o;
	struct vrun a, b; /* b only for diff */
	struct prices *prices;
	FILE *out, *err;
};

/* Build the selection bitmaps and window for a loaded run. */
void view_select(struct view *v, struct vrun *r);
void vrun_free(struct vrun *r);

/* Commands (cmd_*.c). Each returns the exit status. */
int cmd_summary(struct view *v);
int cmd_export(struct view *v);
int cmd_flame(struct view *v);
int cmd_waterfall(struct view *v);
int cmd_tokens(struct view *v);
int cmd_bottlenecks(struct view *v);
int cmd_critical_path(struct view *v);
int cmd_diff(struct view *v);
int cmd_flamegraph(struct view *v); /* cmd_flamegraph.c */
int cmd_html(struct view *v);	    /* cmd_html.c */

/* Option parsing (opts.c): returns 0, or 2 after printing a message naming the problem. */
int opts_parse(struct view *v, unsigned allowed, int argc, char **argv);
void opts_help(FILE *f, unsigned allowed);
void opts_free(struct opts *o);

#endif
