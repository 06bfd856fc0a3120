/* redact.c: in-place redaction of secret query values, URL userinfo, and secret header names. */
#include <string.h>

#include "redact.h"

static const char *const secret_keys[] = {
	"key",
	"api_key",
	"apikey",
	"api-key",
	"token",
	"access_token",
	"refresh_token",
	"id_token",
	"sig",
	"signature",
	"x-goog-signature",
	"x-goog-credential",
	"x-amz-signature",
	"x-amz-credential",
	"x-amz-security-token",
	"awsaccesskeyid",
	"secret",
	"client_secret",
	"password",
	"passwd",
	"pwd",
	"auth",
	"authorization",
	"code",
	"session",
	"sessionid",
	"jwt",
	"credential",
	"credentials",
	"bearer",
};

static const char *const secret_parts[] = {
	"token", "secret", "key", "sig", "pass", "auth", "credential", "session",
};

static const char *const secret_headers[] = {
	"authorization",  "proxy-authorization", "cookie",
	"set-cookie",	  "x-api-key",		 "api-key",
	"x-goog-api-key", "x-auth-token",	 "x-amz-security-token",
	"x-csrf-token",	  "x-xsrf-token",
};

static const char *const secret_header_parts[] = {
	"key",	   "token",    "secret",    "auth",	  "cookie",
	"session", "password", "signature", "credential",
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case, %XX-decoded copy of s[0..n) into out (cap bytes); returns its length. */
static size_t fold(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = lower((char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2])));
			i += 2;
		} else {
			out[o++] = lower(s[i]);
		}
	}
	out[o] = 0;
	return o;
}

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int has_part(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(s, list[i]))
			return 1;
	return 0;
}

#define NELEM(a) (sizeof(a) / sizeof(a[0]))

int ap_query_key_is_secret(const char *key, size_t n)
{
	char k[96];

	if (n == 0)
		return 0;
	fold(key, n, k, sizeof(k));
	return in_list(k, secret_keys, NELEM(secret_keys)) ||
	       has_part(k, secret_parts, NELEM(secret_parts));
}

int ap_header_is_secret(const char *name, size_t n)
{
	char k[96];

	if (!name || n == 0)
		return 0;
	fold(name, n, k, sizeof(k));
	return in_list(k, secret_headers, NELEM(secret_headers)) ||
	       has_part(k, secret_header_parts, NELEM(secret_header_parts));
}

/*
 * Replace s[vs..ve) with REDACTED inside the NUL-terminated buffer s of cap bytes; returns the
 * new end of the value. The tail moves and is cut at cap-1 if needed.
 */
static size_t replace_value(char *s, size_t cap, size_t vs, size_t ve)
{
	size_t len = strlen(s), rl = sizeof(AP_REDACTED) - 1, tail = len - ve, room;

	if (vs + rl >= cap) { /* not even the marker fits: cut here */
		size_t k = cap - 1 - vs;
		memcpy(s + vs, AP_REDACTED, k);
		s[cap - 1] = 0;
		return cap - 1;
	}
	room = cap - 1 - (vs + rl);
	if (tail > room)
		tail = room;
	memmove(s + vs + rl, s + ve, tail);
	memcpy(s + vs, AP_REDACTED, rl);
	s[vs + rl + tail] = 0;
	return vs + rl;
}

void ap_redact_path(char *path, size_t cap)
{
	size_t i, len;
	char *q;

	if (!path || cap == 0)
		return;
	path[cap - 1] = 0;
	path[strcspn(path, "#")] = 0;
	q = strchr(path, '?');
	if (!q)
		return;
	i = (size_t)(q - path) + 1;
	len = strlen(path);
	while (i < len) {
		size_t ks = i, ke, ve;

		ke = ks + strcspn(path + ks, "=&;");
		ve = ke + strcspn(path + ke, "&;");
		if (path[ke] == '=' && ve > ke + 1 && ap_query_key_is_secret(path + ks, ke - ks))
			ve = replace_value(path, cap, ke + 1, ve);
		len = strlen(path);
		i = ve < len ? ve + 1 : len;
	}
}

void ap_redact_url(char *url, size_t cap)
{
	char *p, *auth, *at = NULL;
	size_t an;

	if (!url || cap == 0)
		return;
	url[cap - 1] = 0;
	p = strstr(url, "://");
	auth = p ? p + 3 : url;
	an = strcspn(auth, "/?#");
	for (size_t i = 0; i < an; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (at)
		memmove(auth, at + 1, strlen(at + 1) + 1);
	an = strcspn(auth, "/?#");
	ap_redact_path(auth + an, cap - (size_t)(auth + an - url));
}
