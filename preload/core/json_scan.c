/* json_scan.c: incremental JSON tokenizer that tracks a bounded key path and reports scalars. */
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cpu.h"
#include "json_scan.h"

enum jstate {
	J_VALUE = 0, /* expecting a value */
	J_OBJ_FIRST, /* after '{': key or '}' */
	J_OBJ_KEY,   /* after ',' in an object: key */
	J_COLON,     /* after a key: ':' */
	J_AFTER,     /* after a value: ',' or a closing bracket */
	J_ARR_FIRST, /* after '[': value or ']' */
	J_STR,	     /* inside a string */
	J_ESC,	     /* after a backslash */
	J_UHEX,	     /* inside \uXXXX */
	J_NUM,	     /* inside a number */
	J_LIT,	     /* inside true / false / null */
	J_SKIP,	     /* inside a string or container value the filter declined */
};

static const char *const literals[] = {
	[AP_JSON_TRUE] = "true",
	[AP_JSON_FALSE] = "false",
	[AP_JSON_NULL] = "null",
};

void ap_json_init(struct ap_json *j)
{
	ap_json_init_filtered(j, NULL);
}

void ap_json_init_filtered(struct ap_json *j, ap_json_want want)
{
	j->want = want;
	j->skip_next = j->skip_str = j->skip_esc = j->mute = 0;
	j->skip_depth = 0;
	j->st = J_VALUE;
	j->str_key = j->lit_idx = j->lit_type = j->hex_n = 0;
	j->truncated = j->failed = j->done = 0;
	j->nest = j->hex = j->path_len = j->key_len = j->val_len = 0;
	j->plen[0] = 0;
	j->path[0] = 0;
	j->val[0] = 0;
}

