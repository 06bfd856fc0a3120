/* codec.c: record encoder (table-driven, exchanges straight-line) and tolerant decoder; shared by
 * preload and viewer. */
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ap_codec.h"

/* F_AFTER: an i64 time written as its offset from the base time at offset size (when both are
 * known); F_ABS: the same member written whole, only when the base is unknown. */
enum fkind { F_U8, F_U32, F_I32, F_U64, F_I64, F_STR, F_ARR64, F_AFTER, F_ABS };

struct field {
	uint8_t num;   /* protobuf field number, stable forever */
	uint8_t kind;  /* enum fkind */
	uint16_t off;  /* offset in struct ap_record */
	uint16_t size; /* bytes for F_STR; offset of the count (uint32) for F_ARR64; offset of
			* the base time for F_AFTER and F_ABS */
	uint16_t cap;  /* F_ARR64: max elements */
};

#define U(t, m) offsetof(struct ap_record, u.t.m)
#define FS(n, t, m)                                                          \
	{                                                                    \
		n, F_STR, U(t, m), sizeof(((struct ap_record *)0)->u.t.m), 0 \
	}
#define FK(n, k, t, m)              \
	{                           \
		n, k, U(t, m), 0, 0 \
	}
#define FT(n, k, t, m, base)                 \
	{                                    \
		n, k, U(t, m), U(t, base), 0 \
	}

static const struct field f_process[] = {
	FK(1, F_I32, process, pid),
	FK(2, F_I32, process, ppid),
	FS(3, process, exe),
	FS(4, process, argv),
	FK(5, F_U32, process, argc),
	FK(6, F_I64, process, start_ns),
	FK(7, F_I64, process, start_real_ns),
	FS(8, process, agent),
	FK(9, F_U32, process, sample_ppm),
	FK(10, F_U32, process, format_version),
	FS(11, process, tool_version),
};
static const struct field f_process_end[] = {
	FK(1, F_I64, process_end, end_ns),	FK(2, F_I32, process_end, exit_code),
	FK(3, F_U64, process_end, dropped),	FK(4, F_U64, process_end, dropped_bytes),
	FK(5, F_I64, process_end, overhead_ns), FK(6, F_U64, process_end, calls),
	FK(7, F_U32, process_end, clean),
};
static const struct field f_connection[] = {
	FK(1, F_U64, connection, id),
	FK(2, F_I32, connection, fd),
	FK(3, F_U32, connection, tid),
	FS(4, connection, peer),
	FK(5, F_I32, connection, port),
	FS(6, connection, host),
	FK(7, F_U8, connection, tls),
	FK(8, F_U8, connection, visibility),
	FK(9, F_U8, connection, category),
	FK(10, F_U8, connection, provider),
	FK(11, F_I64, connection, open_ns),
	FK(12, F_I64, connection, close_ns),
	FK(13, F_I64, connection, connect_ns),
	FK(14, F_U64, connection, bytes_sent),
	FK(15, F_U64, connection, bytes_received),
	FK(16, F_U32, connection, exchanges),
	FK(17, F_U8, connection, error),
};
/*
 * Exchanges: the fields that stay the same from one exchange to the next on a connection come
 * first and the ones that change (usage, sizes, id, times) last, so the compressor sees one run
 * of repeated bytes and one of new ones per record. The times after start_ns are written as
 * offsets from it (fields 43-46, F_AFTER: a few bytes instead of eight); their absolute fields
 * (18-20, 27: F_ABS) are written only when start_ns is unknown, and read from older files.
 */
