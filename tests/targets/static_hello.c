/* static_hello.c: built with -static (no PT_INTERP): the preload cannot enter it. Prints its
 * arguments and exits 0; 11 when called without arguments. */
#include <stdio.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		printf("static %s\n", argv[i]);
	return argc > 1 ? 0 : 11;
}
