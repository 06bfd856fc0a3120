/* pyline.h: the line number of one instruction from a CPython code object's line table. */
#ifndef AGENTPROF_PYLINE_H
#define AGENTPROF_PYLINE_H

#include <stddef.h>
#include <stdint.h>

/* The table formats, by the CPython minor version that introduced them. */
enum ap_py_line_format {
	AP_PY_LNOTAB = 9,     /* 3.9 co_lnotab: (byte delta, signed line delta) pairs */
	AP_PY_LINETABLE = 10, /* 3.10 co_linetable: (byte delta, line delta or -128 = none) */
	AP_PY_LOCATIONS = 11  /* 3.11+ co_linetable: the location table (PEP 657 entries) */
};

/*
 * The line of instruction `addr` (3.9 and 3.10: byte offset; 3.11+: code-unit index) in the
 * table p[0..n) of a code object whose first line is `first`; 0 when unknown (no line, addr
 * outside the table, a damaged table). Never reads outside p[0..n).
 */
int32_t ap_py_line(int format, const uint8_t *p, size_t n, int32_t first, int64_t addr);

#endif
