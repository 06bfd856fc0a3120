/* hook_api.c: the public annotation API (include/agentprof.h): manual spans and agent labels. */
#include <string.h>

#include "agentprof.h"
#include "rt.h"
#include "rt_pystack.h"
#include "rt_stack.h"

#define SPAN_DEPTH 16
#define SPAN_NAME  48

/* Open spans of this thread; the ids live in ap_tls.span_stack so exchanges can refer to them. */
struct open_span {
	int64_t start_ns;
	uint64_t stack_id;
	uint64_t pystack_id;
	uint8_t category;
	char name[SPAN_NAME];
};
static __thread struct open_span open_spans[SPAN_DEPTH] __attribute__((tls_model("initial-exec")));

AP_EXPORT void agentprof_span_begin(const char *name, const char *category)
{
	uint32_t d = ap_tls.span_depth;
	int cat;

	if (!ap_active())
		return;
	if (d >= SPAN_DEPTH) {
		ap_tls.span_depth++; /* keep begin/end balanced; deeper spans are not recorded */
		return;
	}
	cat = category ? ap_category_parse(category) : -1;
	open_spans[d].start_ns = ap_now();
	ap_tls.guard++;
	open_spans[d].stack_id = ap_stack_capture();
	open_spans[d].pystack_id = ap_pystack_capture();
	ap_tls.guard--;
	open_spans[d].category = (uint8_t)(cat > 0 ? cat : AP_CAT_UNKNOWN);
	ap_strlcpy(open_spans[d].name, name ? name : "span", SPAN_NAME);
	ap_tls.span_stack[d] = ap_new_id();
	ap_tls.span_depth = d + 1;
}

AP_EXPORT void agentprof_span_end(void)
{
	struct ap_record r;
	uint32_t d = ap_tls.span_depth;

	if (!d || !ap_active())
		return;
	ap_tls.span_depth = --d;
	if (d >= SPAN_DEPTH)
		return;
	ap_tls.guard++;
	ap_record_init(&r, AP_REC_SPAN);
	r.u.span.id = ap_tls.span_stack[d];
	r.u.span.parent_id = d ? ap_tls.span_stack[d - 1] : 0;
	r.u.span.tid = ap_gettid();
	ap_strlcpy(r.u.span.name, open_spans[d].name, sizeof(r.u.span.name));
	r.u.span.category = open_spans[d].category;
	r.u.span.start_ns = open_spans[d].start_ns;
	r.u.span.end_ns = ap_now();
	r.u.span.stack_id = open_spans[d].stack_id;
	r.u.span.pystack_id = open_spans[d].pystack_id;
	ap_strlcpy(r.u.span.agent, ap_tls.agent[0] ? ap_tls.agent : ap_rt.cfg.agent,
		   sizeof(r.u.span.agent));
	ap_record(&r);
	ap_tls.guard--;
}

AP_EXPORT void agentprof_set_agent(const char *name)
{
	ap_strlcpy(ap_tls.agent, name ? name : "", sizeof(ap_tls.agent));
}