static const struct field f_exchange[] = {
	FK(2, F_U64, exchange, conn_id),
	FK(3, F_U32, exchange, tid),
	FS(4, exchange, method),
	FS(5, exchange, path),
	FS(6, exchange, host),
	FK(7, F_I32, exchange, port),
	FK(8, F_I32, exchange, status),
	FS(9, exchange, content_type),
	FK(10, F_U8, exchange, category),
	FK(11, F_U8, exchange, provider),
	FK(12, F_U8, exchange, visibility),
	FK(13, F_U8, exchange, tls),
	FK(14, F_U8, exchange, stream),
	FK(15, F_U8, exchange, error),
	FK(16, F_U8, exchange, new_conn),
	FK(21, F_I64, exchange, dns_ns),
	FK(22, F_I64, exchange, connect_ns),
	FK(23, F_I64, exchange, tls_ns),
	FS(28, exchange, request_model),
	FS(29, exchange, response_model),
	FK(36, F_U64, exchange, stack_id),
	FK(37, F_U64, exchange, span_id),
	FS(38, exchange, agent),
	FK(39, F_U64, exchange, unscanned_bytes),
	FK(40, F_U64, exchange, pystack_id),
	FK(41, F_I32, exchange, grpc_status),
	FK(42, F_U8, exchange, provisional),
	FK(35, F_U64, exchange, request_hash),
	FK(30, F_I64, exchange, usage.input),
	FK(31, F_I64, exchange, usage.output),
	FK(32, F_I64, exchange, usage.cache_read),
	FK(33, F_I64, exchange, usage.cache_write),
	FK(34, F_I64, exchange, usage.reasoning),
	FK(24, F_U64, exchange, bytes_sent),
	FK(25, F_U64, exchange, bytes_received),
	FK(26, F_U32, exchange, events),
	FK(1, F_U64, exchange, id),
	FK(17, F_I64, exchange, start_ns),
	FT(18, F_ABS, exchange, req_sent_ns, start_ns),
	FT(43, F_AFTER, exchange, req_sent_ns, start_ns),
	FT(19, F_ABS, exchange, first_byte_ns, start_ns),
	FT(44, F_AFTER, exchange, first_byte_ns, start_ns),
	FT(20, F_ABS, exchange, end_ns, start_ns),
	FT(45, F_AFTER, exchange, end_ns, start_ns),
	FT(27, F_ABS, exchange, first_event_ns, start_ns),
	FT(46, F_AFTER, exchange, first_event_ns, start_ns),
};
static const struct field f_proc_event[] = {
	FK(1, F_U8, proc_event, kind),
	FK(2, F_U32, proc_event, tid),
	FK(3, F_I64, proc_event, time_ns),
	FK(4, F_I64, proc_event, end_ns),
	FK(5, F_I32, proc_event, child_pid),
	FK(6, F_I32, proc_event, status),
	FS(7, proc_event, path),
	FS(8, proc_event, argv),
	FK(9, F_U32, proc_event, argc),
	FK(10, F_U64, proc_event, stack_id),
	FK(11, F_U64, proc_event, span_id),
	FK(12, F_U8, proc_event, profiled),
	FK(13, F_U64, proc_event, pystack_id),
};
static const struct field f_span[] = {
	FK(1, F_U64, span, id),	      FK(2, F_U64, span, parent_id),
	FK(3, F_U32, span, tid),      FS(4, span, name),
	FK(5, F_U8, span, category),  FK(6, F_I64, span, start_ns),
	FK(7, F_I64, span, end_ns),   FS(8, span, agent),
	FK(9, F_U64, span, stack_id), FK(10, F_U64, span, pystack_id),
};
static const struct field f_counter[] = {
	FK(1, F_U8, counter, kind),
	FK(2, F_I64, counter, time_ns),
	FK(3, F_I64, counter, value),
};
static const struct field f_stack[] = {
	FK(1, F_U64, stack, id),
	{2, F_ARR64, U(stack, frames), U(stack, nframes), AP_MAX_FRAMES},
};
static const struct field f_module[] = {
	FK(1, F_U64, module, id),  FK(2, F_U64, module, base), FK(3, F_U64, module, start),
	FK(4, F_U64, module, end), FS(5, module, path),	       FS(6, module, build_id),
};
static const struct field f_diag[] = {
	FK(1, F_U32, diag, code),
	FK(2, F_I64, diag, time_ns),
	FS(3, diag, msg),
};
static const struct field f_dns[] = {
	FK(1, F_U32, dns, tid),	   FS(2, dns, host),	      FK(3, F_I64, dns, start_ns),
	FK(4, F_I64, dns, end_ns), FK(5, F_I32, dns, result), FS(6, dns, addr),
};

static const struct field f_pycode[] = {
	FK(1, F_U64, pycode, id),
	FS(2, pycode, qualname),
	FS(3, pycode, filename),
	FK(4, F_U32, pycode, firstlineno),
};
static const struct field f_pystack[] = {
	FK(1, F_U64, pystack, id),
	{2, F_ARR64, U(pystack, code), U(pystack, nframes), AP_MAX_FRAMES},
	{3, F_ARR64, U(pystack, line), U(pystack, nlines), AP_MAX_FRAMES},
	FK(4, F_U8, pystack, truncated),
};

struct rec_desc {
	const struct field *f;
	size_t n;
};

#define D(a)                                \
	{                                   \
		a, sizeof(a) / sizeof(a[0]) \
	}
