/* pyline.c: CPython line tables (lnotab, 3.10 linetable, 3.11+ location table) decoded to the
 * line of one instruction, bounded by the table's length; used by the preload's stack reader. */
#include "pyline.h"

/* 3.11+ location table varints: 6 bits per byte, 0x40 = more. */
static uint32_t lt_varint(const uint8_t *p, size_t n, size_t *i)
{
	uint32_t v = 0, shift = 0;

	while (*i < n && shift < 32) {
		uint8_t b = p[(*i)++];

		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return v;
}

static int32_t lt_svarint(const uint8_t *p, size_t n, size_t *i)
{
	uint32_t u = lt_varint(p, n, i);

	return u & 1 ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
}

int32_t ap_py_line(int format, const uint8_t *p, size_t n, int32_t first, int64_t addr)
{
	if (addr < 0)
		return 0;
	if (format == AP_PY_LNOTAB) {
		int64_t a = 0;
		int32_t line = first;

		for (size_t i = 0; i + 1 < n; i += 2) {
			a += p[i];
			if (a > addr)
				break;
			line += (int8_t)p[i + 1];
		}
		return line > 0 ? line : 0;
	}
	if (format == AP_PY_LINETABLE) {
		int64_t end = 0;
		int32_t line = first, cur = first;

		for (size_t i = 0; i + 1 < n; i += 2) {
			int8_t ld = (int8_t)p[i + 1];

			end += p[i];
			if (ld == -128) {
				cur = -1;
			} else {
				line += ld;
				cur = line;
			}
			if (end > addr)
				return cur > 0 ? cur : 0;
		}
		return 0;
	}
	if (format != AP_PY_LOCATIONS)
		return 0;
	{
		int64_t a = 0, line = first; /* 64 bits: a damaged table cannot overflow it */
		size_t i = 0;

		while (i < n) {
			uint8_t b = p[i++];
			int code = (b >> 3) & 15, len = (b & 7) + 1, has_line = 1;

			if (!(b & 0x80))
				return 0; /* not at an entry start: damaged */
			switch (code) {
			case 15:
				has_line = 0;
				break;
			case 14:
				line += lt_svarint(p, n, &i);
				lt_varint(p, n, &i);
				lt_varint(p, n, &i);
				lt_varint(p, n, &i);
				break;
			case 13:
				line += lt_svarint(p, n, &i);
				break;
			case 12:
			case 11:
			case 10:
				line += code - 10;
				i += 2;
				break;
			default:
				i += 1;
				break;
			}
			a += len;
			if (a > addr)
				return has_line && line > 0 && line <= INT32_MAX ? (int32_t)line
										 : 0;
		}
		return 0;
	}
}
