/* pystack.h: recorded Python stacks (AP_REC_PYSTACK) as display frames, merged with native ones. */
#ifndef AGENTPROF_VIEW_PYSTACK_H
#define AGENTPROF_VIEW_PYSTACK_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "symbolize.h"

/*
 * A Python frame is shown as "FILE:QUALNAME:LINE" (FILE the basename of co_filename), with
 * symframe.file the full path and .module "python". When an event carries a Python stack, its
 * Python frames replace the native ones (the interpreter's C frames say nothing about the
 * program); with native = 1 they are spliced in place of the evaluator's frames (outermost to
 * innermost _PyEval_EvalFrame*; without symbols, the interpreter's own frames), the native
 * frames outside them (process start, the C functions the program called) kept.
 * Without a Python stack the native stack is shown as before.
 */

struct pystacks;

/* sym may be NULL (no native stacks). */
struct pystacks *py_open(const struct run *run, struct symbolizer *sym, int native);
void py_close(struct pystacks *p);

/* Display frames OUTERMOST FIRST for an event; *out valid until py_close. p may be NULL: then
 * only the native stack (sym_stack) is used. */
size_t py_stack(struct pystacks *p, struct symbolizer *sym, int32_t proc, uint64_t stack_id,
		uint64_t pystack_id, const struct symframe *const **out);

/* Whether a Python source file belongs to the standard library or an installed package
 * (site-packages, dist-packages, <frozen ...>, the interpreter's lib directory). */
int py_is_library(const char *file);

/*
 * "Called from": the innermost frame of the user's own code (library frames skipped unless
 * any = 1) as "FILE:QUALNAME:LINE", followed by its next two callers in that code
 * ("agent.py:Http.request:79 < Agent.chat:120 < Agent.run:177"; a caller in another file keeps
 * its file name), into buf. Returns 1, or 0 when the event has no Python stack (buf then "").
 */
int py_call_site(struct pystacks *p, int32_t proc, uint64_t pystack_id, int any, char *buf,
		 size_t cap);

#endif