int ap_json_failed(const struct ap_json *j)
{
	return j->failed;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int top_is_arr(const struct ap_json *j)
{
	unsigned d = j->nest - 1u;

	return (j->is_arr[d >> 3] >> (d & 7)) & 1;
}

static void fail(struct ap_json *j)
{
	j->failed = 1;
}

/* The path is tracked while every open container fits in AP_JSON_DEPTH. */
static int path_ok(const struct ap_json *j)
{
	return j->nest <= AP_JSON_DEPTH;
}

static void emit(struct ap_json *j, unsigned type, ap_json_cb cb, void *ctx)
{
	struct ap_json_value v;

	if (!cb || !path_ok(j) || j->mute)
		return;
	j->val[j->val_len] = 0;
	if (type != AP_JSON_STRING && type != AP_JSON_NUMBER)
		j->val[0] = 0;
	v.path = j->path;
	v.path_len = j->path_len;
	v.depth = j->nest;
	v.type = type;
	v.val = j->val;
	v.len = type == AP_JSON_STRING || type == AP_JSON_NUMBER ? j->val_len : 0;
	v.truncated = j->truncated;
	cb(ctx, &v);
}

/* A value (scalar or container) ended: decide what comes next. */
static void value_done(struct ap_json *j)
{
	j->st = J_AFTER;
	j->mute = 0;
	if (j->nest == 0)
		j->done = 1;
}

static void open_container(struct ap_json *j, int arr)
{
	unsigned d = j->nest;

	if (d >= AP_JSON_NEST_MAX) {
		fail(j);
		return;
	}
	if (arr)
		j->is_arr[d >> 3] |= (uint8_t)(1u << (d & 7));
	else
		j->is_arr[d >> 3] &= (uint8_t) ~(1u << (d & 7));
	j->nest++;
	j->st = arr ? J_ARR_FIRST : J_OBJ_FIRST;
	if (!path_ok(j))
		return;
	j->plen[j->nest] = j->path_len;
	if (arr) {
		memcpy(j->path + j->path_len, "[]", 3);
		j->path_len += 2;
	}
}

static void close_container(struct ap_json *j)
{
	if (path_ok(j)) {
		j->path_len = j->plen[j->nest];
		j->path[j->path_len] = 0;
	}
	j->nest--;
	value_done(j);
}

/* Start a key of the innermost object: cut the path back to the object and add a '.'. */
static void key_start(struct ap_json *j)
{
	j->str_key = 1;
	j->truncated = 0;
	j->key_len = 0;
	j->st = J_STR;
	if (!path_ok(j))
		return;
	j->path_len = j->plen[j->nest];
	if (j->path_len)
		j->path[j->path_len++] = '.';
	j->path[j->path_len] = 0;
}

static void put_char(struct ap_json *j, char c)
{
	if (j->str_key) {
		if (!path_ok(j))
			return;
		if (j->key_len < AP_JSON_KEY_MAX) {
			j->path[j->path_len++] = c;
			j->key_len++;
		} else if (!j->truncated) {
			j->truncated = 1;
			j->path[j->path_len++] = '\x7f';
		}
		j->path[j->path_len] = 0;
		return;
	}
	if (j->val_len < AP_JSON_VAL_MAX)
		j->val[j->val_len++] = c;
	else
		j->truncated = 1;
}

static void scalar_start(struct ap_json *j)
{
	j->val_len = 0;
	j->truncated = 0;
}

static void string_done(struct ap_json *j, ap_json_cb cb, void *ctx)
{
	if (j->str_key) {
		j->str_key = 0;
		j->st = J_COLON;
		if (j->want && path_ok(j) && !j->want(j->path, j->path_len))
			j->skip_next = 1;
		return;
	}
	emit(j, AP_JSON_STRING, cb, ctx);
	value_done(j);
}

#define INLINE static inline __attribute__((always_inline))

/*
 * memcpy(dst, src, k) for the short runs keys and values mostly are: one fixed 16-byte copy when
 * 16 bytes may be read at src (avail) and written at dst (room), which the compiler inlines.
 */
INLINE void copy_run(char *dst, size_t room, const unsigned char *src, size_t avail, size_t k)
{
	if (k <= 16 && avail >= 16 && room >= 16)
		memcpy(dst, src, 16);
	else
		memcpy(dst, src, k);
}

/* Append k plain bytes to the current key (path) or value, as put_char would one by one; avail
 * bytes are readable at p (avail >= k). */
INLINE void put_run(struct ap_json *j, const unsigned char *p, size_t k, size_t avail)
{
	size_t room;

	if (!k)
		return;
	if (j->str_key) {
		if (!path_ok(j))
			return;
		room = AP_JSON_KEY_MAX - j->key_len;
		if (k <= room) {
			copy_run(j->path + j->path_len, sizeof(j->path) - j->path_len, p, avail, k);
			j->path_len = (uint16_t)(j->path_len + k);
			j->key_len = (uint16_t)(j->key_len + k);
		} else {
			memcpy(j->path + j->path_len, p, room);
			j->path_len = (uint16_t)(j->path_len + room);
			j->key_len = AP_JSON_KEY_MAX;
			if (!j->truncated) {
				j->truncated = 1;
				j->path[j->path_len++] = '\x7f';
			}
		}
		j->path[j->path_len] = 0;
		return;
	}
	room = AP_JSON_VAL_MAX - j->val_len;
	if (k > room) {
		k = room;
		j->truncated = 1;
	}
	copy_run(j->val + j->val_len, sizeof(j->val) - j->val_len, p, avail, k);
	j->val_len = (uint16_t)(j->val_len + k);
}

/* Bytes before the first '"', '\\' or control byte of p[0..n): 16 at a time where SSE2 is. */
INLINE size_t plain_len(const unsigned char *p, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      ctl = _mm_set1_epi8(0x1f);

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i hit = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
			_mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x));
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);

		if (mask)
			return i + (unsigned)__builtin_ctz(mask);
	}
#endif
	while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20)
		i++;
	return i;
}

/* Copy plain string bytes in bulk; returns bytes consumed (stops before '"' or '\\'). */
INLINE size_t string_run(struct ap_json *j, const unsigned char *p, size_t n)
{
	size_t i = plain_len(p, n);

	put_run(j, p, i, n);
	if (i < n && p[i] < 0x20)
		fail(j);
	return i;
}

static void escape_char(struct ap_json *j, unsigned char c)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *q;

	if (c == 'u') {
		j->st = J_UHEX;
		j->hex_n = 0;
		j->hex = 0;
		return;
	}
	q = c ? memchr(from, c, sizeof(from) - 1) : NULL;
	if (!q) {
		fail(j);
		return;
	}
	put_char(j, to[q - from]);
	j->st = J_STR;
}

