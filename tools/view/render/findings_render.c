/* findings_render.c: the words of each finding kind and the JSON every command uses for them. */
#include <math.h>
#include <string.h>

#include "findings_render.h"
#include "report.h"

void finding_title(const struct run *run, const struct finding *f, char *buf, size_t len)
{
	const struct vxch *x = f->nev ? &run->xs[f->site] : NULL;
	struct tbuf b[4];
	char label[700] = "";
	size_t n = f->nev;

	if (x)
		x_label(run, x, label, sizeof(label));
	switch (f->kind) {
	case FK_SEQUENTIAL_LLM:
		setf(buf, len,
		     "%zu LLM calls run back to back on pid %d thread %u (largest gap %s), %s in "
		     "all: %s",
		     n, f->pid, f->tid, fmt_ns(&b[0], (double)f->gap_ns),
		     fmt_ns(&b[1], (double)f->span_ns), label);
		break;
	case FK_SLOW_TOOL:
	case FK_SLOW_FIRST_BYTE:
		setf(buf, len, "%zu call%s over %s%s (worst %s): %s", n, n > 1 ? "s" : "",
		     fmt_ns(&b[0], f->threshold),
		     f->kind == FK_SLOW_FIRST_BYTE ? " to the first byte" : "",
		     fmt_ns(&b[1], (double)f->longest_ns), label);
		break;
	case FK_REPEATED_REQUEST:
		setf(buf, len, "%zu identical requests (same method, path and body): %s", n, label);
		break;
	case FK_LLM_DOMINANT:
		setf(buf, len,
		     "LLM calls cover %s of the wall time (%s; threshold %s); evidence: the "
		     "longest "
		     "calls",
		     fmt_pct(&b[0], f->share), fmt_ns(&b[1], (double)f->span_ns),
		     fmt_pct(&b[3], f->threshold));
		break;
	case FK_HIGH_CALL_COUNT:
		setf(buf, len, "%zu calls to one endpoint (threshold %.0f): %s", n, f->threshold,
		     label);
		break;
	case FK_PROMPT_HEAVY:
		setf(buf, len,
		     "%zu prompt-heavy call%s: %s input vs %s output tokens (ratio %.0f): %s", n,
		     n > 1 ? "s" : "", fmt_count(&b[0], f->in_tok), fmt_count(&b[1], f->out_tok),
		     f->out_tok > 0 ? f->in_tok / f->out_tok : f->in_tok, label);
		break;
	case FK_CONTEXT_PRESSURE:
		setf(buf, len,
		     "%zu call%s use over %s of the context window (largest prompt %s of %s "
		     "tokens): %s",
		     n, n > 1 ? "s" : "", fmt_pct(&b[0], f->threshold),
		     fmt_count(&b[1], f->worst_tok), fmt_count(&b[2], f->window), label);
		break;
	case FK_NO_CONNECTION_REUSE:
		setf(buf, len,
		     "%zu of %zu calls to %s:%d opened a new %s connection (set-up %s in all)", n,
		     f->total, S(run, x->host), x->port, x->tls ? "TLS" : "TCP",
		     f->setup_ns ? fmt_ns(&b[0], (double)f->setup_ns) : "unknown");
		break;
	case FK_RATE_LIMITED:
	case FK_RETRY_STORM:
		setf(buf, len,
		     "1 request took %zu attempts (%zu failed, last %s%s): %s in failed attempts, "
		     "%s waiting between them: %s",
		     f->total, f->total - 1, f->status ? "status " : "",
		     f->status ? fmt_count(&b[2], f->status) : "no response",
		     fmt_ns(&b[0], (double)f->failed_ns), fmt_ns(&b[1], (double)f->gap_ns), label);
		break;
	default:
		setf(buf, len, "%s", finding_kind_name(f->kind));
	}
}

