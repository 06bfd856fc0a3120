/* unit.h: a minimal unit-test harness; each test binary prints "N passed, N failed" and exits 0/1.
 */
#ifndef AGENTPROF_UNIT_H
#define AGENTPROF_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (cond) {                                                                      \
			unit_passed++;                                                           \
		} else {                                                                         \
			unit_failed++;                                                           \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a == _b) {                                                                    \
			unit_passed++;                                                             \
		} else {                                                                           \
			unit_failed++;                                                             \
			fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, \
				#b, _a, _b);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (_a && _b && strcmp(_a, _b) == 0) {                                             \
			unit_passed++;                                                             \
		} else {                                                                           \
			unit_failed++;                                                             \
			fprintf(stderr, "%s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
				#a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                   \
		}                                                                                  \
	} while (0)

#define UNIT_DONE()                                                         \
	do {                                                                \
		printf("%d passed, %d failed\n", unit_passed, unit_failed); \
		return unit_failed ? 1 : 0;                                 \
	} while (0)

/* One protobuf varint field (key num << 3, value v) written at p, as a file of any format
 * version holds it; returns the bytes written (tests build records by hand with it). */
static inline size_t unit_varint_field(uint8_t *p, unsigned num, uint64_t v)
{
	size_t o = 0;
	uint64_t key = (uint64_t)num << 3;

	for (; key >= 0x80; key >>= 7)
		p[o++] = (uint8_t)(key | 0x80);
	p[o++] = (uint8_t)key;
	for (; v >= 0x80; v >>= 7)
		p[o++] = (uint8_t)(v | 0x80);
	p[o++] = (uint8_t)v;
	return o;
}

#endif
