/* rt_exchange.c: a finished exchange handed on: the live metrics first, then the writer. */
#include "rt.h"
#include "rt_metrics.h"

void ap_exchange_write(const struct ap_exchange *x)
{
	struct ap_record r;

	ap_metrics_observe(x);
	r.type = AP_REC_EXCHANGE;
	r.u.exchange = *x;
	ap_record(&r);
}
