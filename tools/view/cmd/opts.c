/* opts.c: command-line options shared by the agentprof-view commands, and their help text. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "view.h"

enum {
	OPT_JSON = 256,
	OPT_PID,
	OPT_CATEGORY,
	OPT_PROVIDER,
	OPT_MODEL,
	OPT_HOST,
	OPT_AGENT,
	OPT_WIDTH,
	OPT_PRICES,
	OPT_BUDGET,
	OPT_THRESHOLD,
	OPT_FAILON,
	OPT_FORMAT,
	OPT_DEPTH,
	OPT_LIMIT,
	OPT_NOPHASES,
	OPT_CALLS,
	OPT_WEIGHT,
	OPT_ROOTS,
	OPT_ENDPOINT,
	OPT_FOLLOW,
	OPT_STATE,
	OPT_BATCH_SPANS,
	OPT_BATCH_BYTES,
	OPT_NO_GZIP,
	OPT_QUIET,
	OPT_ALL,
	OPT_COLOR,
	OPT_LANES,
	OPT_NATIVE,
	OPT_CALLSITE,
	OPT_EXECCHAIN,
	OPT_OUTPUT = 'o',
};

struct optdesc {
	struct option lo;
	unsigned bit;
	const char *arg, *help;
};

static const struct optdesc optdescs[] = {
	{{"json", no_argument, 0, OPT_JSON}, O_JSON, NULL, "print JSON instead of text"},
	{{"pid", required_argument, 0, OPT_PID}, O_FILTER, "PID[,PID]", "only these processes"},
	{{"category", required_argument, 0, OPT_CATEGORY},
	 O_FILTER,
	 "CAT[,CAT]",
	 "only exchanges of these categories (llm, tool, memory, process)"},
	{{"provider", required_argument, 0, OPT_PROVIDER},
	 O_FILTER,
	 "NAME[,NAME]",
	 "only exchanges with these providers (openai, anthropic, ...)"},
	{{"model", required_argument, 0, OPT_MODEL},
	 O_FILTER,
	 "GLOB",
	 "only exchanges whose request or response model matches (repeatable)"},
	{{"host", required_argument, 0, OPT_HOST},
	 O_FILTER,
	 "GLOB",
	 "only exchanges with a matching host name (repeatable)"},
	{{"agent", required_argument, 0, OPT_AGENT},
	 O_FILTER,
	 "GLOB",
	 "only exchanges and spans with a matching agent label (repeatable)"},
	{{"width", required_argument, 0, OPT_WIDTH},
	 O_WIDTH,
	 "COLS",
	 "output width (default: the terminal's, else $COLUMNS, else 100)"},
	{{"prices", required_argument, 0, OPT_PRICES},
	 O_PRICES,
	 "FILE",
	 "price file shaped like LiteLLM's model_prices_and_context_window.json"},
	{{"budget", required_argument, 0, OPT_BUDGET},
	 O_BUDGET,
	 "KEY=LIMIT",
	 "check a budget: tokens=N, input_tokens=N, output_tokens=N, cost=USD, wall=DUR,\n"
	 "CAT=DUR (CAT: llm, tool, memory, process, internal), CAT.calls=N; repeatable or\n"
	 "comma-separated; exit 1 when one is over"},
	{{"threshold", required_argument, 0, OPT_THRESHOLD},
	 O_THRESH,
	 "KEY=VALUE",
	 "bottleneck thresholds (repeatable or comma-separated): seq_gap_ms=100,\n"
	 "slow_tool_ms=500, slow_ttfb_ms=1000, llm_share=0.8, call_count=20,\n"
	 "prompt_ratio=20, prompt_min_tokens=1000, context_share=0.5, new_conns=3"},
	{{"fail-on", required_argument, 0, OPT_FAILON},
	 O_FAILON,
	 "KEY=+N%[,...]",
	 "exit 1 when B is worse than A by more than the limit: p50, p90, p95, p99, mean,\n"
	 "max, ttfb_p50, ttfb_p95, calls, tokens, input_tokens, output_tokens, cost, wall,\n"
	 "llm, tool, memory, process, internal (category wall time); limits are +N% or an\n"
	 "absolute +DUR / +COUNT / +USD"},
	{{"format", required_argument, 0, OPT_FORMAT},
	 O_FORMAT,
	 "FMT",
	 "output format: jsonl, folded, speedscope, chrome, otlp, prom, otlp-metrics"},
	{{"depth", required_argument, 0, OPT_DEPTH},
	 O_DEPTH,
	 "N",
	 "deepest level shown (1 process, 2 thread, 3+ spans, exchanges, phases)"},
	{{"limit", required_argument, 0, OPT_LIMIT},
	 O_LIMIT,
	 "N",
	 "at most N rows per list (default 50; 0 = no limit)"},
	{{"no-phases", no_argument, 0, OPT_NOPHASES},
	 O_PHASES,
	 NULL,
	 "do not split exchanges into DNS/connect/TLS/write/wait/receive phases"},
	{{"calls", no_argument, 0, OPT_CALLS}, O_CALLS, NULL, "list every call, not only totals"},
	{{"weight", required_argument, 0, OPT_WEIGHT},
	 O_WEIGHT,
	 "W",
	 "stack weight: time (us, default), calls, tokens or cost (micro-USD)"},
	{{"roots", required_argument, 0, OPT_ROOTS},
	 O_ROOTS,
	 "R",
	 "root frames: none (default), process, or thread (process and thread)"},
	{{"endpoint", required_argument, 0, OPT_ENDPOINT},
	 O_ENDPOINT,
	 "URL",
	 "otlp: POST to this OTLP/HTTP URL (http://HOST:4318/v1/traces) instead of\n"
	 "printing (default: $OTEL_EXPORTER_OTLP_ENDPOINT; - prints)"},
	{{"output", required_argument, 0, OPT_OUTPUT},
	 O_OUTPUT,
	 "FILE",
	 "write to FILE (also -o FILE) instead of standard output"},
	{{"follow", required_argument, 0, OPT_FOLLOW},
	 O_SHIP,
	 "DIR",
	 "otlp: ship each exchange of the run in DIR as it lands, until SIGTERM (needs an\n"
	 "endpoint)"},
	{{"state", required_argument, 0, OPT_STATE},
	 O_SHIP,
	 "FILE",
	 "--follow: what was shipped (default DIR/.agentprof-follow.state), for restarts"},
	{{"batch-spans", required_argument, 0, OPT_BATCH_SPANS},
	 O_SHIP,
	 "N",
	 "otlp: at most N spans per request (default 2048)"},
	{{"batch-bytes", required_argument, 0, OPT_BATCH_BYTES},
	 O_SHIP,
	 "N",
	 "otlp: at most about N bytes of JSON per request, before gzip (default 3M)"},
	{{"no-gzip", no_argument, 0, OPT_NO_GZIP},
	 O_SHIP,
	 NULL,
	 "otlp: send uncompressed (default: Content-Encoding: gzip)"},
	{{"quiet", no_argument, 0, OPT_QUIET},
	 O_QUIET,
	 NULL,
	 "no progress on stderr (shown only on a terminal, for work over a second)"},
	{{"all", no_argument, 0, OPT_ALL},
	 O_ALL,
	 NULL,
	 "list every finding, not one line per kind and call site"},
	{{"color", required_argument, 0, OPT_COLOR},
	 O_COLOR,
	 "WHEN",
	 "colour by category: auto (default: on a terminal unless NO_COLOR is set),\n"
	 "always or never"},
	{{"lanes", no_argument, 0, OPT_LANES},
	 O_LANES,
	 NULL,
	 "one lane per thread and per connection instead of one row per call"},
	{{"native", no_argument, 0, OPT_NATIVE},
	 O_NATIVE,
	 NULL,
	 "Python programs: keep the native frames around the Python ones (default: the\n"
	 "interpreter's C frames are replaced by the recorded Python frames)"},
	{{"call-site", required_argument, 0, OPT_CALLSITE},
	 O_CALLSITE,
	 "WHICH",
	 "'called from' per endpoint: user (default: the innermost frame outside the\n"
	 "standard library and site-packages) or any (the innermost Python frame)"},
	{{"exec-chain", no_argument, 0, OPT_EXECCHAIN},
	 O_EXECCHAIN,
	 NULL,
	 "list each process's exec chain under its row (bash shim -> pyenv -> python3;\n"
	 "JSON: exec_chain); default: the row shows the final program"},
};

#define NOPTS (sizeof(optdescs) / sizeof(optdescs[0]))

void opts_help(FILE *f, unsigned allowed)
{
	fprintf(f, "  %-24s %s\n", "-h, --help", "show this help");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct optdesc *d = &optdescs[i];
		char left[64];
		const char *h = d->help;

		if (!(d->bit & allowed))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", d->lo.name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
		fprintf(f, "  %-24s ", left);
		for (; *h; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "  %-24s ", "");
		}
		fputc('\n', f);
	}
}

static int bad(struct view *v, const char *opt, const char *val, const char *why)
{
	fprintf(v->err, "agentprof-view %s: %s '%s': %s\n", v->cmd, opt, val, why);
	return 2;
}

/* Split a comma list and call fn on each item; stops at the first error. */
static int each_item(struct view *v, const char *opt, char *list,
		     int (*fn)(struct view *, const char *, char *))
{
	char *save = NULL, *it;
	int rc = 0;

	for (it = strtok_r(list, ",", &save); it && !rc; it = strtok_r(NULL, ",", &save))
		rc = fn(v, opt, it);
	return rc;
}

