/* fuzz_sni.c: libFuzzer target for the TLS record sniffer and the ClientHello SNI parser. */
#include <stdint.h>

#include "sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[256];

	(void)ap_tls_record_start(data, size);
	(void)ap_sni_parse(data, size, host, sizeof(host));
	(void)ap_sni_parse(data, size, host, 8); /* a small destination too */
	return 0;
}
