/* bench_io.c: micro-workloads timed by scripts/bench.sh with and without the preload. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int full_io(int fd, char *buf, size_t n, int out)
{
	size_t o = 0;

	while (o < n) {
		ssize_t r = out ? send(fd, buf + o, n - o, 0) : recv(fd, buf + o, n - o, 0);
		if (r <= 0)
			return -1;
		o += (size_t)r;
	}
	return 0;
}

/* Echo server on 127.0.0.1: prints its port, serves connections one after another. */
static int echo_server(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char buf[65536];

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		return 1;
	getsockname(s, (struct sockaddr *)&a, &al);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		ssize_t r;
		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((r = recv(c, buf, sizeof(buf), 0)) > 0)
			if (full_io(c, buf, (size_t)r, 1) < 0)
				break;
		close(c);
	}
}

/* N round trips of a 64-byte message. */
static int pingpong(int port, long n)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char msg[64];
	double t0;

	memset(msg, 'x', sizeof(msg));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_s();
	for (long i = 0; i < n; i++)
		if (full_io(s, msg, sizeof(msg), 1) < 0 || full_io(s, msg, sizeof(msg), 0) < 0)
			return 1;
	printf("%.6f\n", now_s() - t0);
	close(s);
	return 0;
}

/* N write+read pairs of 64 bytes through a pipe. */
static int pipe_rw(long n)
{
	int p[2];
	char msg[64] = {0};
	double t0;

	if (pipe(p) < 0)
		return 1;
	t0 = now_s();
	for (long i = 0; i < n; i++)
		if (write(p[1], msg, sizeof(msg)) != sizeof(msg) ||
		    read(p[0], msg, sizeof(msg)) != sizeof(msg))
			return 1;
	printf("%.6f\n", now_s() - t0);
	return 0;
}

/* N 4 KiB reads of a file (from the page cache), rewinding with pread-free lseek. */
static int file_read(const char *path, long n)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	double t0;

	if (fd < 0)
		return 1;
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		if (read(fd, buf, sizeof(buf)) <= 0)
			lseek(fd, 0, SEEK_SET);
	}
	printf("%.6f\n", now_s() - t0);
	close(fd);
	return 0;
}

/* --- LLM-shaped HTTP/1.1 over loopback: the exchange path the profiler parses ------------------
 */

static const char llm_json[] =
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-"
	"mini\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,"
	"\"total_tokens\":15}}";
/*
 * Stream styles: "openai" (chat completion chunks, usage on the last only), "include-usage"
 * (stream_options.include_usage as OpenAI sends it: "usage":null on every other chunk) and
 * "anthropic" (named events: message_start with the model, content_block_delta..., then
 * message_delta with usage and message_stop) and "gemini" (CRLF, the cumulative usageMetadata on
 * every chunk, finishReason on the last); "ollama" is NDJSON (one object a line, "done":true on
 * the last).
 */
struct sse_style {
	const char *name, *head, *event, *tail, *ctype; /* ctype NULL: text/event-stream */
};

