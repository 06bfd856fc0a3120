/* rt_version.c: `libagentprof.so --version`: the shared object run as a program prints its version.
 */
#include <string.h>
#include <unistd.h>

#include "ap_records.h"

#define AP_SO_VERSION "0.1.0"
#define AP_XSTR(x)    AP_STR_(x)
#define AP_STR_(x)    #x

/* Found by `strings libagentprof.so | grep agentprof-version` as well. */
__attribute__((used)) static const char ap_version_banner[] =
	"libagentprof.so (agentprof-version " AP_SO_VERSION ", span format " AP_XSTR(
		AP_FORMAT_VERSION) ")\n"
				   "Preload it into a program: LD_PRELOAD=/path/to/libagentprof.so "
				   "PROGRAM, or agentprof run -- PROGRAM\n";

/* The program interpreter, so that the kernel can run the shared object (glibc's libc.so does it).
 */
__attribute__((used, section(".interp"))) static const char ap_interp[] =
#if defined(__x86_64__)
	"/lib64/ld-linux-x86-64.so.2";
#elif defined(__aarch64__)
	"/lib/ld-linux-aarch64.so.1";
#else
	"/lib/ld-linux.so.2";
#endif

/* The entry point (the Makefile links with -e ap_so_main): print and exit, nothing else. */
__attribute__((noreturn, visibility("hidden"))) void ap_so_main(void);
#if defined(__x86_64__) || defined(__i386__)
__attribute__((force_align_arg_pointer)) /* entered with the stack of _start */
#endif
void ap_so_main(void)
{
	ssize_t r = write(1, ap_version_banner, sizeof(ap_version_banner) - 1);

	_exit(r < 0);
}