static void hex_char(struct ap_json *j, unsigned char c)
{
	unsigned v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		v = (c | 0x20) - 'a' + 10;
	else {
		fail(j);
		return;
	}
	j->hex = (uint16_t)(j->hex << 4 | v);
	if (++j->hex_n < 4)
		return;
	put_char(j, j->hex < 0x80 && j->hex >= 0x20 ? (char)j->hex : '?');
	j->st = J_STR;
}

/* The bytes that may continue a number: digits, '-', '+', '.', 'e', 'E'. */
static const uint8_t num_chars[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1,
};

static int is_num_char(unsigned char c)
{
	return num_chars[c];
}

/* A value starts with c. */
INLINE void value_start(struct ap_json *j, unsigned char c)
{
	if (j->skip_next) {
		j->skip_next = 0;
		if (c == '"' || c == '{' || c == '[') {
			j->st = J_SKIP;
			j->skip_str = c == '"';
			j->skip_esc = 0;
			j->skip_depth = c == '"' ? 0 : 1;
			return;
		}
		j->mute = 1; /* a number or literal: validated, not reported */
	}
	switch (c) {
	case '{':
		open_container(j, 0);
		break;
	case '[':
		open_container(j, 1);
		break;
	case '"':
		scalar_start(j);
		j->str_key = 0;
		j->st = J_STR;
		break;
	case 't':
	case 'f':
	case 'n':
		j->lit_type = c == 't' ? AP_JSON_TRUE : c == 'f' ? AP_JSON_FALSE : AP_JSON_NULL;
		j->lit_idx = 1;
		j->st = J_LIT;
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			scalar_start(j);
			put_char(j, (char)c);
			j->st = J_NUM;
		} else {
			fail(j);
		}
	}
}

/* After a value: ',' or a closing bracket, or (at top level) the next value. */
static void after_value(struct ap_json *j, unsigned char c)
{
	if (j->nest == 0) {
		j->st = J_VALUE;
		value_start(j, c);
		return;
	}
	if (c == ',')
		j->st = top_is_arr(j) ? J_VALUE : J_OBJ_KEY;
	else if (c == (top_is_arr(j) ? ']' : '}'))
		close_container(j);
	else
		fail(j);
}

static void lit_char(struct ap_json *j, unsigned char c, ap_json_cb cb, void *ctx)
{
	const char *lit = literals[j->lit_type];

	if ((unsigned char)lit[j->lit_idx] != c) {
		fail(j);
		return;
	}
	if (lit[++j->lit_idx])
		return;
	j->val_len = 0;
	j->truncated = 0;
	emit(j, j->lit_type, cb, ctx);
	value_done(j);
}

/* One structural byte (not inside a string run). Returns 1 if c must be processed again. */
static int step(struct ap_json *j, unsigned char c, ap_json_cb cb, void *ctx)
{
	switch (j->st) {
	case J_VALUE:
		if (!is_ws(c))
			value_start(j, c);
		return 0;
	case J_ARR_FIRST:
		if (is_ws(c))
			return 0;
		if (c == ']')
			close_container(j);
		else {
			j->st = J_VALUE;
			value_start(j, c);
		}
		return 0;
	case J_OBJ_FIRST:
	case J_OBJ_KEY:
		if (is_ws(c))
			return 0;
		if (c == '"')
			key_start(j);
		else if (c == '}' && j->st == J_OBJ_FIRST)
			close_container(j);
		else
			fail(j);
		return 0;
	case J_COLON:
		if (c == ':')
			j->st = J_VALUE;
		else if (!is_ws(c))
			fail(j);
		return 0;
	case J_AFTER:
		if (!is_ws(c))
			after_value(j, c);
		return 0;
	case J_ESC:
		escape_char(j, c);
		return 0;
	case J_UHEX:
		hex_char(j, c);
		return 0;
	case J_NUM:
		if (is_num_char(c)) {
			put_char(j, (char)c);
			return 0;
		}
		emit(j, AP_JSON_NUMBER, cb, ctx);
		value_done(j);
		return 1;
	case J_LIT:
		lit_char(j, c, cb, ctx);
		return 0;
	}
	fail(j);
	return 0;
}