static const struct sse_style sse_styles[] = {
	{"openai", "",
	 "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	 "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\"},"
	 "\"finish_reason\":null}]}\n\n",
	 "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	 "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
	 "\"completion_tokens\":3,\"total_tokens\":15}}\n\ndata: [DONE]\n\n"},
	{"include-usage", "",
	 "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	 "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\"},"
	 "\"finish_reason\":null}],\"usage\":null}\n\n",
	 "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	 "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
	 "\"completion_tokens\":3,\"total_tokens\":15}}\n\ndata: [DONE]\n\n"},
	{"gemini", "",
	 "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"tok\"}],\"role\": "
	 "\"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 12,"
	 "\"candidatesTokenCount\": 3,\"totalTokenCount\": 15},\"modelVersion\": "
	 "\"gemini-2.0-flash\"}\r\n\r\n",
	 "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": "
	 "\"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": "
	 "{\"promptTokenCount\": 12,\"candidatesTokenCount\": 3,\"totalTokenCount\": 15},"
	 "\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n"},
	{"ollama", "",
	 "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00.000000Z\",\"message\":"
	 "{\"role\":\"assistant\",\"content\":\"tok\"},\"done\":false}\n",
	 "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00.000000Z\",\"message\":"
	 "{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,"
	 "\"total_duration\":4883583458,\"prompt_eval_count\":12,\"eval_count\":3}\n",
	 "application/x-ndjson"},
	{"anthropic",
	 "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
	 "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
	 "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,"
	 "\"output_tokens\":1}}}\n\n"
	 "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
	 "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
	 "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	 "\"delta\":{\"type\":\"text_delta\",\"text\":\"tok\"}}\n\n",
	 "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	 "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	 "\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
	 "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
};

static int connect_port(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

/* Reads one request (headers and Content-Length body); returns 1 if it asked for a stream. */
static int read_request(int c, char *buf, size_t cap, size_t *have)
{
	for (;;) {
		char *e = memmem(buf, *have, "\r\n\r\n", 4);
		if (e) {
			size_t head = (size_t)(e + 4 - buf), body = 0, total;
			char *cl = memmem(buf, head, "Content-Length: ", 16);
			int stream;
			if (cl)
				body = (size_t)atol(cl + 16);
			total = head + body;
			while (*have < total) {
				ssize_t r = recv(c, buf + *have, cap - *have, 0);
				if (r <= 0)
					return -1;
				*have += (size_t)r;
			}
			stream = memmem(buf + head, body, "\"stream\":true", 13) != NULL;
			memmove(buf, buf + total, *have - total);
			*have -= total;
			return stream;
		}
		if (*have == cap)
			return -1;
		ssize_t r = recv(c, buf + *have, cap - *have, 0);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
}

/* LLM server: JSON completions, or an SSE stream of EVENTS chunks in a style (sse_styles);
 * fork per connection. */
static int llm_server(long events, const char *style)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	const struct sse_style *sy = NULL;
	size_t ev, tl, hl, sn;
	char *sse, head[256], json[1024];
	int hn, jn;

	for (size_t i = 0; i < sizeof(sse_styles) / sizeof(sse_styles[0]); i++)
		if (!strcmp(sse_styles[i].name, style))
			sy = &sse_styles[i];
	if (!sy) {
		fprintf(stderr, "bench_io: unknown stream style %s\n", style);
		return 2;
	}
	ev = strlen(sy->event);
	tl = strlen(sy->tail);
	hl = strlen(sy->head);
	sn = hl + ev * (size_t)events + tl;
	sse = malloc(sn);
	if (!sse)
		return 1;
	memcpy(sse, sy->head, hl);
	for (long i = 0; i < events; i++)
		memcpy(sse + hl + ev * (size_t)i, sy->event, ev);
	memcpy(sse + hl + ev * (size_t)events, sy->tail, tl);
	jn = snprintf(json, sizeof(json),
		      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\n\r\n%s",
		      sizeof(llm_json) - 1, llm_json);
	hn = snprintf(head, sizeof(head),
		      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
		      "Content-Length: %zu\r\n\r\n",
		      sy->ctype ? sy->ctype : "text/event-stream", sn);
	signal(SIGCHLD, SIG_IGN);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 64) < 0)
		return 1;
	getsockname(s, (struct sockaddr *)&a, &al);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL), st;
		static char rb[262144];
		size_t have = 0;
		if (c < 0)
			continue;
		if (fork() != 0) {
			close(c);
			continue;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((st = read_request(c, rb, sizeof(rb), &have)) >= 0) {
			if (st == 0 ? full_io(c, json, (size_t)jn, 1) < 0
				    : full_io(c, head, (size_t)hn, 1) < 0 ||
					      full_io(c, sse, sn, 1) < 0)
				break;
		}
		_exit(0);
	}
}

