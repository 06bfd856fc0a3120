/* model.c: build the run model from span files: decode, anchor times, link, sort. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "usage.h"

#define MAX_EPOCH   (1ll << 62)			  /* beyond year 2116: treat as garbage */
#define MAX_PHASE   (100ll * 3600 * 1000000000ll) /* a set-up phase longer than 100 h is garbage */
#define MAX_PENDING 65536
#define MAX_TOKENS  (1ll << 40) /* records held until the file's process record arrives */

/* Per-file loading state. */
struct ld {
	struct run *run;
	int32_t file;
	int32_t cur; /* current process index, -1 before the file's process record */
	struct ap_record *pending;
	size_t n_pending, cap_pending;
	uint64_t orphans;
	uint32_t last[8]; /* per exchange string field: the id it had in the previous record */
};

int64_t x_duration(const struct vxch *x)
{
	return x->start != UNK && x->end != UNK ? x->end - x->start : UNK;
}

int64_t x_ttfb(const struct vxch *x)
{
	return x->start != UNK && x->first_byte != UNK ? x->first_byte - x->start : UNK;
}

uint32_t x_model(const struct vxch *x)
{
	return x->req_model ? x->req_model : x->resp_model;
}

double proc_weight(const struct vproc *p)
{
	if (!p->sample_ppm || p->sample_ppm >= 1000000)
		return 1.0;
	return 1e6 / p->sample_ppm;
}

/* --- time anchoring ------------------------------------------------------------------------- */

static int64_t ep(struct ld *l, int64_t t)
{
	struct vproc *p = &l->run->procs[l->cur];
	uint64_t v;
	int64_t e;

	if (t == UNK)
		return UNK;
	v = (uint64_t)t - (uint64_t)p->mono0 + (uint64_t)p->real0;
	e = (int64_t)v;
	if (e <= 0 || e >= MAX_EPOCH) {
		l->run->bad_times++;
		return UNK;
	}
	if (e > p->last_seen)
		p->last_seen = e;
	return e;
}

static int64_t phase(struct ld *l, int64_t d)
{
	if (d == UNK)
		return UNK;
	if (d < 0 || d > MAX_PHASE) {
		l->run->bad_times++;
		return UNK;
	}
	return d;
}

/* Keep t only if it is not before lo (both known); otherwise drop it as unknown. */
static int64_t after(struct ld *l, int64_t lo, int64_t t)
{
	if (t == UNK || lo == UNK || t >= lo)
		return t;
	l->run->bad_times++;
	return UNK;
}

static uint32_t str(struct ld *l, const char *s)
{
	return strtab_add(&l->run->st, s);
}

/* str() for a field that mostly repeats from one record to the next (method, host, model):
 * the previous id when the string is the same (its entry holds no '\0', as str() made it). */
static uint32_t str_again(struct ld *l, int field, const char *s)
{
	uint32_t id = l->last[field];

	if (!strcmp(strtab_get(&l->run->st, id), s))
		return id;
	return l->last[field] = str(l, s);
}

/* --- record handlers ------------------------------------------------------------------------ */

static void add_process(struct ld *l, const struct ap_process *r)
{
	struct run *run = l->run;
	struct vproc *p = VEC_PUSH(run->procs, run->n_procs, run->cap_procs);
	size_t alen = 0;

	for (uint32_t i = 0; i < r->argc && alen < sizeof(r->argv) - 1; i++)
		alen += strnlen(r->argv + alen, sizeof(r->argv) - 1 - alen) + 1;
	if (alen > sizeof(r->argv) - 1)
		alen = sizeof(r->argv) - 1;
	p->pid = r->pid;
	p->ppid = r->ppid;
	p->exe = str(l, r->exe);
	p->argv = strtab_addn(&run->st, r->argv, alen);
	p->argc = r->argc;
	p->agent = str(l, r->agent);
	p->tool_version = str(l, r->tool_version);
	p->sample_ppm = r->sample_ppm;
	p->format_version = r->format_version;
	p->mono0 = r->start_ns != UNK ? r->start_ns : 0;
	p->real0 = r->start_real_ns != UNK ? r->start_real_ns : p->mono0;
	p->end = p->last_seen = UNK;
	p->exit_code = AP_UNKNOWN;
	p->overhead_ns = UNK;
	p->peak_rss = p->cpu_user_ns = p->cpu_sys_ns = UNK;
	p->file = l->file;
	p->parent = p->exec_of = p->exec_next = -1;
	l->cur = (int32_t)(run->n_procs - 1);
	if (run->files[l->file].first_proc < 0)
		run->files[l->file].first_proc = l->cur;
	p->start = ep(l, r->start_ns);
}