static const struct rec_desc descs[AP_REC_TYPE_MAX] = {
	[AP_REC_PROCESS] = D(f_process),
	[AP_REC_PROCESS_END] = D(f_process_end),
	[AP_REC_CONNECTION] = D(f_connection),
	[AP_REC_EXCHANGE] = D(f_exchange),
	[AP_REC_PROC_EVENT] = D(f_proc_event),
	[AP_REC_SPAN] = D(f_span),
	[AP_REC_COUNTER] = D(f_counter),
	[AP_REC_STACK] = D(f_stack),
	[AP_REC_MODULE] = D(f_module),
	[AP_REC_DIAG] = D(f_diag),
	[AP_REC_DNS] = D(f_dns),
	[AP_REC_PYCODE] = D(f_pycode),
	[AP_REC_PYSTACK] = D(f_pystack),
};

/* --- varint helpers ------------------------------------------------------------------------- */

static inline __attribute__((always_inline)) size_t put_varint(uint8_t *p, size_t cap, uint64_t v)
{
	size_t i = 0;

	if (cap >= 10) { /* room for any varint: no bound check per byte (the record hot path) */
		while (v >= 0x80) {
			p[i++] = (uint8_t)(v | 0x80);
			v >>= 7;
		}
		p[i++] = (uint8_t)v;
		return i;
	}
	do {
		if (i >= cap)
			return 0;
		p[i++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return i;
}

static size_t get_varint(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < n && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* --- field access --------------------------------------------------------------------------- */

/* Returns 1 and the wire value if the field holds a known value worth writing. */
static int field_value(const struct ap_record *r, const struct field *f, uint64_t *v)
{
	const char *base = (const char *)r + f->off;

	switch (f->kind) {
	case F_U8:
		*v = *(const uint8_t *)base;
		return *v != 0;
	case F_U32:
		*v = *(const uint32_t *)base;
		return *v != 0;
	case F_U64:
		*v = *(const uint64_t *)base;
		return *v != 0;
	case F_I32: {
		int32_t x = *(const int32_t *)base;
		*v = zigzag(x);
		return x != AP_UNKNOWN;
	}
	case F_I64: {
		int64_t x = *(const int64_t *)base;
		*v = zigzag(x);
		return x != AP_UNKNOWN;
	}
	case F_AFTER:
	case F_ABS: {
		int64_t x = *(const int64_t *)base,
			t0 = *(const int64_t *)((const char *)r + f->size);
		*v = zigzag(f->kind == F_AFTER ? (int64_t)((uint64_t)x - (uint64_t)t0) : x);
		return x != AP_UNKNOWN && (t0 != AP_UNKNOWN) == (f->kind == F_AFTER);
	}
	}
	return 0;
}

static void field_store(struct ap_record *r, const struct field *f, uint64_t v)
{
	char *base = (char *)r + f->off;

	switch (f->kind) {
	case F_U8:
		*(uint8_t *)base = (uint8_t)v;
		break;
	case F_U32:
		*(uint32_t *)base = (uint32_t)v;
		break;
	case F_U64:
		*(uint64_t *)base = v;
		break;
	case F_I32:
		*(int32_t *)base = (int32_t)unzigzag(v);
		break;
	case F_I64:
	case F_ABS:
	case F_AFTER: /* an offset until decode_fields adds the base */
		*(int64_t *)base = unzigzag(v);
		break;
	}
}

/* Length of a string field: argv fields are '\0'-joined, so use the count of used bytes. */
static size_t str_len(const struct ap_record *r, const struct field *f)
{
	const char *s = (const char *)r + f->off;
	size_t n = 0, cap = f->size - 1;
	uint32_t argc;

	if (r->type == AP_REC_PROCESS && f->off == U(process, argv))
		argc = r->u.process.argc;
	else if (r->type == AP_REC_PROC_EVENT && f->off == U(proc_event, argv))
		argc = r->u.proc_event.argc;
	else
		return strnlen(s, cap);
	while (argc-- && n < cap)
		n += strnlen(s + n, cap - n) + 1;
	return n > cap ? cap : n;
}

#define NOFIT ((size_t)-1)

/* --- encoder -------------------------------------------------------------------------------- */

static size_t encode_fields(uint8_t *p, size_t cap, const struct ap_record *r,
			    const struct rec_desc *d)
{
	size_t o = 0, k, w;
	uint64_t v;

	for (size_t i = 0; i < d->n; i++) {
		const struct field *f = &d->f[i];

		if (f->kind == F_STR || f->kind == F_ARR64) {
			const uint8_t *src = (const uint8_t *)r + f->off;
			size_t len;

			if (f->kind == F_STR) {
				len = str_len(r, f);
			} else {
				uint32_t cnt = *(const uint32_t *)((const char *)r + f->size);
				len = (cnt > f->cap ? f->cap : cnt) * 8;
			}
			if (!len)
				continue;
			if (!(k = put_varint(p + o, cap - o, (uint64_t)f->num << 3 | 2)))
				return NOFIT;
			o += k;
			if (!(k = put_varint(p + o, cap - o, len)) || cap - o - k < len)
				return NOFIT;
			o += k;
			if (f->kind == F_STR) {
				memcpy(p + o, src, len);
			} else {
				for (size_t j = 0; j < len / 8; j++) {
					uint64_t x = ((const uint64_t *)src)[j];
					for (int b = 0; b < 8; b++)
						p[o + j * 8 + b] = (uint8_t)(x >> (8 * b));
				}
			}
			o += len;
			continue;
		}
		if (!field_value(r, f, &v))
			continue;
		if (!(k = put_varint(p + o, cap - o, (uint64_t)f->num << 3)))
			return NOFIT;
		if (!(w = put_varint(p + o + k, cap - o - k, v)))
			return NOFIT;
		o += k + w;
	}
	return o;
}

/*
 * Payload offset: 1 byte of type (< 128) + 1..3 bytes of payload length (< 2 MiB; a record is
 * a few KiB). The roomy case encodes once at offset 4; when that does not fit, smaller offsets
 * are tried so that a record that fits exactly is not refused.
 */
static size_t encode_at(uint8_t *buf, size_t cap, const struct ap_record *r, size_t gap)
{
	uint8_t hdr[20];
	size_t body, h;

	if (cap < gap)
		return 0;
	body = encode_fields(buf + gap, cap - gap, r, &descs[r->type]);
	if (body == NOFIT)
		return 0;
	h = put_varint(hdr, sizeof(hdr), r->type);
	h += put_varint(hdr + h, sizeof(hdr) - h, body);
	if (h + body > cap || h > gap)
		return 0;
	memmove(buf + h, buf + gap, body);
	memcpy(buf, hdr, h);
	return h + body;
}

size_t ap_encode_generic(uint8_t *buf, size_t cap, const struct ap_record *r)
{
	size_t n = 0;

	if (r->type == 0 || r->type >= AP_REC_TYPE_MAX)
		return 0;
	for (size_t gap = 4; gap >= 2 && !n; gap--)
		n = encode_at(buf, cap, r, gap);
	return n;
}

/* --- exchange fast path ------------------------------------------------------------------------
 *
 * One exchange per request makes AP_REC_EXCHANGE the record the hot path writes: it is encoded
 * by straight-line code (constant keys, no table walk, no bound check per byte) that writes
 * exactly the bytes of the table-driven encoder above (f_exchange order, same skip rules;
 * test_codec compares the two). The largest exchange payload is bounded (X_MAX_PAYLOAD), so a
 * buffer of X_MAX_RECORD bytes needs no check at all; a smaller one takes the generic path.
 */

/* Strings at their caps, every number at 10 bytes, keys at 2 bytes. */
#define X_MAX_PAYLOAD                                                                  \
	(AP_STR_METHOD + AP_STR_PATH + AP_STR_HOST + AP_STR_CTYPE + 2 * AP_STR_MODEL + \
	 AP_STR_AGENT + 42 * 12)
#define X_MAX_RECORD (1 + 3 + X_MAX_PAYLOAD)

/* A varint at p (which has 10 bytes of room); returns the end. Longer values (times, ids,
 * hashes) are spread into 7-bit groups by shifts and stored as one 8-byte word (+ 1 or 2). */
static inline __attribute__((always_inline)) uint8_t *xv(uint8_t *p, uint64_t v)
{
	if (v < 0x80) {
		*p = (uint8_t)v;
		return p + 1;
	}
	if (v < 0x4000) {
		p[0] = (uint8_t)(v | 0x80);
		p[1] = (uint8_t)(v >> 7);
		return p + 2;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		uint64_t w = (v & 0x7f) | (v << 1 & 0x7f00) | (v << 2 & 0x7f0000) |
			     (v << 3 & 0x7f000000) | (v << 4 & 0x7f00000000) |
			     (v << 5 & 0x7f0000000000) | (v << 6 & 0x7f000000000000) |
			     (v << 7 & 0x7f00000000000000);
		unsigned n, top;

		if (v < (1ull << 56)) {
			n = (unsigned)(63 - __builtin_clzll(v)) / 7 + 1; /* bytes: 3..8 */
			w |= 0x8080808080808080ull & ((1ull << (8 * (n - 1))) - 1);
			memcpy(p, &w, 8);
			return p + n;
		}
		w |= 0x8080808080808080ull;
		memcpy(p, &w, 8);
		top = (unsigned)(v >> 56); /* bits 56..63: one byte, two from bit 63 */
		if (top < 0x80) {
			p[8] = (uint8_t)top;
			return p + 9;
		}
		p[8] = (uint8_t)(top | 0x80);
		p[9] = 1;
		return p + 10;
	}
#else
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
#endif
}

#ifdef __SSE2__
/* String bytes at p: strnlen(s, size - 1) of them, found and copied 16 at a time (every string
 * field's size is a multiple of 16, so no read leaves the field; the copy may write up to size
 * bytes, which the field's room in X_MAX_PAYLOAD holds). Returns the length. */
static inline __attribute__((always_inline)) size_t xstr_len(const char *s, size_t size)
{
	const __m128i zero = _mm_setzero_si128();

	for (size_t i = 0; i < size; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + i)), zero));
		if (m) {
			size_t n = i + (size_t)__builtin_ctz(m);
			return n < size - 1 ? n : size - 1;
		}
	}
	return size - 1;
}