/* Bytes before the first quote or bracket of p[0..n): 16 at a time where SSE2 is. */
INLINE size_t struct_len(const unsigned char *p, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	/* x | 0x20 is '{' for '[' and '{' only, '}' for ']' and '}' only */
	const __m128i quote = _mm_set1_epi8('"'), bit5 = _mm_set1_epi8(0x20),
		      open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i f = _mm_or_si128(x, bit5);
		__m128i hit = _mm_or_si128(
			_mm_cmpeq_epi8(x, quote),
			_mm_or_si128(_mm_cmpeq_epi8(f, open), _mm_cmpeq_epi8(f, close)));
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);

		if (mask)
			return i + (unsigned)__builtin_ctz(mask);
	}
#endif
	while (i < n && p[i] != '"' && (p[i] | 0x20) != '{' && (p[i] | 0x20) != '}')
		i++;
	return i;
}

#if defined(__SSE2__)
/* Bits of the 64 bytes a..d equal to ch. */
INLINE uint64_t eq64(__m128i a, __m128i b, __m128i c, __m128i d, __m128i ch)
{
	uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, ch)),
		 m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, ch)),
		 m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(c, ch)),
		 m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(d, ch));

	return m0 | m1 << 16 | m2 << 32 | m3 << 48;
}

/* Bit i of the result: the XOR of bits 0..i of x (set from an opening quote on). */
INLINE uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	return x ^ x << 32;
}

INLINE unsigned popcount64(uint64_t x) /* SWAR: no POPCNT in the baseline ISA */
{
	x -= x >> 1 & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + (x >> 2 & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)(x * 0x0101010101010101ull >> 56);
}

/*
 * The bytes a backslash escapes in a 64-byte block with backslashes at bs, byte 0 too if
 * *carry (the last block ended in an odd run of them); *carry becomes the same for the next
 * block. Runs are told apart by the parity of where they start: simdjson's subtract-with-borrow
 * trick (Langdale and Lemire, "Parsing gigabytes of JSON per second", 2019).
 */
INLINE uint64_t escaped64(uint64_t bs, uint8_t *carry)
{
	const uint64_t odd = 0xAAAAAAAAAAAAAAAAull;
	uint64_t in = *carry, start, code;

	if (!bs) {
		*carry = 0;
		return in;
	}
	start = bs & ~in;
	code = (((start << 1) | odd) - start) ^ odd;
	*carry = (uint8_t)((code & bs) >> 63);
	return code ^ (bs | in);
}

/* skip_run's state while it is in whole blocks: kept in registers, stored when they end. */
struct skip_state {
	uint32_t depth;
	uint8_t str, esc;
};

/*
 * One 64-byte block of a declined value, from its quote, backslash and bracket bits (opening
 * q, bs, op: x | 0x20 == '{'; closing cl: x | 0x20 == '}'), a block in a few dozen instructions
 * whatever it holds: the quotes no backslash escapes give, by a prefix XOR, the bytes inside
 * strings; the brackets outside them are counted, and walked one by one only in a block where
 * the value may end. Returns 0 to go on, 1 when the value ended at byte *end - 1, 2 before a
 * block with a backslash outside a string (not JSON: skip_run's byte rules decide what it
 * means, so that the result is skip_run's on any input).
 */
INLINE int skip_block(struct skip_state *k, uint64_t q, uint64_t bs, uint64_t op, uint64_t cl,
		      unsigned (*popcount)(uint64_t), uint64_t (*pxor)(uint64_t), size_t *end)
{
	uint8_t carry = k->esc;
	uint64_t ins;
	unsigned nc;

	q &= ~escaped64(bs, &carry);
	ins = pxor(q) ^ (k->str ? ~0ull : 0); /* an opening quote is inside */
	if (bs & ~ins)
		return 2;
	if (k->depth == 0) { /* a declined string: its closing quote */
		q &= ~ins;
		if (q) {
			*end = (unsigned)__builtin_ctzll(q) + 1;
			return 1;
		}
		k->esc = carry;
		return 0;
	}
	op &= ~ins;
	cl &= ~ins;
	nc = popcount(cl);
	if (nc < k->depth) {
		k->depth += popcount(op) - nc;
	} else {
		for (uint64_t m = op | cl; m; m &= m - 1) {
			unsigned b = (unsigned)__builtin_ctzll(m);

			if (op >> b & 1) {
				k->depth++;
			} else if (--k->depth == 0) {
				*end = b + 1;
				return 1;
			}
		}
	}
	k->str = (uint8_t)(ins >> 63);
	k->esc = carry;
	return 0;
}

