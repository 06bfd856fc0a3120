/* ap_codec.h: binary encoding of records (protobuf wire format) and of the span-file header. */
#ifndef AGENTPROF_AP_CODEC_H
#define AGENTPROF_AP_CODEC_H

#include "ap_records.h"

/*
 * A frame's decompressed content is a sequence of records:
 *   varint type, varint payload_length, payload
 * and a payload is a sequence of protobuf-style fields:
 *   varint key (field_number << 3 | wire_type), value
 * wire_type 0: varint (signed values zigzag-encoded), wire_type 2: length-delimited bytes.
 * Unknown fields and unknown record types are skipped, so readers stay compatible with newer
 * writers. A field holding an unknown value (AP_UNKNOWN, empty string) is not written.
 * docs/FORMAT.md lists the field numbers.
 */

enum ap_dec_status {
	AP_DEC_OK = 0,	  /* one record decoded */
	AP_DEC_SHORT = 1, /* input ends inside a record */
	AP_DEC_BAD = 2,	  /* malformed record */
	AP_DEC_SKIP = 3	  /* well-formed record of a type this reader does not know */
};

/* Encode r into buf[0..cap). Returns the bytes written, or 0 if it does not fit. No allocation. */
size_t ap_encode(uint8_t *buf, size_t cap, const struct ap_record *r);
/* ap_encode of an AP_REC_EXCHANGE record holding x, without building the record. */
size_t ap_encode_exchange(uint8_t *buf, size_t cap, const struct ap_exchange *x);
/* The same bytes from the table-driven encoder alone (ap_encode takes a straight-line path for
 * exchanges); for tests that compare the two. */
size_t ap_encode_generic(uint8_t *buf, size_t cap, const struct ap_record *r);

/* Decode one record from p[0..n). On AP_DEC_OK and AP_DEC_SKIP, *used is the bytes consumed. */
enum ap_dec_status ap_decode(const uint8_t *p, size_t n, struct ap_record *r, size_t *used);
/* The same from the table-driven decoder alone (ap_decode switches on the field number for
 * exchanges); for tests that compare the two. */
enum ap_dec_status ap_decode_generic(const uint8_t *p, size_t n, struct ap_record *r, size_t *used);

/* Size of the file header (a zstd skippable frame): magic, format version, flags. */
#define AP_HEADER_SIZE 24
size_t ap_encode_file_header(uint8_t *buf, size_t cap);
/* Returns the format version, 0 if p is not an agentprof header. */
uint32_t ap_decode_file_header(const uint8_t *p, size_t n);

/*
 * The live segment (docs/FORMAT.md section 1.3): a file written by the current preload starts
 * with the header and then one zstd skippable frame of AP_SEG_BYTES - AP_HEADER_SIZE bytes that
 * the writing process maps MAP_SHARED. Finished records land in its slots with one memcpy;
 * flushes compress sealed slots into frames appended after it. The reader decodes the frames
 * and then every slot record not already covered by a frame. Layout is little-endian.
 */
#define AP_SEG_SKIP_MAGIC 0x184D2A5Bu /* skippable frame holding the live segment */
#define AP_SEG_MAGIC	  "APSEG001"
#define AP_SEG_SLOTS	  4
#define AP_SEG_SLOT_BYTES (128u << 10)
#define AP_SEG_HDR_BYTES  4096u
#define AP_SEG_BYTES	  (AP_SEG_HDR_BYTES + AP_SEG_SLOTS * AP_SEG_SLOT_BYTES)
#define AP_SEG_ENTRY_MAX  4096u /* largest encoded record stored in a slot */

enum ap_slot_state { AP_SLOT_FREE = 0, AP_SLOT_ACTIVE = 1, AP_SLOT_SEALED = 2 };

/* One slot's control words (in the segment header page; 64 bytes each). */
struct ap_seg_slot {
	uint32_t state;	   /* enum ap_slot_state */
	uint32_t inflight; /* writers between reserving space and committing it */
	uint64_t cursor;   /* bytes reserved; may pass AP_SEG_SLOT_BYTES when the slot fills */
	uint64_t gen;	   /* incremented each time the slot is emptied after a flush */
	uint8_t pad[40];
};

/* The segment's first page (file offset 0). */
struct ap_seg_header {
	uint8_t file_header[AP_HEADER_SIZE]; /* the ordinary file header */
	uint32_t skip_magic;		     /* AP_SEG_SKIP_MAGIC */
	uint32_t skip_size;		     /* AP_SEG_BYTES - AP_HEADER_SIZE - 8 */
	char magic[8];			     /* AP_SEG_MAGIC */
	uint32_t slots, slot_bytes,
		data_off;      /* AP_SEG_SLOTS, AP_SEG_SLOT_BYTES, AP_SEG_HDR_BYTES */
	uint32_t active;       /* slot receiving records */
	uint64_t pending_off;  /* file offset of the frame a flush is writing; 0 when none */
	uint64_t pending_gen;  /* generation of the slot that frame holds */
	uint32_t pending_slot; /* slot that frame holds */
	uint32_t pad0;
	uint64_t frames_end; /* file offset after the last complete frame */
	uint8_t pad1[40];
	struct ap_seg_slot slot[AP_SEG_SLOTS];
};

/* A slot entry is an 8-byte word (length, tag) followed by the encoded record, padded to 8.
 * The word is stored last (release), so a nonzero valid word means the record is complete. */
static inline uint64_t ap_seg_entry_word(uint32_t len)
{
	return (uint64_t)(0xA9F1C0DEu ^ (len * 0x9E3779B1u)) << 32 | len;
}
static inline uint32_t ap_seg_entry_size(uint32_t len)
{
	return 8 + ((len + 7u) & ~7u);
}
#endif
