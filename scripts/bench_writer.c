/* bench_writer.c: the writer's workloads for scripts/bench-writer.sh: a local LLM-shaped HTTP
 * server (plain or TLS) and a C client making chat-completion calls, one thread or many. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char reply_body[] =
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"choices\":[{"
	"\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":"
	"\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}";
static const char req_body[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static SSL_CTX *sctx, *cctx;
static int port;

struct io {
	int fd;
	SSL *ssl;
};

static int io_read(struct io *c, char *b, int n)
{
	return c->ssl ? SSL_read(c->ssl, b, n) : (int)recv(c->fd, b, (size_t)n, 0);
}

static int io_write(struct io *c, const char *b, int n)
{
	int o = 0;

	while (o < n) {
		int w = c->ssl ? SSL_write(c->ssl, b + o, n - o)
			       : (int)send(c->fd, b + o, (size_t)(n - o), MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		o += w;
	}
	return 0;
}

/* Read one HTTP message (headers + Content-Length body). 0 on success. */
static int read_msg(struct io *c, char *buf, int cap)
{
	int have = 0;
	char *eoh;
	long clen = 0;

	for (;;) {
		int r = io_read(c, buf + have, cap - 1 - have);
		if (r <= 0)
			return -1;
		have += r;
		buf[have] = 0;
		eoh = strstr(buf, "\r\n\r\n");
		if (eoh)
			break;
	}
	{
		char *cl = strcasestr(buf, "\r\ncontent-length:");
		if (cl)
			clen = strtol(cl + 17, NULL, 10);
	}
	while (have - (int)(eoh + 4 - buf) < clen) {
		int r = io_read(c, buf + have, cap - 1 - have);
		if (r <= 0)
			return -1;
		have += r;
	}
	return 0;
}

static void *serve_conn(void *arg)
{
	struct io c = {(int)(long)arg, NULL};
	char buf[16384], hdr[256];
	int hn = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
			  "%zu\r\n\r\n",
			  sizeof(reply_body) - 1);

	if (sctx) {
		c.ssl = SSL_new(sctx);
		SSL_set_fd(c.ssl, c.fd);
		if (SSL_accept(c.ssl) <= 0)
			goto out;
	}
	while (read_msg(&c, buf, sizeof(buf)) == 0) {
		char out[1024];

		memcpy(out, hdr, (size_t)hn);
		memcpy(out + hn, reply_body, sizeof(reply_body) - 1);
		if (io_write(&c, out, hn + (int)sizeof(reply_body) - 1) < 0)
			break;
	}
out:
	if (c.ssl)
		SSL_free(c.ssl);
	close(c.fd);
	return NULL;
}

static int serve(const char *cert, const char *key)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (cert) {
		sctx = SSL_CTX_new(TLS_server_method());
		if (SSL_CTX_use_certificate_chain_file(sctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(sctx, key, SSL_FILETYPE_PEM) != 1)
			return 1;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 256) < 0)
		return 1;
	getsockname(s, (struct sockaddr *)&a, &len);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(s, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_create(&t, NULL, serve_conn, (void *)(long)fd);
		pthread_detach(t);
	}
}

static int client_open(struct io *c, int tls)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	c->ssl = NULL;
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls) {
		c->ssl = SSL_new(cctx);
		SSL_set_tlsext_host_name(c->ssl, "localhost");
		SSL_set_fd(c->ssl, c->fd);
		if (SSL_connect(c->ssl) <= 0)
			return -1;
	}
	return 0;
}

/* n chat-completion calls on one keep-alive connection. Returns the calls that succeeded. */
static int calls(int tls, int n)
{
	struct io c;
	char req[512], buf[16384];
	int len, good = 0;

	if (client_open(&c, tls) < 0)
		return 0;
	len = snprintf(req, sizeof(req),
		       "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
		       "application/json\r\nContent-Length: %zu\r\n\r\n%s",
		       sizeof(req_body) - 1, req_body);
	for (int i = 0; i < n; i++) {
		if (io_write(&c, req, len) < 0 || read_msg(&c, buf, sizeof(buf)) < 0)
			break;
		good++;
	}
	if (c.ssl)
		SSL_free(c.ssl);
	close(c.fd);
	return good;
}

struct job {
	int tls, n, good;
};

static void *job_run(void *arg)
{
	struct job *j = arg;

	j->good = calls(j->tls, j->n);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc >= 4 ? argv[2] : NULL, argc >= 4 ? argv[3] : NULL);
	if (argc >= 5 && !strcmp(argv[1], "client")) {
		/* client PORT TLS(0/1) THREADS CALLS_PER_THREAD */
		int threads = argc >= 6 ? atoi(argv[4]) : 1, n = atoi(argv[argc >= 6 ? 5 : 4]);
		pthread_t t[64];
		struct job j[64];
		int good = 0;

		port = atoi(argv[2]);
		cctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
		if (threads < 1 || threads > 64)
			return 2;
		for (int i = 0; i < threads; i++) {
			j[i] = (struct job){atoi(argv[3]), n, 0};
			pthread_create(&t[i], NULL, job_run, &j[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			good += j[i].good;
		}
		printf("%d\n", good);
		return good == threads * n ? 0 : 1;
	}
	fprintf(stderr, "usage: bench_writer serve [CERT KEY] | client PORT TLS THREADS N\n");
	return 2;
}
