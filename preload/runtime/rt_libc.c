/* rt_libc.c: memcpy, memmove and memset of the preload's own, so that no sanitizer runtime of the
 * host sees them write. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A host built with ThreadSanitizer intercepts libc's memset, memcpy and memmove and records the
 * memory each call writes. Our library is not instrumented: the atomics that order its threads
 * (the connection pool, the parser state a connection carries from one thread to the next, the
 * writer's slots) are invisible to the host's runtime, so it reported those writes, against the
 * reads of our later strcspn or memchr on the same memory, as data races between the host's
 * threads, and the host exited with 66. These definitions are hidden (-fvisibility=hidden):
 * every copy and fill the library makes, GCC's own included (struct copies, the zstd linked
 * in), binds to them when the library is linked, and none reaches the host's interceptors.
 * Our other calls into libc only read (strlen, memchr, strcspn...): a read races with no read,
 * so they stay libc's, which are faster. The other writers a host's runtime intercepts write
 * into locals first (inet_ntop, rt_conn.c), and only read the given bytes, never past them.
 *
 * Not in the sanitizer builds of the preload (tests/targets: the ASan and TSan objects), whose
 * instrumented accesses and interceptors are the point there. AP_LIBC_TEST renames them so that
 * test_libc compares each with the C library's.
 */
#if defined(AP_LIBC_TEST) || (!defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__))

#ifdef AP_LIBC_TEST
#define F(name) ap_test_##name
#define API
#else
#define F(name) name
#define API	__attribute__((visibility("hidden")))
#endif
/* GCC would turn the byte loops below into calls of the functions they define */
#define FN API __attribute__((optimize("no-tree-loop-distribute-patterns")))

#ifdef __SSE2__
#include <emmintrin.h>
#define LOAD(p)	    _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STORE(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#endif

/* n < 16 bytes, every load before any store: right for any overlap */
static inline __attribute__((always_inline)) void copy_small(unsigned char *d,
							     const unsigned char *s, size_t n)
{
	if (n >= 8) { /* 8..15: two 8-byte words that may overlap; 4..7 likewise */
		uint64_t a, b;

		__builtin_memcpy(&a, s, 8);
		__builtin_memcpy(&b, s + n - 8, 8);
		__builtin_memcpy(d, &a, 8);
		__builtin_memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		__builtin_memcpy(&a, s, 4);
		__builtin_memcpy(&b, s + n - 4, 4);
		__builtin_memcpy(d, &a, 4);
		__builtin_memcpy(d + n - 4, &b, 4);
	} else if (n) { /* 1..3: the first, middle and last byte */
		unsigned char a = s[0], b = s[n / 2], c = s[n - 1];

		d[0] = a;
		d[n / 2] = b;
		d[n - 1] = c;
	}
}

/* Front to back, each block loaded before it is stored and the last 16 bytes first: right
 * when the areas are apart or the destination comes first (memmove's forward case). */
static inline __attribute__((always_inline)) void copy_forward(unsigned char *d,
							       const unsigned char *s, size_t n)
{
#ifdef __SSE2__
	if (n >= 16) { /* 16 at a time, the last 16 overlapping the ones before */
		__m128i tail = LOAD(s + n - 16);
		size_t i = 0;

		for (; i + 64 <= n; i += 64) {
			__m128i a = LOAD(s + i), b = LOAD(s + i + 16), c = LOAD(s + i + 32),
				e = LOAD(s + i + 48);
			STORE(d + i, a);
			STORE(d + i + 16, b);
			STORE(d + i + 32, c);
			STORE(d + i + 48, e);
		}
		for (; i + 16 <= n; i += 16)
			STORE(d + i, LOAD(s + i));
		STORE(d + n - 16, tail);
		return;
	}
	copy_small(d, s, n);
#else
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
#endif
}

FN void *F(memcpy)(void *restrict dst, const void *restrict src, size_t n)
{
	copy_forward(dst, src, n);
	return dst;
}

FN void *F(memmove)(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if ((uintptr_t)d - (uintptr_t)s >= n) { /* apart, or the destination first */
		copy_forward(d, s, n);
		return dst;
	}
	/* the destination overlaps the source's end: back to front, the first 16 bytes first */
#ifdef __SSE2__
	if (n >= 16) {
		__m128i head = LOAD(s);
		size_t i = n;

		for (; i >= 16; i -= 16)
			STORE(d + i - 16, LOAD(s + i - 16));
		STORE(d, head);
		return dst;
	}
	copy_small(d, s, n);
#else
	for (size_t i = n; i > 0; i--)
		d[i - 1] = s[i - 1];
#endif
	return dst;
}

FN void *F(memset)(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

#ifdef __SSE2__
	if (n >= 16) {
		__m128i v = _mm_set1_epi8((char)c);
		size_t i = 0;

		for (; i + 64 <= n; i += 64) {
			STORE(d + i, v);
			STORE(d + i + 16, v);
			STORE(d + i + 32, v);
			STORE(d + i + 48, v);
		}
		for (; i + 16 <= n; i += 16)
			STORE(d + i, v);
		STORE(d + n - 16, v);
		return dst;
	}
#endif
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)c;
	return dst;
}

#endif