static int add_pid(struct view *v, const char *opt, char *s)
{
	long long x;

	if (parse_int(s, &x) < 0 || x <= 0 || x > INT32_MAX)
		return bad(v, opt, s, "not a process id");
	if (v->o.f.npids >= MAX_LIST)
		return bad(v, opt, s, "too many values");
	v->o.f.pids[v->o.f.npids++] = (int32_t)x;
	return 0;
}

static int add_cat(struct view *v, const char *opt, char *s)
{
	int c = ap_category_parse(s);

	if (c < 0)
		return bad(v, opt, s, "not a category (llm, tool, memory, process)");
	v->o.f.cats |= 1u << c;
	return 0;
}

static int add_prov(struct view *v, const char *opt, char *s)
{
	int c = ap_provider_parse(s);

	if (c < 0) {
		char list[512] = "not a provider (";
		size_t n = strlen(list);

		for (unsigned p = AP_PROV_NONE + 1; p < AP_PROV_MAX && n + 32 < sizeof(list); p++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
					      p > AP_PROV_NONE + 1 ? ", " : "",
					      ap_provider_row(p)->name);
		snprintf(list + n, sizeof(list) - n, ")");
		return bad(v, opt, s, list);
	}
	v->o.f.provs |= 1u << c;
	return 0;
}

