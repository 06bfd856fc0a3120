/*
 * test_view_reader.c: the tolerant span-file reader and the run model: truncation at every
 * byte, corruption, bad headers, oversized frames, time anchoring, usage normalisation, prices.
 */
#include <math.h>
#include <stdlib.h>

#include <zstd.h>

#include <unistd.h>
#include "ap_codec.h"
#include "model.h"
#include "prices.h"
#include "reader.h"
#include "util.h"
#include "view.h"
#include "unit.h"

#define REAL0 1763700000000000000ll

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 1024;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* Append one zstd frame holding the encoded records (checksum flag as given). */
static void frame(struct buf *b, const struct ap_record *recs, size_t n, int checksum)
{
	uint8_t raw[1 << 16], out[1 << 17];
	size_t len = 0, k;
	ZSTD_CCtx *c = ZSTD_createCCtx();

	for (size_t i = 0; i < n; i++)
		len += ap_encode(raw + len, sizeof(raw) - len, &recs[i]);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
	k = ZSTD_compress2(c, out, sizeof(out), raw, len);
	put(b, out, k);
	ZSTD_freeCCtx(c);
}

/* Append one checksummed zstd frame holding raw[0..len) as it is. */
static void frame_raw(struct buf *b, const uint8_t *raw, size_t len)
{
	uint8_t out[1 << 12];
	ZSTD_CCtx *c = ZSTD_createCCtx();

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	put(b, out, ZSTD_compress2(c, out, sizeof(out), raw, len));
	ZSTD_freeCCtx(c);
}

static void header(struct buf *b)
{
	uint8_t h[AP_HEADER_SIZE];

	ap_encode_file_header(h, sizeof(h));
	put(b, h, sizeof(h));
}

static struct ap_record proc_rec(int pid, int64_t mono0)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROCESS);
	r.u.process.pid = pid;
	r.u.process.ppid = 1;
	strcpy(r.u.process.exe, "/bin/test");
	r.u.process.start_ns = mono0;
	r.u.process.start_real_ns = REAL0;
	return r;
}

static struct ap_record xch_rec(uint64_t id, int64_t a, int64_t b, const char *path)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_EXCHANGE);
	r.u.exchange.id = id;
	r.u.exchange.category = AP_CAT_LLM;
	r.u.exchange.provider = AP_PROV_ANTHROPIC;
	strcpy(r.u.exchange.path, path);
	strcpy(r.u.exchange.host, "api.anthropic.com");
	strcpy(r.u.exchange.request_model, "claude-haiku-4-5");
	r.u.exchange.start_ns = a;
	r.u.exchange.first_byte_ns = a > INT64_MAX - 100 ? AP_UNKNOWN : a + 100;
	r.u.exchange.end_ns = b;
	r.u.exchange.usage.input = 100;
	r.u.exchange.usage.cache_read = 50;
	r.u.exchange.usage.cache_write = 25;
	r.u.exchange.usage.output = 10;
	return r;
}

/* A file: header, frame(process), frame(2 exchanges), frame(exchange + end). */
static struct buf sample(size_t *frame_ends)
{
	struct buf b = {0};
	struct ap_record r[3];

	header(&b);
	r[0] = proc_rec(42, 5000);
	frame(&b, r, 1, 1);
	frame_ends[0] = b.n;
	r[0] = xch_rec(1, 6000, 7000, "/v1/messages");
	r[1] = xch_rec(2, 7000, 9000, "/v1/messages");
	frame(&b, r, 2, 1);
	frame_ends[1] = b.n;
	r[0] = xch_rec(3, 9000, 9500, "/v1/chat/completions");
	ap_record_init(&r[1], AP_REC_PROCESS_END);
	r[1].u.process_end.end_ns = 10000;
	r[1].u.process_end.exit_code = 0;
	frame(&b, r, 2, 1);
	frame_ends[2] = b.n;
	return b;
}

static int load(const uint8_t *p, size_t n, struct run *run, char *msg, size_t len)
{
	memset(run, 0, sizeof(*run));
	return run_add_buf(run, "mem", p, n, msg, len);
}