void finding_suggestion(const struct run *run, const struct finding *f, char *buf, size_t len)
{
	const struct vxch *x = f->nev ? &run->xs[f->site] : NULL;
	struct tbuf b[4];

	switch (f->kind) {
	case FK_SEQUENTIAL_LLM:
		setf(buf, len,
		     "If these calls do not need each other's output, issue them concurrently "
		     "(asyncio.gather, a thread pool, or a batch request): the chain would take "
		     "about "
		     "the longest call (%s) instead of %s.",
		     fmt_ns(&b[2], (double)f->longest_ns), fmt_ns(&b[3], (double)f->span_ns));
		break;
	case FK_SLOW_TOOL:
		setf(buf, len,
		     "Speed up or cache this %s call, or start it earlier and overlap it with "
		     "other "
		     "work; the estimate counts time above %s that is on the critical path.",
		     ap_category_name(x->cat), fmt_ns(&b[2], f->threshold));
		break;
	case FK_SLOW_FIRST_BYTE:
		if (x->cat == AP_CAT_LLM)
			setf(buf, len,
			     "The model takes long before answering: shorten or cache the prompt "
			     "(prompt caching), use a smaller or faster model for this step%s.",
			     x->stream ? ""
				       : ", and stream the response so work can start on the first "
					 "tokens");
		else
			setf(buf, len,
			     "The server is slow to answer: cache its results, or call it "
			     "concurrently with other work.");
		break;
	case FK_REPEATED_REQUEST:
		setf(buf, len,
		     "Cache the response of this request (keyed by its body) and reuse it: %zu of "
		     "the "
		     "%zu calls would not be needed.",
		     f->nev - 1, f->nev);
		break;
	case FK_LLM_DOMINANT:
		setf(buf, len,
		     "The run is bound by model latency: use a smaller or faster model for simple "
		     "steps, trim prompts, stream responses, cache answers, and run independent "
		     "calls "
		     "concurrently.");
		break;
	case FK_HIGH_CALL_COUNT:
		setf(buf, len,
		     "Batch these requests or cache their results; each call pays at least %s of "
		     "round "
		     "trip (the estimate is that latency for all but one call, bounded by their "
		     "critical-path time %s).",
		     fmt_ns(&b[0], (double)f->floor_ns), fmt_ns(&b[1], (double)f->cp_ns));
		break;
	case FK_PROMPT_HEAVY:
		setf(buf, len,
		     "Most tokens are prompt: enable prompt caching for the stable prefix (system "
		     "prompt, tools, documents), and send only the context each step needs.");
		break;
	case FK_CONTEXT_PRESSURE:
		setf(buf, len,
		     "The prompt is close to the model's limit: summarise or truncate history, "
		     "retrieve fewer documents, or move to a model with a larger window before "
		     "requests start failing.");
		break;
	case FK_NO_CONNECTION_REUSE:
		setf(buf, len,
		     "Reuse one client and its connection pool (HTTP keep-alive: requests.Session, "
		     "one "
		     "httpx/aiohttp client, one OpenAI client object) instead of connecting per "
		     "call; "
		     "the estimate is the set-up time of the extra connections on the critical "
		     "path.");
		break;
	case FK_RATE_LIMITED:
		setf(buf, len,
		     "The provider rate-limited this request: raise the account's rate limits, "
		     "lower "
		     "the concurrency or request rate (a client-side limiter), and respect "
		     "Retry-After instead of retrying at once; the estimate is the failed attempts "
		     "and the waits on the critical path.");
		break;
	case FK_RETRY_STORM:
		setf(buf, len,
		     "The server failed and the client retried: retry with exponential backoff and "
		     "jitter, respect Retry-After, lower the concurrency, or fail over to another "
		     "endpoint; the estimate is the failed attempts and the waits on the critical "
		     "path.");
		break;
	default:
		buf[0] = 0;
	}
}