static inline __attribute__((always_inline)) void xstr_copy(uint8_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 16)
		_mm_storeu_si128((__m128i *)(p + i), _mm_loadu_si128((const __m128i *)(s + i)));
}
#else
static inline size_t xstr_len(const char *s, size_t size)
{
	return strnlen(s, size - 1);
}

static inline void xstr_copy(uint8_t *p, const char *s, size_t n)
{
	memcpy(p, s, n);
}
#endif

/* Key of field num: one byte below field 16, two from there (field numbers stay below 2048). */
#define XKEY(p, num, wt) xv(p, (uint64_t)(num) << 3 | (wt))
/* Unsigned: written when nonzero. */
#define XU(p, num, val)                                \
	do {                                           \
		uint64_t v_ = (val);                   \
		if (v_) {                              \
			(p) = xv(XKEY(p, num, 0), v_); \
		}                                      \
	} while (0)
/* Signed: written when known, zigzag-encoded (as int64, like field_value). */
#define XI(p, num, val)                                        \
	do {                                                   \
		int64_t v_ = (val);                            \
		if (v_ != AP_UNKNOWN) {                        \
			(p) = xv(XKEY(p, num, 0), zigzag(v_)); \
		}                                              \
	} while (0)
/* A time after t0: when both are known, its offset from t0 as field after; when only it is,
 * whole as field abs (F_AFTER and F_ABS). */