static void test_complete(void)
{
	size_t ends[3];
	struct buf b = sample(ends);
	struct run run;
	char msg[256];

	CHECK_EQ_INT(load(b.p, b.n, &run, msg, sizeof(msg)), 0);
	run_finish(&run);
	CHECK_EQ_INT(run.files[0].st.frames, 3);
	CHECK_EQ_INT(run.files[0].st.damaged, 0);
	CHECK_EQ_INT(run.n_procs, 1);
	CHECK_EQ_INT(run.n_xs, 3);
	/* anchoring: epoch = mono - 5000 + REAL0 */
	CHECK_EQ_INT(run.xs[0].start, REAL0 + 1000);
	CHECK_EQ_INT(run.procs[0].end, REAL0 + 5000);
	CHECK_EQ_INT(run.start, REAL0);
	CHECK_EQ_INT(run.end, REAL0 + 5000);
	/* Anthropic input excludes cache: normalised input = 100 + 50 + 25 */
	CHECK_EQ_INT(run.xs[0].in, 175);
	CHECK_EQ_INT(run.xs[0].cache_read, 50);
	/* the OpenAI shape is kept as reported */
	CHECK_EQ_INT(run.xs[2].in, 100);
	CHECK_EQ_INT(run.xs[0].reasoning, UNK);
	run_free(&run);
	free(b.p);
}

/* Every prefix: never crashes; frames used = complete frames in the prefix; a note when cut. */
static void test_truncation(void)
{
	size_t ends[3];
	struct buf b = sample(ends);
	int bad = 0;

	for (size_t cut = 0; cut <= b.n; cut++) {
		struct run run;
		char msg[256];
		int rc = load(b.p, cut, &run, msg, sizeof(msg));
		uint64_t want = cut >= ends[2] ? 3 : cut >= ends[1] ? 2 : cut >= ends[0] ? 1 : 0;

		if (cut < AP_HEADER_SIZE) {
			bad += rc != -1;
		} else {
			bad += rc != 0 || run.files[0].st.frames != want;
			bad += (cut != b.n && cut != ends[0] && cut != ends[1] && cut != ends[2] &&
				cut != AP_HEADER_SIZE) != (run.files[0].st.damaged == 1);
			bad += run.files[0].st.bytes_ignored !=
			       cut - (want ? ends[want - 1] : AP_HEADER_SIZE);
		}
		run_free(&run);
	}
	CHECK_EQ_INT(bad, 0);
	free(b.p);
}

static void test_corruption(void)
{
	size_t ends[3];
	struct buf b = sample(ends);
	unsigned seed = 7;
	struct run run;
	char msg[256];

	/* a flipped byte in frame 2: frame 1 kept, the rest ignored, "corrupt" */
	b.p[ends[1] + (ends[2] - ends[1]) / 2] ^= 0x55;
	CHECK_EQ_INT(load(b.p, b.n, &run, msg, sizeof(msg)), 0);
	CHECK_EQ_INT(run.files[0].st.damaged, 2);
	CHECK_EQ_INT(run.files[0].st.frames, 2);
	CHECK_EQ_INT(run.files[0].st.bytes_ignored, ends[2] - ends[1]);
	run_free(&run);
	b.p[ends[1] + (ends[2] - ends[1]) / 2] ^= 0x55;

	/* random damage anywhere after the header: never crashes, never more frames */
	for (int it = 0; it < 3000; it++) {
		uint8_t *p = malloc(b.n);
		int flips = 1 + rand_r(&seed) % 4;

		memcpy(p, b.p, b.n);
		for (int k = 0; k < flips; k++)
			p[AP_HEADER_SIZE + (size_t)rand_r(&seed) % (b.n - AP_HEADER_SIZE)] ^=
				(uint8_t)(1 + rand_r(&seed) % 255);
		if (load(p, b.n, &run, msg, sizeof(msg)) == 0) {
			run_finish(&run);
			CHECK(run.files[0].st.frames <= 3);
		}
		run_free(&run);
		free(p);
	}
	free(b.p);
}

