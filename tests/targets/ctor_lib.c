/* ctor_lib.c: a library whose constructor calls every wrapped function (runs before main). */
#include "ctor_calls.h"

__attribute__((constructor)) static void lib_ctor(void)
{
	cc_run("lib-ctor");
}

int ctor_lib_marker(void)
{
	return 42;
}
