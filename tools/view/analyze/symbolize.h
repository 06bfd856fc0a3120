/* symbolize.h: offline symbolization of recorded stacks (function, file:line) with elfutils. */
#ifndef AGENTPROF_VIEW_SYMBOLIZE_H
#define AGENTPROF_VIEW_SYMBOLIZE_H

#include <stdio.h>

#include "model.h"

/*
 * Frames are return addresses recorded with the module map of their process (AP_REC_MODULE:
 * path, load bias, range, GNU build-id). Each frame is looked up as (address - 1 - bias) in
 * the module's file with libdwfl (symbol table, DWARF line table, separate debug files under
 * /usr/lib/debug). A file that is missing, or whose build-id differs from the recorded one
 * (rebuilt since the run), is never guessed at: its frames are named "module+0xOFFSET" and
 * one warning per file goes to err. Frames outside every module are "0xADDRESS".
 * Results are cached per module and address; stacks are cached per process and id.
 */

struct symframe {
	const char *name;   /* function (demangled), or module+0xoffset, or 0xaddress */
	const char *file;   /* source file, NULL when unknown */
	int line;	    /* 0 when unknown */
	const char *module; /* basename of the module's path, NULL outside modules */
};

struct symbolizer;

struct symbolizer *sym_open(const struct run *run, FILE *err);
void sym_close(struct symbolizer *s);

/*
 * Frames of stack `stack_id` recorded by process index `proc`, OUTERMOST FIRST, with the
 * profiler's own frames (libagentprof.so) removed. Returns the count (0 when the stack is
 * unknown); *out stays valid until sym_close.
 */
size_t sym_stack(struct symbolizer *s, int32_t proc, uint64_t stack_id,
		 const struct symframe *const **out);

#endif