/* Sends one POST /v1/chat/completions and reads its whole response (Content-Length). */
static int llm_call_body(int s, const char *body, char *buf, size_t cap)
{
	char req[512];
	size_t bn = strlen(body);
	int n = snprintf(req, sizeof(req),
			 "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 bn, bn < 256 ? body : "");
	size_t have = 0, want = 0;

	if (full_io(s, req, (size_t)n, 1) < 0 ||
	    (bn >= 256 && full_io(s, (char *)(uintptr_t)body, bn, 1) < 0))
		return -1;
	for (;;) {
		ssize_t r =
			recv(s, buf + (have < 4096 ? have : 0), have < 4096 ? cap - have : cap, 0);
		if (r <= 0)
			return -1;
		if (have < 4096 && !want) {
			char *e = memmem(buf, have + (size_t)r, "\r\n\r\n", 4);
			char *cl = memmem(buf, have + (size_t)r, "Content-Length: ", 16);
			if (e && cl)
				want = (size_t)(e + 4 - buf) + (size_t)atol(cl + 16);
		}
		have += (size_t)r;
		if (want && have >= want)
			return 0;
	}
}

static int llm_call(int s, int stream, char *buf, size_t cap)
{
	return llm_call_body(s,
			     stream ? "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}"
				    : "{\"model\":\"gpt-4o-mini\",\"messages\":[]}",
			     buf, cap);
}

/* N keep-alive non-streaming LLM exchanges; prints seconds. */
static int llm_small(int port, long n)
{
	static char buf[65536];
	int s = connect_port(port);
	double t0 = now_s();

	if (s < 0)
		return 1;
	for (long i = 0; i < n; i++)
		if (llm_call(s, 0, buf, sizeof(buf)) < 0)
			return 1;
	printf("%.6f\n", now_s() - t0);
	close(s);
	return 0;
}

/*
 * An agent turn's request: a 64 KiB body as the SDKs serialise one (the conversation first,
 * escapes in it, then the model and the tools, no "stream" key), so that the preload's request
 * pass (hash and JSON scan for the model) runs over all of it.
 */
static char *agent_request(void)
{
	static const char turn[] =
		"{\"role\":\"user\",\"content\":\"Run the tests in tests/unit and tell me which "
		"fail.\\nThe output was:\\n\\\"FAILED test_parse.py::test_split - AssertionError: "
		"expected 3, got 2\\\"\\n\"},{\"role\":\"assistant\",\"content\":null,"
		"\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
		"\"bash\",\"arguments\":\"{\\\"command\\\":\\\"pytest -q tests/unit\\\"}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"....F..F.. [100%]\\n"
		"2 failed, 8 passed in 0.31s\\n\"},";
	size_t tn = sizeof(turn) - 1, cap = 65536 + 1024, n = 0;
	char *b = malloc(cap);

	if (!b)
		return NULL;
	n += (size_t)snprintf(b, cap,
			      "{\"messages\":[{\"role\":\"system\",\"content\":"
			      "\"You are a coding agent.\"},");
	while (n + tn < 65536 - 256) {
		memcpy(b + n, turn, tn);
		n += tn;
	}
	n--; /* the last comma */
	snprintf(b + n, cap - n,
		 "],\"model\":\"gpt-4o-mini\",\"max_tokens\":1024,\"tools\":[{\"type\":"
		 "\"function\",\"function\":{\"name\":\"bash\",\"parameters\":{\"type\":"
		 "\"object\"}}}]}");
	return b;
}

/* N keep-alive non-streaming LLM exchanges with agent_request's 64 KiB body; prints seconds. */
static int llm_big(int port, long n)
{
	static char buf[65536];
	char *body = agent_request();
	int s = connect_port(port);
	double t0 = now_s();

	if (s < 0 || !body)
		return 1;
	for (long i = 0; i < n; i++)
		if (llm_call_body(s, body, buf, sizeof(buf)) < 0)
			return 1;
	printf("%.6f\n", now_s() - t0);
	close(s);
	free(body);
	return 0;
}

/* One streamed LLM exchange (the server's EVENTS SSE chunks), read in 16 KiB recv calls. */
static int llm_sse(int port)
{
	static char buf[16384];
	int s = connect_port(port);
	double t0 = now_s();

	if (s < 0 || llm_call(s, 1, buf, sizeof(buf)) < 0)
		return 1;
	printf("%.6f\n", now_s() - t0);
	close(s);
	return 0;
}

/* Runs CMD (stdout/stderr to /dev/null); prints "WALL CPU" seconds (CPU = user + system of it
 * and its children, from wait4's rusage). Exit status: CMD's. */
static int rusage_run(char **cmd)
{
	struct rusage ru;
	double t0 = now_s(), wall;
	int st = 0;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return 1;
	wall = now_s() - t0;
	printf("%.6f %.6f\n", wall,
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "echo-server"))
		return echo_server();
	if (argc >= 4 && !strcmp(argv[1], "pingpong"))
		return pingpong(atoi(argv[2]), atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "pipe"))
		return pipe_rw(atol(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "file"))
		return file_read(argv[2], atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "rusage"))
		return rusage_run(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "llm-server"))
		return llm_server(atol(argv[2]), argc >= 4 ? argv[3] : "openai");
	if (argc >= 4 && !strcmp(argv[1], "llm-small"))
		return llm_small(atoi(argv[2]), atol(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "llm-big"))
		return llm_big(atoi(argv[2]), atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "llm-sse"))
		return llm_sse(atoi(argv[2]));
	fprintf(stderr, "usage: bench_io echo-server | pingpong PORT N | pipe N | file PATH N |\n"
			"       llm-server EVENTS [openai|include-usage|anthropic|gemini|ollama] | "
			"llm-small "
			"PORT N | llm-big PORT N | llm-sse PORT | rusage CMD...\n");
	return 2;
}
