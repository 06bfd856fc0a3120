/* h2.h: HTTP/2 connection observer: frames both directions, one exchange per stream. */
#ifndef AGENTPROF_H2_H
#define AGENTPROF_H2_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

/*
 * One struct ap_h2 per HTTP/2 connection (memory of ap_h2_size() bytes, owned by the caller;
 * never copied while in use: streams point back at it). The caller feeds plaintext as it crosses
 * the connection, like ap_http: ap_h2_out() the bytes the client wrote (starting with the
 * connection preface), ap_h2_in() the bytes it read.
 *
 * Frames: DATA, HEADERS, CONTINUATION, RST_STREAM, GOAWAY, SETTINGS, WINDOW_UPDATE, PING,
 * PRIORITY and PUSH_PROMISE are framed, with padding and priority fields; unknown frame types
 * are skipped. Each client stream is driven through its own struct ap_http with the framed
 * interface of http.h, so bodies, SSE, usage, gzip and classification are HTTP/1.1's.
 *
 * Header blocks are decoded by an HPACK inflater reached through struct ap_hpack_api (the
 * preload fills it from a privately dlopen()ed libnghttp2; tests link nghttp2). There is one
 * inflater per direction with its own dynamic table; SETTINGS_HEADER_TABLE_SIZE is applied when
 * the other side acknowledges it. The inflater allocates only through struct ap_hpack_mem, from
 * a fixed arena inside the struct ap_h2 (no malloc). Without an HPACK api (hpack NULL) streams
 * are still framed and timed, without method, path or headers.
 *
 * Bounds: AP_H2_STREAMS streams tracked at once, a header block up to AP_H2_BLOCK_MAX bytes,
 * AP_H2_ARENA bytes of HPACK memory. A stream beyond the cap is framed but not recorded; a
 * header block beyond the cap, or an HPACK error, stops header decoding in that direction (the
 * dynamic table can no longer be followed). Each counts one drop (ap_h2_drops).
 * A framing error (bad fixed lengths, padding longer than the frame, CONTINUATION out of place,
 * a wrong preface) emits the pending streams with AP_XERR_PROTOCOL and ignores the rest.
 */

/* Layout-compatible with nghttp2_nv and nghttp2_mem (stable since nghttp2 1.0, soname 14). */
struct ap_hpack_nv {
	uint8_t *name;
	uint8_t *value;
	size_t namelen;
	size_t valuelen;
	uint8_t flags;
};

struct ap_hpack_mem {
	void *user;
	void *(*malloc)(size_t size, void *user);
	void (*free)(void *ptr, void *user);
	void *(*calloc)(size_t nmemb, size_t size, void *user);
	void *(*realloc)(void *ptr, size_t size, void *user);
};

#define AP_HPACK_FINAL 0x01 /* NGHTTP2_HD_INFLATE_FINAL */
#define AP_HPACK_EMIT  0x02 /* NGHTTP2_HD_INFLATE_EMIT */

/* nghttp2_hd_inflate_new2, _del, _hd2 (or _hd3), _end_headers, _change_table_size. */
struct ap_hpack_api {
	int (*inflate_new2)(void **inflater, struct ap_hpack_mem *mem);
	void (*inflate_del)(void *inflater);
	ptrdiff_t (*inflate_hd)(void *inflater, struct ap_hpack_nv *nv, int *flags,
				const uint8_t *in, size_t inlen, int in_final);
	int (*inflate_end_headers)(void *inflater);
	int (*inflate_change_table_size)(void *inflater, size_t size);
};

struct ap_h2_env {
	/* emit + ctx receive every finished exchange; zlib and rules as for HTTP/1.1 */
	const struct ap_http_env *http;
	const struct ap_hpack_api *hpack; /* NULL: headers are not decoded */
};

#define AP_H2_STREAMS	16
#define AP_H2_BLOCK_MAX (64 * 1024)
#define AP_H2_ARENA	(96 * 1024)

enum ap_h2_mode {
	AP_H2_ACTIVE = 1, /* framing the connection */
	AP_H2_GAVE_UP = 2 /* framing error: bytes are ignored */
};

struct ap_h2;

/* The client connection preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n". */
#define AP_H2_PREFACE	  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define AP_H2_PREFACE_LEN 24

/* 1 if the n bytes could begin the client preface (n >= 4 is required to say yes). */
int ap_h2_preface_start(const void *buf, size_t n);

size_t ap_h2_size(void);
void ap_h2_init(struct ap_h2 *h, const struct ap_h2_env *env);
void ap_h2_out(struct ap_h2 *h, const void *buf, size_t n, int64_t now_ns);
void ap_h2_in(struct ap_h2 *h, const void *buf, size_t n, int64_t now_ns);
/* The connection closed: pending streams are emitted with err (AP_XERR_EOF if none). Releases the
 * HPACK inflaters. */
void ap_h2_close(struct ap_h2 *h, int64_t now_ns, unsigned err);
/* Forget everything without emitting (fork child); the arena makes this leak-free. */
void ap_h2_reset(struct ap_h2 *h);
int ap_h2_mode(const struct ap_h2 *h);
/* Streams and header blocks that could not be tracked so far. */
uint64_t ap_h2_drops(const struct ap_h2 *h);
/* Streams currently tracked. */
int ap_h2_open_streams(const struct ap_h2 *h);

#endif
