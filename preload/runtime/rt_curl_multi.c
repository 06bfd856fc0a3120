/* rt_curl_multi.c: start times of libcurl multi transfers, kept by easy handle until they end. */
#include <pthread.h>
#include <string.h>

#include "rt.h"
#include "rt_curl_multi.h"

/*
 * Transfer start times for multi handles, keyed by easy handle; guarded by easy_lock. Each slot
 * remembers the pid that started the transfer: a forked child inherits the table (and may read
 * the DONE messages or remove the handles of its parent's transfers), but only the process
 * that ran a transfer records it. The child also gets a fresh lock (another thread may have
 * held it at fork) and an empty table.
 */
#define EASY_SLOTS 256
struct easy_slot {
	void *easy;
	int64_t t0;
	pid_t pid;
};
static struct easy_slot easy_tab[EASY_SLOTS];
static pthread_mutex_t easy_lock = PTHREAD_MUTEX_INITIALIZER;

void ap_curl_transfer_started(void *easy, int64_t t0)
{
	pthread_mutex_lock(&easy_lock);
	for (int i = 0; i < EASY_SLOTS; i++)
		if (!easy_tab[i].easy || easy_tab[i].easy == easy) {
			easy_tab[i].easy = easy;
			easy_tab[i].t0 = t0;
			easy_tab[i].pid = ap_rt.pid;
			break;
		}
	pthread_mutex_unlock(&easy_lock);
}

int64_t ap_curl_transfer_take(void *easy)
{
	int64_t t0 = AP_UNKNOWN;

	pthread_mutex_lock(&easy_lock);
	for (int i = 0; i < EASY_SLOTS; i++)
		if (easy_tab[i].easy == easy) {
			if (easy_tab[i].pid == ap_rt.pid)
				t0 = easy_tab[i].t0;
			easy_tab[i].easy = NULL;
			break;
		}
	pthread_mutex_unlock(&easy_lock);
	return t0;
}

void ap_curl_transfers_after_fork_child(void)
{
	pthread_mutex_init(&easy_lock, NULL);
	memset(easy_tab, 0, sizeof(easy_tab));
}
