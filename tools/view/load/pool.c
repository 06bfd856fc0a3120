/* pool.c: the viewer's worker threads: numbered tasks taken in order, a bounded window ahead. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "util.h"

#define MAX_THREADS 16

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t tid[MAX_THREADS];
	int nthreads, stop;
	size_t ntasks, next, consumed, ahead;
	unsigned char *done;
	pool_task_fn fn;
	void *ctx;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	pthread_setname_np(pthread_self(), "view-decode");
	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t t;

		while (!p->stop && p->next < p->ntasks && p->next >= p->consumed + p->ahead)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || p->next >= p->ntasks)
			break;
		t = p->next++;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, p, t);
		pthread_mutex_lock(&p->mu);
		p->done[t] = 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *pool_start(int threads, size_t ntasks, size_t ahead, pool_task_fn fn, void *ctx)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->ntasks = ntasks;
	p->ahead = ahead ? ahead : 1;
	p->done = xcalloc(ntasks + 1, 1);
	p->fn = fn;
	p->ctx = ctx;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if ((size_t)threads > ntasks)
		threads = (int)ntasks;
	for (int i = 0; i < threads; i++) {
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 1 << 20);
		if (pthread_create(&p->tid[p->nthreads], &a, worker, p) == 0)
			p->nthreads++;
		pthread_attr_destroy(&a);
	}
	return p;
}

void pool_wait(struct pool *p, size_t t)
{
	pthread_mutex_lock(&p->mu);
	if (!p->nthreads) { /* no threads: run the tasks up to t here, in order */
		while (p->next <= t && p->next < p->ntasks) {
			size_t i = p->next++;

			pthread_mutex_unlock(&p->mu);
			p->fn(p->ctx, p, i);
			pthread_mutex_lock(&p->mu);
			p->done[i] = 1;
		}
	}
	while (!p->done[t])
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void pool_consumed(struct pool *p, size_t upto)
{
	pthread_mutex_lock(&p->mu);
	if (upto > p->consumed) {
		p->consumed = upto;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void pool_finish(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->tid[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->done);
	free(p);
}

int view_threads(void)
{
	const char *e = getenv("AGENTPROF_VIEW_THREADS");
	cpu_set_t set;
	int n = 0;

	if (e && *e) {
		char *end;
		long v = strtol(e, &end, 10);

		if (!*end && v >= 1)
			return v > MAX_THREADS ? MAX_THREADS : (int)v;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = 1;
	return n > MAX_THREADS ? MAX_THREADS : n;
}
