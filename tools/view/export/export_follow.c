/* export_follow.c: "export --format otlp --follow DIR": a sidecar that ships every exchange of a
 * run that is still being written, once, across new files, processes and its own restarts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "otlp.h"
#include "progress.h"

/*
 * How it works, built only on run_load() (so it keeps working whatever the span files hold):
 * every poll it loads the whole directory again, when a span file changed (name, size, mtime)
 * or at least every RELOAD_S seconds (mapped segments may change without a new mtime), spaced
 * by twice the time the last load took (a sidecar on a large run stays at about a third of a
 * core), and
 * ships the spans whose id is not in the shipped set. Span ids are stable: they derive from the
 * process (pid, start time) and the record's own id (export_otlp.c), so a record read from a
 * raw segment one time and from a compressed frame the next is still one span. The set and the
 * run's trace id live in the state file: one line per accepted span id, appended and fsync'ed
 * after the collector accepted the batch. A crash between the collector's 200 and that fsync
 * can send one batch twice (at-least-once); nothing is ever lost or skipped.
 * Process and manual spans are shipped once their process has ended, so each is sent once, with
 * its final end time; at shutdown, a process still running is left to the next sidecar unless
 * it has been silent for 30 s (killed without an end record).
 */

#define POLL_MS	 200
#define RELOAD_S 2.0

static volatile sig_atomic_t follow_stop;

static void on_term(int sig)
{
	(void)sig;
	follow_stop = 1;
}

/* A cheap fingerprint of the span files: names, sizes, mtimes. */
static uint64_t dir_signature(const char *dir)
{
	uint64_t h = 1469598103934665603ull;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		struct stat sb;
		size_t l = strlen(de->d_name);

		if (strncmp(de->d_name, "agentprof.", 10) || l < 5 ||
		    strcmp(de->d_name + l - 4, ".zst"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &sb) < 0)
			continue;
		for (size_t i = 0; i < l; i++)
			h = (h ^ (unsigned char)de->d_name[i]) * 1099511628211ull;
		h = (h ^ (uint64_t)sb.st_size) * 1099511628211ull;
		h = (h ^ (uint64_t)sb.st_mtim.tv_nsec ^ (uint64_t)sb.st_mtim.tv_sec << 30) *
		    1099511628211ull;
	}
	closedir(d);
	return h;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Load the directory and ship what is new. 0 ok (or nothing to load yet), 1 refused, 3 later. */
static int ship_once(struct view *v, struct otlp_dest *d, struct follow *fw, int final)
{
	char *paths[1] = {(char *)v->o.follow};
	FILE *quiet = fopen("/dev/null", "we");
	int rc;

	memset(&v->a, 0, sizeof(v->a));
	rc = run_load(&v->a.run, paths, 1, quiet ? quiet : v->err); /* notes about files being
								       written are expected */
	if (quiet)
		fclose(quiet);
	if (rc) {
		run_free(&v->a.run);
		return 0;
	}
	vrun_select(&v->o.f, &v->a);
	rc = otlp_export_run(v, d, fw, final);
	vrun_free(&v->a);
	memset(&v->a, 0, sizeof(v->a));
	progress("agentprof-view export --follow: %llu spans shipped in %llu requests",
		 (unsigned long long)fw->shipped, (unsigned long long)d->requests);
	return rc;
}

int export_follow(struct view *v)
{
	struct follow fw = {0};
	struct otlp_dest d;
	struct sigaction sa = {.sa_handler = on_term}, old_term, old_int;
	struct stat sb;
	uint64_t sig = 0;
	double last = 0, took = 0;
	int rc = 0, to = otlp_dest_init(v, &d, "traces");

	if (to == 2)
		return 2;
	if (!to) {
		fprintf(v->err, "agentprof-view export: --follow needs --endpoint URL or "
				"OTEL_EXPORTER_OTLP_ENDPOINT\n");
		return 2;
	}
	if (v->o.npaths) {
		fprintf(v->err, "agentprof-view export: --follow DIR takes no other PATH\n");
		return 2;
	}
	if (stat(v->o.follow, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(v->err, "agentprof-view export: --follow %s: not a directory\n",
			v->o.follow);
		return 2;
	}
	if (v->o.state)
		snprintf(fw.state, sizeof(fw.state), "%s", v->o.state);
	else
		snprintf(fw.state, sizeof(fw.state), "%s/.agentprof-follow.state", v->o.follow);
	if (follow_state_open(v, &fw))
		return 2;
	d.retry_connect = 1;
	d.max_attempts = 8;
	d.stop = &follow_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	fprintf(v->err, "agentprof-view export: following %s -> %s (%zu spans shipped before)\n",
		v->o.follow, d.url, fw.n);
	while (!follow_stop) {
		uint64_t s = dir_signature(v->o.follow);
		double t = mono_s();

		/* a large run takes a while to load: keep the sidecar under about a third of a core
		 */
		if ((s != sig && t - last >= 2 * took) || t - last >= RELOAD_S + 5 * took) {
			sig = s;
			last = t;
			rc = ship_once(v, &d, &fw, 0);
			took = mono_s() - t;
			if (rc == 1)
				break;
		}
		for (int i = 0; i < POLL_MS / 20 && !follow_stop; i++) {
			struct timespec ts = {0, 20 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
	if (rc != 1) {
		/* the final batch: what landed since, and the spans of processes still running */
		follow_stop = 0; /* give the final batch its retries */
		rc = ship_once(v, &d, &fw, 1);
	}
	progress_clear();
	fprintf(v->err,
		"agentprof-view export: --follow stopped: %llu spans shipped in %llu "
		"requests (%zu in the state file %s)\n",
		(unsigned long long)fw.shipped, (unsigned long long)d.requests, fw.n, fw.state);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	fclose(fw.sf);
	free(fw.slot);
	return rc ? 1 : 0;
}
