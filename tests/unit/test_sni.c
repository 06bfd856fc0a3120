/* test_sni.c: SNI extraction from real ClientHellos, at every truncation, split records, garbage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sni.h"
#include "unit.h"

/*
 * Captured once from "openssl s_client -servername api.example.com -connect 127.0.0.1:PORT"
 * (OpenSSL 3.0.19) by a listener that saved the first record; the second with -noservername.
 */
static const char hello_sni_hex[] =
	"160301013c010001380303017a1831534b106e6daf63ad84498c5350479f4803c1fe72e7ea38be2e2c18f520"
	"f1b4d4f7c28047752016bb92a92cc74b1956ec991fed835d46a7ada36701df93003e130213031301c02cc030"
	"009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
	"003c0035002f00ff010000b100000014001200000f6170692e6578616d706c652e636f6d000b000403000102"
	"000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d002a0028"
	"040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009"
	"080304030303020301002d00020101003300260024001d00202d75ebbc0dce0e98f3bffb5d310918849d8575"
	"c21abf5dd04f1cbeec6386cd16";
static const char hello_nosni_hex[] =
	"1603010124010001200303ed54b74ab9404f66cec98affaff5101da624ec5ef4c6a4d251d8d63a74f1f22920"
	"26a3fba8a47667da1505a599c786a81db071015d8907c5f7f89d38283086aa8b003e130213031301c02cc030"
	"009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
	"003c0035002f00ff01000099000b000403000102000a00160014001d0017001e001900180100010101020103"
	"0104002300000016000000170000000d002a0028040305030603080708080809080a080b0804080508060401"
	"05010601030303010302040205020602002b0009080304030303020301002d00020101003300260024001d00"
	"201ee05dc584030ed6e8d5aff3202ee0a4d07d1241628a0bc969b5025d62e64f61";

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void test_real(void)
{
	uint8_t b[1024];
	char host[256];
	size_t n = unhex(hello_sni_hex, b), first = 0;

	CHECK(ap_tls_record_start(b, n));
	CHECK_EQ_INT(ap_sni_parse(b, n, host, sizeof(host)), 1);
	CHECK_EQ_STR(host, "api.example.com");

	/* every truncation: 0 until the name is complete, then 1; never -1, never a crash */
	for (size_t k = 0; k <= n; k++) {
		uint8_t *copy = malloc(k ? k : 1); /* exact size so ASan sees any overread */
		int r;

		memcpy(copy, b, k);
		r = ap_sni_parse(copy, k, host, sizeof(host));
		free(copy);
		if (r == 1 && !first)
			first = k;
		CHECK(r == (first && k >= first ? 1 : 0));
	}
	CHECK(first > 0 && first < n);

	/* a small destination cuts the name */
	CHECK_EQ_INT(ap_sni_parse(b, n, host, 4), 1);
	CHECK_EQ_STR(host, "api");

	n = unhex(hello_nosni_hex, b);
	CHECK_EQ_INT(ap_sni_parse(b, n, host, sizeof(host)), 0);
	CHECK_EQ_STR(host, "");
}

/* The same handshake message spread over two, then many, records. */
static void test_fragmented(void)
{
	uint8_t b[1024], f[4096];
	char host[256];
	size_t n = unhex(hello_sni_hex, b), hs = n - 5;

	for (size_t frag = 1; frag <= hs; frag += (frag < 16 ? 1 : 37)) {
		size_t o = 0;
		for (size_t i = 0; i < hs; i += frag) {
			size_t k = hs - i < frag ? hs - i : frag;
			f[o++] = 0x16;
			f[o++] = 0x03;
			f[o++] = 0x01;
			f[o++] = (uint8_t)(k >> 8);
			f[o++] = (uint8_t)k;
			memcpy(f + o, b + 5 + i, k);
			o += k;
		}
		host[0] = 'x';
		CHECK_EQ_INT(ap_sni_parse(f, o, host, sizeof(host)), 1);
		CHECK_EQ_STR(host, "api.example.com");
	}
	/* a non-handshake record in the middle stops the walk */
	memcpy(f, b, 5 + 40);
	f[3] = 0;
	f[4] = 40;
	memcpy(f + 45, "\x17\x03\x03\x00\x10", 5);
	CHECK_EQ_INT(ap_sni_parse(f, 45 + 5 + 16, host, sizeof(host)), 0);
}

