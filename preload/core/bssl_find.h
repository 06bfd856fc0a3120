/* bssl_find.h: find BoringSSL's SSL_read, SSL_write and SSL_do_handshake in a stripped x86-64
 * executable by the error reports of ssl_lib.cc and the calls between them. */
#ifndef AGENTPROF_BSSL_FIND_H
#define AGENTPROF_BSSL_FIND_H

#include <stddef.h>
#include <stdint.h>

#include "trampoline.h"

/*
 * The signature (docs/internals/contract.md 7.3): BoringSSL reports errors with
 * OPENSSL_PUT_ERROR(SSL, reason), a call to the error function with ERR_LIB_SSL (16), a reason
 * code, __FILE__ and __LINE__. Every such call in ssl/ssl_lib.cc loads the address of the one
 * string ".../ssl/ssl_lib.cc" (mov r32, imm32 in a non-PIE executable, lea reg, [rip+disp] in a
 * PIE). The functions holding those calls (bounds from .eh_frame_hdr) are told apart by the
 * set of reasons they report, which is stable across BoringSSL versions (line numbers are not),
 * and cross-checked by their direct calls:
 *   SSL_do_handshake  reports exactly {CONNECTION_TYPE_NOT_SET}
 *   SSL_write         reports {SHOULD_NOT_HAVE_BEEN_CALLED, UNINITIALIZED, SSL_HANDSHAKE_FAILURE,
 *                     BAD_LENGTH} and calls SSL_do_handshake
 *   ssl_read_impl     reports {UNINITIALIZED, SSL_HANDSHAKE_FAILURE}, calls SSL_do_handshake, and
 *                     is called by SSL_shutdown (reports APPLICATION_DATA_ON_SHUTDOWN)
 *   SSL_peek          reports exactly {SHOULD_NOT_HAVE_BEEN_CALLED} and calls ssl_read_impl
 *   SSL_read          SSL_peek plus consuming the bytes: either a small function near SSL_peek,
 *                     without error reports, that calls it, or, when SSL_peek was inlined into
 *                     it (Bun's build), the SSL_peek candidate itself.
 * Each must be unique and start a function; anything else refuses, with the reason in why.
 */

#define AP_BSSL_ERR_LIB_SSL		       16
#define AP_BSSL_R_SHOULD_NOT_HAVE_BEEN_CALLED  66 /* ERR_R_FATAL | 2 */
#define AP_BSSL_R_BAD_LENGTH		       111
#define AP_BSSL_R_CONNECTION_TYPE_NOT_SET      134
#define AP_BSSL_R_SSL_HANDSHAKE_FAILURE	       215
#define AP_BSSL_R_UNINITIALIZED		       226
#define AP_BSSL_R_APPLICATION_DATA_ON_SHUTDOWN 291

/* One mapped segment of the image: its bytes as this process reads them, at runtime address
 * addr. */
struct ap_img_seg {
	const uint8_t *p;
	uint64_t addr;
	size_t len;
	int exec;
};

#define AP_IMG_SEGS 16

struct ap_img {
	struct ap_img_seg seg[AP_IMG_SEGS];
	int nseg;
	uint64_t eh_frame_hdr; /* runtime address of .eh_frame_hdr (PT_GNU_EH_FRAME), 0 = none */
	/* optional: told of bytes the sequential scans are done with, a few MB at a time, so that
	 * the caller can give their pages back (the scans read every byte of the image once) */
	void (*release)(void *ctx, const uint8_t *p, size_t len);
	void *release_ctx;
};

enum { AP_BSSL_READ, AP_BSSL_WRITE, AP_BSSL_HANDSHAKE, AP_BSSL_PEEK, AP_BSSL_N };

struct ap_bssl_found {
	uint64_t entry[AP_BSSL_N]; /* 0 = not found (PEEK: inlined into SSL_read) */
	uint64_t size[AP_BSSL_N];  /* function size from its FDE */
	/* the evidence, for ap_bssl_verify: the string and the functions identified
	 * (SSL_do_handshake, SSL_write, ssl_read_impl, SSL_shutdown, SSL_peek/SSL_read) */
	uint64_t str;
	uint64_t funcs[5];
	int nfuncs;
	char why[200]; /* the refusal, when -1 is returned */
};

/* The function around pc from .eh_frame_hdr: 0 with *start, *size set, or -1. */
int ap_img_func_at(const struct ap_img *img, uint64_t pc, uint64_t *start, uint64_t *size);

/* Search img (decode: an instruction decoder, e.g. ap_cs_decode). 0 when SSL_read, SSL_write
 * and SSL_do_handshake were all found and verified; -1 with out->why otherwise. */
int ap_bssl_find(const struct ap_img *img, ap_decode_fn decode, void *decode_ctx,
		 struct ap_bssl_found *out);

/* The same identification, over a previous result's evidence only (str, funcs: from a cache
 * that may be stale or forged): no scan of the image, every check of the search applied to
 * those functions. 0 with out filled as by ap_bssl_find, or -1 with out->why. */
int ap_bssl_verify(const struct ap_img *img, ap_decode_fn decode, void *decode_ctx, uint64_t str,
		   const uint64_t *funcs, int nfuncs, struct ap_bssl_found *out);

#endif
