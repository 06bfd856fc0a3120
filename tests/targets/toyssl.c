/* toyssl.c: a toy "libssl" built twice (TOY_TAG=11 and 22): SSL_read returns the tag for its
 * own objects and -999 for an object of the other copy (the wrong library was reached). */
#include <string.h>

struct toy_ssl {
	int magic;
};

int SSL_read(void *ssl, void *buf, int num)
{
	struct toy_ssl *s = ssl;

	if (!s || s->magic != TOY_TAG)
		return -999;
	if (num > 0)
		memset(buf, 'a', num < TOY_TAG ? (size_t)num : TOY_TAG);
	return TOY_TAG;
}
