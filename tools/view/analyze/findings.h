/* findings.h: bottleneck detection: findings as data, grouped by call site, ranked by saving. */
#ifndef AGENTPROF_VIEW_FINDINGS_H
#define AGENTPROF_VIEW_FINDINGS_H

#include "critpath.h"

struct prices;

enum finding_kind {
	FK_SEQUENTIAL_LLM,
	FK_SLOW_TOOL,
	FK_SLOW_FIRST_BYTE,
	FK_REPEATED_REQUEST,
	FK_LLM_DOMINANT,
	FK_HIGH_CALL_COUNT,
	FK_PROMPT_HEAVY,
	FK_CONTEXT_PRESSURE,
	FK_NO_CONNECTION_REUSE,
	FK_RATE_LIMITED, /* a request repeated after 429 */
	FK_RETRY_STORM,	 /* a request repeated after 5xx, a timeout or a failed connection */
	FK_MAX
};

/*
 * One finding: what was measured, never prose (the renderers word it). Which measurements are
 * set depends on the kind; the others stay 0. Measurements only one kind (or one pair of
 * kinds) sets share memory (anonymous union): a run of a million exchanges can have a third of a
 * million sequential findings, and the union keeps them at 128 bytes each (issue 15).
 */
struct finding {
	enum finding_kind kind;
	uint32_t site;	      /* the exchange that names the call site */
	int64_t saving_ns;    /* estimated wall-time saving of this finding on its own */
	int64_t exclusive_ns; /* the part of it no higher-ranked finding already claims */
	int32_t overlaps;     /* first higher-ranked finding sharing critical-path time, -1 none */
	int32_t group;	      /* index into findings.g */
	double saving_usd;    /* estimated cost saving, NAN when not estimated */
	uint32_t *ev;	      /* evidence: exchange indexes in time order */
	size_t nev;
	double threshold;   /* the threshold that fired (ns, share, count or ratio) */
	int64_t span_ns;    /* sequential: first start .. last end; llm_dominant: llm wall */
	int64_t longest_ns; /* sequential: longest call; slow_*: worst value */
	int64_t gap_ns;	    /* sequential: largest gap; rate_limited/retry: backoff time */
	size_t total;	    /* reuse: calls to the host; retries: attempts; repeats: requests */
	union {		    /* by kind */
		struct {    /* sequential_llm */
			int32_t pid;  /* the process */
			uint32_t tid; /* the thread */
		};
		double share;		  /* llm_dominant: llm wall / run wall */
		struct {		  /* high_call_count */
			int64_t floor_ns; /* least round trip */
			int64_t cp_ns;	  /* critical-path time of the evidence */
		};
		struct {			  /* prompt_heavy / context_pressure */
			double in_tok, out_tok;	  /* sums */
			double worst_tok, window; /* context_pressure: largest prompt, the window */
		};
		int64_t setup_ns; /* no_connection_reuse: set-up of the extra connections */
		struct {	  /* rate_limited / retry_storm */
			int64_t failed_ns; /* time in failed attempts */
			int status;	   /* the last failing status, 0 = no response */
		};
	};
};

/* Findings of one kind at one call site (endpoint, stack and agent of the site exchange). */
struct fgroup {
	enum finding_kind kind;
	size_t count;
	int64_t saving_ns, exclusive_ns;
	double saving_usd; /* NAN when no member has one */
	size_t first;	   /* the member with the largest saving */
	size_t *members;   /* finding indexes in rank order */
};

struct findings {
	struct finding *f; /* ranked by saving_ns, then kind */
	size_t n, cap;
	struct fgroup *g; /* ranked by summed saving */
	size_t ng;
	int64_t wall_ns;      /* the window the savings are measured against */
	int64_t exclusive_ns; /* the sum of every exclusive_ns: at most wall_ns */
	struct pystacks *py;  /* Python call sites of the run's exchanges (pystack.h) */
	uint32_t **evb;	      /* blocks the findings' evidence arrays are cut from */
	size_t n_evb, cap_evb, ev_left;
};

/* The Python call site of a finding ("agent.py:Http.request:79 < Agent.chat:120"), or "" when
 * its site exchange has no Python stack. */
const char *finding_call_site(const struct findings *fs, const struct run *run,
			      const struct finding *f, char *buf, size_t n);

const char *finding_kind_name(enum finding_kind k);

/* Detect every kind with the thresholds in v->o.th; rank, attribute overlaps, group. */
void findings_detect(const struct view *v, const struct vrun *r, struct findings *out);
void findings_free(struct findings *fs);

#endif
