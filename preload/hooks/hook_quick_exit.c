/* hook_quick_exit.c: quick_exit in both glibc versions, so that its status reaches the process end.
 */
#include <stdlib.h>

#include "rt.h"

/*
 * quick_exit runs the at_quick_exit handlers and no atexit handler. glibc exports it twice:
 * GLIBC_2.24 (the default) and GLIBC_2.10 (also runs the thread_local destructors, still bound
 * by old binaries); each of our two entry points is bound to one version with .symver
 * (exports.map defines the nodes) and forwards to the same version. Bun, Claude Code's runtime,
 * finds it with dlsym and exits through it.
 *
 * The wrapper only hands the status over: the handlers run as glibc orders them, the host's
 * first (last registered first) and ours, registered at init (rt_init.c), last. That one is
 * the final flush (open exchanges finished, the process end with this status), so the calls
 * the host's handlers make are recorded too. The real
 * versions come from the resolver table (rt_syms.h).
 */

static _Noreturn void quick_exit_common(int code, ap_quick_exit_fn real)
{

	ap_exit_code_hint(code & 0xff);
	if (real)
		real(code);
	/* no quick_exit in the C library (cannot happen with glibc): end as it would, unflushed
	 * handlers aside, after our own final flush */
	ap_final_flush(code & 0xff);
	_Exit(code);
}

AP_EXPORT void ap_quick_exit_2_24(int code)
{
	quick_exit_common(code, AP_REAL(quick_exit_2_24));
}

AP_EXPORT void ap_quick_exit_2_10(int code)
{
	quick_exit_common(code, AP_REAL(quick_exit_2_10));
}

__asm__(".symver ap_quick_exit_2_24, quick_exit@@GLIBC_2.24");
__asm__(".symver ap_quick_exit_2_10, quick_exit@GLIBC_2.10");