#define XT(p, abs, after, val, t0)                                                         \
	do {                                                                               \
		int64_t v_ = (val), b_ = (t0);                                             \
		if (v_ != AP_UNKNOWN) {                                                    \
			(p) = b_ != AP_UNKNOWN                                             \
				      ? xv(XKEY(p, after, 0),                              \
					   zigzag((int64_t)((uint64_t)v_ - (uint64_t)b_))) \
				      : xv(XKEY(p, abs, 0), zigzag(v_));                   \
		}                                                                          \
	} while (0)
/* String: written when not empty, at most its size - 1 bytes (like str_len). */
#define XS(p, num, arr)                                                     \
	do {                                                                \
		_Static_assert(sizeof(arr) % 16 == 0, "string sizes: 16s"); \
		if ((arr)[0]) {                                             \
			size_t n_ = xstr_len((arr), sizeof(arr));           \
			(p) = xv(XKEY(p, num, 2), n_);                      \
			xstr_copy((p), (arr), n_);                          \
			(p) += n_;                                          \
		}                                                           \
	} while (0)

static size_t encode_exchange(uint8_t *buf, const struct ap_exchange *x)
{
	uint8_t *const body = buf + 3; /* type + a two-byte length: the usual case */
	uint8_t *p = body;
	size_t len;

	XU(p, 2, x->conn_id);
	XU(p, 3, x->tid);
	XS(p, 4, x->method);
	XS(p, 5, x->path);
	XS(p, 6, x->host);
	XI(p, 7, x->port);
	XI(p, 8, x->status);
	XS(p, 9, x->content_type);
	XU(p, 10, x->category);
	XU(p, 11, x->provider);
	XU(p, 12, x->visibility);
	XU(p, 13, x->tls);
	XU(p, 14, x->stream);
	XU(p, 15, x->error);
	XU(p, 16, x->new_conn);
	XI(p, 21, x->dns_ns);
	XI(p, 22, x->connect_ns);
	XI(p, 23, x->tls_ns);
	XS(p, 28, x->request_model);
	XS(p, 29, x->response_model);
	XU(p, 36, x->stack_id);
	XU(p, 37, x->span_id);
	XS(p, 38, x->agent);
	XU(p, 39, x->unscanned_bytes);
	XU(p, 40, x->pystack_id);
	XI(p, 41, x->grpc_status);
	XU(p, 42, x->provisional);
	XU(p, 35, x->request_hash);
	XI(p, 30, x->usage.input);
	XI(p, 31, x->usage.output);
	XI(p, 32, x->usage.cache_read);
	XI(p, 33, x->usage.cache_write);
	XI(p, 34, x->usage.reasoning);
	XU(p, 24, x->bytes_sent);
	XU(p, 25, x->bytes_received);
	XU(p, 26, x->events);
	XU(p, 1, x->id);
	XI(p, 17, x->start_ns);
	XT(p, 18, 43, x->req_sent_ns, x->start_ns);
	XT(p, 19, 44, x->first_byte_ns, x->start_ns);
	XT(p, 20, 45, x->end_ns, x->start_ns);
	XT(p, 27, 46, x->first_event_ns, x->start_ns);
	len = (size_t)(p - body);
	buf[0] = AP_REC_EXCHANGE;
	if (len < 0x80) { /* a one-byte length: the payload moves down by one */
		buf[1] = (uint8_t)len;
		memmove(buf + 2, body, len);
		return 2 + len;
	}
	buf[1] = (uint8_t)(len | 0x80);
	buf[2] = (uint8_t)(len >> 7);
	return 3 + len;
}

