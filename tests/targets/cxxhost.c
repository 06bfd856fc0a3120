/* cxxhost.c: C host that dlopen()s the C++ module cxxmod.so and reports exception handling. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char who[256];
	void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
	int (*run)(char *, int);

	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 2;
	}
	*(void **)&run = dlsym(h, "cxxmod_run");
	printf("caught %d\n", run(who, sizeof(who)));
	printf("_Unwind_RaiseException from %s\n", who);
	return 0;
}