/* Every field set here is also folded by merge_proc_delta (a process end found by a later piece
 * of a file loaded in parallel). */
static void add_process_end(struct ld *l, const struct ap_process_end *r)
{
	struct vproc *p = &l->run->procs[l->cur];

	p->end = after(l, p->start, ep(l, r->end_ns));
	p->exit_code = r->exit_code;
	p->dropped += r->dropped;
	p->dropped_bytes += r->dropped_bytes;
	p->overhead_ns = r->overhead_ns >= 0 ? r->overhead_ns : UNK;
	p->calls = r->calls;
	p->clean = r->clean;
	p->has_end = 1;
	p->end_by = PEND_RECORD;
}

static void add_connection(struct ld *l, const struct ap_connection *r)
{
	struct run *run = l->run;
	struct vconn *c = VEC_PUSH(run->conns, run->n_conns, run->cap_conns);

	c->id = r->id;
	c->proc = l->cur;
	c->tid = r->tid;
	c->host = str(l, r->host);
	c->peer = str(l, r->peer);
	c->port = r->port;
	c->fd = r->fd;
	c->tls = r->tls;
	c->vis = r->visibility;
	c->cat = r->category < AP_CAT_MAX ? r->category : 0;
	c->prov = r->provider < AP_PROV_MAX ? r->provider : 0;
	c->error = r->error;
	c->open = ep(l, r->open_ns);
	c->close = after(l, c->open, ep(l, r->close_ns));
	c->connect_ns = phase(l, r->connect_ns);
	c->bytes_sent = r->bytes_sent;
	c->bytes_received = r->bytes_received;
	c->exchanges = r->exchanges;
}

/* A token count; beyond a trillion it is garbage and counted as such. */
static int64_t tok(struct ld *l, int64_t v)
{
	if (v == UNK)
		return UNK;
	if (v < 0 || v > MAX_TOKENS) {
		l->run->bad_times++;
		return UNK;
	}
	return v;
}

static void x_times(struct ld *l, struct vxch *x, const struct ap_exchange *r)
{
	int64_t setup = 0, last;

	x->start = ep(l, r->start_ns);
	x->req_sent = after(l, x->start, ep(l, r->req_sent_ns));
	x->first_byte =
		after(l, x->req_sent != UNK ? x->req_sent : x->start, ep(l, r->first_byte_ns));
	last = x->first_byte != UNK ? x->first_byte : x->req_sent != UNK ? x->req_sent : x->start;
	x->end = after(l, last, ep(l, r->end_ns));
	x->first_event = after(l, x->start, ep(l, r->first_event_ns));
	x->dns_ns = phase(l, r->dns_ns);
	x->connect_ns = phase(l, r->connect_ns);
	x->tls_ns = phase(l, r->tls_ns);
	if (x->dns_ns != UNK)
		setup += x->dns_ns;
	if (x->connect_ns != UNK)
		setup += x->connect_ns;
	if (x->tls_ns != UNK)
		setup += x->tls_ns;
	x->t0 = x->start != UNK	       ? x->start
		: x->req_sent != UNK   ? x->req_sent
		: x->first_byte != UNK ? x->first_byte
				       : x->end;
	if (x->t0 != UNK && x->t0 - setup > 0)
		x->t0 -= setup;
	x->t1 = x->end != UNK ? x->end : last;
	if (x->t0 == UNK || x->t1 == UNK)
		x->t0 = x->t1 = UNK;
}