static int add_glob(struct view *v, const char *opt, const char *s, const char **arr, int *n)
{
	if (!*s)
		return bad(v, opt, s, "empty pattern");
	if (*n >= MAX_LIST)
		return bad(v, opt, s, "too many values");
	arr[(*n)++] = s;
	return 0;
}

static int add_budget(struct view *v, const char *opt, char *s)
{
	struct budget *b;
	char *eq = strchr(s, '='), *key = s, *val;
	int c, ok;

	if (!eq)
		return bad(v, opt, s, "expected KEY=LIMIT");
	if (v->o.nbudgets >= MAX_LIST)
		return bad(v, opt, s, "too many budgets");
	b = &v->o.budgets[v->o.nbudgets];
	snprintf(b->spec, sizeof(b->spec), "%s", s);
	*eq = 0;
	val = eq + 1;
	if (!strcmp(key, "tokens") || !strcmp(key, "input_tokens") ||
	    !strcmp(key, "output_tokens")) {
		b->kind = key[0] == 't' ? B_TOKENS : key[0] == 'i' ? B_INPUT : B_OUTPUT;
		ok = parse_count(val, &b->limit) == 0;
	} else if (!strcmp(key, "cost")) {
		b->kind = B_COST;
		ok = parse_count(val + (*val == '$'), &b->limit) == 0;
	} else if (!strcmp(key, "wall")) {
		b->kind = B_WALL;
		ok = parse_duration(val, &b->limit) == 0;
	} else {
		char *dot = strchr(key, '.');
		const char *what = dot ? dot + 1 : "time";

		if (dot)
			*dot = 0;
		c = !strcmp(key, "internal") ? AP_CAT_MAX : ap_category_parse(key);
		if (c < 0 || (strcmp(what, "time") && strcmp(what, "calls")))
			return bad(
				v, opt, b->spec,
				"unknown budget (tokens, input_tokens, output_tokens, cost, wall, "
				"CAT, CAT.calls)");
		b->cat = c;
		b->kind = !strcmp(what, "calls") ? B_CAT_CALLS : B_CAT_TIME;
		if (b->kind == B_CAT_CALLS && c == AP_CAT_MAX)
			return bad(v, opt, b->spec, "internal time has no calls");
		ok = b->kind == B_CAT_CALLS ? parse_count(val, &b->limit) == 0
					    : parse_duration(val, &b->limit) == 0;
	}
	if (!ok)
		return bad(v, opt, b->spec,
			   "bad limit (counts: 1000, 10k, 2M; cost: 0.50; "
			   "times: 500ms, 2s, 1m)");
	v->o.nbudgets++;
	return 0;
}