static void jw_evidence(struct jw *w, const struct run *run, const struct finding *f, size_t ev_max)
{
	jw_key(w, "exchanges");
	jw_arr(w);
	for (size_t k = 0; k < f->nev && (!ev_max || k < ev_max); k++) {
		const struct vxch *x = &run->xs[f->ev[k]];

		jw_obj(w);
		jw_kint(w, "pid", run->procs[x->proc].pid);
		jw_kuint(w, "id", x->id);
		jw_kint(w, "tid", x->tid);
		jw_kint_opt(w, "start_ns", x->start);
		jw_kint_opt(w, "end_ns", x->end);
		jw_kint(w, "status", x->status);
		jw_kuint(w, "index", f->ev[k]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kuint(w, "exchanges_total", f->nev);
}

static void jw_finding(struct jw *w, const struct findings *fs, const struct run *run,
		       const struct finding *f, size_t ev_max)
{
	char text[1000];

	jw_obj(w);
	jw_kstr(w, "kind", finding_kind_name(f->kind));
	jw_kint(w, "saving_ns", f->saving_ns);
	jw_kint(w, "exclusive_saving_ns", f->exclusive_ns);
	if (f->overlaps >= 0)
		jw_kint(w, "overlaps_with", f->overlaps);
	else
		jw_knull(w, "overlaps_with");
	jw_kint(w, "group", f->group);
	jw_kdouble(w, "saving_usd", f->saving_usd);
	if (f->nev) {
		x_label(run, &run->xs[f->site], text, sizeof(text));
		jw_kstr(w, "site", text);
	}
	jw_kstr_opt(w, "called_from",
		    *finding_call_site(fs, run, f, text, sizeof(text)) ? text : NULL);
	finding_title(run, f, text, sizeof(text));
	jw_kstr(w, "title", text);
	finding_suggestion(run, f, text, sizeof(text));
	jw_kstr(w, "suggestion", text);
	if (f->kind == FK_RATE_LIMITED || f->kind == FK_RETRY_STORM) {
		jw_kint(w, "failed_ns", f->failed_ns);
		jw_kint(w, "backoff_ns", f->gap_ns);
		jw_kuint(w, "attempts", f->total);
		jw_kint(w, "status", f->status);
	}
	jw_evidence(w, run, f, ev_max);
	jw_obj_end(w);
}

void jw_findings(struct jw *w, const struct run *run, const struct findings *fs, size_t limit,
		 size_t ev_max)
{
	char text[1000];

	jw_kint(w, "wall_ns", fs->wall_ns);
	jw_kint(w, "saving_total_ns", fs->exclusive_ns);
	jw_kuint(w, "findings_total", fs->n);
	jw_key(w, "findings");
	jw_arr(w);
	for (size_t i = 0; i < fs->n && (!limit || i < limit); i++)
		jw_finding(w, fs, run, &fs->f[i], ev_max);
	jw_arr_end(w);
	jw_key(w, "groups");
	jw_arr(w);
	for (size_t i = 0; i < fs->ng; i++) {
		const struct fgroup *g = &fs->g[i];
		const struct finding *f = &fs->f[g->first];

		jw_obj(w);
		jw_kstr(w, "kind", finding_kind_name(g->kind));
		jw_kuint(w, "count", g->count);
		jw_kint(w, "saving_ns", g->saving_ns);
		jw_kint(w, "exclusive_saving_ns", g->exclusive_ns);
		jw_kdouble(w, "saving_usd", g->saving_usd);
		if (f->nev) {
			x_label(run, &run->xs[f->site], text, sizeof(text));
			jw_kstr(w, "site", text);
		}
		jw_kstr_opt(w, "called_from",
			    *finding_call_site(fs, run, f, text, sizeof(text)) ? text : NULL);
		finding_title(run, f, text, sizeof(text));
		jw_kstr(w, "title", text);
		finding_suggestion(run, f, text, sizeof(text));
		jw_kstr(w, "suggestion", text);
		jw_key(w, "findings");
		jw_arr(w);
		for (size_t k = 0; k < g->count && (!ev_max || k < ev_max); k++)
			jw_uint(w, g->members[k]);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}