_Static_assert(X_MAX_PAYLOAD < (1u << 14), "an exchange's length takes at most two bytes");
/* 46 entries, 42 written at most: a time is written either after start_ns or whole */
_Static_assert(sizeof(f_exchange) / sizeof(f_exchange[0]) == 46,
	       "a new exchange field goes into encode_exchange, decode_exchange and X_MAX_PAYLOAD "
	       "too");
_Static_assert(AP_REC_EXCHANGE < 0x80, "record types take one byte");

size_t ap_encode(uint8_t *buf, size_t cap, const struct ap_record *r)
{
	if (r->type == AP_REC_EXCHANGE && cap >= X_MAX_RECORD)
		return encode_exchange(buf, &r->u.exchange);
	return ap_encode_generic(buf, cap, r);
}

size_t ap_encode_exchange(uint8_t *buf, size_t cap, const struct ap_exchange *x)
{
	struct ap_record r;

	if (cap >= X_MAX_RECORD)
		return encode_exchange(buf, x);
	r.type = AP_REC_EXCHANGE; /* a small buffer: the table path, from a record */
	r.u.exchange = *x;
	return ap_encode_generic(buf, cap, &r);
}

/* --- decoder -------------------------------------------------------------------------------- */

/* The field numbered num. The encoder writes fields in table order, so the search starts after
 * the previous hit (*at) and wraps: one comparison per field for files we wrote. */
static const struct field *find_field(const struct rec_desc *d, uint64_t num, size_t *at)
{
	for (size_t k = 0, i = *at; k < d->n; k++, i = i + 1 < d->n ? i + 1 : 0)
		if (d->f[i].num == num) {
			*at = i + 1 < d->n ? i + 1 : 0;
			return &d->f[i];
		}
	return NULL;
}

static void store_bytes(struct ap_record *r, const struct field *f, const uint8_t *p, size_t len)
{
	char *dst = (char *)r + f->off;

	if (f->kind == F_STR) {
		size_t n = len < (size_t)f->size - 1 ? len : (size_t)f->size - 1;
		memcpy(dst, p, n);
		dst[n] = 0;
		return;
	}
	if (f->kind == F_ARR64) {
		uint32_t *cnt = (uint32_t *)((char *)r + f->size);
		size_t n = len / 8;
		if (n > f->cap)
			n = f->cap;
		for (size_t j = 0; j < n; j++) {
			uint64_t x = 0;
			for (int b = 0; b < 8; b++)
				x |= (uint64_t)p[j * 8 + b] << (8 * b);
			((uint64_t *)dst)[j] = x;
		}
		*cnt = (uint32_t)n;
	}
}

/* Arguments really present in argv[0..len): never trust argc beyond the bytes. */
static uint32_t count_args(const char *argv, size_t len, uint32_t argc)
{
	uint32_t c = 0;
	size_t i = 0;

	while (i < len && c < argc) {
		i += strnlen(argv + i, len - i) + 1;
		c++;
	}
	return c;
}

static int is_argv(const struct ap_record *r, const struct field *f)
{
	return (r->type == AP_REC_PROCESS && f->off == U(process, argv)) ||
	       (r->type == AP_REC_PROC_EVENT && f->off == U(proc_event, argv));
}

/* A time read as an offset from t0 (F_AFTER): the time, unknown without t0. */
static int64_t time_after(int64_t t0, int64_t offset)
{
	return t0 == AP_UNKNOWN ? AP_UNKNOWN : (int64_t)((uint64_t)t0 + (uint64_t)offset);
}

static enum ap_dec_status decode_fields(const uint8_t *p, size_t n, struct ap_record *r)
{
	const struct rec_desc *d = &descs[r->type];
	size_t o = 0, k, argv_len = 0, at = 0;
	uint64_t key, v, after = 0; /* F_AFTER fields read, by index in d (bit i: d->f[i]) */