static void test_bad_files(void)
{
	struct buf b = {0};
	struct run run;
	char msg[256];
	struct ap_record r = proc_rec(1, 0);
	uint8_t hdr[AP_HEADER_SIZE];
	uint8_t skip[12] = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};

	CHECK_EQ_INT(
		load((const uint8_t *)"hello world, not a span file", 28, &run, msg, sizeof(msg)),
		-1);
	CHECK(strstr(msg, "not an agentprof span file") != NULL);
	run_free(&run);
	CHECK_EQ_INT(load((const uint8_t *)"", 0, &run, msg, sizeof(msg)), -1);
	run_free(&run);

	/* newer format version */
	ap_encode_file_header(hdr, sizeof(hdr));
	hdr[20] = 99;
	CHECK_EQ_INT(load(hdr, sizeof(hdr), &run, msg, sizeof(msg)), -1);
	CHECK(strstr(msg, "newer") != NULL);
	run_free(&run);

	/* a frame without a checksum is not trusted; a skippable frame is skipped */
	header(&b);
	put(&b, skip, sizeof(skip));
	frame(&b, &r, 1, 1);
	frame(&b, &r, 1, 0);
	CHECK_EQ_INT(load(b.p, b.n, &run, msg, sizeof(msg)), 0);
	CHECK_EQ_INT(run.files[0].st.frames, 1);
	CHECK_EQ_INT(run.files[0].st.damaged, 2);
	CHECK(strstr(run.files[0].st.problem, "checksum") != NULL);
	run_free(&run);
	free(b.p);
}

/* A file of format version 1 (times whole, fields in number order) reads as it always did. */
static void test_version1_file(void)
{
	struct buf b = {0};
	struct run run;
	char msg[256];
	struct ap_record r = proc_rec(7, 5000);
	uint8_t raw[256];
	size_t o, n;

	header(&b);
	b.p[20] = 1; /* the version field of the header */
	frame(&b, &r, 1, 1);
	o = 3; /* type, two-byte length, then the fields (signed ones zigzag: 2v) */
	o += unit_varint_field(raw + o, 1, 9);
	o += unit_varint_field(raw + o, 10, AP_CAT_LLM);
	o += unit_varint_field(raw + o, 17, 2 * 6000);
	o += unit_varint_field(raw + o, 18, 2 * 6010);
	o += unit_varint_field(raw + o, 19, 2 * 6400);
	o += unit_varint_field(raw + o, 20, 2 * 8000);
	o += unit_varint_field(raw + o, 30, 2 * 12);
	n = o - 3;
	raw[0] = AP_REC_EXCHANGE;
	raw[1] = (uint8_t)(n | 0x80);
	raw[2] = (uint8_t)(n >> 7);
	frame_raw(&b, raw, o);
	CHECK_EQ_INT(load(b.p, b.n, &run, msg, sizeof(msg)), 0);
	run_finish(&run);
	CHECK_EQ_INT(run.files[0].st.damaged, 0);
	CHECK_EQ_INT(run.n_xs, 1);
	CHECK_EQ_INT(run.xs[0].start, REAL0 + 1000);
	CHECK_EQ_INT(run.xs[0].req_sent, REAL0 + 1010);
	CHECK_EQ_INT(run.xs[0].first_byte, REAL0 + 1400);
	CHECK_EQ_INT(run.xs[0].end, REAL0 + 3000);
	CHECK_EQ_INT(run.xs[0].in, 12);
	run_free(&run);
	free(b.p);
}

/* A frame header declaring an absurd content size is refused before allocating. */
static void test_huge_frame(void)
{
	struct buf b = {0};
	struct run run;
	char msg[256];
	/* magic, FHD: FCS 8 bytes + single segment + checksum, then content size 2^40 */
	uint8_t f[] = {0x28, 0xB5, 0x2F, 0xFD, 0xE4, 0, 0, 0, 0, 0,
		       1,    0,	   0,	 0x01, 0,    0, 0, 0, 0, 0};

	header(&b);
	put(&b, f, sizeof(f));
	CHECK_EQ_INT(load(b.p, b.n, &run, msg, sizeof(msg)), 0);
	CHECK_EQ_INT(run.files[0].st.frames, 0);
	CHECK(run.files[0].st.damaged != 0);
	run_free(&run);
	free(b.p);
}

