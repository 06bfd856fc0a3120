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

/*
 * Decoding one file on several threads: rd_plan finds the frames that look complete (without
 * decompressing them); rd_decode_frames decodes a range of them (any thread, each its own
 * callback context); rd_resume carries on sequentially from frame a to the end of the file
 * exactly as rd_parse_buf would (damaged frames, resynchronisation, the live segment). Decoding
 * frames [0, a) with rd_decode_frames and then rd_resume(a), all into one st, hands the callback
 * the same records in the same order and fills st exactly as rd_parse_buf does.
 */
struct rd_frame {
	size_t off, len; /* a zstd frame with a checksum: offset and compressed size */
	size_t seg;	 /* offset of the last live segment before it, 0 if none */
};

struct rd_plan {
	struct rd_frame *frames;
	size_t n_frames;
	size_t stop;	/* where the run of well-formed frames ends (the file size if at the end) */
	size_t seg_off; /* offset of the last live segment before stop, 0 if none */
};

/* -1 (reason in msg) when rd_parse_buf would return -1; fills st->version. */
int rd_plan(const uint8_t *buf, size_t n, struct rd_plan *p, struct rd_stats *st, char *msg,
	    size_t msglen);
void rd_plan_free(struct rd_plan *p);
/* Decode frames [a, b). Adds to the counts in st (frames, records, unknown and bad records)
 * and nothing else. -1 when a frame does not verify or the callback asked to stop: the caller
 * then drops what this call produced and resumes at frame a. *out_cap: the size the frame
 * buffer grew to (it only grows, with the largest frame). */
int rd_decode_frames(const uint8_t *buf, const struct rd_plan *p, size_t a, size_t b,
		     rd_record_fn fn, void *ctx, struct rd_stats *st, size_t *out_cap);
/* Free the zstd context and buffer rd_decode_frames keeps for the calling thread (other threads
 * free theirs when they exit). */
void rd_thread_cache_free(void);
/* out_cap: the largest *out_cap of the ranges decoded before frame a (0 if none). */
void rd_resume(const uint8_t *buf, size_t n, const struct rd_plan *p, size_t a, size_t out_cap,
	       rd_record_fn fn, void *ctx, struct rd_stats *st);

/* Read a whole file into memory (*buf freed by the caller). -1 with the reason in msg. */
int rd_slurp(const char *path, uint8_t **buf, size_t *n, char *msg, size_t msglen);

#endif
