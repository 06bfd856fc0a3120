/* parse.c: strict parsers for the numbers, durations and limits the viewer's options take. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int parse_int(const char *s, long long *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (end == s || *end || errno)
		return -1;
	*out = x;
	return 0;
}

int parse_count(const char *s, double *out)
{
	char *end;
	double x = strtod(s, &end);

	if (end == s || !isfinite(x) || x < 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		x *= 1e3, end++;
	else if (*end == 'M')
		x *= 1e6, end++;
	if (*end)
		return -1;
	*out = x;
	return 0;
}

int parse_duration(const char *s, double *out_ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1},	  {"us", 1e3},	 {"ms", 1e6},	{"s", 1e9},
		     {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}, {"", 1e9}};
	char *end;
	double x = strtod(s, &end);

	if (end == s || !isfinite(x) || x < 0 || *s == '-')
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].unit)) {
			*out_ns = x * units[i].ns;
			return 0;
		}
	}
	return -1;
}

int failon_is_time(const char *key)
{
	static const char *const t[] = {"p50",	"p90",	    "p95",	"p99",	   "mean",
					"max",	"ttfb_p50", "ttfb_p95", "wall",	   "llm",
					"tool", "memory",   "process",	"internal"};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(key, t[i]))
			return 1;
	return 0;
}

int parse_failon_value(const char *s, const char *key, int *relative, double *value)
{
	size_t n = strlen(s);
	char *end;

	if (n && s[n - 1] == '%') {
		double x = strtod(s, &end);

		if (end == s || end != s + n - 1 || !isfinite(x) || x < 0)
			return -1;
		*relative = 1;
		*value = x;
		return 0;
	}
	*relative = 0;
	if (failon_is_time(key))
		return parse_duration(s, value);
	if (!strcmp(key, "cost"))
		return parse_count(s + (*s == '$'), value);
	return parse_count(s, value);
}
