/* http.h: incremental, bounded HTTP/1.1 exchange parser fed with both directions of a connection.
 */
#ifndef AGENTPROF_HTTP_H
#define AGENTPROF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "ap_records.h"

/*
 * One struct ap_http per connection, embedded in the connection table (fixed size, no malloc).
 * The caller feeds plaintext bytes as they cross the socket or the SSL layer:
 *   ap_http_out()  bytes the client wrote (requests)
 *   ap_http_in()   bytes the client read (responses)
 * When a response completes (Content-Length reached, last chunk, or close for a close-delimited
 * body) the parser fills a struct ap_exchange and calls env->emit. The caller then adds the
 * connection facts (conn id, tid, peer, category/provider) before recording it.
 * A streamed response completes earlier, at the provider's terminal event (data: [DONE],
 * message_stop, response.completed/failed/incomplete, an "error" event, Gemini's chunk with
 * finishReason and usageMetadata, Ollama's "done": true): SDKs stop reading there. end_ns and
 * bytes_received are then those of that event; the rest of the response is framed (so that the
 * next exchange parses) but emits nothing more.
 * Up to 4 pipelined requests are tracked at once; deeper ones are framed, not recorded, and
 * reported through env->dropped.
 *
 * The parser fills: method, path (query secrets redacted), host (Host header), status,
 * content_type, stream, start_ns, req_sent_ns, first_byte_ns, end_ns, bytes_sent,
 * bytes_received, events, first_event_ns, request_model, response_model, usage, request_hash,
 * error. Everything else is left as ap_record_init() set it.
 *
 * Bounds: header lines longer than AP_HTTP_LINE_MAX are truncated; bodies are never copied,
 * only scanned (the JSON scanner keeps a bounded key path and a bounded scalar value).
 * gzip/deflate bodies are inflated through env->zlib when the response is an LLM/JSON body, at
 * most 64 MiB per response and no further than 1 MiB once the inflated/compressed ratio passes
 * 64 (a gzip bomb); compressed bytes past the cap are counted in unscanned_bytes.
 * SSE events are scanned (AVX2/SSE2 where available) for "usage" and parsed as JSON only when
 * it has a value ("usage":null is counted only), while no model is known yet, or when the event
 * is a terminal one; Gemini's cumulative usageMetadata chunks are kept and the latest parsed
 * before the next parse or at the response's end.
 * Anything that is not HTTP/1.x (HTTP/2 preface, binary protocol) puts the parser in
 * AP_HTTP_GAVE_UP; it then ignores bytes cheaply.
 */

/*
 * zlib entry points. The preload fills this from dlsym() on a privately dlopen()ed libz (core
 * code never links zlib); tests and the viewer may use &inflateInit2_, &inflate, &inflateEnd.
 */
struct ap_zlib_api {
	int (*inflateInit2_)(z_streamp strm, int window_bits, const char *version, int stream_size);
	int (*inflate)(z_streamp strm, int flush);
	int (*inflateEnd)(z_streamp strm);
};

struct ap_rules; /* classify.h */

struct ap_http_env {
	void (*emit)(void *ctx, struct ap_exchange *ex);
	void *ctx;
	/*
	 * zlib entry points (inflateInit2_, inflate, inflateEnd) resolved privately by the
	 * preload (dlopen RTLD_LOCAL) or linked directly by tests. NULL: compressed bodies are
	 * timed and counted but their usage is unknown.
	 */
	const struct ap_zlib_api *zlib;
	/*
	 * Bounded allocator for inflate state (zlib's zalloc/zfree); NULL means zlib's default
	 * (malloc), which only tests and the viewer may use.
	 */
	void *(*zalloc)(void *opaque, unsigned items, unsigned size);
	void (*zfree)(void *opaque, void *ptr);
	void *zopaque;
	/*
	 * User classification rules (may be NULL). Request and response bodies are scanned for
	 * models and usage only when ap_classify(rules, Host, port, path) says llm, or the
	 * response is an SSE stream; other bodies are framed and counted, not scanned.
	 */
	const struct ap_rules *rules;
	/*
	 * A request pipelined deeper than the parser tracks (4 at once): it is framed so that
	 * later responses stay matched, but not recorded. NULL: not counted.
	 */
	void (*dropped)(void *ctx);
	/*
	 * Classification of a request (host from its Host header or absolute target, "" if none;
	 * port from it or -1). NULL: ap_classify(rules, ...). When set, its answer is also stored
	 * in the exchange (category, provider), so the caller need not classify it again.
	 */
	void (*classify)(void *ctx, const char *host, int port, const char *path, uint8_t *category,
			 uint8_t *provider);
};

