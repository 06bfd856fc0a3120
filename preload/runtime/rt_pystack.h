/* rt_pystack.h: the calling thread's CPython stack, read from the interpreter's memory. */
#ifndef AGENTPROF_RT_PYSTACK_H
#define AGENTPROF_RT_PYSTACK_H

#include <stdint.h>

/*
 * When the host runs CPython 3.9 to 3.13 (found at init through the exported _PyRuntime, in the
 * executable or in a shared libpython), a capture reads the calling thread's Python frames
 * without the C API and without the GIL: the thread state bound to this OS thread (the
 * interpreter's own thread-specific key), then the frame chain with the layout of the running
 * minor version (3.13 publishes it in _PyRuntime.debug_offsets). Every address is checked against
 * a snapshot of the process's readable anonymous mappings (and the interpreter's own image)
 * before it is read; a frame that fails a check ends the walk and the stack is marked truncated.
 * Each distinct code object is written once as AP_REC_PYCODE (qualified name, file, first line),
 * each distinct stack once as AP_REC_PYSTACK (code id and line per frame, innermost first).
 * Line numbers are decoded here, from the code object's line table, and cached per (code,
 * instruction). AGENTPROF_PYSTACKS=0 turns it off; other versions get one diagnostic.
 *
 * Callers' duties are those of ap_stack_capture (rt_stack.h): the thread whose stack is wanted,
 * ap_tls.guard 0 or 1, never from a vfork child.
 */

/* Once, from the constructor, after the configuration and the writer are set up. */
void ap_pystack_init(void);
/* fork() child: the code and stack sets are the parent's; start them empty (rt_init.c). */
void ap_pystack_after_fork_child(void);

/* The calling thread's Python stack id (written the first time it is seen), 0 if none. */
uint64_t ap_pystack_capture(void);

/* The CPython minor version whose stacks are read (9..13), 0 if none. */
int ap_pystack_python(void);

#endif
