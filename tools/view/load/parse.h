/* parse.h: parsing of numbers, durations and limits given on the command line. */
#ifndef AGENTPROF_VIEW_PARSE_H
#define AGENTPROF_VIEW_PARSE_H

/* A whole decimal integer. */
int parse_int(const char *s, long long *out);
/* A non-negative count with an optional k/M suffix: 1000, 10k, 2.5M. */
int parse_count(const char *s, double *out);
/* A duration in ns: 500ms, 2s, 1.5m, 250us, 10ns, 1h; a bare number is seconds. */
int parse_duration(const char *s, double *out_ns);
/* A --fail-on limit for key: "20%" (relative) or an absolute duration / count / USD. */
int parse_failon_value(const char *s, const char *key, int *relative, double *value);
/* 1 if key names a time measure (p50, wall, llm, ...), 0 for counts and cost. */
int failon_is_time(const char *key);

#endif