enum ap_http_mode {
	AP_HTTP_IDLE = 0,   /* nothing seen yet, or between exchanges */
	AP_HTTP_ACTIVE = 1, /* inside an exchange */
	AP_HTTP_GAVE_UP = 2 /* not HTTP/1.x: ignore further bytes */
};

#define AP_HTTP_LINE_MAX   1024
#define AP_HTTP_STATE_SIZE 12288 /* opaque storage; http.c asserts it is large enough */

/*
 * Do not copy a struct ap_http while an exchange is active: the inflate state points back at
 * it (zlib then reports an error and usage becomes unknown; nothing crashes).
 */
struct ap_http {
	const struct ap_http_env *env;
	uint8_t mode;  /* enum ap_http_mode */
	uint8_t http2; /* the HTTP/2 connection preface was seen (mode is AP_HTTP_GAVE_UP) */
	/* private parser state, defined in http.c */
	_Alignas(16) unsigned char state[AP_HTTP_STATE_SIZE];
};

void ap_http_init(struct ap_http *h, const struct ap_http_env *env);
void ap_http_out(struct ap_http *h, const void *buf, size_t n, int64_t now_ns);
void ap_http_in(struct ap_http *h, const void *buf, size_t n, int64_t now_ns);
/*
 * The connection closed (err = AP_XERR_NONE for an orderly close, or the error seen).
 * Emits a pending exchange: complete if the body was close-delimited, else with the error
 * (AP_XERR_EOF when the peer closed early). Releases inflate state.
 */
void ap_http_close(struct ap_http *h, int64_t now_ns, unsigned err);
/* Release inflate state without emitting (fork child, disabled). */
void ap_http_reset(struct ap_http *h);

/* True while a request has been written and its response has not completed. */
int ap_http_pending(const struct ap_http *h);

/* SSE events and NDJSON lines parsed as JSON on this connection so far (the rest were only
 * counted: no key usage extraction or end-of-stream detection needs). */
uint64_t ap_http_events_parsed(const struct ap_http *h);

/*
 * Messages framed by the caller: HTTP/2 (h2.c) drives one struct ap_http per stream with
 * decoded header fields and de-framed body bytes, and reuses the body decoding, SSE, usage,
 * classification and hashing above. Order per stream:
 *   ap_http_framed_request (first request frame), ap_http_framed_header... (":method",
 *   ":path", ":authority", content-type, content-encoding), ap_http_framed_headers_end(out=1),
 *   ap_http_framed_body(out=1)..., ap_http_framed_end(out=1) at END_STREAM;
 *   per response HEADERS: ap_http_framed_response, ap_http_framed_header(out=0)... (":status"),
 *   ap_http_framed_headers_end(out=0) (returns 0 for a 1xx: call ap_http_framed_response again
 *   for the next HEADERS), ap_http_framed_body(out=0)..., ap_http_framed_end(out=0).
 * The exchange is emitted through env->emit when the response ends (or on ap_http_close).
 * ap_http_framed_bytes counts wire bytes (frame headers, padding) for the current message.
 * ap_http_framed_done is 1 once nothing is pending (the exchange was emitted).
 */
void ap_http_framed_request(struct ap_http *h, int64_t now_ns);
void ap_http_framed_response(struct ap_http *h, int64_t now_ns);
void ap_http_framed_header(struct ap_http *h, int out, const char *name, size_t nn, const char *val,
			   size_t vn);
int ap_http_framed_headers_end(struct ap_http *h, int out, int64_t now_ns);
void ap_http_framed_body(struct ap_http *h, int out, const void *buf, size_t n, int64_t now_ns);
void ap_http_framed_bytes(struct ap_http *h, int out, size_t n);
void ap_http_framed_end(struct ap_http *h, int out, int64_t now_ns);
int ap_http_framed_done(const struct ap_http *h);

#endif