	while (o < n) {
		const struct field *f;

		if (!(k = get_varint(p + o, n - o, &key)))
			return AP_DEC_BAD;
		o += k;
		f = find_field(d, key >> 3, &at);
		switch (key & 7) {
		case 0:
			if (!(k = get_varint(p + o, n - o, &v)))
				return AP_DEC_BAD;
			o += k;
			if (f && f->kind != F_STR && f->kind != F_ARR64) {
				field_store(r, f, v);
				if (f->kind == F_AFTER && f - d->f < 64)
					after |= 1ull << (f - d->f);
			}
			break;
		case 2:
			if (!(k = get_varint(p + o, n - o, &v)) || v > n - o - k)
				return AP_DEC_BAD;
			o += k;
			if (f && (f->kind == F_STR || f->kind == F_ARR64))
				store_bytes(r, f, p + o, (size_t)v);
			if (f && f->kind == F_STR && is_argv(r, f))
				argv_len =
					v < (size_t)f->size - 1 ? (size_t)v : (size_t)f->size - 1;
			o += (size_t)v;
			break;
		default:
			return AP_DEC_BAD;
		}
	}
	/* offsets from a base time become times (unknown without the base) */
	for (; after; after &= after - 1) {
		const struct field *f = &d->f[__builtin_ctzll(after)];
		int64_t *t = (int64_t *)((char *)r + f->off);

		*t = time_after(*(const int64_t *)((const char *)r + f->size), *t);
	}
	/* empty arguments are kept: count within the decoded bytes, not up to the first "" */
	if (r->type == AP_REC_PROCESS)
		r->u.process.argc = count_args(r->u.process.argv, argv_len, r->u.process.argc);
	else if (r->type == AP_REC_PROC_EVENT)
		r->u.proc_event.argc =
			count_args(r->u.proc_event.argv, argv_len, r->u.proc_event.argc);
	return AP_DEC_OK;
}

/*
 * Exchanges, the record a run holds most of, are decoded by a switch on the field number (what
 * decode_fields does through the table, with the same stores, skips and errors; test_codec
 * compares the two on valid and damaged records).
 */
static void put_str(char *dst, size_t size, const uint8_t *p, uint64_t len)
{
	size_t n = len < size - 1 ? (size_t)len : size - 1;

	memcpy(dst, p, n);
	dst[n] = 0;
}

#define DSTR(num, m)                                   \
	case num:                                      \
		put_str(x->m, sizeof(x->m), p + o, v); \
		break

static enum ap_dec_status decode_exchange(const uint8_t *p, size_t n, struct ap_exchange *x)
{
	size_t o = 0, k;
	unsigned after = 0; /* offsets read: bit 0 field 43 .. bit 3 field 46 */
	uint64_t key, v;

