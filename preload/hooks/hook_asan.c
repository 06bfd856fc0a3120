/* hook_asan.c: the AddressSanitizer runtime's default options, so that a host built with it starts
 * under the preload. */
#include "rt.h"

/*
 * GCC links AddressSanitizer's runtime as a shared library (libasan.so), and the runtime stops
 * the process at start ("ASan runtime does not come first in initial library list", exit 1)
 * when another library comes before it in the loader's list, as LD_PRELOAD puts us. The check
 * runs from the host's .preinit_array, before any constructor of ours, but after the runtime
 * has read its flags, and the first flags it reads are __asan_default_options(): a weak
 * function of the runtime's, which our definition, earlier in the lookup order, replaces.
 *
 * The one option turns that check off; every other ASan check of the host runs as before, and
 * ASAN_OPTIONS, read after these defaults, still decides (verify_asan_link_order=1 brings the
 * stop back). A host that defines __asan_default_options itself comes first in the lookup
 * order and keeps its own (then put libasan.so first in LD_PRELOAD). A host without ASan never
 * calls this; clang's runtime is linked into the executable and makes no such check.
 */
AP_EXPORT const char *__asan_default_options(void)
{
	return "verify_asan_link_order=0";
}
