/* fuzz_http.c: libFuzzer target for the HTTP/1.1 + SSE parser (ap_http_out / ap_http_in).
 * Input: a sequence of chunks "tag len bytes"; tag bit 0 picks the direction (out/in), bit 1
 * closes the connection, bit 2 resets it; real zlib is used for compressed bodies. */
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ap_zlib_api zapi = {inflateInit2_, inflate, inflateEnd};
static volatile uint64_t sink;

static void emit(void *ctx, struct ap_exchange *x)
{
	(void)ctx;
	/* touch what a consumer reads */
	sink += x->status + x->bytes_sent + x->bytes_received + strlen(x->path) + strlen(x->host) +
		strlen(x->request_model) + strlen(x->response_model) + (uint64_t)x->usage.input;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ap_http h;
	struct ap_http_env env = {.emit = emit, .zlib = &zapi};
	int64_t now = 1000;
	size_t o = 0;

	ap_http_init(&h, &env);
	while (o + 2 <= size) {
		uint8_t tag = data[o], len = data[o + 1];
		size_t n = len;

		o += 2;
		if (n > size - o)
			n = size - o;
		now += 1000;
		if (tag & 4) {
			ap_http_reset(&h);
			ap_http_init(&h, &env);
		} else if (tag & 2) {
			ap_http_close(&h, now, tag >> 4);
		} else if (tag & 1) {
			ap_http_in(&h, data + o, n, now);
		} else {
			ap_http_out(&h, data + o, n, now);
		}
		o += n;
	}
	ap_http_close(&h, now + 1, 0);
	ap_http_reset(&h);
	return 0;
}
