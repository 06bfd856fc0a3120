/* fuzz_reader.c: libFuzzer target for the span-file reader and run model (run_add_buf). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run;
	char msg[256];

	memset(&run, 0, sizeof(run));
	run_add_buf(&run, "fuzz.zst", data, size, msg, sizeof(msg));
	run_finish(&run);
	run_free(&run);
	return 0;
}
