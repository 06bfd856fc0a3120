/* toymod.c: a module linked against one toy libssl copy, as a Python extension links libssl. */
struct toy_ssl {
	int magic;
};

int SSL_read(void *ssl, void *buf, int num);

int toymod_call(void)
{
	struct toy_ssl s = {TOY_TAG};
	char buf[64];

	return SSL_read(&s, buf, sizeof(buf));
}