static void test_not_tls(void)
{
	char host[64];
	static const char *const other[] = {"GET / HTTP/1.1\r\n\r\n", "PRI * HTTP/2.0\r\n",
					    "*1\r\n$4\r\nPING\r\n",
					    "\x00\x00\x00\x08\x04\xd2\x16\x2f"};

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK_EQ_INT(ap_sni_parse(other[i], strlen(other[i]) + 1, host, sizeof(host)), -1);
		CHECK_EQ_INT(ap_tls_record_start(other[i], strlen(other[i]) + 1), 0);
	}
	CHECK_EQ_INT(ap_sni_parse("\x16\x04\x01", 3, host, sizeof(host)), -1);
	CHECK_EQ_INT(ap_sni_parse("\x16", 1, host, sizeof(host)), 0);
	CHECK_EQ_INT(ap_sni_parse("", 0, host, sizeof(host)), 0);
	/* a handshake record that is not a ClientHello (type 2 = ServerHello) */
	CHECK_EQ_INT(ap_sni_parse("\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9, host, sizeof(host)),
		     0);
	CHECK_EQ_INT(ap_tls_record_start("\x17\x03\x03", 3), 1);
	CHECK_EQ_INT(ap_tls_record_start("\x14\x03\x00", 3), 1);
	CHECK_EQ_INT(ap_tls_record_start("\x18\x03\x03", 3), 0);
	CHECK_EQ_INT(ap_tls_record_start("\x16\x03\x05", 3), 0);
	CHECK_EQ_INT(ap_tls_record_start("\x16\x03", 2), 0);
}

/* Hostile lengths and names inside an otherwise valid hello. */
static void test_hostile(void)
{
	uint8_t b[1024], c[1024];
	char host[256];
	size_t n = unhex(hello_sni_hex, b), sni = 0;

	for (size_t i = 0; i + 19 < n; i++)
		if (memcmp(b + i, "api.example.com", 15) == 0)
			sni = i;
	CHECK(sni > 9);
	/* name with a byte outside [A-Za-z0-9.-_] */
	memcpy(c, b, n);
	c[sni + 3] = '/';
	CHECK_EQ_INT(ap_sni_parse(c, n, host, sizeof(host)), 0);
	/* name length larger than the extension */
	memcpy(c, b, n);
	c[sni - 2] = 0xff;
	CHECK_EQ_INT(ap_sni_parse(c, n, host, sizeof(host)), 0);
	/* random corruption anywhere, and random bytes behind a handshake header */
	srand(3);
	for (int iter = 0; iter < 20000; iter++) {
		size_t k = (size_t)rand() % (n + 1);
		uint8_t *copy;
		memcpy(c, b, n);
		for (int j = 0; j < 1 + rand() % 4; j++)
			c[rand() % n] = (uint8_t)rand();
		if (iter % 10 == 0)
			for (size_t j = 5; j < n; j++)
				c[j] = (uint8_t)rand();
		copy = malloc(k ? k : 1);
		memcpy(copy, c, k);
		int r = ap_sni_parse(copy, k, host, sizeof(host));
		free(copy);
		CHECK(r >= -1 && r <= 1);
		if (r == 1)
			CHECK(strlen(host) > 0 &&
			      strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
					   "OPQRSTUVWXYZ0123456789.-_") == strlen(host));
	}
}

int main(void)
{
	test_real();
	test_fragmented();
	test_not_tls();
	test_hostile();
	UNIT_DONE();
}
