/* rt_h2.c: HTTP/2 in the preload: libnghttp2's HPACK inflater dlopen()ed privately, a fixed pool
 * of h2 observers (preload/core/h2.c), and per-stream exchanges parked for libcurl. */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "h2.h"
#include "redact.h"
#include "rt.h"
#include "rt_h2.h"

/*
 * Memory: one mmap at init holds AP_H2_CONNS slots; each slot is claimed with a CAS and keeps
 * its observer (streams, HPACK arena) inline. nghttp2's inflater allocates only through the
 * observer's arena (struct ap_hpack_mem), never with malloc, so the HPACK work is as safe as the
 * rest of the parser in any context the wrappers run in, and a slot dropped in a fork child
 * leaks nothing.
 */
struct ap_h2_conn {
	atomic_int used;
	struct ap_h2_env env;
	uint64_t drops_seen;
	int nparked;
	struct ap_exchange parked[AP_H2_PARKED];
	_Alignas(16) unsigned char h2[]; /* ap_h2_size() bytes */
};

static struct ap_hpack_api hpack;
static unsigned char *pool;
static size_t stride;
/* 0 not tried, 1 a thread is loading, 2 tried (pool set if it worked) */
static atomic_int load_state;

static void load(void)
{
	const struct ap_lib_sym syms[] = {
		{"nghttp2_hd_inflate_new2", (void **)&hpack.inflate_new2, NULL},
		{"nghttp2_hd_inflate_del", (void **)&hpack.inflate_del, NULL},
		/* hd3 (nghttp2 >= 1.61) and hd2 take the same arguments; hd3 returns nghttp2_ssize
		 */
		{"nghttp2_hd_inflate_hd3", (void **)&hpack.inflate_hd, "nghttp2_hd_inflate_hd2"},
		{"nghttp2_hd_inflate_end_headers", (void **)&hpack.inflate_end_headers, NULL},
		{"nghttp2_hd_inflate_change_table_size", (void **)&hpack.inflate_change_table_size,
		 NULL},
		{NULL, NULL, NULL},
	};
	void *p;

	if (!ap_lib_open("libnghttp2.so.14", 1, syms))
		return;
	stride = (sizeof(struct ap_h2_conn) + ap_h2_size() + 4095) & ~(size_t)4095;
	p = mmap(NULL, stride * AP_H2_CONNS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p != MAP_FAILED)
		pool = p;
}

/*
 * libnghttp2 is loaded at the first HTTP/2 connection, not at start: a process that never speaks
 * HTTP/2 (most short children) never maps it. One thread loads; one racing with it waits for it
 * (the loader's own lock serialises dlopen anyway).
 */
static void load_once(void)
{
	int expect = 0;

	if (atomic_load_explicit(&load_state, memory_order_acquire) == 2)
		return;
	if (atomic_compare_exchange_strong(&load_state, &expect, 1)) {
		load();
		atomic_store_explicit(&load_state, 2, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&load_state, memory_order_acquire) == 1)
		sched_yield();
}

void ap_h2_after_fork_child(void)
{
	int loading = 1;

	/* a parent thread that was loading does not exist here: try again when needed */
	atomic_compare_exchange_strong(&load_state, &loading, 0);
}

int ap_h2_available(void)
{
	load_once();
	return pool != NULL;
}

static struct ap_h2 *obs(struct ap_h2_conn *h)
{
	return (struct ap_h2 *)(void *)h->h2;
}

struct ap_h2_conn *ap_h2_conn_new(const struct ap_http_env *http)
{
	load_once();
	for (int i = 0; pool && i < AP_H2_CONNS; i++) {
		struct ap_h2_conn *h = (struct ap_h2_conn *)(void *)(pool + (size_t)i * stride);
		int expect = 0;

		if (atomic_load_explicit(&h->used, memory_order_relaxed) ||
		    !atomic_compare_exchange_strong(&h->used, &expect, 1))
			continue;
		h->env.http = http;
		h->env.hpack = &hpack;
		h->drops_seen = 0;
		h->nparked = 0;
		ap_h2_init(obs(h), &h->env);
		return h;
	}
	if (pool)
		atomic_fetch_add(&ap_rt.dropped, 1);
	return NULL;
}

static void count_drops(struct ap_h2_conn *h)
{
	uint64_t d = ap_h2_drops(obs(h));

	if (d != h->drops_seen) {
		atomic_fetch_add(&ap_rt.dropped, d - h->drops_seen);
		h->drops_seen = d;
	}
}

void ap_h2_conn_io(struct ap_h2_conn *h, int dir, const void *buf, size_t n, int64_t now)
{
	if (dir)
		ap_h2_in(obs(h), buf, n, now);
	else
		ap_h2_out(obs(h), buf, n, now);
	count_drops(h);
}

