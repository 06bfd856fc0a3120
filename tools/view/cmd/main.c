/* main.c: agentprof-view entry point: the command table, help, loading, dispatch. */
#include <stdlib.h>
#include <malloc.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "export.h"
#include "prices.h"
#include "progress.h"
#include "view.h"

#define VIEW_VERSION "0.1.0"

struct command {
	const char *name, *args, *brief, *help;
	unsigned opts;
	int nruns; /* 2 for diff */
	int (*fn)(struct view *v);
};

#define F_COMMON (O_JSON | O_FILTER | O_QUIET | O_COLOR)

static const struct command commands[] = {
	{"summary", "[PATH...]",
	 "where the wall time went: categories, models, endpoints, processes",
	 "Where the wall time went: time by category (overlaps counted once), LLM calls per\n"
	 "provider and model, endpoints with percentiles, tokens, cost, processes, agents,\n"
	 "drops, profiler overhead and coverage notes.",
	 F_COMMON | O_WIDTH | O_PRICES | O_BUDGET | O_LIMIT | O_CALLSITE | O_EXECCHAIN, 1,
	 cmd_summary},
	{"export", "--format FMT [PATH...]",
	 "JSONL, folded stacks, speedscope, Chrome trace, OTLP or Prometheus (--format)",
	 "Print one JSON object per exchange and per process (docs/agentprof-view.md):\n"
	 "times in ns since the Unix epoch, null for unknown values." EXPORT_MORE_HELP,
	 F_COMMON | O_FORMAT | O_WEIGHT | O_ROOTS | O_ENDPOINT | O_PRICES | O_SHIP | O_NATIVE, 1,
	 cmd_export},
	{"flame", "[PATH...]", "text flame chart: process > thread > span > exchange > phases",
	 "Text flame chart: process > thread > manual span > exchange > phases (DNS, connect,\n"
	 "TLS, request write, wait for first byte, receive). Bars are placed and sized to wall\n"
	 "time and filled by category; every node shows its duration and share of the run.\n"
	 "Child processes (subprocess tools) are drawn inside the span, else the thread, that\n"
	 "started them, in time order with its exchanges.",
	 F_COMMON | O_WIDTH | O_DEPTH | O_LIMIT | O_PHASES, 1, cmd_flame},
	{"waterfall", "[PATH...]", "to-scale timeline, one labelled row per call",
	 "Timeline with one row per exchange, manual span and child process, to scale, under\n"
	 "a header per thread, so overlap and idle gaps show; rows started inside a span are\n"
	 "indented under it; '|' marks the first response byte inside each bar.",
	 F_COMMON | O_WIDTH | O_LIMIT | O_LANES, 1, cmd_waterfall},
	{"tokens", "[PATH...]", "tokens per model, agent and call; context use; cost; budgets",
	 "Token usage per model, per agent and in total (input, output, cache read/write,\n"
	 "reasoning; unknown usage flagged), context-window utilisation, cost and budgets.",
	 F_COMMON | O_WIDTH | O_PRICES | O_BUDGET | O_LIMIT | O_CALLS, 1, cmd_tokens},
	{"bottlenecks", "[PATH...]", "findings ranked by the wall time they could save",
	 "Findings ranked by the wall time they could save, each with its exchanges and a\n"
	 "suggestion: sequential_llm, slow_tool, slow_first_byte, repeated_request,\n"
	 "llm_dominant, high_call_count, prompt_heavy, context_pressure, no_connection_reuse.",
	 F_COMMON | O_WIDTH | O_PRICES | O_THRESH | O_LIMIT | O_ALL, 1, cmd_bottlenecks},
	{"critical-path", "[PATH...]", "the steps that determine the run's wall time",
	 "The chain of exchanges, manual spans, child processes and internal gaps that\n"
	 "determines the run's wall time, across threads and processes; steps add up to it.\n"
	 "A tool process run inside a span is a step under it ([span NAME]).",
	 F_COMMON | O_WIDTH | O_LIMIT, 1, cmd_critical_path},
	{"diff", "A B", "compare two runs; --fail-on gates regressions (exit 1)",
	 "Compare run B against run A per model and endpoint (calls, p50, p95, tokens, cost)\n"
	 "and by category wall time; --fail-on turns regressions into exit status 1.",
	 F_COMMON | O_WIDTH | O_PRICES | O_FAILON | O_LIMIT, 2, cmd_diff},
	{"flamegraph", "[PATH...]", FLAMEGRAPH_BRIEF, FLAMEGRAPH_HELP,
	 F_COMMON | O_WEIGHT | O_ROOTS | O_PRICES | O_NATIVE, 1, cmd_flamegraph},
	{"html", "-o FILE [PATH...]", HTML_BRIEF, HTML_HELP,
	 F_COMMON | O_OUTPUT | O_PRICES | O_THRESH | O_LIMIT | O_NATIVE, 1, cmd_html},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: agentprof-view COMMAND [options] [PATH...]\n\n"
		   "PATH is a span file (agentprof.<prog>.<pid>.zst) or a directory of them; one\n"
		   "directory is one run. Several PATHs are merged into one run. Default: '.'.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].brief);
	fprintf(f, "\n'agentprof-view COMMAND --help' shows a command's options.\n"
		   "Exit status: 0 ok, 1 a check failed (--fail-on, --budget), 2 bad usage or\n"
		   "unreadable input.\n");
}

