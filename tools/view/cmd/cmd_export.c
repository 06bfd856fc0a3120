/* cmd_export.c: "export --format jsonl": one JSON object per exchange and per process. */
#include <string.h>

#include "export.h"
#include "otlp.h"
#include "jsonw.h"
#include "view.h"

static void kname(struct jw *w, const char *k, const char *name, int known)
{
	jw_kstr_opt(w, k, known ? name : NULL);
}

/* The contract fields first (docs/agentprof-view.md), in its order; then additional fields. */
static void export_exchange(struct jw *w, const struct run *run, const struct vxch *x)
{
	jw_obj(w);
	jw_kstr(w, "kind", "exchange");
	jw_kint(w, "pid", run->procs[x->proc].pid);
	jw_kint(w, "tid", x->tid);
	jw_kint_opt(w, "conn", x->conn_id ? (int64_t)x->conn_id : UNK);
	kname(w, "category", ap_category_name(x->cat), x->cat != AP_CAT_UNKNOWN);
	kname(w, "provider", ap_provider_name(x->prov), x->prov != AP_PROV_NONE);
	jw_kstr_opt(w, "host", S(run, x->host));
	jw_kint_opt(w, "port", x->port);
	jw_kbool(w, "tls", x->tls);
	kname(w, "visibility", ap_visibility_name(x->vis), x->vis != AP_VIS_UNKNOWN);
	jw_kstr_opt(w, "method", S(run, x->method));
	jw_kstr_opt(w, "path", S(run, x->path));
	jw_kint_opt(w, "status", x->status);
	jw_kbool(w, "stream", x->stream);
	jw_kstr_opt(w, "request_model", S(run, x->req_model));
	jw_kstr_opt(w, "response_model", S(run, x->resp_model));
	jw_kint_opt(w, "input_tokens", x->in);
	jw_kint_opt(w, "output_tokens", x->out);
	jw_kint_opt(w, "cache_read_tokens", x->cache_read);
	jw_kint_opt(w, "reasoning_tokens", x->reasoning);
	jw_kint_opt(w, "start_ns", x->start);
	jw_kint_opt(w, "first_byte_ns", x->first_byte);
	jw_kint_opt(w, "end_ns", x->end);
	jw_kuint(w, "bytes_sent", x->bytes_sent);
	jw_kuint(w, "bytes_received", x->bytes_received);
	/* additions beyond the contract */
	jw_kuint(w, "id", x->id);
	jw_kint_opt(w, "cache_write_tokens", x->cache_write);
	jw_kint_opt(w, "request_sent_ns", x->req_sent);
	jw_kint_opt(w, "first_event_ns", x->first_event);
	jw_kint_opt(w, "dns_ns", x->dns_ns);
	jw_kint_opt(w, "connect_ns", x->connect_ns);
	jw_kint_opt(w, "tls_ns", x->tls_ns);
	jw_kbool(w, "new_connection", x->new_conn);
	jw_kuint(w, "events", x->events);
	kname(w, "error", ap_xerr_name(x->error), x->error != AP_XERR_NONE);
	jw_kstr_opt(w, "content_type", S(run, x->ctype));
	if (x->grpc_status >= 0) /* gRPC exchanges only */
		jw_kint(w, "grpc_status", x->grpc_status);
	jw_kstr_opt(w, "agent", S(run, x->agent));
	jw_kstr_opt(w, "span", x->span >= 0 ? S(run, run->spans[x->span].name) : NULL);
	jw_key(w, "request_hash");
	if (x->request_hash) {
		char h[20];

		snprintf(h, sizeof(h), "%016llx", (unsigned long long)x->request_hash);
		jw_str(w, h);
	} else {
		jw_null(w);
	}
	jw_obj_end(w);
	jw_end(w);
}

static void export_argv(struct jw *w, const struct run *run, const struct vproc *p)
{
	const char *a = S(run, p->argv);
	size_t n = strtab_len(&run->st, p->argv), o = 0;

	jw_key(w, "argv");
	if (!p->argc) {
		jw_null(w);
		return;
	}
	jw_arr(w);
	for (uint32_t i = 0; i < p->argc && o < n; i++) {
		size_t l = strnlen(a + o, n - o);

		jw_strn(w, a + o, l);
		o += l + 1;
	}
	jw_arr_end(w);
}

static void export_process(struct jw *w, const struct run *run, const struct vproc *p)
{
	jw_obj(w);
	jw_kstr(w, "kind", "process");
	jw_kint(w, "pid", p->pid);
	jw_kint_opt(w, "ppid", p->ppid);
	jw_kstr_opt(w, "exe", S(run, p->exe));
	export_argv(w, run, p);
	jw_kint_opt(w, "start_ns", p->start);
	jw_kint_opt(w, "end_ns", p->end);
	jw_key(w, "exit_code");
	if (p->exit_code != AP_UNKNOWN) /* recorded, or the parent's wait status */
		jw_int(w, p->exit_code);
	else
		jw_null(w);
	/* additions beyond the contract */
	jw_kstr_opt(w, "end_by", p->end_by != PEND_NONE ? proc_end_by_name(p->end_by) : NULL);
	jw_kstr_opt(w, "agent", S(run, p->agent));
	jw_kdouble(w, "sample_rate", 1.0 / proc_weight(p));
	jw_kuint(w, "dropped_records", p->dropped);
	jw_kstr_opt(w, "tool_version", S(run, p->tool_version));
	jw_obj_end(w);
	jw_end(w);
}

int cmd_export(struct view *v)
{
	const struct run *run = &v->a.run;
	struct jw w;

	if (v->o.follow && !strcmp(v->o.format, "otlp"))
		return export_follow(v); /* the sidecar loads the run itself, again and again */
	if (strcmp(v->o.format, "jsonl"))
		return export_dispatch(v); /* export_common.c */
	jw_init(&w, v->out, 0);
	for (size_t i = 0; i < run->n_procs; i++)
		if (v->a.psel[i])
			export_process(&w, run, &run->procs[i]);
	for (size_t i = 0; i < run->n_xs; i++)
		if (v->a.xsel[i])
			export_exchange(&w, run, &run->xs[i]);
	return 0;
}
