/* rt_exchange.c: a finished exchange handed on: the live metrics first, then the writer. */
#include "rt.h"
#include "rt_metrics.h"

void ap_exchange_write(const struct ap_exchange *x)
{
	ap_metrics_observe(x);
	ap_record_exchange(x);
}