/* A parked stream no transfer claimed: recorded as the bytes showed it (already finished). */
static void record(const struct ap_exchange *x)
{
	if (ap_sampled_out())
		return;
	ap_exchange_write(x);
}

/* Exchanges of connections closed inside a libcurl call, waiting for their transfer's end. */
#define CLOSED_SLOTS 16
static struct {
	atomic_int state; /* 0 free, 1 busy, 2 ready */
	int local_port;
	struct ap_exchange x;
} closed[CLOSED_SLOTS] AP_COLD_BSS;
/* 1 once a slot was ever used: until then (most processes) the table is never touched, so its
 * pages are never faulted in, at exit or in a fork child */
static atomic_int closed_used;

static void keep_closed(int local_port, const struct ap_exchange *x)
{
	for (int i = 0; i < CLOSED_SLOTS; i++) {
		int expect = 0;
		if (!atomic_load(&closed_used))
			atomic_store(&closed_used, 1);
		if (atomic_compare_exchange_strong(&closed[i].state, &expect, 1)) {
			closed[i].local_port = local_port;
			closed[i].x = *x;
			atomic_store(&closed[i].state, 2);
			return;
		}
	}
	record(x);
}

void ap_h2_conn_close(struct ap_h2_conn *h, int64_t now, unsigned err, int local_port)
{
	ap_h2_close(obs(h), now, err);
	count_drops(h);
	for (int i = 0; i < h->nparked; i++) {
		if (local_port > 0)
			keep_closed(local_port, &h->parked[i]);
		else
			record(&h->parked[i]);
	}
	h->nparked = 0;
	atomic_store(&h->used, 0);
}

void ap_h2_conn_forget(struct ap_h2_conn *h)
{
	ap_h2_reset(obs(h));
	h->nparked = 0;
	atomic_store(&h->used, 0);
}

int ap_h2_conn_park(struct ap_h2_conn *h, const struct ap_exchange *x)
{
	if (h->nparked == AP_H2_PARKED) {
		record(&h->parked[0]); /* nobody claimed the oldest: record it as it is */
		memmove(&h->parked[0], &h->parked[1], sizeof(h->parked[0]) * (AP_H2_PARKED - 1));
		h->nparked--;
	}
	h->parked[h->nparked++] = *x;
	return 1;
}

/* The redacted path of a URL, as the byte view stores it. */
static void url_path(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	const char *s = p ? p + 3 : url;

	s += strcspn(s, "/?#");
	if (*s == '#' || !*s)
		s = "/";
	ap_strlcpy(out, s, cap);
	out[strcspn(out, "#")] = 0;
	ap_redact_path(out, cap);
}

int ap_h2_take_closed(int local_port, const char *url, struct ap_exchange *out)
{
	char path[AP_STR_PATH];

	if (local_port <= 0 || !atomic_load(&closed_used))
		return 0;
	if (url)
		url_path(url, path, sizeof(path));
	for (int i = 0; i < CLOSED_SLOTS; i++) {
		int expect = 2;
		if (atomic_load(&closed[i].state) != 2 || closed[i].local_port != local_port ||
		    (url && strcmp(closed[i].x.path, path)))
			continue;
		if (!atomic_compare_exchange_strong(&closed[i].state, &expect, 1))
			continue;
		*out = closed[i].x;
		atomic_store(&closed[i].state, 0);
		return 1;
	}
	return 0;
}

void ap_h2_flush_closed(void)
{
	if (!atomic_load(&closed_used))
		return;
	for (int i = 0; i < CLOSED_SLOTS; i++) {
		int expect = 2;
		if (atomic_compare_exchange_strong(&closed[i].state, &expect, 1)) {
			record(&closed[i].x);
			atomic_store(&closed[i].state, 0);
		}
	}
}

void ap_h2_forget_closed(void)
{
	if (!atomic_load(&closed_used))
		return;
	for (int i = 0; i < CLOSED_SLOTS; i++)
		atomic_store(&closed[i].state, 0);
}

int ap_h2_conn_take(struct ap_h2_conn *h, const char *url, struct ap_exchange *out)
{
	char path[AP_STR_PATH];
	int k = -1;

	if (!h->nparked)
		return 0;
	if (url) {
		url_path(url, path, sizeof(path));
		for (int i = 0; i < h->nparked && k < 0; i++)
			if (!strcmp(h->parked[i].path, path))
				k = i;
	}
	if (k < 0 && !url)
		k = 0;
	if (k < 0)
		return 0;
	*out = h->parked[k];
	memmove(&h->parked[k], &h->parked[k + 1],
		sizeof(h->parked[0]) * (size_t)(h->nparked - k - 1));
	h->nparked--;
	return 1;
}
