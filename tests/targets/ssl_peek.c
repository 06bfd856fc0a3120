/* ssl_peek.c: an OpenSSL client that peeks at each response before reading it, over TLS to the
 * mock. ssl_peek PORT CA MODE   MODE: read (SSL_read only), peek (SSL_peek of up to 64 bytes before
 *                           each SSL_read), peek_ex (SSL_peek_ex then SSL_read_ex)
 * POSTs one non-streamed chat completion to localhost:PORT (Connection: close), reads the
 * response to the end and prints its status line and the number of bytes read (peeked bytes
 * are read again, so every mode prints the same). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char body[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

/* One read of the response: MODE decides whether a peek comes first. */
static int read_some(SSL *ssl, const char *mode, char *buf, size_t cap)
{
	char peek[64];
	size_t got = 0;

	if (!strcmp(mode, "peek") && SSL_peek(ssl, peek, sizeof(peek)) <= 0)
		return 0;
	if (!strcmp(mode, "peek_ex")) {
		if (SSL_peek_ex(ssl, peek, sizeof(peek), &got) != 1)
			return 0;
		if (SSL_read_ex(ssl, buf, cap, &got) != 1)
			return 0;
		return (int)got;
	}
	return SSL_read(ssl, buf, (int)cap);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char req[512], buf[4096], first[128] = "";
	long total = 0;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, n;

	if (argc < 4)
		return 2;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1)
		return 3;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 4;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return 5;
	}
	n = snprintf(req, sizeof(req),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
		     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     sizeof(body) - 1, body);
	if (SSL_write(ssl, req, n) != n)
		return 6;
	while ((n = read_some(ssl, argv[3], buf, sizeof(buf))) > 0) {
		if (!total)
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(buf, "\r\n"), buf);
		total += n;
	}
	printf("%s\nread %ld\n", first, total);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return 0;
}
