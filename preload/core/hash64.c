/* hash64.c: streamed XXH64 (Yann Collet's algorithm, seed 0) for the request hash. */
#include "hash64.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/* Little-endian loads, as the algorithm defines them (memcpy: any alignment). */
static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t round64(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	return rotl(acc, 31) * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v)
{
	acc ^= round64(0, v);
	return acc * P1 + P4;
}

void ap_hash64_init(struct ap_hash64 *h)
{
	h->v[0] = P1 + P2;
	h->v[1] = P2;
	h->v[2] = 0;
	h->v[3] = 0 - P1;
	h->total = 0;
	h->buf_len = 0;
	h->started = 1;
}

/* Whole stripes of p[0..n); returns the bytes taken (a multiple of 32). */
static size_t stripes(struct ap_hash64 *h, const uint8_t *p, size_t n)
{
	uint64_t v0 = h->v[0], v1 = h->v[1], v2 = h->v[2], v3 = h->v[3];
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		v0 = round64(v0, load64(p + i));
		v1 = round64(v1, load64(p + i + 8));
		v2 = round64(v2, load64(p + i + 16));
		v3 = round64(v3, load64(p + i + 24));
	}
	h->v[0] = v0;
	h->v[1] = v1;
	h->v[2] = v2;
	h->v[3] = v3;
	return i;
}

void ap_hash64_stripes(struct ap_hash64 *h, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	if (!h->started)
		ap_hash64_init(h);
	h->total += n;
	if (h->buf_len) {
		size_t k = 32 - h->buf_len;

		if (n < k) {
			memcpy(h->buf + h->buf_len, p, n);
			h->buf_len += (uint32_t)n;
			return;
		}
		memcpy(h->buf + h->buf_len, p, k);
		stripes(h, h->buf, 32);
		h->buf_len = 0;
		p += k;
		n -= k;
	}
	size_t done = stripes(h, p, n);

	memcpy(h->buf, p + done, n - done);
	h->buf_len = (uint32_t)(n - done);
}

uint64_t ap_hash64_digest(const struct ap_hash64 *h)
{
	const uint8_t *p = h->buf;
	size_t n = h->started ? h->buf_len : 0, i = 0;
	uint64_t acc;

	if (h->started && h->total >= 32) {
		acc = rotl(h->v[0], 1) + rotl(h->v[1], 7) + rotl(h->v[2], 12) + rotl(h->v[3], 18);
		for (int k = 0; k < 4; k++)
			acc = merge(acc, h->v[k]);
	} else {
		acc = P5;
	}
	acc += h->started ? h->total : 0;
	for (; i + 8 <= n; i += 8) {
		acc ^= round64(0, load64(p + i));
		acc = rotl(acc, 27) * P1 + P4;
	}
	if (i + 4 <= n) {
		acc ^= (uint64_t)load32(p + i) * P1;
		acc = rotl(acc, 23) * P2 + P3;
		i += 4;
	}
	for (; i < n; i++) {
		acc ^= p[i] * P5;
		acc = rotl(acc, 11) * P1;
	}
	acc ^= acc >> 33;
	acc *= P2;
	acc ^= acc >> 29;
	acc *= P3;
	acc ^= acc >> 32;
	return acc;
}
