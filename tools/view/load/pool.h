/* pool.h: a few worker threads that run numbered tasks in order, a bounded number ahead. */
#ifndef AGENTPROF_VIEW_POOL_H
#define AGENTPROF_VIEW_POOL_H

#include <stddef.h>

struct pool;

/* Runs task number t on a worker thread; may pool_wait for a lower-numbered task. */
typedef void (*pool_task_fn)(void *ctx, struct pool *p, size_t t);

/*
 * Start threads workers over tasks 0..ntasks-1, taken in order; a task is started only while
 * fewer than ahead tasks are done or running but not yet consumed (pool_consumed), which bounds
 * the memory the results hold. When no thread can be started the tasks run in pool_wait.
 */
struct pool *pool_start(int threads, size_t ntasks, size_t ahead, pool_task_fn fn, void *ctx);
/* Block until task t has finished. */
void pool_wait(struct pool *p, size_t t);
/* The caller is done with the results of tasks 0..upto-1. */
void pool_consumed(struct pool *p, size_t upto);
/* Start no more tasks, wait for the running ones, stop the threads, free p. */
void pool_finish(struct pool *p);

/* Threads the viewer decodes with: AGENTPROF_VIEW_THREADS when set (1 = no threads), else the
 * CPUs this process may run on, at most 16. */
int view_threads(void);

#endif
