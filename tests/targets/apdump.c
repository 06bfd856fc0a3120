/* apdump.c: test helper: decode span files frame by frame and print every record as one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_codec.h"
#include "ap_records.h"
#include "reader.h"

/*
 * Independent of agentprof-view on purpose: the hardening tests check what the preload wrote
 * (process events, diagnostics, counters, pids) even where the viewer does not show it yet.
 * Usage: apdump FILE...   Output per record: {"file":..,"type":..,...}; per file a final line
 * {"type":"_file","frames":N,"records":N,"damaged":0|1}. Exit 0 unless a file cannot be read.
 * Only frames that decompress completely (checksum verified) are decoded, plus the records of
 * the live segment that no frame covers yet.
 */

static void jraw(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void jstr(const char *k, const char *s, size_t n)
{
	printf(",\"%s\":", k);
	jraw(s, n);
}

static void jargv(const char *argv, size_t cap, uint32_t argc)
{
	size_t o = 0;

	printf(",\"argv\":[");
	for (uint32_t i = 0; i < argc && o < cap; i++) {
		size_t l = strnlen(argv + o, cap - o);
		if (i)
			putchar(',');
		jraw(argv + o, l);
		o += l + 1;
	}
	printf("]");
}

static void print_rec(const char *file, const struct ap_record *r)
{
	printf("{\"file\":\"%s\",\"type\":%u", file, r->type);
	switch (r->type) {
	case AP_REC_PROCESS:
		printf(",\"rec\":\"process\",\"pid\":%d,\"ppid\":%d,\"argc\":%u", r->u.process.pid,
		       r->u.process.ppid, r->u.process.argc);
		jstr("exe", r->u.process.exe, sizeof(r->u.process.exe));
		jargv(r->u.process.argv, sizeof(r->u.process.argv), r->u.process.argc);
		break;
	case AP_REC_PROCESS_END:
		printf(",\"rec\":\"process_end\",\"exit_code\":%d,\"clean\":%u,\"dropped\":%llu,"
		       "\"calls\":%llu,\"overhead_ns\":%lld,\"end_ns\":%lld",
		       r->u.process_end.exit_code, r->u.process_end.clean,
		       (unsigned long long)r->u.process_end.dropped,
		       (unsigned long long)r->u.process_end.calls,
		       (long long)r->u.process_end.overhead_ns, (long long)r->u.process_end.end_ns);
		break;
	case AP_REC_CONNECTION:
		printf(",\"rec\":\"connection\",\"id\":%llu,\"fd\":%d,\"port\":%d,\"tls\":%u,"
		       "\"vis\":%u,\"cat\":%u,\"sent\":%llu,\"received\":%llu,\"exchanges\":%u",
		       (unsigned long long)r->u.connection.id, r->u.connection.fd,
		       r->u.connection.port, r->u.connection.tls, r->u.connection.visibility,
		       r->u.connection.category, (unsigned long long)r->u.connection.bytes_sent,
		       (unsigned long long)r->u.connection.bytes_received,
		       r->u.connection.exchanges);
		jstr("peer", r->u.connection.peer, sizeof(r->u.connection.peer));
		jstr("host", r->u.connection.host, sizeof(r->u.connection.host));
		break;
	case AP_REC_EXCHANGE:
		printf(",\"rec\":\"exchange\",\"id\":%llu,\"tid\":%u,\"status\":%d,\"cat\":%u,"
		       "\"sent\":%llu,"
		       "\"received\":%llu,\"start_ns\":%lld,\"end_ns\":%lld,\"tls\":%u,\"vis\":%u",
		       (unsigned long long)r->u.exchange.id, r->u.exchange.tid,
		       r->u.exchange.status, r->u.exchange.category,
		       (unsigned long long)r->u.exchange.bytes_sent,
		       (unsigned long long)r->u.exchange.bytes_received,
		       (long long)r->u.exchange.start_ns, (long long)r->u.exchange.end_ns,
		       r->u.exchange.tls, r->u.exchange.visibility);
		jstr("method", r->u.exchange.method, sizeof(r->u.exchange.method));
		jstr("path", r->u.exchange.path, sizeof(r->u.exchange.path));
		jstr("host", r->u.exchange.host, sizeof(r->u.exchange.host));
		printf(",\"unscanned\":%llu,\"input\":%lld,\"provisional\":%u",
		       (unsigned long long)r->u.exchange.unscanned_bytes,
		       (long long)r->u.exchange.usage.input, r->u.exchange.provisional);
		break;
	case AP_REC_PROC_EVENT:
		printf(",\"rec\":\"proc_event\",\"kind\":\"%s\",\"child_pid\":%d,\"status\":%d,"
		       "\"time_ns\":%lld,\"end_ns\":%lld,\"profiled\":%u,\"argc\":%u",
		       ap_proc_kind_name(r->u.proc_event.kind), r->u.proc_event.child_pid,
		       r->u.proc_event.status, (long long)r->u.proc_event.time_ns,
		       (long long)r->u.proc_event.end_ns, r->u.proc_event.profiled,
		       r->u.proc_event.argc);
		jstr("path", r->u.proc_event.path, sizeof(r->u.proc_event.path));
		jargv(r->u.proc_event.argv, sizeof(r->u.proc_event.argv), r->u.proc_event.argc);
		break;
	case AP_REC_COUNTER:
		printf(",\"rec\":\"counter\",\"kind\":%u,\"time_ns\":%lld,\"value\":%lld",
		       r->u.counter.kind, (long long)r->u.counter.time_ns,
		       (long long)r->u.counter.value);
		break;
	case AP_REC_DIAG:
		printf(",\"rec\":\"diag\",\"code\":%u", r->u.diag.code);
		jstr("msg", r->u.diag.msg, sizeof(r->u.diag.msg));
		break;
	case AP_REC_DNS:
		printf(",\"rec\":\"dns\",\"result\":%d", r->u.dns.result);
		jstr("host", r->u.dns.host, sizeof(r->u.dns.host));
		break;
	case AP_REC_SPAN:
		printf(",\"rec\":\"span\"");
		jstr("name", r->u.span.name, sizeof(r->u.span.name));
		break;
	default:
		printf(",\"rec\":\"other\"");
	}
	printf("}\n");
}

struct dump_ctx {
	const char *path;
};

static int on_record(void *ctx, const struct ap_record *r)
{
	print_rec(((struct dump_ctx *)ctx)->path, r);
	return 0;
}

/* The preload's own reader (frames, raw frames and the live segment), so that what is dumped
 * is exactly what the writer made durable. */
static int dump(const char *path)
{
	struct dump_ctx ctx = {path};
	struct rd_stats st;
	uint8_t *buf = NULL;
	size_t n = 0;
	char msg[256];
	int damaged;

	if (rd_slurp(path, &buf, &n, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s\n", path, msg);
		return -1;
	}
	if (rd_parse_buf(buf, n, on_record, &ctx, &st, msg, sizeof(msg)) < 0) {
		memset(&st, 0, sizeof(st));
		st.damaged = 2;
	}
	damaged = st.damaged ? (st.damaged == 2 && st.frames == 0 ? 2 : 1) : 0;
	printf("{\"file\":\"%s\",\"type\":0,\"rec\":\"_file\",\"frames\":%llu,\"records\":%llu,"
	       "\"damaged\":%d,\"segment_records\":%llu,\"skipped\":%llu}\n",
	       path, (unsigned long long)st.frames, (unsigned long long)st.records, damaged,
	       (unsigned long long)st.seg_records, (unsigned long long)st.bytes_ignored);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (dump(argv[i]) < 0)
			rc = 1;
	return rc;
}
