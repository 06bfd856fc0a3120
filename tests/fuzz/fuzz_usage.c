/* fuzz_usage.c: libFuzzer target for the JSON scanner and the usage extractor (SSE/JSON
 * bodies): the input is fed in chunks of varying size, then finished. */
#include <stdint.h>
#include <string.h>

#include "json_scan.h"
#include "usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ap_json j;
	struct ap_usage_x x;
	struct ap_usage u, o;
	char model[AP_STR_MODEL], path[128];
	size_t off = 0, step = size ? (data[0] % 17) + 1 : 1;

	ap_json_init(&j);
	ap_usage_x_init(&x);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		ap_json_feed(&j, data + off, n, ap_usage_x_field, &x);
		off += n;
	}
	ap_json_end(&j, ap_usage_x_field, &x);
	(void)ap_json_failed(&j);
	model[0] = 0;
	ap_usage_x_finish(&x, &u, model, sizeof(model));
	ap_usage_otel(size ? data[size - 1] % AP_API_MAX : 0, &u, &o);
	/* the input as a path too */
	memcpy(path, data, size < sizeof(path) - 1 ? size : sizeof(path) - 1);
	path[size < sizeof(path) - 1 ? size : sizeof(path) - 1] = 0;
	(void)ap_usage_api(path);
	(void)ap_usage_path_model(path, model, sizeof(model));
	return 0;
}