static const char *const failon_keys[] = {
	"p50",	    "p90",   "p95",    "p99",	       "mean",		"max",	"ttfb_p50",
	"ttfb_p95", "calls", "tokens", "input_tokens", "output_tokens", "cost", "wall",
	"llm",	    "tool",  "memory", "process",      "internal"};

static int add_failon(struct view *v, const char *opt, char *s)
{
	struct failon *fo;
	char *eq = strchr(s, '='), *val;
	size_t k, n = sizeof(failon_keys) / sizeof(failon_keys[0]);
	int r;

	if (!eq)
		return bad(v, opt, s, "expected KEY=+N% (for example p95=+20%)");
	if (v->o.nfail >= MAX_LIST)
		return bad(v, opt, s, "too many limits");
	fo = &v->o.fail[v->o.nfail];
	snprintf(fo->spec, sizeof(fo->spec), "%s", s);
	*eq = 0;
	for (k = 0; k < n && strcmp(s, failon_keys[k]); k++)
		;
	if (k == n)
		return bad(v, opt, fo->spec,
			   "unknown key (p50, p90, p95, p99, mean, max, "
			   "ttfb_p50, ttfb_p95, calls, tokens, input_tokens, "
			   "output_tokens, cost, wall, llm, tool, memory, "
			   "process, internal)");
	snprintf(fo->key, sizeof(fo->key), "%s", s);
	val = eq + 1;
	if (*val == '+')
		val++;
	r = parse_failon_value(val, fo->key, &fo->relative, &fo->value);
	if (r < 0)
		return bad(v, opt, fo->spec,
			   "bad limit (use +N% or an absolute +DUR, +COUNT, "
			   "+USD)");
	v->o.nfail++;
	return 0;
}

