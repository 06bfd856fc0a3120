/* jsonw.h: a small streaming JSON writer that always produces valid JSON for any input bytes. */
#ifndef AGENTPROF_VIEW_JSONW_H
#define AGENTPROF_VIEW_JSONW_H

#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 64

/* Output staged before it is copied into the stream (jsonw.c); treat as private. */
struct jw_out {
	FILE *f;
	size_t n;
	char b[1024];
};

struct jw {
	FILE *f;
	int pretty; /* 1: two-space indentation; 0: one line */
	int depth;
	int after_key;
	int batching; /* jw_batch: calls stage into `stage`, written at the batch's end */
	uint8_t nonempty[JW_MAX_DEPTH];
	struct jw_out stage;
};

void jw_init(struct jw *w, FILE *f, int pretty);
/* jw_batch(w, 1) ... jw_batch(w, 0): the calls between stage their output and write it at the
 * end (and whenever 1 KiB is staged), as one copy into the stream: for a run of small values
 * (an OTLP attribute is seven calls). Nothing else may write to the FILE in between. */
void jw_batch(struct jw *w, int on);
void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *k);

/* Values. Strings are escaped; invalid UTF-8 bytes become U+FFFD. */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_double(struct jw *w, double v); /* NaN/Inf -> null */
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);

/* key + value shorthands; the _opt forms write null for unknown (empty string, AP_UNKNOWN). */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kstr_opt(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kint_opt(struct jw *w, const char *k, int64_t v); /* v < 0 -> null */
void jw_kuint(struct jw *w, const char *k, uint64_t v);
void jw_kdouble(struct jw *w, const char *k, double v);
void jw_kbool(struct jw *w, const char *k, int v);
void jw_knull(struct jw *w, const char *k);

/* The decimal text of v, and the 16 lower-case hex digits of v, into b (24 bytes or more),
 * NUL-terminated, as printf's "%lld" / "%016llx" would write them; return the length. */
size_t jw_fmt_int(char *b, int64_t v);
size_t jw_fmt_hex64(char *b, uint64_t v);

/* Finish a document: newline. */
void jw_end(struct jw *w);

#endif