static void add_exchange(struct ld *l, const struct ap_exchange *r)
{
	struct run *run = l->run;
	struct vxch *x = VEC_PUSH(run->xs, run->n_xs, run->cap_xs);
	struct ap_usage raw = r->usage, u;

	/* files hold the provider's own numbers; the model holds them normalised (usage.h) */
	raw.input = tok(l, raw.input);
	raw.output = tok(l, raw.output);
	raw.cache_read = tok(l, raw.cache_read);
	raw.cache_write = tok(l, raw.cache_write);
	raw.reasoning = tok(l, raw.reasoning);
	ap_usage_otel(ap_usage_api(r->path), &raw, &u);
	x->id = r->id;
	x->conn_id = r->conn_id;
	x->request_hash = r->request_hash;
	x->grpc_status = r->grpc_status;
	x->provisional = r->provisional;
	x->stack_id = r->stack_id;
	x->span_id = r->span_id;
	x_times(l, x, r);
	x->in = u.input;
	x->out = u.output;
	x->cache_read = u.cache_read;
	x->cache_write = u.cache_write;
	x->reasoning = u.reasoning;
	x->bytes_sent = r->bytes_sent;
	x->bytes_received = r->bytes_received;
	x->cost = NAN;
	x->proc = l->cur;
	x->tid = r->tid;
	x->port = r->port;
	x->status = r->status;
	x->span = x->conn = -1;
	x->method = str_again(l, 0, r->method);
	x->path = str_again(l, 1, r->path);
	x->host = str_again(l, 2, r->host);
	x->ctype = str_again(l, 3, r->content_type);
	x->req_model = str_again(l, 4, r->request_model);
	x->resp_model = str_again(l, 5, r->response_model);
	x->agent = str_again(l, 6, r->agent);
	x->events = r->events;
	x->cat = r->category < AP_CAT_MAX ? r->category : 0;
	x->prov = r->provider < AP_PROV_MAX ? r->provider : 0;
	x->vis = r->visibility <= AP_VIS_OPAQUE ? r->visibility : 0;
	x->tls = !!r->tls;
	x->stream = !!r->stream;
	x->error = r->error;
	x->new_conn = !!r->new_conn;
	x->pystack_id = r->pystack_id;
	l->run->procs[l->cur].nexchanges++;
}

static void add_proc_event(struct ld *l, const struct ap_proc_event *r)
{
	struct run *run = l->run;
	struct vpev *e = VEC_PUSH(run->pevs, run->n_pevs, run->cap_pevs);
	size_t alen = 0;

	for (uint32_t i = 0; i < r->argc && alen < sizeof(r->argv) - 1; i++)
		alen += strnlen(r->argv + alen, sizeof(r->argv) - 1 - alen) + 1;
	if (alen > sizeof(r->argv) - 1)
		alen = sizeof(r->argv) - 1;
	e->proc = l->cur;
	e->kind = r->kind;
	e->profiled = r->profiled;
	e->tid = r->tid;
	e->time = ep(l, r->time_ns);
	e->end = after(l, e->time, ep(l, r->end_ns));
	e->child_pid = r->child_pid;
	e->status = r->status;
	e->path = str(l, r->path);
	e->argv = strtab_addn(&run->st, r->argv, alen);
	e->argc = r->argc;
	e->span_id = r->span_id;
	e->stack_id = r->stack_id;
	e->pystack_id = r->pystack_id;
}

static void add_span(struct ld *l, const struct ap_span *r)
{
	struct run *run = l->run;
	struct vspan *s = VEC_PUSH(run->spans, run->n_spans, run->cap_spans);

	s->id = r->id;
	s->parent_id = r->parent_id;
	s->proc = l->cur;
	s->parent = -1;
	s->tid = r->tid;
	s->name = str(l, r->name);
	s->agent = str(l, r->agent);
	s->cat = r->category < AP_CAT_MAX ? r->category : 0;
	s->start = ep(l, r->start_ns);
	s->end = after(l, s->start, ep(l, r->end_ns));
	s->stack_id = r->stack_id;
	s->pystack_id = r->pystack_id;
}

static void add_counter(struct ld *l, const struct ap_counter *r)
{
	struct vproc *p = &l->run->procs[l->cur];
	int64_t *dst = NULL;

	ep(l, r->time_ns); /* extends last_seen */
	if (r->value < 0)
		return;
	if (r->kind == AP_CNT_RSS_BYTES || r->kind == AP_CNT_PEAK_RSS_BYTES)
		dst = &p->peak_rss;
	else if (r->kind == AP_CNT_CPU_USER_NS)
		dst = &p->cpu_user_ns;
	else if (r->kind == AP_CNT_CPU_SYS_NS)
		dst = &p->cpu_sys_ns;
	if (dst && r->value > *dst)
		*dst = r->value;
}

