/* test_writer_format.c: the reader's side of the writer's format: a corrupt middle frame is
 * skipped and the later frames read (resynchronisation), the live segment's committed entries
 * are read, uncommitted reservations skipped, and a slot already written as a frame (the
 * pending marker) is not read twice. */
#include <stdlib.h>

#include <zstd.h>

#include "ap_codec.h"
#include "reader.h"
#include "unit.h"

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

static struct ap_record exch(uint64_t id)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_EXCHANGE);
	r.u.exchange.id = id;
	r.u.exchange.start_ns = 1000 + (int64_t)id;
	snprintf(r.u.exchange.path, sizeof(r.u.exchange.path), "/x/%llu", (unsigned long long)id);
	return r;
}

static void frame(struct buf *b, uint64_t first, int n)
{
	uint8_t raw[1 << 16], out[1 << 17];
	size_t len = 0;
	ZSTD_CCtx *c = ZSTD_createCCtx();

	for (int i = 0; i < n; i++) {
		struct ap_record r = exch(first + (uint64_t)i);
		len += ap_encode(raw + len, sizeof(raw) - len, &r);
	}
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	put(b, out, ZSTD_compress2(c, out, sizeof(out), raw, len));
	ZSTD_freeCCtx(c);
}

struct seen {
	uint64_t ids[256];
	int n;
};

static int on_rec(void *ctx, const struct ap_record *r)
{
	struct seen *s = ctx;

	if (r->type == AP_REC_EXCHANGE && s->n < 256)
		s->ids[s->n++] = r->u.exchange.id;
	return 0;
}

static int has(const struct seen *s, uint64_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return 1;
	return 0;
}

static void test_resync(void)
{
	struct buf b = {0};
	uint8_t h[AP_HEADER_SIZE];
	size_t f2, f3;
	struct rd_stats st;
	struct seen s = {0};
	char msg[200];

	ap_encode_file_header(h, sizeof(h));
	put(&b, h, sizeof(h));
	frame(&b, 1, 3);
	f2 = b.n;
	frame(&b, 10, 3);
	f3 = b.n;
	frame(&b, 20, 3);
	b.p[f2 + (f3 - f2) / 2] ^= 0x55; /* damage the middle frame */
	CHECK_EQ_INT(rd_parse_buf(b.p, b.n, on_rec, &s, &st, msg, sizeof(msg)), 0);
	CHECK_EQ_INT(st.frames, 2);
	CHECK_EQ_INT(st.damaged, 2);
	CHECK_EQ_INT(st.resyncs, 1);
	CHECK_EQ_INT(st.bytes_ignored, f3 - f2);
	CHECK(has(&s, 1) && has(&s, 3) && has(&s, 20) && has(&s, 22));
	CHECK(!has(&s, 10));
	CHECK(strstr(st.problem, "resynchronised") != NULL);
	free(b.p);
}

/* A file as a killed writer leaves it: header, segment with entries, frames after it. */
static void test_segment(void)
{
	uint8_t *f = calloc(1, AP_SEG_BYTES + 4096);
	struct ap_seg_header *h = (struct ap_seg_header *)f;
	struct buf tail = {0};
	struct rd_stats st;
	struct seen s = {0};
	char msg[200];
	size_t o = 0, n;

	ap_encode_file_header(h->file_header, sizeof(h->file_header));
	h->skip_magic = AP_SEG_SKIP_MAGIC;
	h->skip_size = AP_SEG_BYTES - AP_HEADER_SIZE - 8;
	memcpy(h->magic, AP_SEG_MAGIC, 8);
	h->slots = AP_SEG_SLOTS;
	h->slot_bytes = AP_SEG_SLOT_BYTES;
	h->data_off = AP_SEG_HDR_BYTES;
	/* slot 0: ids 100, (an uncommitted reservation of 40 bytes), 101 */
	for (int i = 0; i < 3; i++) {
		uint8_t *d = f + AP_SEG_HDR_BYTES + o;
		struct ap_record r = exch(100 + (uint64_t)(i == 2 ? 1 : 0));
		uint32_t len;
		uint64_t word;

		if (i == 1) {
			memset(d + 8, 0x5a, 32); /* payload half copied, word never stored */
			o += 40;
			continue;
		}
		len = (uint32_t)ap_encode(d + 8, 4096, &r);
		word = ap_seg_entry_word(len);
		memcpy(d, &word, 8);
		o += ap_seg_entry_size(len);
	}
	h->slot[0].cursor = o;
	h->slot[0].state = AP_SLOT_SEALED;
	/* slot 1 holds id 200 and was written out as the frame at pending_off: not read twice */
	{
		uint8_t *d = f + AP_SEG_HDR_BYTES + AP_SEG_SLOT_BYTES;
		struct ap_record r = exch(200);
		uint32_t len = (uint32_t)ap_encode(d + 8, 4096, &r);
		uint64_t word = ap_seg_entry_word(len);

		memcpy(d, &word, 8);
		h->slot[1].cursor = ap_seg_entry_size(len);
		h->slot[1].gen = 7;
		h->slot[1].state = AP_SLOT_SEALED;
	}
	h->pending_slot = 1;
	h->pending_gen = 7;
	h->pending_off = AP_SEG_BYTES;
	put(&tail, f, AP_SEG_BYTES);
	frame(&tail, 200, 1);
	n = tail.n;
	CHECK_EQ_INT(rd_parse_buf(tail.p, n, on_rec, &s, &st, msg, sizeof(msg)), 0);
	CHECK_EQ_INT(st.damaged, 0);
	CHECK_EQ_INT(st.frames, 1);
	CHECK_EQ_INT(st.seg_records, 2);
	CHECK_EQ_INT(st.seg_gap_bytes, 40);
	CHECK_EQ_INT(s.n, 3);
	CHECK(has(&s, 100) && has(&s, 101) && has(&s, 200));
	/* the same file when the frame was torn: slot 1 is read from the segment, no damage */
	s.n = 0;
	CHECK_EQ_INT(rd_parse_buf(tail.p, n - 5, on_rec, &s, &st, msg, sizeof(msg)), 0);
	CHECK_EQ_INT(st.damaged, 0);
	CHECK_EQ_INT(st.frames, 0);
	CHECK_EQ_INT(s.n, 3);
	CHECK(has(&s, 200));
	free(tail.p);
	free(f);
}

int main(void)
{
	test_resync();
	test_segment();
	UNIT_DONE();
}