/* The blocks' way out: store the state; at the value's end, it is done (skip_run's ending). */
INLINE size_t skip_blocks_end(struct ap_json *j, const struct skip_state *k, int r, size_t at,
			      int *ended)
{
	if (r == 1) {
		j->skip_str = 0;
		j->skip_esc = 0;
		j->skip_depth = 0;
		value_done(j);
		*ended = 1;
		return at;
	}
	j->skip_depth = k->depth;
	j->skip_str = k->str;
	j->skip_esc = k->esc;
	return at;
}

/* skip_block over the whole blocks of p[0..n), SSE2: returns bytes consumed; *ended: the value
 * ended in them (value_done has run). */
static size_t skip_blocks(struct ap_json *j, const unsigned char *p, size_t n, int *ended)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      bit5 = _mm_set1_epi8(0x20), open = _mm_set1_epi8('{'),
		      close = _mm_set1_epi8('}');
	struct skip_state k = {j->skip_depth, j->skip_str, j->skip_esc};
	size_t i = 0, end = 0;
	int r = 0;

	for (; i + 64 <= n; i += 64) {
		const __m128i *v = (const __m128i *)(const void *)(p + i);
		__m128i x0 = _mm_loadu_si128(v), x1 = _mm_loadu_si128(v + 1),
			x2 = _mm_loadu_si128(v + 2), x3 = _mm_loadu_si128(v + 3);
		__m128i f0 = _mm_or_si128(x0, bit5), f1 = _mm_or_si128(x1, bit5),
			f2 = _mm_or_si128(x2, bit5), f3 = _mm_or_si128(x3, bit5);

		r = skip_block(&k, eq64(x0, x1, x2, x3, quote), eq64(x0, x1, x2, x3, bslash),
			       eq64(f0, f1, f2, f3, open), eq64(f0, f1, f2, f3, close), popcount64,
			       prefix_xor, &end);
		if (r)
			break;
	}
	return skip_blocks_end(j, &k, r, i + (r == 1 ? end : 0), ended);
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) INLINE unsigned popcount_hw(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/* prefix_xor in one carry-less multiply by all ones */
__attribute__((target("pclmul"))) INLINE uint64_t prefix_xor_clmul(uint64_t x)
{
	return (uint64_t)_mm_cvtsi128_si64(
		_mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8(-1), 0));
}

/* The same with AVX2 (32 bytes a compare), POPCNT and PCLMULQDQ, where ap_cpu_avx2 says. */
__attribute__((target("avx2,popcnt,pclmul"))) static size_t
skip_blocks_avx2(struct ap_json *j, const unsigned char *p, size_t n, int *ended)
{
	const __m256i quote = _mm256_set1_epi8('"'), bslash = _mm256_set1_epi8('\\'),
		      bit5 = _mm256_set1_epi8(0x20), open = _mm256_set1_epi8('{'),
		      close = _mm256_set1_epi8('}');
	struct skip_state k = {j->skip_depth, j->skip_str, j->skip_esc};
	size_t i = 0, end = 0;
	int r = 0;

	for (; i + 64 <= n; i += 64) {
		const __m256i *v = (const __m256i *)(const void *)(p + i);
		__m256i lo = _mm256_loadu_si256(v), hi = _mm256_loadu_si256(v + 1);
		__m256i flo = _mm256_or_si256(lo, bit5), fhi = _mm256_or_si256(hi, bit5);
#define EQ64(a, b, ch)                                                        \
	((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, ch)) | \
	 (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, ch)) << 32)
		r = skip_block(&k, EQ64(lo, hi, quote), EQ64(lo, hi, bslash), EQ64(flo, fhi, open),
			       EQ64(flo, fhi, close), popcount_hw, prefix_xor_clmul, &end);
#undef EQ64
		if (r)
			break;
	}
	return skip_blocks_end(j, &k, r, i + (r == 1 ? end : 0), ended);
}
#endif
#endif

/*
 * Skip bytes of a declined value; returns bytes consumed. Only quotes, backslashes inside
 * strings and brackets outside them matter; the value ends at its closing quote or bracket.
 */
