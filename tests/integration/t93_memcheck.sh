#!/bin/bash
# t93_memcheck: a host run under valgrind memcheck with the preload gets the report it gets
# without it (docs/internals/contract.md §10). A team that runs its agent's tests under
# `valgrind --error-exitcode=N` must not fail because of us: the stack cache compares raw stack
# words, written by the host or not, and used to branch on them ("conditional jump depends on
# uninitialised value" in sc_learn and sc_lookup: 325 errors for the curl run below). Checked
# on curl making five exchanges from one call site over TLS and plain HTTP (--next: the cache
# learns the stack, then hits it), Python http.client over TLS (SSE, gzip, Anthropic,
# Responses: the parsers and inflate under memcheck), and a host with its own uninitialised
# read, which must still be reported as often as without the preload.
. "$(dirname "$0")/lib.sh"

require_preload memcheck || finish
need valgrind || { skip "memcheck" "valgrind not installed (scripts/install-deps.sh --extra)"; finish; }
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# errors ERR: the error count memcheck printed in ERR
errors() {
	sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$1" | tail -1
}

# vg NAME CMD...: CMD under memcheck with and without the preload (exit status 42 on any error)
vg() {
	local n=$1
	shift
	run_bare "$W/$n.bare" valgrind --error-exitcode=42 "$@"
	run_prof "$W/$n" "$W/$n.prof" -- valgrind --error-exitcode=42 "$@"
	eq "$n: memcheck errors under the preload = without it" \
		"$(cat "$W/$n.prof.rc"):$(errors "$W/$n.prof.err")" "$(cat "$W/$n.bare.rc"):$(errors "$W/$n.bare.err")"
	if grep -q 'libagentprof' "$W/$n.prof.err"; then
		fail "$n: no memcheck report names libagentprof" "$(grep -m1 -B3 'libagentprof' "$W/$n.prof.err" | tr '\n' '|')"
	else
		ok "$n: no memcheck report names libagentprof"
	fi
	same_file "$n: output unchanged" "$W/$n.bare.out" "$W/$n.prof.out"
}

printf '%s' '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}' >"$W/chat.json"
vg curl curl -sS --cacert "$AP_CA" -d @"$W/chat.json" "https://localhost:$MOCK_TLS_PORT/v1/chat/completions" \
	--next --cacert "$AP_CA" -d @"$W/chat.json" "https://localhost:$MOCK_TLS_PORT/v1/chat/completions" \
	--next --cacert "$AP_CA" -d @"$W/chat.json" "https://localhost:$MOCK_TLS_PORT/v1/chat/completions" \
	--next -d @"$W/chat.json" "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" \
	--next -d @"$W/chat.json" "http://127.0.0.1:$MOCK_PORT/v1/chat/completions"
n=$(span_files "$W/curl" | wc -l)
ge "curl: profiled under memcheck ($n span files)" "$n" 1
vg python3 python3 "$AP_TGT_SRC/py_httpclient.py" localhost "$MOCK_TLS_PORT" "$AP_CA"

# The other half: the host's own error is still reported. The host keeps a never-written array
# in the frame that makes each LLM call (keep-alive, 3 calls); the stack cache reads every word
# of that frame while it learns the stack, and the kept ones on each later call. The host then
# branches on one of those words: memcheck must report that as often as without the preload
# (were the host's memory marked defined instead of our copies, the count would drop to 0).
cat >"$W/uninit.c" <<'C'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static const char body[] = "{\"model\":\"gpt-4o\",\"messages\":[]}";
static int call(int s)
{
	volatile long never[8]; /* never written: in the frame our stack capture reads */
	char req[256], buf[65536];
	size_t have = 0, want = 0;
	int n = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	if (send(s, req, (size_t)n, 0) != n)
		return -1;
	while (!want || have < want) {
		ssize_t r = recv(s, buf + have, sizeof(buf) - 1 - have, 0);
		char *e, *cl;
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = 0;
		if (!want && (e = strstr(buf, "\r\n\r\n")) && (cl = strcasestr(buf, "content-length:")))
			want = (size_t)(e + 4 - buf) + strtoul(cl + 15, NULL, 10);
	}
	return never[3] ? 1 : 2; /* the host's own uninitialised read */
}
int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[argc - 1]))};
	int s = socket(AF_INET, SOCK_STREAM, 0), ok = 1;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		return 3;
	for (int i = 0; i < 3; i++)
		ok &= call(s) > 0;
	printf("%d\n", ok);
	return 0;
}
C
if cc -O0 -g -Wall -Werror -o "$W/uninit.bin" "$W/uninit.c" 2>"$W/uninit.cc.err"; then
	vg uninit "$W/uninit.bin" "$MOCK_PORT"
	eq "uninit: the host's own error, once per call, under the preload" "$(errors "$W/uninit.prof.err")" 3
	eq "uninit: its three LLM calls were recorded" "$(ap_export "$W/uninit" "$W/uninit.jsonl" &&
		grep -c '"kind": *"exchange"' "$W/uninit.jsonl")" 3
else
	fail "uninit: fixture builds" "$(head -3 "$W/uninit.cc.err" | tr '\n' '|')"
fi
finish
