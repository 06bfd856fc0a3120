#!/bin/bash
# t26_resolve_next: the real libc functions are found in RTLD_NEXT order from the preload (the
# start-up resolver walks the link maps after ours itself): another preloaded library listed
# after agentprof that defines write and connect (unversioned, or with a default version of its
# own) is the one our wrappers forward to; an unversioned one listed before agentprof wraps us; either way the
# program's output and exit status are unchanged and its process is still recorded.
. "$(dirname "$0")/lib.sh"

require_preload resolve-next || finish
command -v cc >/dev/null || { skip "resolve-next" "no C compiler"; finish; }

cat >"$W/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
static void note(const char *s) { syscall(SYS_write, 2, s, strlen(s)); }
ssize_t write(int fd, const void *b, size_t n)
{
	ssize_t (*real)(int, const void *, size_t) = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (fd == 1)
		note("shim: write\n");
	return real(fd, b, n);
}
int connect(int fd, const struct sockaddr *a, socklen_t l)
{
	int (*real)(int, const struct sockaddr *, socklen_t) = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	note("shim: connect\n");
	return real(fd, a, l);
}
C
cat >"$W/prog.c" <<'C'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Content-Type: application/json\r\nContent-Length: 27\r\n"
				  "Connection: close\r\n\r\n{\"model\":\"m\",\"messages\":[]}";
	char buf[4096];
	int c = connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (c == 0 && write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	close(fd);
	if (write(1, "ping\n", 5) != 5)
		return 2;
	return c == 0 ? 7 : 3;
}
C
printf 'SHIM_1.0 { global: write; connect; local: *; };\n' >"$W/shim.map"
cc -O2 -shared -fPIC -o "$W/libshim.so" "$W/shim.c" -ldl &&
	cc -O2 -shared -fPIC -Wl,--version-script="$W/shim.map" -o "$W/libshimv.so" "$W/shim.c" -ldl &&
	cc -O2 -o "$W/prog" "$W/prog.c" || { fail "build the shim and the program" "cc failed"; finish; }
mock_start rn || finish

for shim in libshim libshimv; do
	# (a versioned shim before us is not bound by the program's write@GLIBC_2.2.5 at all)
	orders="after before"
	[ $shim = libshimv ] && orders=after
	for order in $orders; do
		n=$shim.$order
		if [ $order = after ]; then pl=$AP_LIB:$W/$shim.so; else pl=$W/$shim.so:$AP_LIB; fi
		mkdir -p "$W/$n"
		LD_PRELOAD=$pl AGENTPROF_OUT=$W/$n timeout -k 5 "$AP_TMO" "$W/prog" "$rn_PORT" \
			>"$W/$n.out" 2>"$W/$n.err"
		eq "$n: exit status unchanged (connected)" "$?" 7
		eq "$n: output unchanged" "$(cat "$W/$n.out")" ping
		eq "$n: the shim's write ran once" "$(grep -c '^shim: write$' "$W/$n.err")" 1
		eq "$n: the shim's connect ran once" "$(grep -c '^shim: connect$' "$W/$n.err")" 1
		ap_export "$W/$n" "$W/$n.jsonl"
		AP_CASE=$n check_py "$W/$n.jsonl" <<'PY'
import os
n = os.environ["AP_CASE"]
procs = [r for r in A if r.get("kind") == "process" and (r.get("exe") or "").endswith("/prog")]
check(n + ": the process is recorded with its exit code", len(procs) == 1 and procs[0].get("exit_code") == 7,
      repr(procs))
ex = [r for r in A if r.get("kind") == "exchange"]
check(n + ": its exchange is recorded (our connect, write and read wrappers ran)",
      len(ex) == 1 and ex[0].get("status") == 200, repr(ex))
PY
	done
done
finish
