/* names.c: stable text names for the record enums, and record initialisation to "unknown". */
#include <string.h>

#include "ap_records.h"

static const char *const cat_names[AP_CAT_MAX] = {
	[AP_CAT_UNKNOWN] = "unknown", [AP_CAT_LLM] = "llm",	    [AP_CAT_TOOL] = "tool",
	[AP_CAT_MEMORY] = "memory",   [AP_CAT_PROCESS] = "process",
};

#define AP_PROVIDER_NAME(ID, NAME, OTEL, PRICE, HOSTS) [AP_PROV_##ID] = NAME,
static const char *const prov_names[AP_PROV_MAX] = {[AP_PROV_NONE] = "none",
						    AP_PROVIDER_TABLE(AP_PROVIDER_NAME)};

#define AP_PROVIDER_ROW(ID, NAME, OTEL, PRICE, HOSTS) [AP_PROV_##ID] = {NAME, OTEL, PRICE, HOSTS},
static const struct ap_provider_row prov_rows[AP_PROV_MAX] = {AP_PROVIDER_TABLE(AP_PROVIDER_ROW)};

const struct ap_provider_row *ap_provider_row(unsigned p)
{
	return p > AP_PROV_NONE && p < AP_PROV_MAX ? &prov_rows[p] : NULL;
}

static const char *const vis_names[] = {"unknown", "plaintext", "libcurl", "opaque"};
static const char *const xerr_names[] = {"none",   "reset",    "eof",	 "timeout",
					 "closed", "protocol", "connect"};
static const char *const pev_names[] = {"unknown", "fork", "exec", "spawn", "wait", "exit"};
static const char *const diag_names[AP_DIAG_MAX] = {
	"unknown", "opaque_tls", "static_child", "drops",	  "config",	 "output",
	"http2",   "deepbind",	 "pystacks",	 "tls_signature", "fork_locked",
};

#define NAME(tab, i) ((i) < sizeof(tab) / sizeof(tab[0]) && tab[i] ? tab[i] : "unknown")

const char *ap_category_name(unsigned cat)
{
	return NAME(cat_names, cat);
}

const char *ap_provider_name(unsigned prov)
{
	return NAME(prov_names, prov);
}

const char *ap_visibility_name(unsigned vis)
{
	return NAME(vis_names, vis);
}

const char *ap_xerr_name(unsigned err)
{
	return NAME(xerr_names, err);
}

const char *ap_proc_kind_name(unsigned kind)
{
	return NAME(pev_names, kind);
}

const char *ap_diag_name(unsigned code)
{
	return NAME(diag_names, code);
}

static int lookup(const char *const *tab, unsigned n, unsigned first, const char *s)
{
	for (unsigned i = first; i < n; i++)
		if (tab[i] && strcmp(tab[i], s) == 0)
			return (int)i;
	return -1;
}

int ap_category_parse(const char *s)
{
	return lookup(cat_names, AP_CAT_MAX, 1, s);
}

int ap_provider_parse(const char *s)
{
	return lookup(prov_names, AP_PROV_MAX, 1, s);
}

/* Bytes of the union member each record type uses: only those are cleared (decoding is hot). */
static const size_t member_size[AP_REC_TYPE_MAX] = {
	[AP_REC_PROCESS] = sizeof(struct ap_process),
	[AP_REC_PROCESS_END] = sizeof(struct ap_process_end),
	[AP_REC_CONNECTION] = sizeof(struct ap_connection),
	[AP_REC_EXCHANGE] = sizeof(struct ap_exchange),
	[AP_REC_PROC_EVENT] = sizeof(struct ap_proc_event),
	[AP_REC_SPAN] = sizeof(struct ap_span),
	[AP_REC_COUNTER] = sizeof(struct ap_counter),
	[AP_REC_STACK] = sizeof(struct ap_stack),
	[AP_REC_MODULE] = sizeof(struct ap_module),
	[AP_REC_DIAG] = sizeof(struct ap_diag),
	[AP_REC_DNS] = sizeof(struct ap_dns),
	[AP_REC_PYCODE] = sizeof(struct ap_pycode),
	[AP_REC_PYSTACK] = sizeof(struct ap_pystack),
};

size_t ap_record_size(uint32_t type)
{
	return type < AP_REC_TYPE_MAX && member_size[type] ? member_size[type]
							   : sizeof(((struct ap_record *)0)->u);
}

static void exchange_unknowns(struct ap_exchange *x)
{
	x->port = x->status = AP_UNKNOWN;
	x->start_ns = x->req_sent_ns = x->first_byte_ns = x->end_ns = AP_UNKNOWN;
	x->dns_ns = x->connect_ns = x->tls_ns = x->first_event_ns = AP_UNKNOWN;
	x->usage.input = x->usage.output = x->usage.cache_read = AP_UNKNOWN;
	x->usage.cache_write = x->usage.reasoning = AP_UNKNOWN;
	x->grpc_status = AP_UNKNOWN;
}

void ap_exchange_init(struct ap_exchange *x)
{
	memset(x, 0, sizeof(*x));
	exchange_unknowns(x);
}

void ap_record_init(struct ap_record *r, uint32_t type)
{
	memset(&r->u, 0, ap_record_size(type));
	r->type = type;
	switch (type) {
	case AP_REC_PROCESS_END:
		r->u.process_end.end_ns = AP_UNKNOWN;
		r->u.process_end.exit_code = AP_UNKNOWN;
		r->u.process_end.overhead_ns = AP_UNKNOWN;
		break;
	case AP_REC_CONNECTION: {
		struct ap_connection *c = &r->u.connection;
		c->fd = AP_UNKNOWN;
		c->port = AP_UNKNOWN;
		c->open_ns = c->close_ns = c->connect_ns = AP_UNKNOWN;
		break;
	}
	case AP_REC_EXCHANGE:
		exchange_unknowns(&r->u.exchange);
		break;
	case AP_REC_PROC_EVENT:
		r->u.proc_event.time_ns = r->u.proc_event.end_ns = AP_UNKNOWN;
		r->u.proc_event.child_pid = r->u.proc_event.status = AP_UNKNOWN;
		break;
	case AP_REC_SPAN:
		r->u.span.start_ns = r->u.span.end_ns = AP_UNKNOWN;
		break;
	case AP_REC_COUNTER:
		r->u.counter.time_ns = r->u.counter.value = AP_UNKNOWN;
		break;
	case AP_REC_DIAG:
		r->u.diag.time_ns = AP_UNKNOWN;
		break;
	case AP_REC_DNS:
		r->u.dns.start_ns = r->u.dns.end_ns = AP_UNKNOWN;
		r->u.dns.result = AP_UNKNOWN;
		break;
	case AP_REC_PROCESS:
		r->u.process.pid = r->u.process.ppid = AP_UNKNOWN;
		r->u.process.start_ns = r->u.process.start_real_ns = AP_UNKNOWN;
		break;
	}
}