static int set_threshold(struct view *v, const char *opt, char *s)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"seq_gap_ms", offsetof(struct thresholds, seq_gap_ms)},
		{"slow_tool_ms", offsetof(struct thresholds, slow_tool_ms)},
		{"slow_ttfb_ms", offsetof(struct thresholds, slow_ttfb_ms)},
		{"llm_share", offsetof(struct thresholds, llm_share)},
		{"call_count", offsetof(struct thresholds, call_count)},
		{"prompt_ratio", offsetof(struct thresholds, prompt_ratio)},
		{"prompt_min_tokens", offsetof(struct thresholds, prompt_min_tokens)},
		{"context_share", offsetof(struct thresholds, context_share)},
		{"new_conns", offsetof(struct thresholds, new_conns)},
	};
	char *eq = strchr(s, '='), *end;
	double x;

	if (!eq)
		return bad(v, opt, s, "expected KEY=VALUE");
	*eq = 0;
	x = strtod(eq + 1, &end);
	if (end == eq + 1 || !isfinite(x) || x < 0)
		return bad(v, opt, eq + 1, "not a non-negative number");
	if (*end == '%')
		x /= 100, end++;
	if (*end)
		return bad(v, opt, eq + 1, "not a non-negative number");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strcmp(keys[i].name, s)) {
			*(double *)((char *)&v->o.th + keys[i].off) = x;
			return 0;
		}
	}
	return bad(v, opt, s, "unknown threshold (see --help)");
}

static int set_int(struct view *v, const char *opt, const char *s, int lo, int hi, int *dst)
{
	long long x;

	if (parse_int(s, &x) < 0 || x < lo || x > hi) {
		char why[64];

		snprintf(why, sizeof(why), "expected a number from %d to %d", lo, hi);
		return bad(v, opt, s, why);
	}
	*dst = (int)x;
	return 0;
}

/* A positive count with an optional k/M suffix (1024-based for bytes: 3M = 3 MiB). */
static int set_size(struct view *v, const char *opt, const char *s, long long *dst)
{
	char *end;
	long long x = strtoll(s, &end, 10), mul = 1;

	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	if (end == s || *end || x <= 0 || x > (1ll << 40) / mul)
		return bad(v, opt, s, "expected a positive number (suffix k or M allowed)");
	*dst = x * mul;
	return 0;
}

static void defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->limit = 50;
	o->depth = 99;
	o->th = (struct thresholds){.seq_gap_ms = 100,
				    .slow_tool_ms = 500,
				    .slow_ttfb_ms = 1000,
				    .llm_share = 0.8,
				    .call_count = 20,
				    .prompt_ratio = 20,
				    .prompt_min_tokens = 1000,
				    .context_share = 0.5,
				    .new_conns = 3};
}

static int one_opt(struct view *v, int c, char *arg)
{
	struct opts *o = &v->o;

	switch (c) {
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_PID:
		return each_item(v, "--pid", arg, add_pid);
	case OPT_CATEGORY:
		return each_item(v, "--category", arg, add_cat);
	case OPT_PROVIDER:
		return each_item(v, "--provider", arg, add_prov);
	case OPT_MODEL:
		return add_glob(v, "--model", arg, o->f.models, &o->f.nmodels);
	case OPT_HOST:
		return add_glob(v, "--host", arg, o->f.hosts, &o->f.nhosts);
	case OPT_AGENT:
		return add_glob(v, "--agent", arg, o->f.agents, &o->f.nagents);
	case OPT_WIDTH:
		return set_int(v, "--width", arg, 40, 1000, &o->width);
	case OPT_PRICES:
		o->prices = arg;
		return 0;
	case OPT_BUDGET:
		return each_item(v, "--budget", arg, add_budget);
	case OPT_THRESHOLD:
		return each_item(v, "--threshold", arg, set_threshold);
	case OPT_FAILON:
		return each_item(v, "--fail-on", arg, add_failon);
	case OPT_FORMAT:
		o->format = arg;
		return 0;
	case OPT_DEPTH:
		return set_int(v, "--depth", arg, 1, 99, &o->depth);
	case OPT_LIMIT:
		return set_int(v, "--limit", arg, 0, 1000000000, &o->limit);
	case OPT_NOPHASES:
		o->no_phases = 1;
		return 0;
	case OPT_CALLS:
		o->calls = 1;
		return 0;
	case OPT_WEIGHT:
		o->weight = arg;
		return 0;
	case OPT_ROOTS:
		o->roots = arg;
		return 0;
	case OPT_ENDPOINT:
		o->endpoint = arg;
		return 0;
	case OPT_ALL:
		o->all = 1;
		return 0;
	case OPT_LANES:
		o->lanes = 1;
		return 0;
	case OPT_EXECCHAIN:
		o->exec_chain = 1;
		return 0;
	case OPT_COLOR:
		if (!strcmp(arg, "auto"))
			o->color = 0;
		else if (!strcmp(arg, "always"))
			o->color = 1;
		else if (!strcmp(arg, "never"))
			o->color = 2;
		else
			return bad(v, "--color", arg, "expected auto, always or never");
		return 0;
	case OPT_OUTPUT:
		o->output = arg;
		return 0;
	case OPT_FOLLOW:
		o->follow = arg;
		return 0;
	case OPT_STATE:
		o->state = arg;
		return 0;
	case OPT_BATCH_SPANS:
		return set_size(v, "--batch-spans", arg, &o->batch_spans);
	case OPT_BATCH_BYTES:
		return set_size(v, "--batch-bytes", arg, &o->batch_bytes);
	case OPT_NO_GZIP:
		o->no_gzip = 1;
		return 0;
	case OPT_QUIET:
		o->quiet = 1;
		return 0;
	case OPT_NATIVE:
		o->native = 1;
		return 0;
	case OPT_CALLSITE:
		if (strcmp(arg, "user") && strcmp(arg, "any"))
			return bad(v, "--call-site", arg, "user or any");
		o->call_site_any = !strcmp(arg, "any");
		return 0;
	}
	return 2;
}

