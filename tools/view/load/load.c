/* load.c: expand PATH arguments into span files, load them, and link the run model. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "pool.h"
#include "progress.h"
#include "sort.h"

/* Length of the valid UTF-8 sequence at s that is not a C1 control, 0 if none. */
static size_t utf8_ok(const unsigned char *s)
{
	unsigned cp;
	size_t n;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0xa0) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* C1 controls, overlong forms, surrogates */
	return n;
}

const char *name_esc(const char *s, char *buf, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!cap)
		return "";
	while (*p && o + 1 < cap) {
		size_t n = *p >= 0x80 ? utf8_ok(p) : (*p >= 0x20 && *p != 0x7f);

		if (n) {
			if (o + n >= cap)
				break;
			memcpy(buf + o, p, n);
			o += n;
			p += n;
			continue;
		}
		if (o + 5 >= cap)
			break;
		snprintf(buf + o, cap - o, "\\x%02x", *p++);
		o += 4;
	}
	buf[o] = 0;
	return buf;
}

#define NAME(s, b) name_esc((s), (b), sizeof(b))

static int is_span_name(const char *n)
{
	size_t len = strlen(n);

	return len > 14 && strncmp(n, "agentprof.", 10) == 0 && strcmp(n + len - 4, ".zst") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void note_damage(const struct vfile *f, FILE *err)
{
	const struct rd_stats *st = &f->st;
	char name[1024];

	NAME(f->path, name);
	if (st->damaged == 1)
		fprintf(err,
			"agentprof-view: %s: truncated after %llu complete frames (%llu bytes "
			"ignored)\n",
			name, (unsigned long long)st->frames,
			(unsigned long long)st->bytes_ignored);
	else if (st->damaged == 2)
		fprintf(err,
			"agentprof-view: %s: %s after %llu complete frames (%llu bytes ignored)\n",
			name, st->problem, (unsigned long long)st->frames,
			(unsigned long long)st->bytes_ignored);
	if (st->bad_records)
		fprintf(err, "agentprof-view: %s: %llu malformed records skipped\n", name,
			(unsigned long long)st->bad_records);
	if (f->first_proc < 0 && st->records)
		fprintf(err,
			"agentprof-view: %s: no process record in the complete frames; %llu "
			"records "
			"ignored\n",
			name, (unsigned long long)st->records);
}

/* 1 if path is a regular file, 0 if not, -1 (errno) if it cannot be opened. A FIFO or a
 * device is recognised by stat without being opened; what is opened (non-blocking, in case
 * the name was swapped meanwhile) is checked again with fstat. */
static int regular_file(const char *path)
{
	struct stat sb;
	int fd, ok;

	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	close(fd);
	return ok;
}

/* in_dir: an empty file found in a directory is a process that is just starting: a note.
 * Anything but a regular file (a FIFO, a device, a socket) is skipped with a note. */
static int load_file(struct run *run, const char *path, int in_dir, FILE *err)
{
	char msg[256], name[1024];
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc, reg = regular_file(path);

	NAME(path, name);
	if (reg == 0) {
		fprintf(err, "agentprof-view: %s: not a regular file, skipped\n", name);
		return 0;
	}
	if (reg < 0 || rd_slurp(path, &buf, &n, msg, sizeof(msg)) < 0) {
		fprintf(err, "agentprof-view: %s: %s\n", name, reg < 0 ? strerror(errno) : msg);
		return 2;
	}
	if (!n && in_dir) {
		fprintf(err, "agentprof-view: %s: empty file skipped (a process still starting?)\n",
			name);
		free(buf);
		return 0;
	}
	rc = run_add_buf(run, path, buf, n, msg, sizeof(msg));
	free(buf);
	if (rc < 0) {
		fprintf(err, "agentprof-view: %s: %s\n", name, msg);
		return 2;
	}
	note_damage(&run->files[run->n_files - 1], err);
	progress("agentprof-view: read %zu files, %zu exchanges", run->n_files, run->n_xs);
	return 0;
}

static int load_dir(struct run *run, const char *dir, FILE *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	char name[1024];
	int rc = 0;

	NAME(dir, name);
	if (!d) {
		fprintf(err, "agentprof-view: %s: cannot open directory: %s\n", name,
			strerror(errno));
		return 2;
	}
	while ((de = readdir(d)))
		if (is_span_name(de->d_name))
			*VEC_PUSH(names, n, cap) = xstrdup(de->d_name);
	closedir(d);
	if (!n) {
		fprintf(err, "agentprof-view: %s: no agentprof span files (agentprof.*.zst) here\n",
			name);
		rc = 2;
		goto out;
	}
	sort_n(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !rc; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *p = xmalloc(len);

		snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		rc = load_file(run, p, 1, err);
		free(p);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* --- loading on several threads -------------------------------------------------------------
 * The same steps as the sequential loop above, in the same order, with the same messages: first
 * every file is found and read (stopping where the sequential loop would stop), then the frames
 * of each file are decoded in pieces by the worker threads while this thread appends the pieces
 * to the run in file and frame order (model.h: file_load_*). */

#define PIECE_BYTES (128u << 10) /* compressed bytes per piece after the first frame */

enum step_kind { STEP_NOTE, STEP_FAIL, STEP_FILE };

struct step {
	enum step_kind kind;
	char *text;	      /* NOTE, FAIL: the message line */
	struct file_load *fl; /* FILE */
	size_t task0;	      /* FILE: number of its first piece's task */
};

struct plan_all {
	struct step *steps;
	size_t n_steps, cap_steps;
	struct {
		struct file_load *fl;
		size_t piece, head_task;
	} * tasks;
	size_t n_tasks, cap_tasks;
	int stopped; /* a step that ends the loading was planned */
};

static void step_text(struct plan_all *pa, enum step_kind k, const char *path, const char *what)
{
	char name[1024];
	size_t len;
	struct step *st = VEC_PUSH(pa->steps, pa->n_steps, pa->cap_steps);

	NAME(path, name);
	len = strlen(name) + strlen(what) + 32;
	st->kind = k;
	st->text = xmalloc(len);
	snprintf(st->text, len, "agentprof-view: %s: %s\n", name, what);
	if (k == STEP_FAIL)
		pa->stopped = 1;
}

static void plan_pieces(struct plan_all *pa, struct file_load *fl, size_t step)
{
	const struct rd_plan *p = &fl->plan;
	size_t cap = 0;

	pa->steps[step].task0 = pa->n_tasks;
	for (size_t a = 0; a < p->n_frames;) {
		size_t b = a + 1, bytes = 0;
		struct run_piece *pc;

		if (a > 0) /* piece 0 is the first frame alone: the others wait for its process */
			while (b < p->n_frames && (bytes += p->frames[b - 1].len) < PIECE_BYTES)
				b++;
		if (fl->n_pieces == cap) {
			cap = cap ? cap * 2 : 8;
			fl->pieces = xrealloc(fl->pieces, cap * sizeof(*fl->pieces));
		}
		pc = &fl->pieces[fl->n_pieces++];
		memset(pc, 0, sizeof(*pc));
		pc->a = a;
		pc->b = b;
		vec_push(&pa->tasks, &pa->n_tasks, &pa->cap_tasks, sizeof(*pa->tasks));
		pa->tasks[pa->n_tasks - 1].fl = fl;
		pa->tasks[pa->n_tasks - 1].piece = fl->n_pieces - 1;
		pa->tasks[pa->n_tasks - 1].head_task = pa->steps[step].task0;
		a = b;
	}
}

static void plan_file(struct plan_all *pa, const char *path, int in_dir)
{
	char msg[256];
	uint8_t *buf = NULL;
	size_t n = 0;
	int reg = regular_file(path);
	struct file_load *fl;
	struct step *st;

	if (reg == 0) {
		step_text(pa, STEP_NOTE, path, "not a regular file, skipped");
		return;
	}
	if (reg < 0 || rd_slurp(path, &buf, &n, msg, sizeof(msg)) < 0) {
		step_text(pa, STEP_FAIL, path, reg < 0 ? strerror(errno) : msg);
		return;
	}
	if (!n && in_dir) {
		step_text(pa, STEP_NOTE, path, "empty file skipped (a process still starting?)");
		free(buf);
		return;
	}
	fl = xcalloc(1, sizeof(*fl));
	fl->path = xstrdup(path);
	fl->buf = buf;
	fl->n = n;
	fl->plan_rc = rd_plan(buf, n, &fl->plan, &fl->st0, fl->msg, sizeof(fl->msg));
	st = VEC_PUSH(pa->steps, pa->n_steps, pa->cap_steps);
	st->kind = STEP_FILE;
	st->fl = fl;
	if (fl->plan_rc < 0)
		pa->stopped = 1;
	else
		plan_pieces(pa, fl, pa->n_steps - 1);
}

static void plan_dir(struct plan_all *pa, const char *dir)
{
	char **names = NULL, what[300];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		snprintf(what, sizeof(what), "cannot open directory: %s", strerror(errno));
		step_text(pa, STEP_FAIL, dir, what);
		return;
	}
	while ((de = readdir(d)))
		if (is_span_name(de->d_name))
			*VEC_PUSH(names, n, cap) = xstrdup(de->d_name);
	closedir(d);
	if (!n)
		step_text(pa, STEP_FAIL, dir, "no agentprof span files (agentprof.*.zst) here");
	sort_n(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !pa->stopped; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *p = xmalloc(len);

		snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		plan_file(pa, p, 1);
		free(p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void run_task(void *ctx, struct pool *p, size_t t)
{
	struct plan_all *pa = ctx;

	if (pa->tasks[t].piece > 0)
		pool_wait(p, pa->tasks[t].head_task);
	file_load_piece(pa->tasks[t].fl, pa->tasks[t].piece);
}

static void file_load_free(struct file_load *fl)
{
	for (size_t i = 0; i < fl->n_pieces; i++)
		run_piece_free(&fl->pieces[i]);
	free(fl->pieces);
	free(fl->pending);
	rd_plan_free(&fl->plan);
	free(fl->buf);
	free(fl->path);
	free(fl);
}

static int load_parallel(struct run *run, char *const *paths, int npaths, int threads, FILE *err)
{
	struct plan_all pa = {0};
	struct pool *pool;
	size_t done = 0;
	int rc = 0;
	const char *se = getenv("AGENTPROF_VIEW_LOAD_STATS");
	int stats = se && *se && strcmp(se, "0");

	for (int i = 0; i < npaths && !pa.stopped; i++) {
		struct stat sb;
		char what[300];

		if (stat(paths[i], &sb) < 0) {
			snprintf(what, sizeof(what), "cannot access: %s", strerror(errno));
			step_text(&pa, STEP_FAIL, paths[i], what);
		} else if (S_ISDIR(sb.st_mode)) {
			plan_dir(&pa, paths[i]);
		} else {
			plan_file(&pa, paths[i], 0);
		}
	}
	/* pieces decoded but not yet appended hold memory: a few beyond the running ones */
	pool = pool_start(threads, pa.n_tasks, (size_t)threads + 1, run_task, &pa);
	for (size_t i = 0; i < pa.n_steps; i++) {
		struct step *st = &pa.steps[i];
		struct file_load *fl = st->fl;
		char msg[256], name[1024];

		if (rc)
			break;
		if (st->kind != STEP_FILE) {
			fputs(st->text, err);
			rc = st->kind == STEP_FAIL ? 2 : 0;
			continue;
		}
		if (file_load_begin(run, fl, msg, sizeof(msg)) < 0) {
			fprintf(err, "agentprof-view: %s: %s\n", NAME(fl->path, name), msg);
			rc = 2;
			continue;
		}
		for (size_t k = 0; k < fl->n_pieces; k++) {
			pool_wait(pool, st->task0 + k);
			file_load_take(run, fl, k);
			pool_consumed(pool, ++done);
		}
		file_load_end(run, fl);
		if (stats) /* AGENTPROF_VIEW_LOAD_STATS: how the file was read (tests, tuning) */
			fprintf(err,
				"agentprof-view: load: %s: %zu frames in %zu pieces on %d threads, "
				"%zu decoded in pieces\n",
				NAME(fl->path, name), fl->plan.n_frames, fl->n_pieces, threads,
				fl->resume_at != SIZE_MAX ? fl->resume_at : fl->plan.n_frames);
		note_damage(&run->files[run->n_files - 1], err);
		progress("agentprof-view: read %zu files, %zu exchanges", run->n_files, run->n_xs);
		free(fl->buf); /* the file's bytes are no longer needed */
		fl->buf = NULL;
	}
	pool_finish(pool);
	run_piece_stash_free();
	rd_thread_cache_free(); /* pieces decoded here when no thread could be started */
	for (size_t i = 0; i < pa.n_steps; i++) {
		free(pa.steps[i].text);
		if (pa.steps[i].fl)
			file_load_free(pa.steps[i].fl);
	}
	free(pa.steps);
	free(pa.tasks);
	return rc;
}

static int load_sequential(struct run *run, char *const *paths, int npaths, FILE *err)
{
	char name[1024];
	int rc = 0;

	for (int i = 0; i < npaths && !rc; i++) {
		struct stat sb;

		if (stat(paths[i], &sb) < 0) {
			fprintf(err, "agentprof-view: %s: cannot access: %s\n",
				NAME(paths[i], name), strerror(errno));
			return 2;
		}
		rc = S_ISDIR(sb.st_mode) ? load_dir(run, paths[i], err)
					 : load_file(run, paths[i], 0, err);
	}
	return rc;
}

int run_load(struct run *run, char *const *paths, int npaths, FILE *err)
{
	char name[1024];
	int threads = view_threads();
	int rc = threads > 1 ? load_parallel(run, paths, npaths, threads, err)
			     : load_sequential(run, paths, npaths, err);

	if (rc)
		return rc;
	if (!run->n_procs) {
		fprintf(err, "agentprof-view: %s%s: no complete process record to show\n",
			NAME(paths[0], name), npaths > 1 ? " ..." : "");
		return 2;
	}
	run_finish(run);
	return 0;
}

/* --- linking -------------------------------------------------------------------------------- */

static int cmp_span_key(const void *a, const void *b)
{
	const struct vspan *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_conn_key(const void *a, const void *b)
{
	const struct vconn *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Sort the exchanges as cmp_xch orders them (t0, proc, id) without moving 250-byte records
 * around in a comparison sort: three stable radix passes over (key, index) pairs, then one
 * in-place permutation. */
static void sort_exchanges(struct run *run)
{
	struct xkey {
		uint64_t key, idx;
	} *k = xmalloc((run->n_xs + 1) * sizeof(*k));
	size_t *order = xmalloc((run->n_xs + 1) * sizeof(*order));
	size_t n = run->n_xs;

	for (size_t i = 0; i < n; i++)
		k[i] = (struct xkey){run->xs[i].id, i};
	radix_sort64(k, n, sizeof(*k), 0, 0);
	for (size_t i = 0; i < n; i++)
		k[i].key = (uint64_t)(int64_t)run->xs[k[i].idx].proc;
	radix_sort64(k, n, sizeof(*k), 0, 1);
	for (size_t i = 0; i < n; i++)
		k[i].key = (uint64_t)run->xs[k[i].idx].t0;
	radix_sort64(k, n, sizeof(*k), 0, 1);
	for (size_t i = 0; i < n; i++)
		order[i] = k[i].idx;
	free(k);
	permute_in_place(run->xs, n, sizeof(*run->xs), order);
	free(order);
}

static int32_t find_span(const struct run *run, int32_t proc, uint64_t id)
{
	struct vspan key = {.proc = proc, .id = id};
	const struct vspan *s;

	if (!id)
		return -1;
	s = find_n(&key, run->spans, run->n_spans, sizeof(key), cmp_span_key);
	return s ? (int32_t)(s - run->spans) : -1;
}

static int32_t find_conn(const struct run *run, int32_t proc, uint64_t id)
{
	struct vconn key = {.proc = proc, .id = id};
	const struct vconn *c;

	if (!id)
		return -1;
	c = find_n(&key, run->conns, run->n_conns, sizeof(key), cmp_conn_key);
	return c ? (int32_t)(c - run->conns) : -1;
}

static void link_spans(struct run *run)
{
	sort_n(run->spans, run->n_spans, sizeof(*run->spans), cmp_span_key);
	for (size_t i = 0; i < run->n_spans; i++) {
		struct vspan *s = &run->spans[i];
		const struct vproc *p = &run->procs[s->proc];

		s->parent = s->parent_id != s->id ? find_span(run, s->proc, s->parent_id) : -1;
		if (s->end == UNK && s->start != UNK) /* still open when the file ended */
			s->end = p->end != UNK ? p->end : p->last_seen;
		if (s->end != UNK && s->start != UNK && s->end < s->start)
			s->end = s->start;
	}
	/* depth, with a bound that also breaks parent cycles in damaged input */
	for (size_t i = 0; i < run->n_spans; i++) {
		int32_t q = run->spans[i].parent;
		int d = 0;

		while (q >= 0 && d < 64) {
			q = run->spans[q].parent;
			d++;
		}
		if (d >= 64)
			run->spans[i].parent = -1, d = 0;
		run->spans[i].depth = (uint8_t)d;
	}
}

static uint32_t resolve_agent(const struct run *run, const struct vxch *x)
{
	int32_t s = x->span;

	if (x->agent)
		return x->agent;
	for (int d = 0; s >= 0 && d < 65; d++, s = run->spans[s].parent)
		if (run->spans[s].agent)
			return run->spans[s].agent;
	return run->procs[x->proc].agent;
}

static void link_exchanges(struct run *run)
{
	sort_n(run->conns, run->n_conns, sizeof(*run->conns), cmp_conn_key);
	for (size_t i = 0; i < run->n_xs; i++) {
		struct vxch *x = &run->xs[i];

		x->span = find_span(run, x->proc, x->span_id);
		x->conn = find_conn(run, x->proc, x->conn_id);
		x->agent = resolve_agent(run, x);
	}
	sort_exchanges(run);
}

/* Processes with a start, ordered by (pid, start, index): each pid's images in time order. */
static int cmp_pid_start(const void *a, const void *b, void *ctx)
{
	const struct run *run = ctx;
	int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
	const struct vproc *p = &run->procs[i], *q = &run->procs[j];

	if (p->pid != q->pid)
		return p->pid < q->pid ? -1 : 1;
	if (p->start != q->start)
		return p->start < q->start ? -1 : 1;
	return (i > j) - (i < j);
}

/* The image of pid that started last at or before t, other than process self; among images
 * that started at the same instant, the first one read. -1 if none. */
static int32_t latest_image(const struct run *run, const int32_t *ix, size_t n, int64_t pid,
			    int64_t t, int32_t self)
{
	size_t lo = 0, hi = n; /* first position after every (pid, start <= t) */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vproc *m = &run->procs[ix[mid]];

		if (m->pid < pid || (m->pid == pid && m->start <= t))
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0 && run->procs[ix[lo - 1]].pid == pid) {
		size_t b = lo - 1; /* the run of images that share the latest start */
		int64_t s = run->procs[ix[b]].start;

		while (b > 0 && run->procs[ix[b - 1]].pid == pid &&
		       run->procs[ix[b - 1]].start == s)
			b--;
		for (size_t k = b; k < lo; k++)
			if (ix[k] != self)
				return ix[k];
		lo = b; /* only self started then: the run before */
	}
	return -1;
}

/* Parent by ppid (the latest image of that pid started before the child), exec chains by pid:
 * binary searches in the processes ordered by (pid, start), so a run of many short children
 * (a shell loop in the process log) links in O(n log n). */
static void link_procs(struct run *run)
{
	int32_t *ix = xmalloc((run->n_procs + 1) * sizeof(*ix));
	size_t n = 0;

	for (size_t i = 0; i < run->n_procs; i++)
		if (run->procs[i].start != UNK)
			ix[n++] = (int32_t)i;
	qsort_r(ix, n, sizeof(*ix), cmp_pid_start, run);
	for (size_t i = 0; i < run->n_procs; i++) {
		struct vproc *p = &run->procs[i];

		if (p->start == UNK)
			continue;
		p->exec_of = latest_image(run, ix, n, p->pid, p->start, (int32_t)i);
		p->parent = latest_image(run, ix, n, p->ppid, p->start, (int32_t)i);
	}
	free(ix);
	for (size_t i = 0; i < run->n_procs; i++) {
		int32_t q = run->procs[i].exec_of;

		if (q >= 0 && (run->procs[q].exec_next < 0 ||
			       run->procs[run->procs[q].exec_next].start > run->procs[i].start))
			run->procs[q].exec_next = (int32_t)i;
	}
}

/*
 * Processes without a PROCESS_END record (FORMAT.md 3.5): the parent's wait event for the pid,
 * the earliest one that reaped it after it started (a pid can be reused), gives the end (when
 * it was reaped: an upper bound, close to the exit when the parent was waiting) and the exit
 * status; without one, the last record it wrote stands for the end (proc_end()).
 */
struct wait_key {
	int64_t key; /* child pid << 32 | index into run->pevs */
};

static void infer_ends(struct run *run)
{
	struct wait_key *w = xmalloc((run->n_pevs + 1) * sizeof(*w));
	size_t nw = 0;

	for (size_t k = 0; k < run->n_pevs; k++) /* the wait events, by child pid */
		if (run->pevs[k].kind == AP_PEV_WAIT && run->pevs[k].proc >= 0 &&
		    run->pevs[k].end != UNK && run->pevs[k].child_pid > 0)
			w[nw++].key = (int64_t)run->pevs[k].child_pid << 32 | (int64_t)k;
	radix_sort64(w, nw, sizeof(*w), 0, 1);
	for (size_t i = 0; i < run->n_procs; i++) {
		struct vproc *p = &run->procs[i];
		const struct vpev *best = NULL;
		size_t lo = 0, hi = nw;

		if (p->has_end || p->exec_next >= 0)
			continue;
		while (lo < hi) { /* the first wait for this pid */
			size_t mid = (lo + hi) / 2;
			if (w[mid].key >> 32 < p->pid)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nw && w[lo].key >> 32 == p->pid; lo++) {
			const struct vpev *e = &run->pevs[w[lo].key & 0xffffffff];

			if (run->procs[e->proc].pid != p->ppid ||
			    (p->start != UNK && e->end < p->start))
				continue;
			if (!best || e->end < best->end)
				best = e;
		}
		if (best) {
			p->end = best->end;
			p->exit_code = best->status >= 0 ? best->status : AP_UNKNOWN;
			p->end_by = PEND_PARENT_WAIT;
		} else {
			p->end_by = PEND_LAST_RECORD;
		}
	}
	free(w);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct vthread *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

int32_t run_thread(const struct run *run, int32_t proc, uint32_t tid)
{
	struct vthread key = {.proc = proc, .tid = tid};
	const struct vthread *t =
		find_n(&key, run->threads, run->n_threads, sizeof(key), cmp_thread);

	return t ? (int32_t)(t - run->threads) : -1;
}

/* One entry per (process, thread) seen in exchanges and spans, with its extent and counts: a
 * hash of (proc, tid) while scanning, then the few distinct threads sorted. */
static void thread_merge(struct vthread *o, const struct vthread *t)
{
	if (t->first != UNK && (o->first == UNK || t->first < o->first))
		o->first = t->first;
	if (t->last != UNK && t->last > o->last)
		o->last = t->last;
	o->nx += t->nx;
	o->nspans += t->nspans;
}

struct thash {
	uint64_t *key; /* (proc << 32 | tid) + 1; 0 = empty */
	uint32_t *idx;
	size_t cap;
};

static void thread_see(struct run *run, struct thash *h, int32_t proc, uint32_t tid, int64_t t0,
		       int64_t t1, int isx)
{
	uint64_t k = ((uint64_t)(uint32_t)proc << 32 | tid) + 1;
	struct vthread t = {.proc = proc,
			    .tid = tid,
			    .first = t0,
			    .last = t1,
			    .nx = (uint32_t)isx,
			    .nspans = (uint32_t)!isx};
	size_t j;

	if ((run->n_threads + 1) * 2 > h->cap) {
		struct thash g = {.cap = h->cap ? h->cap * 2 : 256};

		g.key = xcalloc(g.cap, sizeof(*g.key));
		g.idx = xcalloc(g.cap, sizeof(*g.idx));
		for (size_t i = 0; i < h->cap; i++) {
			if (!h->key[i])
				continue;
			for (j = (size_t)(h->key[i] * 0x9e3779b97f4a7c15ull >> 20) & (g.cap - 1);
			     g.key[j]; j = (j + 1) & (g.cap - 1))
				;
			g.key[j] = h->key[i];
			g.idx[j] = h->idx[i];
		}
		free(h->key);
		free(h->idx);
		*h = g;
	}
	for (j = (size_t)(k * 0x9e3779b97f4a7c15ull >> 20) & (h->cap - 1); h->key[j];
	     j = (j + 1) & (h->cap - 1)) {
		if (h->key[j] == k) {
			thread_merge(&run->threads[h->idx[j]], &t);
			return;
		}
	}
	h->key[j] = k;
	h->idx[j] = (uint32_t)run->n_threads;
	*VEC_PUSH(run->threads, run->n_threads, run->cap_threads) = t;
}

static void build_threads(struct run *run)
{
	struct thash h = {0};

	for (size_t i = 0; i < run->n_xs; i++)
		thread_see(run, &h, run->xs[i].proc, run->xs[i].tid, run->xs[i].t0, run->xs[i].t1,
			   1);
	for (size_t i = 0; i < run->n_spans; i++)
		thread_see(run, &h, run->spans[i].proc, run->spans[i].tid, run->spans[i].start,
			   run->spans[i].end, 0);
	free(h.key);
	free(h.idx);
	sort_n(run->threads, run->n_threads, sizeof(*run->threads), cmp_thread);
	for (size_t i = 0; i < run->n_threads; i++)
		run->procs[run->threads[i].proc].nthreads++;
}

void run_finish(struct run *run)
{
	run->start = run->end = UNK;
	for (size_t i = 0; i < run->n_procs; i++) {
		struct vproc *p = &run->procs[i];
		int64_t s = p->start != UNK ? p->start : p->last_seen;
		int64_t e = p->end != UNK ? i64_max(p->end, p->last_seen) : p->last_seen;

		if (s != UNK && (run->start == UNK || s < run->start))
			run->start = s;
		if (e != UNK && (run->end == UNK || e > run->end))
			run->end = e;
	}
	if (run->start == UNK || run->end == UNK)
		run->start = run->end = 0;
	link_procs(run);
	infer_ends(run);
	link_spans(run);
	link_exchanges(run);
	build_threads(run);
}
