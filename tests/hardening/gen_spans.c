/* gen_spans.c: writes a span file with one process and N exchanges (one zstd frame per 10,000
 * records) for the viewer benchmark. Usage: gen_spans FILE N [distinct]; with "distinct", every
 * tool call has its own path with a query string ("/tool/item/17?page=17"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ap_codec.h"
#include "ap_records.h"

static void frame(FILE *f, const uint8_t *buf, size_t n)
{
	size_t cap = ZSTD_compressBound(n), z;
	void *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
	z = ZSTD_compress2(c, out, cap, buf, n);
	fwrite(out, 1, z, f);
	ZSTD_freeCCtx(c);
	free(out);
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	size_t cap = 16u << 20, len = 0;
	uint8_t *buf = malloc(cap), hdr[AP_HEADER_SIZE];
	struct ap_record r;
	FILE *f = fopen(argv[1], "wb");
	int64_t t = 1000000000;
	int distinct = argc > 3 && !strcmp(argv[3], "distinct");

	if (!f || !buf)
		return 2;
	fwrite(hdr, 1, ap_encode_file_header(hdr, sizeof(hdr)), f);
	ap_record_init(&r, AP_REC_PROCESS);
	r.u.process.pid = 4242;
	r.u.process.ppid = 1;
	strcpy(r.u.process.exe, "/usr/bin/python3");
	memcpy(r.u.process.argv, "python3\0agent.py", 17);
	r.u.process.argc = 2;
	r.u.process.start_ns = t;
	r.u.process.start_real_ns = 1763700000000000000ll;
	r.u.process.format_version = AP_FORMAT_VERSION;
	len += ap_encode(buf + len, cap - len, &r);
	for (long i = 0; i < n; i++) {
		ap_record_init(&r, AP_REC_EXCHANGE);
		r.u.exchange.id = (uint64_t)i + 10;
		r.u.exchange.conn_id = (uint64_t)(i % 50) + 1;
		r.u.exchange.tid = 4242 + (uint32_t)(i % 4);
		strcpy(r.u.exchange.method, i % 3 ? "POST" : "GET");
		strcpy(r.u.exchange.path, i % 3 ? "/v1/chat/completions" : "/tool/search");
		if (distinct && !(i % 3))
			snprintf(r.u.exchange.path, sizeof(r.u.exchange.path),
				 "/tool/item/%ld/with/a/longer/path/%ld?page=%ld", i, i * 7, i);
		strcpy(r.u.exchange.host, i % 3 ? "api.openai.com" : "tools.local");
		r.u.exchange.port = 443;
		r.u.exchange.status = 200;
		r.u.exchange.category = i % 3 ? AP_CAT_LLM : AP_CAT_TOOL;
		r.u.exchange.provider = i % 3 ? AP_PROV_OPENAI : AP_PROV_NONE;
		r.u.exchange.visibility = AP_VIS_PLAINTEXT;
		r.u.exchange.tls = 1;
		r.u.exchange.start_ns = t;
		r.u.exchange.req_sent_ns = t + 1000;
		r.u.exchange.first_byte_ns = t + 200000 + i % 1000;
		r.u.exchange.end_ns = t + 300000 + i % 5000;
		r.u.exchange.bytes_sent = 500;
		r.u.exchange.bytes_received = 700;
		if (i % 3) {
			strcpy(r.u.exchange.request_model, i % 2 ? "gpt-4o" : "gpt-4o-mini");
			strcpy(r.u.exchange.response_model, "gpt-4o-2024-08-06");
			r.u.exchange.usage.input = 1000 + i % 100;
			r.u.exchange.usage.output = 50 + i % 10;
		}
		t += 400000;
		len += ap_encode(buf + len, cap - len, &r);
		if ((i + 1) % 10000 == 0 || i + 1 == n) {
			frame(f, buf, len);
			len = 0;
		}
	}
	ap_record_init(&r, AP_REC_PROCESS_END);
	r.u.process_end.end_ns = t;
	r.u.process_end.exit_code = 0;
	r.u.process_end.clean = 1;
	len = ap_encode(buf, cap, &r);
	frame(f, buf, len);
	fclose(f);
	return 0;
}
