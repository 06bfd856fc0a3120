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

/* Decode one record from p[0..n). On AP_DEC_OK and AP_DEC_SKIP, *used is the bytes consumed. */
enum ap_dec_status ap_decode(const uint8_t *p, size_t n, struct ap_record *r, size_t *used);

/* Size of the file header (a zstd skippable frame): magic, format version, flags. */
#define AP_HEADER_SIZE 24
size_t ap_encode_file_header(uint8_t *buf, size_t cap);
/* Returns the format version, 0 if p is not an agentprof header. */
uint32_t ap_decode_file_header(const uint8_t *p, size_t n);

#endif