	while (o < n) {
		if (p[o] < 0x80) { /* fields below 16: one-byte keys */
			key = p[o++];
		} else {
			if (!(k = get_varint(p + o, n - o, &key)))
				return AP_DEC_BAD;
			o += k;
		}
		if (o < n && p[o] < 0x80) { /* a one-byte value (or length) */
			v = p[o++];
		} else {
			if (!(k = get_varint(p + o, n - o, &v)))
				return AP_DEC_BAD;
			o += k;
		}
		switch (key & 7) {
		case 0:
			switch (key >> 3) {
			case 1:
				x->id = v;
				break;
			case 2:
				x->conn_id = v;
				break;
			case 3:
				x->tid = (uint32_t)v;
				break;
			case 7:
				x->port = (int32_t)unzigzag(v);
				break;
			case 8:
				x->status = (int32_t)unzigzag(v);
				break;
			case 10:
				x->category = (uint8_t)v;
				break;
			case 11:
				x->provider = (uint8_t)v;
				break;
			case 12:
				x->visibility = (uint8_t)v;
				break;
			case 13:
				x->tls = (uint8_t)v;
				break;
			case 14:
				x->stream = (uint8_t)v;
				break;
			case 15:
				x->error = (uint8_t)v;
				break;
			case 16:
				x->new_conn = (uint8_t)v;
				break;
			case 17:
				x->start_ns = unzigzag(v);
				break;
			case 18:
				x->req_sent_ns = unzigzag(v);
				break;
			case 19:
				x->first_byte_ns = unzigzag(v);
				break;
			case 20:
				x->end_ns = unzigzag(v);
				break;
			case 21:
				x->dns_ns = unzigzag(v);
				break;
			case 22:
				x->connect_ns = unzigzag(v);
				break;
			case 23:
				x->tls_ns = unzigzag(v);
				break;
			case 24:
				x->bytes_sent = v;
				break;
			case 25:
				x->bytes_received = v;
				break;
			case 26:
				x->events = (uint32_t)v;
				break;
			case 27:
				x->first_event_ns = unzigzag(v);
				break;
			case 30:
				x->usage.input = unzigzag(v);
				break;
			case 31:
				x->usage.output = unzigzag(v);
				break;
			case 32:
				x->usage.cache_read = unzigzag(v);
				break;
			case 33:
				x->usage.cache_write = unzigzag(v);
				break;
			case 34:
				x->usage.reasoning = unzigzag(v);
				break;
			case 35:
				x->request_hash = v;
				break;
			case 36:
				x->stack_id = v;
				break;
			case 37:
				x->span_id = v;
				break;
			case 39:
				x->unscanned_bytes = v;
				break;
			case 40:
				x->pystack_id = v;
				break;
			case 41:
				x->grpc_status = (int32_t)unzigzag(v);
				break;
			case 42:
				x->provisional = (uint8_t)v;
				break;
			case 43:
				x->req_sent_ns = unzigzag(v), after |= 1;
				break;
			case 44:
				x->first_byte_ns = unzigzag(v), after |= 2;
				break;
			case 45:
				x->end_ns = unzigzag(v), after |= 4;
				break;
			case 46:
				x->first_event_ns = unzigzag(v), after |= 8;
				break;
			}
			break;
		case 2:
			if (v > n - o)
				return AP_DEC_BAD;
			switch (key >> 3) {
				DSTR(4, method);
				DSTR(5, path);
				DSTR(6, host);
				DSTR(9, content_type);
				DSTR(28, request_model);
				DSTR(29, response_model);
				DSTR(38, agent);
			}
			o += (size_t)v;
			break;
		default:
			return AP_DEC_BAD;
		}
	}
	if (after) { /* offsets from start_ns become times (unknown without it) */
		int64_t *t[4] = {&x->req_sent_ns, &x->first_byte_ns, &x->end_ns,
				 &x->first_event_ns};

		for (int i = 0; i < 4; i++)
			if (after >> i & 1)
				*t[i] = time_after(x->start_ns, *t[i]);
	}
	return AP_DEC_OK;
}

static enum ap_dec_status decode_record(const uint8_t *p, size_t n, struct ap_record *r,
					size_t *used, int generic_only)
{
	uint64_t type, len;
	size_t k1, k2;

	if (!(k1 = get_varint(p, n, &type)))
		return n >= 10 ? AP_DEC_BAD : AP_DEC_SHORT;
	if (!(k2 = get_varint(p + k1, n - k1, &len)))
		return n - k1 >= 10 ? AP_DEC_BAD : AP_DEC_SHORT;
	if (len > n - k1 - k2)
		return AP_DEC_SHORT;
	*used = k1 + k2 + (size_t)len;
	if (type == 0 || type > 0xffff)
		return AP_DEC_BAD;
	if (type >= AP_REC_TYPE_MAX)
		return AP_DEC_SKIP;
	ap_record_init(r, (uint32_t)type);
	if (type == AP_REC_EXCHANGE && !generic_only)
		return decode_exchange(p + k1 + k2, (size_t)len, &r->u.exchange);
	return decode_fields(p + k1 + k2, (size_t)len, r);
}

enum ap_dec_status ap_decode(const uint8_t *p, size_t n, struct ap_record *r, size_t *used)
{
	return decode_record(p, n, r, used, 0);
}

enum ap_dec_status ap_decode_generic(const uint8_t *p, size_t n, struct ap_record *r, size_t *used)
{
	return decode_record(p, n, r, used, 1);
}

/* --- file header ---------------------------------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t ap_encode_file_header(uint8_t *buf, size_t cap)
{
	if (cap < AP_HEADER_SIZE)
		return 0;
	memset(buf, 0, AP_HEADER_SIZE);
	put_le32(buf, AP_SKIPPABLE_MAGIC);
	put_le32(buf + 4, AP_HEADER_SIZE - 8);
	memcpy(buf + 8, AP_FILE_MAGIC, 9);
	put_le32(buf + 20, AP_FORMAT_VERSION);
	return AP_HEADER_SIZE;
}

uint32_t ap_decode_file_header(const uint8_t *p, size_t n)
{
	if (n < AP_HEADER_SIZE || get_le32(p) != AP_SKIPPABLE_MAGIC ||
	    get_le32(p + 4) != AP_HEADER_SIZE - 8 || memcmp(p + 8, AP_FILE_MAGIC, 9) != 0)
		return 0;
	return get_le32(p + 20);
}