static size_t skip_run(struct ap_json *j, const unsigned char *p, size_t n)
{
	size_t i = 0;
	unsigned char c;

#if defined(__SSE2__)
	if (n >= 64) {
		int ended = 0;

#if defined(__x86_64__)
		i = ap_cpu_avx2() ? skip_blocks_avx2(j, p, n, &ended)
				  : skip_blocks(j, p, n, &ended);
#else
		i = skip_blocks(j, p, n, &ended);
#endif
		if (ended)
			return i;
	}
	/* 16 bytes at a time: a mask of the quotes, backslashes and brackets, taken bit by bit with
	 * the meaning the byte loop below gives each (brackets only outside strings, backslashes
	 * only inside, where they hide the next byte) */
	{
		const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
			      bit5 = _mm_set1_epi8(0x20), open = _mm_set1_epi8('{'),
			      close = _mm_set1_epi8('}');

		while (i + 16 <= n) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i f = _mm_or_si128(x, bit5);
			unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
				_mm_or_si128(_mm_cmpeq_epi8(f, open), _mm_cmpeq_epi8(f, close))));

			if (j->skip_esc) { /* the byte after a backslash that ended the last block
					    */
				j->skip_esc = 0;
				mask &= ~1u;
			}
			for (; mask; mask &= mask - 1) {
				unsigned b = (unsigned)__builtin_ctz(mask);

				c = p[i + b];
				if (j->skip_str) {
					if (c == '\\') {
						if (b == 15)
							j->skip_esc = 1;
						mask &= ~(2u << b); /* the escaped byte */
					} else if (c == '"') {
						j->skip_str = 0;
						if (j->skip_depth == 0) {
							value_done(j);
							return i + b + 1;
						}
					}
				} else if (c == '"') {
					j->skip_str = 1;
				} else if (c == '{' || c == '[') {
					j->skip_depth++;
				} else if (c != '\\' && --j->skip_depth == 0) { /* '}' or ']' */
					value_done(j);
					return i + b + 1;
				}
			}
			i += 16;
		}
	}
#endif
	while (i < n) {
		if (j->skip_str) {
			if (j->skip_esc) {
				j->skip_esc = 0;
				i++;
				continue;
			}
			/* the bulk of a skipped value: plain string bytes (control bytes too) */
			i += plain_len(p + i, n - i);
			if (i >= n)
				return i;
			c = p[i++];
			if (c == '\\') {
				j->skip_esc = 1;
			} else if (c == '"') {
				j->skip_str = 0;
				if (j->skip_depth == 0) {
					value_done(j);
					return i;
				}
			}
			continue;
		}
		i += struct_len(p + i, n - i);
		if (i >= n)
			return i;
		c = p[i++];
		if (c == '"')
			j->skip_str = 1;
		else if (c == '{' || c == '[')
			j->skip_depth++;
		else if (--j->skip_depth == 0) { /* '}' or ']' */
			value_done(j);
			return i;
		}
	}
	return i;
}

/* Bytes of p[0..n) that may continue a number. */
INLINE size_t num_len(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_num_char(p[i]))
		i++;
	return i;
}

/*
 * Compact object members from p[i] (a key's opening quote), while the path is tracked: each key
 * read in one go and given to the filter, a declined string value skipped in place, any other
 * value started; what key_start, put_run, string_done, value_start and skip_run do byte by
 * byte. Returns the new i. A key with an escape or a control byte, longer than
 * AP_JSON_KEY_MAX or cut by the end of the input goes the byte-by-byte way (J_STR), and so does
 * a declined string value with an escape or cut.
 */
