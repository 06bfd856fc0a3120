/* apdump.c: test helper: decode span files frame by frame and print every record as one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ap_codec.h"
#include "ap_records.h"

/*
 * Independent of agentprof-view on purpose: the hardening tests check what the preload wrote
 * (process events, diagnostics, counters, pids) even where the viewer does not show it yet.
 * Usage: apdump FILE...   Output per record: {"file":..,"type":..,...}; per file a final line
 * {"type":"_file","frames":N,"records":N,"damaged":0|1}. Exit 0 unless a file cannot be read.
 * Only frames that decompress completely (checksum verified) are decoded.
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
		printf(",\"rec\":\"exchange\",\"tid\":%u,\"status\":%d,\"cat\":%u,\"sent\":%llu,"
		       "\"received\":%llu,\"start_ns\":%lld,\"end_ns\":%lld,\"tls\":%u,\"vis\":%u",
		       r->u.exchange.tid, r->u.exchange.status, r->u.exchange.category,
		       (unsigned long long)r->u.exchange.bytes_sent,
		       (unsigned long long)r->u.exchange.bytes_received,
		       (long long)r->u.exchange.start_ns, (long long)r->u.exchange.end_ns,
		       r->u.exchange.tls, r->u.exchange.visibility);
		jstr("method", r->u.exchange.method, sizeof(r->u.exchange.method));
		jstr("path", r->u.exchange.path, sizeof(r->u.exchange.path));
		jstr("host", r->u.exchange.host, sizeof(r->u.exchange.host));
		printf(",\"unscanned\":%llu,\"input\":%lld",
		       (unsigned long long)r->u.exchange.unscanned_bytes,
		       (long long)r->u.exchange.usage.input);
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

static int dump(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf, *out;
	size_t n = 0, cap = 1 << 20, o, outcap = 64u << 20;
	unsigned long long frames = 0, records = 0;
	int damaged = 0;
	ZSTD_DCtx *dctx;

	if (!f) {
		perror(path);
		return -1;
	}
	buf = malloc(cap);
	for (;;) {
		size_t r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
		r = fread(buf + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	out = malloc(outcap);
	dctx = ZSTD_createDCtx();
	if (n < AP_HEADER_SIZE || !ap_decode_file_header(buf, n)) {
		damaged = 2;
		goto done;
	}
	for (o = AP_HEADER_SIZE; o < n;) {
		size_t fs = ZSTD_findFrameCompressedSize(buf + o, n - o), got, p = 0;
		if (ZSTD_isError(fs)) {
			damaged = 1;
			break;
		}
		got = ZSTD_decompressDCtx(dctx, out, outcap, buf + o, fs);
		if (ZSTD_isError(got)) {
			damaged = 1;
			break;
		}
		frames++;
		while (p < got) {
			struct ap_record rec;
			size_t used = 0;
			enum ap_dec_status st = ap_decode(out + p, got - p, &rec, &used);
			if (st == AP_DEC_OK) {
				print_rec(path, &rec);
				records++;
			}
			if ((st != AP_DEC_OK && st != AP_DEC_SKIP) || !used)
				break;
			p += used;
		}
		o += fs;
	}
done:
	printf("{\"file\":\"%s\",\"type\":0,\"rec\":\"_file\",\"frames\":%llu,\"records\":%llu,"
	       "\"damaged\":%d}\n",
	       path, frames, records, damaged);
	ZSTD_freeDCtx(dctx);
	free(buf);
	free(out);
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
