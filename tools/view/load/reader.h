/* reader.h: tolerant, frame-by-frame reader of agentprof span files (see docs/FORMAT.md). */
#ifndef AGENTPROF_VIEW_READER_H
#define AGENTPROF_VIEW_READER_H

#include <stddef.h>
#include <stdint.h>

#include "ap_records.h"

/* Largest decompressed frame the reader accepts; the preload's flush buffer is far smaller. */
#define RD_MAX_FRAME_CONTENT (64u << 20)
/* Largest span file the reader loads. */
#define RD_MAX_FILE_SIZE (8ull << 30)

/* What reading one file found. The reader keeps the verified prefix of a damaged file. */
struct rd_stats {
	uint32_t version;	  /* format version from the header */
	uint64_t frames;	  /* complete, checksum-verified frames */
	uint64_t records;	  /* records handed to the callback */
	uint64_t unknown_records; /* well-formed records of newer types, skipped */
	uint64_t bad_records; /* malformed records inside verified frames (rest of frame skipped) */
	uint64_t bytes_ignored; /* bytes after the verified prefix */
	int damaged;		/* 0 ok, 1 truncated, 2 corrupt */
	uint64_t resyncs;	/* corrupt stretches skipped to reach a later good frame */
	uint64_t seg_records;	/* records read from the live segment (not yet in a frame) */
	uint64_t seg_slots;	/* live-segment slots holding such records */
	uint64_t seg_gap_bytes; /* live-segment bytes reserved but never committed */
	char problem[160];	/* what stopped the reader when damaged */
};

/* Called for every decoded record; return nonzero to stop reading. */
typedef int (*rd_record_fn)(void *ctx, const struct ap_record *r);

/*
 * Read a span file held in memory. Returns 0 and fills *st, or -1 when the bytes are not an
 * agentprof span file at all (bad magic, a format version newer than this reader) with the
 * reason in msg. A truncated or corrupt tail is not an error: st->damaged says so.
 * Never crashes and allocates at most RD_MAX_FRAME_CONTENT (+ zstd's window) per frame.
 */
int rd_parse_buf(const uint8_t *buf, size_t n, rd_record_fn fn, void *ctx, struct rd_stats *st,
		 char *msg, size_t msglen);

/* Read a whole file into memory (*buf freed by the caller). -1 with the reason in msg. */
int rd_slurp(const char *path, uint8_t **buf, size_t *n, char *msg, size_t msglen);

#endif