INLINE size_t members(struct ap_json *j, const unsigned char *p, size_t n, size_t i, ap_json_cb cb,
		      void *ctx)
{
	for (;;) {
		const unsigned char *kp = p + i + 1;
		size_t avail = n - i - 1, kl = plain_len(kp, avail), at, q;
		unsigned char c;

		if (kl >= avail || kp[kl] != '"' || kl > AP_JSON_KEY_MAX || !path_ok(j)) {
			key_start(j);
			return i + 1;
		}
		at = j->plen[j->nest];
		if (at)
			j->path[at++] = '.';
		copy_run(j->path + at, sizeof(j->path) - at, kp, avail, kl);
		at += kl;
		j->path[at] = 0;
		j->path_len = (uint16_t)at;
		j->key_len = (uint16_t)kl;
		j->truncated = 0;
		j->str_key = 0;
		j->st = J_COLON;
		if (j->want && !j->want(j->path, j->path_len))
			j->skip_next = 1;
		i += kl + 2;
		if (!(i + 1 < n && p[i] == ':' && !is_ws(p[i + 1])))
			return i;
		j->st = J_VALUE;
		c = p[i + 1];
		if (c == '"' && j->skip_next) {
			/* a declined string value, whole in the input: past its closing quote */
			j->skip_next = 0;
			i += 2;
			q = plain_len(p + i, n - i);
			if (i + q >= n || p[i + q] != '"') {
				j->st = J_SKIP;
				j->skip_str = 1;
				j->skip_esc = 0;
				j->skip_depth = 0;
				return i;
			}
			i += q + 1;
		} else if (c == '"') {
			/* a string value, whole in the input and plain: copied and reported */
			scalar_start(j);
			j->str_key = 0;
			j->st = J_STR;
			i += 2;
			q = plain_len(p + i, n - i);
			if (i + q >= n || p[i + q] != '"')
				return i;
			put_run(j, p + i, q, n - i);
			i += q + 1;
			emit(j, AP_JSON_STRING, cb, ctx);
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			/* a number ending in the input: copied and reported (not if declined) */
			q = 1 + num_len(p + i + 2, n - i - 2);
			if (i + 1 + q >= n) {
				value_start(j, c);
				return i + 2;
			}
			j->mute = j->skip_next;
			j->skip_next = 0;
			scalar_start(j);
			put_run(j, p + i + 1, q, n - i - 1);
			i += 1 + q;
			emit(j, AP_JSON_NUMBER, cb, ctx);
		} else {
			value_start(j, c);
			return i + 2;
		}
		value_done(j);
		if (!(i + 1 < n && p[i] == ',' && p[i + 1] == '"' && !top_is_arr(j)))
			return i;
		j->st = J_OBJ_KEY;
		i++;
	}
}

/*
 * The byte loop. Compact JSON takes the fused transitions below ("key": value, ",\"key"),
 * which do what step() would do byte by byte; anything else (whitespace, escapes, literals,
 * errors) goes through step().
 */
void ap_json_feed(struct ap_json *j, const void *buf, size_t n, ap_json_cb cb, void *ctx)
{
	const unsigned char *p = buf;
	size_t i = 0, k;

	while (i < n && !j->failed) {
		unsigned char c = p[i];

		switch (j->st) {
		case J_SKIP:
			i += skip_run(j, p + i, n - i);
			continue;
		case J_STR:
			i += string_run(j, p + i, n - i);
			if (i >= n || j->failed)
				return;
			if (p[i++] != '"') {
				j->st = J_ESC;
				continue;
			}
			if (!j->str_key) {
				string_done(j, cb, ctx);
				continue;
			}
			string_done(j, cb, ctx); /* a key: J_COLON */
			if (i + 1 < n && p[i] == ':' && !is_ws(p[i + 1])) {
				j->st = J_VALUE;
				value_start(j, p[i + 1]);
				i += 2;
			}
			continue;
		case J_NUM:
			k = num_len(p + i, n - i);
			if (k) {
				put_run(j, p + i, k, n - i);
				i += k;
				continue;
			}
			emit(j, AP_JSON_NUMBER, cb, ctx);
			value_done(j);
			continue;
		case J_AFTER:
			if (c == ',' && j->nest && !top_is_arr(j)) {
				j->st = J_OBJ_KEY;
				if (i + 1 < n && p[i + 1] == '"') {
					i = members(j, p, n, i + 1, cb, ctx);
					continue;
				}
				i++;
				continue;
			}
			break;
		case J_OBJ_FIRST:
		case J_OBJ_KEY:
			if (c == '"') {
				i = members(j, p, n, i, cb, ctx);
				continue;
			}
			break;
		}
		if (!step(j, c, cb, ctx))
			i++;
	}
}

void ap_json_end(struct ap_json *j, ap_json_cb cb, void *ctx)
{
	if (j->failed || j->nest != 0 || j->st != J_NUM)
		return;
	emit(j, AP_JSON_NUMBER, cb, ctx);
	value_done(j);
}
