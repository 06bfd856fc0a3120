/* follow_state.c: what an OTLP --follow sidecar has shipped: the set of span ids and the run's
 * trace id, kept in memory and in its state file (one line per accepted span, fsync'ed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otlp.h"

static size_t slot_of(const struct follow *fw, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (fw->cap - 1);
}

static void set_add(struct follow *fw, uint64_t id)
{
	size_t i;

	if ((fw->n + 1) * 2 > fw->cap) {
		uint64_t *old = fw->slot;
		size_t oc = fw->cap;

		fw->cap = oc ? oc * 2 : 1 << 16;
		fw->slot = xcalloc(fw->cap, sizeof(uint64_t));
		fw->n = 0;
		for (size_t k = 0; k < oc; k++)
			if (old[k])
				set_add(fw, old[k]);
		free(old);
	}
	for (i = slot_of(fw, id); fw->slot[i]; i = (i + 1) & (fw->cap - 1))
		if (fw->slot[i] == id)
			return;
	fw->slot[i] = id;
	fw->n++;
}

int follow_seen(const struct follow *fw, uint64_t id)
{
	if (!fw->cap)
		return 0;
	for (size_t i = slot_of(fw, id); fw->slot[i]; i = (i + 1) & (fw->cap - 1))
		if (fw->slot[i] == id)
			return 1;
	return 0;
}

static void state_sync(struct follow *fw)
{
	if (fflush(fw->sf) != 0 || fsync(fileno(fw->sf)) != 0)
		fprintf(stderr, "agentprof-view export: %s: %s\n", fw->state, strerror(errno));
}

void follow_trace_id(struct follow *fw, uint64_t *hi, uint64_t *lo)
{
	if (!fw->have_trace) {
		fw->trace_hi = *hi;
		fw->trace_lo = *lo;
		fw->have_trace = 1;
		fprintf(fw->sf, "trace %016llx%016llx\n", (unsigned long long)*hi,
			(unsigned long long)*lo);
		state_sync(fw);
	}
	*hi = fw->trace_hi;
	*lo = fw->trace_lo;
}

void follow_commit(struct follow *fw, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		set_add(fw, ids[i]);
		fprintf(fw->sf, "%016llx\n", (unsigned long long)ids[i]);
	}
	fw->shipped += n;
	state_sync(fw);
}

/* Read what an earlier sidecar shipped; open the state file for appending. */
int follow_state_open(struct view *v, struct follow *fw)
{
	FILE *f = fopen(fw->state, "re");
	char line[128];

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long long a, b;

			if (sscanf(line, "trace %16llx%16llx", &a, &b) == 2) {
				fw->trace_hi = a;
				fw->trace_lo = b;
				fw->have_trace = 1;
			} else if (sscanf(line, "%16llx", &a) == 1 && a) {
				set_add(fw, a);
			}
		}
		fclose(f);
	}
	fw->sf = fopen(fw->state, "ae");
	if (!fw->sf) {
		fprintf(v->err, "agentprof-view export: --state %s: %s\n", fw->state,
			strerror(errno));
		return 2;
	}
	return 0;
}