int opts_parse(struct view *v, unsigned allowed, int argc, char **argv)
{
	struct option lo[NOPTS + 2];
	int c, rc = 0;

	defaults(&v->o);
	for (size_t i = 0; i < NOPTS; i++)
		lo[i] = optdescs[i].lo;
	lo[NOPTS] = (struct option){"help", no_argument, 0, 'h'};
	memset(&lo[NOPTS + 1], 0, sizeof(lo[NOPTS + 1]));
	opterr = 0;
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, ":ho:", lo, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *o = argv[optind - 1];

			fprintf(v->err,
				"agentprof-view %s: %s '%s' (see 'agentprof-view %s --help')\n",
				v->cmd, c == ':' ? "missing value for option" : "unknown option", o,
				v->cmd);
			return 2;
		}
		if (c == 'h')
			return -1; /* caller prints help */
		for (size_t i = 0; i < NOPTS; i++) {
			if (optdescs[i].lo.val == c && !(optdescs[i].bit & allowed)) {
				fprintf(v->err,
					"agentprof-view %s: option --%s does not apply to this "
					"command (see 'agentprof-view %s --help')\n",
					v->cmd, optdescs[i].lo.name, v->cmd);
				return 2;
			}
		}
		rc = one_opt(v, c, optarg);
	}
	v->o.paths = argv + optind;
	v->o.npaths = argc - optind;
	return rc;
}

void opts_free(struct opts *o)
{
	(void)o;
}

void color_setup(struct view *v)
{
	static const char *const cats[AP_CAT_MAX + 1] = {
		[AP_CAT_UNKNOWN] = "\033[37m", [AP_CAT_LLM] = "\033[34m",
		[AP_CAT_TOOL] = "\033[33m",    [AP_CAT_MEMORY] = "\033[32m",
		[AP_CAT_PROCESS] = "\033[35m", [AP_CAT_MAX] = "\033[2m",
	};
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	struct color *c = &v->color;
	int on = v->o.color == 1;

	if (v->o.color == 0)
		on = !v->o.json && (!nc || !*nc) && (!term || strcmp(term, "dumb")) &&
		     isatty(fileno(v->out));
	if (v->o.color == 2)
		on = 0;
	c->on = on ? "1" : "";
	c->bold = on ? "\033[1m" : "";
	c->dim = on ? "\033[2m" : "";
	c->kind = on ? "\033[36m" : "";
	c->err = on ? "\033[31m" : "";
	c->off = on ? "\033[0m" : "";
	for (int i = 0; i <= AP_CAT_MAX; i++)
		c->cat[i] = on && cats[i] ? cats[i] : "";
}
