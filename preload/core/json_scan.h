/* json_scan.h: incremental, bounded streaming JSON scanner reporting (key path, scalar) pairs. */
#ifndef AGENTPROF_JSON_SCAN_H
#define AGENTPROF_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bytes may arrive split at any point. The scanner keeps the key path of the current value and
 * reports every scalar (string, number, true, false, null) whose path has at most
 * AP_JSON_DEPTH segments. It never copies a whole string: only the first AP_JSON_VAL_MAX bytes
 * of a value are kept (escapes decoded, \u above U+007F becomes '?').
 *
 * Path syntax: object keys joined with '.', an array element adds "[]" to its container's path:
 *   {"usage":{"prompt_tokens":5}}     -> "usage.prompt_tokens"
 *   [{"usageMetadata":{"a":1}}]       -> "[].usageMetadata.a"
 *   {"choices":[{"index":0}]}         -> "choices[].index"
 * A key longer than AP_JSON_KEY_MAX is cut and marked with a trailing '\x7f' so that it never
 * equals a real key. Nesting deeper than AP_JSON_NEST_MAX or malformed input stops the scanner
 * (ap_json_failed) until ap_json_init. Several top-level values in a row are accepted.
 * Work per byte is O(1) except for the bounded copies; no allocation, no globals.
 */

#define AP_JSON_DEPTH	 8
#define AP_JSON_KEY_MAX	 48
#define AP_JSON_VAL_MAX	 128
#define AP_JSON_NEST_MAX 256
#define AP_JSON_PATH_MAX (AP_JSON_DEPTH * (AP_JSON_KEY_MAX + 3) + 1)

enum ap_json_type {
	AP_JSON_STRING = 1,
	AP_JSON_NUMBER = 2,
	AP_JSON_TRUE = 3,
	AP_JSON_FALSE = 4,
	AP_JSON_NULL = 5
};

/* One reported scalar; pointers are valid only during the callback. */
struct ap_json_value {
	const char *path; /* NUL-terminated, see above */
	size_t path_len;
	unsigned depth;	 /* containers enclosing the value (1 = member of the top-level object) */
	unsigned type;	 /* enum ap_json_type */
	const char *val; /* NUL-terminated text of strings and numbers; "" for literals */
	size_t len;
	int truncated; /* value longer than AP_JSON_VAL_MAX (only its start is in val) */
};

typedef void (*ap_json_cb)(void *ctx, const struct ap_json_value *v);
/* Key filter: 0 if nothing under the key that just ended (path is its full, NUL-terminated
 * path) is wanted. The key's value is then not reported, whatever its type: a string or
 * container value is skipped (no path is built, its bytes are not validated), a number or
 * literal is still validated. */
typedef int (*ap_json_want)(const char *path, size_t path_len);

/* Scanner state: embeddable, fixed size; treat the fields as private. */
struct ap_json {
	uint8_t st;	   /* parser state */
	uint8_t str_key;   /* the current string is a key */
	uint8_t lit_idx;   /* position in the literal being matched */
	uint8_t lit_type;  /* literal being matched */
	uint8_t hex_n;	   /* \u digits read */
	uint8_t truncated; /* current value/key exceeded its cap */
	uint8_t failed;
	uint8_t done;	     /* at least one top-level value completed */
	uint8_t skip_next;   /* the filter declined the last key: skip its value */
	uint8_t skip_str;    /* skipping: inside a string */
	uint8_t skip_esc;    /* skipping: after a backslash inside a string */
	uint8_t mute;	     /* the current number or literal belongs to a declined key */
	uint32_t skip_depth; /* skipping: open containers inside the skipped value */
	ap_json_want want;   /* NULL: every key is wanted */
	uint16_t nest;	     /* open containers */
	uint16_t hex;	     /* \u accumulator */
	uint16_t path_len;
	uint16_t key_len; /* bytes of the current key (bounded by AP_JSON_KEY_MAX) */
	uint16_t val_len;
	uint16_t plen[AP_JSON_DEPTH + 1];     /* path length of each open container */
	uint8_t is_arr[AP_JSON_NEST_MAX / 8]; /* one bit per nesting level */
	char path[AP_JSON_PATH_MAX + 2];
	char val[AP_JSON_VAL_MAX + 1];
};

/* Reset (start of a body, an SSE event or an NDJSON line); no filter. */
void ap_json_init(struct ap_json *j);
/* Reset with a key filter (NULL: none). Skipped values are not validated. */
void ap_json_init_filtered(struct ap_json *j, ap_json_want want);

/* Scan n bytes; cb (may be NULL) is called for each completed scalar within the depth cap. */
void ap_json_feed(struct ap_json *j, const void *buf, size_t n, ap_json_cb cb, void *ctx);

/* End of input: reports a pending top-level number or literal. */
void ap_json_end(struct ap_json *j, ap_json_cb cb, void *ctx);

/* 1 if the input was malformed or nested too deeply (the scanner then ignores input). */
int ap_json_failed(const struct ap_json *j);

#endif