static void command_help(FILE *f, const struct command *c)
{
	fprintf(f, "usage: agentprof-view %s [options] %s\n\n%s\n\nOptions:\n", c->name, c->args,
		c->help);
	opts_help(f, c->opts);
	if (c->opts & O_FILTER)
		fprintf(f, "\nFilters combine with AND; list values (a,b) with OR. Globs use "
			   "shell syntax.\n");
	fprintf(f, "Exit status: 0 ok, 1 a check failed, 2 bad usage or unreadable input.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/*
 * With no PATH: "." when it holds span files, else the newest ./agentprof-* run directory (by
 * modification time), said on stderr. Returns the path to read.
 */
static const char *default_run(FILE *err, char *buf, size_t len)
{
	DIR *d = opendir(".");
	struct dirent *e;
	struct timespec best = {0};
	int spans = 0;

	buf[0] = 0;
	while (d && (e = readdir(d))) {
		struct stat st;
		size_t n = strlen(e->d_name);

		if (n > 4 && !strcmp(e->d_name + n - 4, ".zst") &&
		    !strncmp(e->d_name, "agentprof.", 10))
			spans = 1;
		if (strncmp(e->d_name, "agentprof-", 10) || stat(e->d_name, &st) ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (st.st_mtim.tv_sec > best.tv_sec ||
		    (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec > best.tv_nsec)) {
			best = st.st_mtim;
			snprintf(buf, len, "%s", e->d_name);
		}
	}
	if (d)
		closedir(d);
	if (spans || !buf[0])
		return ".";
	fprintf(err, "agentprof-view: reading the newest run, ./%s (give a PATH to choose)\n", buf);
	return buf;
}

static int load_runs(struct view *v, const struct command *c)
{
	static char newest[512];
	static char *dot[] = {newest};
	char **paths = v->o.paths;
	int n = v->o.npaths, rc;

	if (c->nruns == 2) {
		if (n != 2) {
			fprintf(v->err,
				"agentprof-view %s: expected two runs A and B, got %d PATH%s\n",
				c->name, n, n == 1 ? "" : "s");
			return 2;
		}
		rc = run_load(&v->a.run, &paths[0], 1, v->err);
		return rc ? rc : run_load(&v->b.run, &paths[1], 1, v->err);
	}
	if (!n) {
		char found[256];

		snprintf(newest, sizeof(newest), "%s", default_run(v->err, found, sizeof(found)));
		paths = dot;
		n = 1;
	}
	return run_load(&v->a.run, paths, n, v->err);
}

static int setup_prices(struct view *v, const struct command *c)
{
	char msg[256];

	if (!(c->opts & O_PRICES))
		return 0;
	v->prices = prices_load(v->o.prices, msg, sizeof(msg));
	if (!v->prices) {
		fprintf(v->err, "agentprof-view: %s: %s\n", v->o.prices, msg);
		return 2;
	}
	prices_apply(v->prices, &v->a.run);
	if (c->nruns == 2)
		prices_apply(v->prices, &v->b.run);
	return 0;
}

static int run_command(const struct command *c, int argc, char **argv)
{
	struct view v = {.cmd = c->name, .out = stdout, .err = stderr};
	int rc = opts_parse(&v, c->opts, argc, argv);

	if (rc < 0) {
		command_help(stdout, c);
		return 0;
	}
	if (!rc && c->opts & O_FORMAT && (!v.o.format || !export_format_ok(v.o.format))) {
		fprintf(stderr, "agentprof-view %s: %s (supported: --format " EXPORT_FORMATS ")\n",
			c->name, v.o.format ? "unknown format" : "missing --format");
		rc = 2;
	}
	progress_init(!v.o.quiet && isatty(2));
	if (!rc && v.o.follow) { /* export --follow loads the directory itself, again and again */
		rc = c->fn(&v);
		goto done;
	}
	if (!rc)
		color_setup(&v);
	if (!rc)
		rc = load_runs(&v, c);
	if (!rc)
		rc = setup_prices(&v, c);
	if (!rc) {
		vrun_select(&v.o.f, &v.a);
		if (c->nruns == 2)
			vrun_select(&v.o.f, &v.b);
		rc = c->fn(&v);
	}
done:
	progress_clear();
	if (fflush(stdout) != 0 && !rc) {
		perror("agentprof-view: stdout");
		rc = 2;
	}
	vrun_free(&v.a);
	vrun_free(&v.b);
	prices_free(v.prices);
	return rc;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("agentprof-view %s (span format %d)\n", VIEW_VERSION, AP_FORMAT_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		c = argc > 2 ? find_command(argv[2]) : NULL;
		if (argc > 2 && !c) {
			fprintf(stderr, "agentprof-view: unknown command '%s'\n", argv[2]);
			return 2;
		}
		if (c)
			command_help(stdout, c);
		else
			usage(stdout);
		return 0;
	}
	/* Arrays of a MiB or more are mapped and given back when freed. glibc's default raises
	 * that bound up to 32 MiB after the first such free, so the analyses' big temporaries
	 * then land in the heap among small blocks that pin them: 20 MB more at 1M exchanges. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr,
			"agentprof-view: unknown command '%s' (see agentprof-view --help)\n",
			argv[1]);
		return 2;
	}
	return run_command(c, argc - 1, argv + 1);
}
