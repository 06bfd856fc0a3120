/* ctor_main.c: calls every wrapped function from .preinit_array (before any shared object's
 * constructor, the preload's included), from libctor.so's constructor, and from main. */
#include "ctor_calls.h"

int ctor_lib_marker(void);

static void preinit(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, "CTOR_NO_PREINIT=", 16))
			return; /* ASan runs: instrumented code cannot run before the ASan runtime
				 */
	cc_run("preinit");
}
__attribute__((section(".preinit_array"), used)) static void (*preinit_p)(int, char **,
									  char **) = preinit;

int main(void)
{
	cc_run("main");
	printf("marker %d\n", ctor_lib_marker());
	return 0;
}