/* Times out of range or out of order become unknown instead of poisoning the analyses. */
static void test_bad_times(void)
{
	struct buf b = {0};
	struct run run;
	char msg[256];
	struct ap_record r[3];

	header(&b);
	r[0] = proc_rec(7, 1000);
	r[1] = xch_rec(1, 5000, 4000, "/v1/messages"); /* ends before it starts */
	r[2] = xch_rec(2, INT64_MAX - 5, INT64_MAX - 1, "/v1/messages");
	frame(&b, r, 3, 1);
	CHECK_EQ_INT(load(b.p, b.n, &run, msg, sizeof(msg)), 0);
	run_finish(&run);
	CHECK_EQ_INT(run.n_xs, 2);
	CHECK(run.bad_times >= 2);
	for (size_t i = 0; i < run.n_xs; i++)
		CHECK(run.xs[i].end == UNK || run.xs[i].end >= run.xs[i].start);
	run_free(&run);
	free(b.p);
}

static void test_prices(void)
{
	char msg[256];
	struct prices *p = prices_load(NULL, msg, sizeof(msg));
	struct vxch x = {
		.in = 1000, .out = 100, .cache_read = UNK, .cache_write = UNK, .reasoning = UNK};
	const struct price *e;
	char path[64];
	FILE *f;

	CHECK(p != NULL);
	e = prices_find(p, "gpt-4o-2024-08-06", AP_PROV_OPENAI); /* dated: prefix match */
	CHECK(e && !strcmp(e->name, "gpt-4o"));
	CHECK(fabs(price_cost(e, &x) - (1000 * 2.5e-6 + 100 * 10e-6)) < 1e-12);
	e = prices_find(p, "gpt-4o-mini", 0);
	CHECK(e && !strcmp(e->name, "gpt-4o-mini"));
	CHECK(prices_find(p, "no-such-model", 0) == NULL);
	/* cache reads at their own rate: claude-haiku-4-5 */
	x.in = 2500;
	x.cache_read = 500;
	x.out = 200;
	e = prices_find(p, "claude-haiku-4-5-20251001", AP_PROV_ANTHROPIC);
	CHECK(e && fabs(price_cost(e, &x) - (2000 * 1e-6 + 500 * 1e-7 + 200 * 5e-6)) < 1e-12);
	x.in = UNK;
	CHECK(isnan(price_cost(e, &x)));
	prices_free(p);

	snprintf(path, sizeof(path), "/tmp/ap_test_prices.%d.json", (int)getpid());
	f = fopen(path, "w");
	fputs("{\"sample_spec\":{\"input_cost_per_token\":1},"
	      "\"openai/my-model\":{\"input_cost_per_token\":1e-6,\"output_cost_per_token\":2e-6,"
	      "\"max_input_tokens\":4096}}",
	      f);
	fclose(f);
	p = prices_load(path, msg, sizeof(msg));
	CHECK(p != NULL);
	e = prices_find(p, "my-model", AP_PROV_OPENAI); /* provider-prefixed key */
	CHECK(e && e->max_input == 4096 && e->out == 2e-6);
	CHECK(prices_find(p, "sample_spec", 0) == NULL);
	prices_free(p);
	f = fopen(path, "w");
	fputs("{\"a\": [1, 2,]}", f);
	fclose(f);
	CHECK(prices_load(path, msg, sizeof(msg)) == NULL);
	CHECK(strstr(msg, "line 1") != NULL);
	remove(path);
}

int main(void)
{
	test_complete();
	test_truncation();
	test_corruption();
	test_bad_files();
	test_version1_file();
	test_huge_frame();
	test_bad_times();
	test_prices();
	UNIT_DONE();
}
