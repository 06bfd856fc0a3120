/* sni.c: bounds-checked TLS ClientHello walker that finds the server_name extension. */
#include <stdint.h>
#include <string.h>

#include "sni.h"

#define TLS_HANDSHAKE	22
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define SNI_HOST_NAME	0

/*
 * Reads the handshake byte stream carried by consecutive handshake records, skipping their
 * 5-byte headers. Any read past the available bytes sets short_.
 */
struct hs_reader {
	const uint8_t *p;
	size_t n;
	size_t off;	/* next byte of the input */
	size_t rec_end; /* end of the current record's payload */
	int short_;	/* ran out of input */
	int bad;	/* not a handshake record */
};

int ap_tls_record_start(const void *buf, size_t n)
{
	const uint8_t *p = buf;

	if (n < 3)
		return 0;
	return p[0] >= 20 && p[0] <= 23 && p[1] == 3 && p[2] <= 4;
}

/* Move to the next record if the current one is used up. */
static int next_record(struct hs_reader *r)
{
	size_t len;

	if (r->off < r->rec_end)
		return 1;
	if (r->n - r->off < 5) {
		r->short_ = 1;
		return 0;
	}
	if (r->p[r->off] != TLS_HANDSHAKE || r->p[r->off + 1] != 3) {
		r->bad = 1;
		return 0;
	}
	len = (size_t)r->p[r->off + 3] << 8 | r->p[r->off + 4];
	if (len == 0) {
		r->bad = 1;
		return 0;
	}
	r->off += 5;
	r->rec_end = r->off + len;
	return 1;
}

static int get_byte(struct hs_reader *r, uint8_t *b)
{
	if (r->short_ || r->bad || !next_record(r))
		return 0;
	if (r->off >= r->n) {
		r->short_ = 1;
		return 0;
	}
	*b = r->p[r->off++];
	return 1;
}

static int get_uint(struct hs_reader *r, unsigned bytes, size_t *v)
{
	uint8_t b;

	*v = 0;
	while (bytes--) {
		if (!get_byte(r, &b))
			return 0;
		*v = *v << 8 | b;
	}
	return 1;
}

static int skip(struct hs_reader *r, size_t k)
{
	while (k) {
		size_t run;

		if (r->short_ || r->bad || !next_record(r))
			return 0;
		run = r->rec_end - r->off;
		if (run > k)
			run = k;
		if (run > r->n - r->off) {
			r->short_ = 1;
			return 0;
		}
		r->off += run;
		k -= run;
	}
	return 1;
}

static int valid_host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* Reads the server_name extension body; returns 1 with host filled. */
static int read_sni(struct hs_reader *r, size_t ext_len, char *host, size_t cap)
{
	size_t list_len, type, len, used = 0, o = 0;
	uint8_t c;

	if (ext_len < 2 || !get_uint(r, 2, &list_len))
		return 0;
	used = 2;
	while (used + 3 <= ext_len && list_len >= 3) {
		if (!get_uint(r, 1, &type) || !get_uint(r, 2, &len))
			return 0;
		used += 3;
		if (len > ext_len - used)
			return 0;
		if (type != SNI_HOST_NAME || len == 0) {
			if (!skip(r, len))
				return 0;
			used += len;
			continue;
		}
		for (size_t i = 0; i < len; i++) {
			if (!get_byte(r, &c) || !valid_host_char(c))
				return 0;
			if (o + 1 < cap)
				host[o++] = (char)c;
		}
		if (cap)
			host[o] = 0;
		return o > 0;
	}
	return 0;
}

/* Walks the ClientHello body up to the extensions; returns the extensions' length or -1. */
static long hello_prefix(struct hs_reader *r)
{
	size_t type, len, v;

	if (!get_uint(r, 1, &type) || type != HS_CLIENT_HELLO) {
		if (!r->short_)
			r->bad = 1;
		return -1;
	}
	if (!get_uint(r, 3, &len) || !get_uint(r, 2, &v) || !skip(r, 32)) /* version, random */
		return -1;
	if (!get_uint(r, 1, &v) || !skip(r, v)) /* session id */
		return -1;
	if (!get_uint(r, 2, &v) || !skip(r, v)) /* cipher suites */
		return -1;
	if (!get_uint(r, 1, &v) || !skip(r, v)) /* compression */
		return -1;
	if (!get_uint(r, 2, &v)) /* extensions */
		return -1;
	return (long)v;
}

int ap_sni_parse(const void *buf, size_t n, char *host, size_t cap)
{
	struct hs_reader r = {buf, n, 0, 0, 0, 0};
	long ext_total;
	size_t used = 0, type, len;

	if (cap)
		host[0] = 0;
	if (n >= 1 && ((const uint8_t *)buf)[0] != TLS_HANDSHAKE)
		return -1;
	if (n >= 2 && ((const uint8_t *)buf)[1] != 3)
		return -1;
	if (n >= 3 && !ap_tls_record_start(buf, n))
		return -1;
	if ((ext_total = hello_prefix(&r)) < 0)
		return 0; /* incomplete, or a handshake that is not a ClientHello */
	while (used + 4 <= (size_t)ext_total) {
		if (!get_uint(&r, 2, &type) || !get_uint(&r, 2, &len))
			return 0;
		used += 4;
		if (len > (size_t)ext_total - used)
			return 0;
		if (type == EXT_SERVER_NAME)
			return read_sni(&r, len, host, cap);
		if (!skip(&r, len))
			return 0;
		used += len;
	}
	return 0;
}