static void add_stack(struct ld *l, const struct ap_stack *r)
{
	struct run *run = l->run;
	struct vstack *s = VEC_PUSH(run->stacks, run->n_stacks, run->cap_stacks);
	uint32_t n = r->nframes > AP_MAX_FRAMES ? AP_MAX_FRAMES : r->nframes;

	s->id = r->id;
	s->proc = l->cur;
	s->nframes = n;
	s->first = run->n_frames;
	for (uint32_t i = 0; i < n; i++)
		*VEC_PUSH(run->frames, run->n_frames, run->cap_frames) = r->frames[i];
}

static void add_pycode(struct ld *l, const struct ap_pycode *r)
{
	struct run *run = l->run;
	struct vpycode *c = VEC_PUSH(run->pycodes, run->n_pycodes, run->cap_pycodes);

	c->id = r->id;
	c->proc = l->cur;
	c->qualname = str(l, r->qualname);
	c->file = str(l, r->filename);
	c->firstline = r->firstlineno;
}

static void add_pystack(struct ld *l, const struct ap_pystack *r)
{
	struct run *run = l->run;
	struct vpystack *s = VEC_PUSH(run->pystacks, run->n_pystacks, run->cap_pystacks);
	uint32_t n = r->nframes > AP_MAX_FRAMES ? AP_MAX_FRAMES : r->nframes;

	s->id = r->id;
	s->proc = l->cur;
	s->nframes = n;
	s->truncated = !!r->truncated;
	s->first = run->n_pyframes;
	for (uint32_t i = 0; i < n; i++) {
		struct vpyframe *f = VEC_PUSH(run->pyframes, run->n_pyframes, run->cap_pyframes);

		f->code = r->code[i];
		f->line = i < r->nlines && r->line[i] <= UINT32_MAX ? (uint32_t)r->line[i] : 0;
	}
}

static void add_module(struct ld *l, const struct ap_module *r)
{
	struct run *run = l->run;
	struct vmodule *m = VEC_PUSH(run->mods, run->n_mods, run->cap_mods);

	m->id = r->id;
	m->base = r->base;
	m->start = r->start;
	m->end = r->end;
	m->proc = l->cur;
	m->path = str(l, r->path);
	m->build_id = str(l, r->build_id);
}

static void add_diag(struct ld *l, const struct ap_diag *r)
{
	struct run *run = l->run;
	struct vdiag *d = VEC_PUSH(run->diags, run->n_diags, run->cap_diags);

	d->proc = l->cur;
	d->code = r->code;
	d->msg = str(l, r->msg);
	d->time = ep(l, r->time_ns);
}

static void add_dns(struct ld *l, const struct ap_dns *r)
{
	struct run *run = l->run;
	struct vdns *d = VEC_PUSH(run->dns, run->n_dns, run->cap_dns);

	d->proc = l->cur;
	d->tid = r->tid;
	d->host = str(l, r->host);
	d->addr = str(l, r->addr);
	d->start = ep(l, r->start_ns);
	d->end = after(l, d->start, ep(l, r->end_ns));
	d->result = r->result;
}

static void dispatch(struct ld *l, const struct ap_record *r)
{
	switch (r->type) {
	case AP_REC_PROCESS_END:
		add_process_end(l, &r->u.process_end);
		break;
	case AP_REC_CONNECTION:
		add_connection(l, &r->u.connection);
		break;
	case AP_REC_EXCHANGE:
		add_exchange(l, &r->u.exchange);
		break;
	case AP_REC_PROC_EVENT:
		add_proc_event(l, &r->u.proc_event);
		break;
	case AP_REC_SPAN:
		add_span(l, &r->u.span);
		break;
	case AP_REC_COUNTER:
		add_counter(l, &r->u.counter);
		break;
	case AP_REC_STACK:
		add_stack(l, &r->u.stack);
		break;
	case AP_REC_MODULE:
		add_module(l, &r->u.module);
		break;
	case AP_REC_DIAG:
		add_diag(l, &r->u.diag);
		break;
	case AP_REC_DNS:
		add_dns(l, &r->u.dns);
		break;
	case AP_REC_PYCODE:
		add_pycode(l, &r->u.pycode);
		break;
	case AP_REC_PYSTACK:
		add_pystack(l, &r->u.pystack);
		break;
	}
}

