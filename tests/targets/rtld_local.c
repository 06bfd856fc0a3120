/* rtld_local.c: dlopen two modules RTLD_LOCAL, each linked against its own toy libssl copy
 * exporting SSL_read; each call must reach its own copy (prints "mod_a 11", "mod_b 22").
 * Also dlopen()s one module RTLD_DEEPBIND, which must behave the same. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int call(const char *path, int flags)
{
	void *h = dlopen(path, flags);
	int (*fn)(void);

	if (!h) {
		printf("dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	*(void **)&fn = dlsym(h, "toymod_call");
	return fn ? fn() : -2;
}

int main(int argc, char **argv)
{
	char a[512], b[512];

	if (argc < 2)
		return 2;
	snprintf(a, sizeof(a), "%s/libtoymod_a.so", argv[1]);
	snprintf(b, sizeof(b), "%s/libtoymod_b.so", argv[1]);
	printf("mod_a %d\n", call(a, RTLD_NOW | RTLD_LOCAL));
	printf("mod_b %d\n", call(b, RTLD_NOW | RTLD_LOCAL));
	printf("mod_a again %d\n", call(a, RTLD_NOW | RTLD_LOCAL));
	if (argc < 3 || strcmp(argv[2], "nodeep")) /* ASan refuses RTLD_DEEPBIND */
		printf("mod_b deepbind %d\n", call(b, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND));
	return 0;
}
