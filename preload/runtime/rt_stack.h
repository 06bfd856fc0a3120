/* rt_stack.h: call-stack capture for exchanges, manual spans and subprocesses. */
#ifndef AGENTPROF_RT_STACK_H
#define AGENTPROF_RT_STACK_H

#include <stdint.h>

/*
 * Stacks are captured on the host thread with libunwind's unw_backtrace (libunwind.so.8 is
 * dlopen()ed RTLD_LOCAL lazily, never linked: pitfalls 5.3), or with a bounded frame-pointer
 * walk when libunwind is missing (or AGENTPROF_UNWIND=fp). Each distinct stack is written once
 * as AP_REC_STACK, its id being a 64-bit hash of the frames; each module a written stack points
 * into is written once as AP_REC_MODULE (path, load bias, range, GNU build-id). Our own frames
 * (libagentprof.so) are cut from the inner end. No malloc: the tables are mmap()ed at init.
 * No fd survives a call: libunwind's memory accessor is replaced by one that validates with
 * process_vm_readv on our own pid, and the validation pipe libunwind opens at init is closed
 * there (with process_vm_readv refused, e.g. by seccomp, stacks use frame pointers).
 *
 * Callers' duties:
 * - never call from a vfork child (pid != ap_rt.pid): the tables belong to the parent;
 * - call on the thread whose stack is wanted, from a wrapper (ap_tls.guard == 0 or 1); a deeper
 *   guard means a nested or signal-interrupted wrapper and the capture returns 0.
 */

/* Set-up: once, on the first capture (a process that records no stack never loads libunwind). */
void ap_stack_init(void);
/* fork() child: the tables are the parent's; start them empty (rt_init.c's fork table). */
void ap_stack_after_fork_child(void);

/* The calling thread's stack id (written to the file the first time it is seen), 0 if none. */
uint64_t ap_stack_capture(void);

/* How stacks are captured: 0 off, 1 libunwind, 2 frame pointers (for tests and benchmarks). */
int ap_stack_mode(void);

#endif