static int on_record(void *ctx, const struct ap_record *r)
{
	struct ld *l = ctx;

	if (r->type == AP_REC_PROCESS) {
		add_process(l, &r->u.process);
		for (size_t i = 0; i < l->n_pending; i++)
			dispatch(l, &l->pending[i]);
		l->n_pending = 0;
		return 0;
	}
	if (l->cur >= 0) {
		dispatch(l, r);
	} else if (l->n_pending < MAX_PENDING) {
		*VEC_PUSH(l->pending, l->n_pending, l->cap_pending) = *r;
	} else {
		l->orphans++;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A provisional exchange (written at the provider's terminal event while libcurl still held the
 * transfer) is replaced by the record with the same id that libcurl's end wrote, when the file
 * has one: drop the provisional ones that have a final twin among the exchanges this file added
 * (ids are unique within one file). Provisional records are rare, so their ids are sorted and
 * every other exchange is looked up among them.
 */
static void drop_replaced(struct run *run, size_t from)
{
	size_t np = 0, k = from;
	uint64_t *ids;
	uint8_t *replaced;

	for (size_t i = from; i < run->n_xs; i++)
		np += run->xs[i].provisional;
	if (!np)
		return;
	ids = xmalloc(np * sizeof(*ids));
	replaced = xcalloc(np, 1);
	np = 0;
	for (size_t i = from; i < run->n_xs; i++)
		if (run->xs[i].provisional)
			ids[np++] = run->xs[i].id;
	qsort(ids, np, sizeof(*ids), cmp_u64);
	for (size_t i = from; i < run->n_xs; i++) {
		uint64_t *hit = run->xs[i].provisional
					? NULL
					: bsearch(&run->xs[i].id, ids, np, sizeof(*ids), cmp_u64);

		if (hit)
			replaced[hit - ids] = 1;
	}
	for (size_t i = from; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		uint64_t *hit =
			x->provisional ? bsearch(&x->id, ids, np, sizeof(*ids), cmp_u64) : NULL;

		if (hit && replaced[hit - ids]) {
			if (x->proc >= 0)
				run->procs[x->proc].nexchanges--;
			continue;
		}
		run->xs[k++] = *x;
	}
	run->n_xs = k;
	free(ids);
	free(replaced);
}

int run_add_buf(struct run *run, const char *name, const uint8_t *buf, size_t n, char *msg,
		size_t msglen)
{
	size_t first_x = run->n_xs;
	struct ld l = {.run = run, .cur = -1};
	struct vfile *f;
	int rc;

	if (!run->st.buf)
		strtab_init(&run->st);
	f = VEC_PUSH(run->files, run->n_files, run->cap_files);
	f->path = xstrdup(name);
	f->size = n;
	f->first_proc = -1;
	l.file = (int32_t)(run->n_files - 1);
	rc = rd_parse_buf(buf, n, on_record, &l, &f->st, msg, msglen);
	drop_replaced(run, first_x);
	run->orphan_records += l.orphans + l.n_pending;
	free(l.pending);
	return rc;
}

/* --- pieces: one file decoded on several threads ------------------------------------------- */

/* A piece after the head: records go to the head's process (a copy that collects only what
 * merges back: last_seen, counts, counters, the end); a new process record means the piece
 * cannot stand on its own. */
static int on_piece_record(void *ctx, const struct ap_record *r)
{
	struct ld *l = ctx;

	if (r->type == AP_REC_PROCESS)
		return 1;
	dispatch(l, r);
	return 0;
}

static void piece_init(struct run_piece *pc)
{
	struct vfile *f;

	strtab_init(&pc->run.st);
	f = VEC_PUSH(pc->run.files, pc->run.n_files, pc->run.cap_files);
	f->first_proc = -1;
}

/* Exchange arrays of merged pieces, kept for the next pieces: their pages are already mapped,
 * so a piece does not fault in fresh memory for every record (most of the pieces' cost). */
#define STASH_MAX 8

static struct {
	pthread_mutex_t mu;
	struct vxch *xs[STASH_MAX];
	size_t cap[STASH_MAX];
	int n;
} stash = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void stash_take(struct run *r)
{
	pthread_mutex_lock(&stash.mu);
	if (stash.n > 0) {
		stash.n--;
		r->xs = stash.xs[stash.n];
		r->cap_xs = stash.cap[stash.n];
	}
	pthread_mutex_unlock(&stash.mu);
}

static void stash_put(struct run *r)
{
	pthread_mutex_lock(&stash.mu);
	if (stash.n < STASH_MAX && r->xs) {
		stash.xs[stash.n] = r->xs;
		stash.cap[stash.n++] = r->cap_xs;
		r->xs = NULL;
		r->cap_xs = 0;
	}
	pthread_mutex_unlock(&stash.mu);
}

void file_load_piece(struct file_load *fl, size_t i)
{
	struct run_piece *pc = &fl->pieces[i];
	struct ld l = {.run = &pc->run, .cur = -1};

	piece_init(pc);
	stash_take(&pc->run);
	if (i == 0) {
		pc->ok = rd_decode_frames(fl->buf, &fl->plan, pc->a, pc->b, on_record, &l, &pc->st,
					  &pc->out_cap) == 0;
		pc->cur = l.cur;
		pc->pending = l.pending;
		pc->n_pending = l.n_pending;
		pc->cap_pending = l.cap_pending;
		pc->orphans = l.orphans;
		if (pc->ok && l.cur >= 0) {
			fl->head_proc = pc->run.procs[l.cur];
			fl->head_proc.nexchanges = 0;
			fl->head_proc.has_end = 0;
			fl->head_proc.dropped = fl->head_proc.dropped_bytes = 0;
			fl->head_ok = 1;
		}
		return;
	}
	if (!fl->head_ok)
		return; /* pc->ok = 0: the sequential walk takes over at this piece */
	*VEC_PUSH(pc->run.procs, pc->run.n_procs, pc->run.cap_procs) = fl->head_proc;
	l.cur = 0;
	pc->cur = 0;
	pc->ok = rd_decode_frames(fl->buf, &fl->plan, pc->a, pc->b, on_piece_record, &l, &pc->st,
				  &pc->out_cap) == 0;
}

/* Ids of one piece's strings in the run's table, in the order the piece first saw them (so the
 * run's table grows exactly as it would have reading the records one after another). */
struct remap {
	uint32_t *from, *to;
	size_t n;
};

static void remap_build(struct remap *m, struct strtab *dst, const struct strtab *src)
{
	size_t cap = src->count + 1, o = 5; /* past id 0, the empty string */

	m->from = xmalloc(cap * sizeof(*m->from));
	m->to = xmalloc(cap * sizeof(*m->to));
	m->n = 0;
	while (o < src->len) {
		uint32_t len = (uint32_t)strtab_len(src, (uint32_t)o);

		m->from[m->n] = (uint32_t)o;
		m->to[m->n++] = strtab_addn(dst, strtab_get(src, (uint32_t)o), len);
		o += (size_t)len + 5;
	}
}

static uint32_t rm(const struct remap *m, uint32_t id)
{
	size_t lo = 0, hi = m->n;

	if (!id)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->from[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->from[lo] == id ? m->to[lo] : 0;
}

/* Room for add more elements at the end of a flat array. */
static void *grow(void *pp, size_t n, size_t *cap, size_t add, size_t elsz)
{
	char **p = pp;

	if (n + add > *cap) {
		size_t nc = *cap * 2 > n + add ? *cap * 2 : n + add;

		*p = xrealloc(*p, nc * elsz);
		*cap = nc;
	}
	return *p + n * elsz;
}

#define APPEND(run, pc, name)                                                                     \
	for (__typeof__((run)->name) d_ = grow(&(run)->name, (run)->n_##name, &(run)->cap_##name, \
					       (pc)->n_##name, sizeof(*(run)->name)),             \
				     s_ = (pc)->name, e_ = s_ + (pc)->n_##name;                   \
	     s_ < e_ ? (*d_ = *s_, (run)->n_##name++, 1) : 0; d_++, s_++)

/* Fold what a piece after the head found about the head's process into that process. */
static void merge_proc_delta(struct vproc *g, const struct vproc *d)
{
	if (d->last_seen > g->last_seen)
		g->last_seen = d->last_seen;
	g->nexchanges += d->nexchanges;
	g->dropped += d->dropped;
	g->dropped_bytes += d->dropped_bytes;
	if (d->has_end) {
		g->end = d->end;
		g->exit_code = d->exit_code;
		g->overhead_ns = d->overhead_ns;
		g->calls = d->calls;
		g->clean = d->clean;
		g->has_end = 1;
		g->end_by = d->end_by;
	}
	if (d->peak_rss > g->peak_rss)
		g->peak_rss = d->peak_rss;
	if (d->cpu_user_ns > g->cpu_user_ns)
		g->cpu_user_ns = d->cpu_user_ns;
	if (d->cpu_sys_ns > g->cpu_sys_ns)
		g->cpu_sys_ns = d->cpu_sys_ns;
}

/* Append a decoded piece to the run: strings re-interned, process indexes and array offsets
 * moved. head: the piece's processes are new; otherwise its one process is run->procs[gcur]. */
static void piece_merge(struct run *run, struct run_piece *pc, int32_t file, int head, int32_t gcur)
{
	struct run *p = &pc->run;
	struct remap m;
	int32_t base = (int32_t)run->n_procs;
	size_t fbase = run->n_frames, pybase = run->n_pyframes;

#define GP(i) (head ? base + (i) : gcur)
	remap_build(&m, &run->st, &p->st);
	if (head) {
		APPEND(run, p, procs)
		{
			d_->exe = rm(&m, s_->exe);
			d_->argv = rm(&m, s_->argv);
			d_->agent = rm(&m, s_->agent);
			d_->tool_version = rm(&m, s_->tool_version);
			d_->file = file;
		}
		if (p->files[0].first_proc >= 0 && run->files[file].first_proc < 0)
			run->files[file].first_proc = base + p->files[0].first_proc;
	} else if (p->n_procs) {
		merge_proc_delta(&run->procs[gcur], &p->procs[0]);
	}
	APPEND(run, p, conns)
	{
		d_->proc = GP(s_->proc);
		d_->host = rm(&m, s_->host);
		d_->peer = rm(&m, s_->peer);
	}
	APPEND(run, p, xs)
	{
		d_->proc = GP(s_->proc);
		d_->method = rm(&m, s_->method);
		d_->path = rm(&m, s_->path);
		d_->host = rm(&m, s_->host);
		d_->ctype = rm(&m, s_->ctype);
		d_->req_model = rm(&m, s_->req_model);
		d_->resp_model = rm(&m, s_->resp_model);
		d_->agent = rm(&m, s_->agent);
	}
	APPEND(run, p, spans)
	{
		d_->proc = GP(s_->proc);
		d_->name = rm(&m, s_->name);
		d_->agent = rm(&m, s_->agent);
	}
	APPEND(run, p, pevs)
	{
		d_->proc = GP(s_->proc);
		d_->path = rm(&m, s_->path);
		d_->argv = rm(&m, s_->argv);
	}
	APPEND(run, p, diags)
	{
		d_->proc = GP(s_->proc);
		d_->msg = rm(&m, s_->msg);
	}
	APPEND(run, p, dns)
	{
		d_->proc = GP(s_->proc);
		d_->host = rm(&m, s_->host);
		d_->addr = rm(&m, s_->addr);
	}
	APPEND(run, p, stacks)
	{
		d_->proc = GP(s_->proc);
		d_->first += fbase;
	}
	APPEND(run, p, frames);
	APPEND(run, p, mods)
	{
		d_->proc = GP(s_->proc);
		d_->path = rm(&m, s_->path);
		d_->build_id = rm(&m, s_->build_id);
	}
	APPEND(run, p, pycodes)
	{
		d_->proc = GP(s_->proc);
		d_->qualname = rm(&m, s_->qualname);
		d_->file = rm(&m, s_->file);
	}
	APPEND(run, p, pystacks)
	{
		d_->proc = GP(s_->proc);
		d_->first += pybase;
	}
	APPEND(run, p, pyframes);
#undef GP
	run->bad_times += p->bad_times;
	free(m.from);
	free(m.to);
}

static void add_counts(struct rd_stats *st, const struct rd_stats *p)
{
	st->frames += p->frames;
	st->records += p->records;
	st->unknown_records += p->unknown_records;
	st->bad_records += p->bad_records;
}

int file_load_begin(struct run *run, struct file_load *fl, char *msg, size_t msglen)
{
	struct vfile *f;

	if (!run->st.buf)
		strtab_init(&run->st);
	f = VEC_PUSH(run->files, run->n_files, run->cap_files);
	f->path = xstrdup(fl->path);
	f->size = fl->n;
	f->first_proc = -1;
	fl->file = (int32_t)(run->n_files - 1);
	fl->first_x = run->n_xs;
	fl->cur = -1;
	fl->resume_at = SIZE_MAX;
	if (fl->plan_rc < 0) {
		snprintf(msg, msglen, "%s", fl->msg);
		return -1;
	}
	f->st = fl->st0;
	return 0;
}

void file_load_take(struct run *run, struct file_load *fl, size_t i)
{
	struct run_piece *pc = &fl->pieces[i];
	int32_t base = (int32_t)run->n_procs;

	if (fl->resume_at == SIZE_MAX && !pc->ok)
		fl->resume_at = pc->a; /* this piece and the rest: the sequential walk */
	if (fl->resume_at != SIZE_MAX) {
		run_piece_free(pc);
		return;
	}
	piece_merge(run, pc, fl->file, i == 0, fl->cur);
	add_counts(&run->files[fl->file].st, &pc->st);
	if (pc->out_cap > fl->out_cap)
		fl->out_cap = pc->out_cap;
	if (i == 0) {
		fl->cur = pc->cur >= 0 ? base + pc->cur : -1;
		fl->pending = pc->pending;
		fl->n_pending = pc->n_pending;
		fl->cap_pending = pc->cap_pending;
		fl->orphans = pc->orphans;
		pc->pending = NULL;
	}
	run_piece_free(pc);
}

void file_load_end(struct run *run, struct file_load *fl)
{
	struct ld l = {.run = run,
		       .file = fl->file,
		       .cur = fl->cur,
		       .pending = fl->pending,
		       .n_pending = fl->n_pending,
		       .cap_pending = fl->cap_pending,
		       .orphans = fl->orphans};

	rd_resume(fl->buf, fl->n, &fl->plan,
		  fl->resume_at != SIZE_MAX ? fl->resume_at : fl->plan.n_frames, fl->out_cap,
		  on_record, &l, &run->files[fl->file].st);
	drop_replaced(run, fl->first_x);
	run->orphan_records += l.orphans + l.n_pending;
	free(l.pending);
	fl->pending = NULL;
}

void run_piece_stash_free(void)
{
	pthread_mutex_lock(&stash.mu);
	while (stash.n > 0)
		free(stash.xs[--stash.n]);
	pthread_mutex_unlock(&stash.mu);
}

void run_piece_free(struct run_piece *pc)
{
	free(pc->pending);
	pc->pending = NULL;
	stash_put(&pc->run);
	run_free(&pc->run);
}

const char *proc_end_by_name(unsigned end_by)
{
	static const char *const names[] = {"", "recorded", "parent's wait", "last record"};

	return end_by < sizeof(names) / sizeof(names[0]) ? names[end_by] : "";
}

void run_free(struct run *run)
{
	for (size_t i = 0; i < run->n_files; i++)
		free(run->files[i].path);
	free(run->files);
	free(run->procs);
	free(run->conns);
	free(run->xs);
	free(run->spans);
	free(run->pevs);
	free(run->threads);
	free(run->diags);
	free(run->dns);
	free(run->stacks);
	free(run->mods);
	free(run->frames);
	free(run->pycodes);
	free(run->pystacks);
	free(run->pyframes);
	strtab_free(&run->st);
	memset(run, 0, sizeof(*run));
}
