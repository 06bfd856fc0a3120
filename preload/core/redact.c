/* redact.c: the one redaction module: secrets out of URLs, header lines, argv and shell strings. */
#include <string.h>
#include <strings.h>

#include <stdio.h>

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
	"pw",
	"pass",
	"jsessionid",
	"phpsessid",
	"sid",
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

/* Redact the secret values of "k=v" parameters in path[from..to), split on any of seps. */
static void redact_params(char *path, size_t cap, size_t from, const char *stop, const char *seps)
{
	size_t i = from, len = strlen(path), end = from + strcspn(path + from, stop);

	while (i < end) {
		size_t ks = i, ke, ve;
		char ksep[8], vsep[8];

		snprintf(ksep, sizeof(ksep), "=%s%s", seps, stop);
		snprintf(vsep, sizeof(vsep), "%s%s", seps, stop);
		ke = ks + strcspn(path + ks, ksep);
		ve = ke + strcspn(path + ke, vsep);
		if (ke < end && path[ke] == '=' && ve > ke + 1 &&
		    ap_query_key_is_secret(path + ks, ke - ks)) {
			size_t nve = replace_value(path, cap, ke + 1, ve);

			end = end + nve - ve;
			ve = nve;
		}
		len = strlen(path);
		if (end > len)
			end = len;
		i = ve < end ? ve + 1 : end;
	}
}

void ap_redact_path(char *path, size_t cap)
{
	char *q;

	if (!path || cap == 0)
		return;
	path[cap - 1] = 0;
	path[strcspn(path, "#")] = 0;
	/* ";name=value" path parameters ("/a;jsessionid=x/b", "/v1;key=x"), each segment */
	for (size_t i = 0; path[i] && path[i] != '?'; i++)
		if (path[i] == ';')
			redact_params(path, cap, i + 1, "/?", ";");
	q = strchr(path, '?');
	if (q)
		redact_params(path, cap, (size_t)(q - path) + 1, "", "&;");
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

/* --- argv and shell strings ---------------------------------------------------------------- */

/* What the next argument is, as ap_redact_arg returns it. */
enum {
	NEXT_PLAIN = 0,
	NEXT_SECRET = 1,   /* the value of --api-key, a word after "Bearer", ... */
	NEXT_HEADER = 2,   /* the value of -H: "Name: value" */
	NEXT_BODY = 3,	   /* the value of -d, --data-raw, --json, -F: never kept */
	NEXT_USERPASS = 4, /* the value of -u, --user, --proxy-user: "user:password" */
	NEXT_COOKIE = 5,   /* the value of -b, --cookie: "name=value" pairs, or a file name */
};

#define SHELL_DEPTH 3 /* sh -c "bash -c '...'" nesting looked into */

static const char *const secret_words[] = {"key",	 "token",  "secret", "pass", "auth",
					   "credential", "cookie", "sig",    "pwd",  NULL};
static const char *const key_prefixes[] = {"sk-",      "sk_",	      "AIza",	"ghp_",	 "gho_",
					   "ghs_",     "github_pat_", "glpat-", "xoxb-", "xoxp-",
					   "xapp-",    "AKIA",	      "ASIA",	"eyJ",	 "hf_",
					   "pk_live_", "rk_live_",    "npm_",	NULL};
static const char *const body_flags[] = {
	"-d",		"--data",    "--data-raw", "--data-binary", "--data-urlencode",
	"--data-ascii", "--json",    "-F",	   "--form",	    "--form-string",
	"--body",	"--payload", NULL};
static const char *const userpass_flags[] = {"-u", "--user", "--proxy-user", "-U", NULL};
static const char *const cookie_flags[] = {"-b", "--cookie", NULL};
static const char *const header_flags[] = {"-H", "--header", "--proxy-header", NULL};

static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (!cap)
		return;
	if (n >= cap)
		n = cap - 1;
	memmove(dst, src, n);
	dst[n] = 0;
}

static int name_is_secret(const char *s, size_t n)
{
	char low[64];

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = lower(s[i]);
	low[n] = 0;
	for (int i = 0; secret_words[i]; i++)
		if (strstr(low, secret_words[i]))
			return 1;
	return in_list(low, secret_keys, NELEM(secret_keys));
}

/* arg[keep..] becomes REDACTED (cut to the buffer). */
static void replace_from(char *arg, size_t cap, size_t keep)
{
	if (!cap)
		return;
	if (keep >= cap)
		keep = cap - 1;
	copy_cut(arg + keep, cap - keep, AP_REDACTED);
}

static int in_words(const char *w, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(w, list[i]))
			return 1;
	return 0;
}

/* The flag of list that w starts with followed by '=' ("--user=a:b"): length up to the '='. */
static size_t long_flag_eq(const char *w, const char *const *list)
{
	for (int i = 0; list[i]; i++) {
		size_t n = strlen(list[i]);

		if (n > 2 && !strncmp(w, list[i], n) && w[n] == '=')
			return n + 1;
	}
	return 0;
}

/* The short flag of list ("-d", "-u") that w starts with, value attached ("-dBODY"). */
static int short_flag_attached(const char *w, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strlen(list[i]) == 2 && w[0] == '-' && w[1] == list[i][1] && w[2])
			return 1;
	return 0;
}

static int is_scheme(const char *w)
{
	return !strcasecmp(w, "bearer") || !strcasecmp(w, "basic") || !strcasecmp(w, "token") ||
	       !strcasecmp(w, "digest");
}

static void redact_url_in(char *w, size_t cap);

/* "user:password" keeps the user (redis-cli -u takes a URL instead). */
static void redact_userpass(char *v, size_t cap)
{
	char *colon = strchr(v, ':');

	if (strstr(v, "://")) {
		redact_url_in(v, cap);
		return;
	}
	if (colon)
		replace_from(v, cap, (size_t)(colon - v) + 1);
}

/* A header line "Name: value" or "Name:value": the value goes when the name is a credential.
 * Returns NEXT_SECRET when the value is the next word ("Authorization:" "Bearer" "x"). */
static int redact_header_line(char *v, size_t cap)
{
	char *colon = strchr(v, ':');
	size_t keep;

	if (!colon || colon == v || strstr(v, "://") ||
	    !ap_header_is_secret(v, (size_t)(colon - v)))
		return NEXT_PLAIN;
	keep = (size_t)(colon - v) + 1;
	while (v[keep] == ' ' || v[keep] == '\t')
		keep++;
	if (!v[keep])
		return NEXT_SECRET;
	{
		/* a scheme word stays: "Authorization: Bearer REDACTED" */
		size_t sl = strcspn(v + keep, " \t");
		char scheme[16];

		if (sl < sizeof(scheme)) {
			memcpy(scheme, v + keep, sl);
			scheme[sl] = 0;
			if (is_scheme(scheme) && !v[keep + sl])
				return NEXT_SECRET; /* "Authorization:Bearer" "T": T is next */
			if (is_scheme(scheme))
				keep += sl + 1;
		}
	}
	replace_from(v, cap, keep);
	return NEXT_PLAIN;
}

/* A word with a URL in it ("https://u:p@h/x?key=y", "--url=https://..."): redact the URL. */
static void redact_url_in(char *w, size_t cap)
{
	char *sep = strstr(w, "://");
	char *start = sep;

	while (start > w &&
	       ((start[-1] >= 'a' && start[-1] <= 'z') || (start[-1] >= 'A' && start[-1] <= 'Z') ||
		(start[-1] >= '0' && start[-1] <= '9') || start[-1] == '+' || start[-1] == '.' ||
		start[-1] == '-'))
		start--;
	ap_redact_url(start, cap - (size_t)(start - w));
}

static int redact_any(char *arg, size_t cap, int state, int depth);

/* One word without whitespace, state 0: flags, NAME=value, key prefixes, URLs, headers. */
static int redact_word(char *w, size_t cap)
{
	size_t len = strnlen(w, cap), n;
	const char *eq;

	if (!len)
		return NEXT_PLAIN;
	if (is_scheme(w))
		return NEXT_SECRET; /* "Bearer" itself is kept; the token after it is not */
	for (int i = 0; key_prefixes[i]; i++)
		if (!strncmp(w, key_prefixes[i], strlen(key_prefixes[i])) && len > 12) {
			replace_from(w, cap, 0);
			return NEXT_PLAIN;
		}
	if (w[0] == '-') {
		if (in_words(w, header_flags))
			return NEXT_HEADER;
		if (in_words(w, body_flags))
			return NEXT_BODY;
		if (in_words(w, userpass_flags))
			return NEXT_USERPASS;
		if (in_words(w, cookie_flags))
			return NEXT_COOKIE;
		if ((n = long_flag_eq(w, body_flags)) || (n = long_flag_eq(w, cookie_flags))) {
			replace_from(w, cap, n);
			return NEXT_PLAIN;
		}
		if ((n = long_flag_eq(w, userpass_flags))) {
			redact_userpass(w + n, cap - n);
			return NEXT_PLAIN;
		}
		if ((n = long_flag_eq(w, header_flags))) {
			redact_header_line(w + n, cap - n);
			return NEXT_PLAIN;
		}
		if (w[1] != '-') {
			if (short_flag_attached(w, body_flags)) {
				replace_from(w, cap, 2);
				return NEXT_PLAIN;
			}
			if (short_flag_attached(w, userpass_flags)) {
				redact_userpass(w + 2, cap - 2);
				return NEXT_PLAIN;
			}
			if (short_flag_attached(w, cookie_flags) && strchr(w, '=')) {
				replace_from(w, cap, 2);
				return NEXT_PLAIN;
			}
			if (short_flag_attached(w, header_flags)) {
				redact_header_line(w + 2, cap - 2);
				return NEXT_PLAIN;
			}
			/* mysql -pPASSWORD (a port number, "-p8080", stays) */
			if (w[1] == 'p' && w[2] && strspn(w + 2, "0123456789") != len - 2) {
				replace_from(w, cap, 2);
				return NEXT_PLAIN;
			}
		}
		if (strstr(w, "://")) {
			const char *name = w + strspn(w, "-");

			eq = strchr(name, '=');
			if (eq && name_is_secret(name, (size_t)(eq - name)))
				replace_from(w, cap, (size_t)(eq - w) + 1);
			else
				redact_url_in(w, cap);
			return NEXT_PLAIN;
		}
		{
			const char *name = w + strspn(w, "-");

			eq = strchr(name, '=');
			if (eq) {
				if (name_is_secret(name, (size_t)(eq - name)))
					replace_from(w, cap, (size_t)(eq - w) + 1);
				return NEXT_PLAIN;
			}
			return name_is_secret(name, strlen(name)) ? NEXT_SECRET : NEXT_PLAIN;
		}
	}
	if (strstr(w, "://")) {
		redact_url_in(w, cap);
		return NEXT_PLAIN;
	}
	if (strchr(w, ':') && !strchr(w, '=')) {
		/* "x-api-key:VALUE", "Authorization:Bearer" (no space) */
		int next = redact_header_line(w, cap);

		if (next != NEXT_PLAIN || strcmp(w + strcspn(w, ":") + 1, AP_REDACTED) == 0)
			return next;
	}
	eq = strchr(w, '=');
	if (eq && eq != w && name_is_secret(w, (size_t)(eq - w)))
		replace_from(w, cap, (size_t)(eq - w) + 1);
	return NEXT_PLAIN;
}

/* Split a shell string into words as sh does for simple quoting ('...', "...", backslash),
 * redact each in order (the state carries from word to word) and join them again: a word left
 * unchanged is copied as written, a redacted one is single-quoted where needed. Writes into
 * out (cap bytes); returns the state after the last word. */
static int redact_shell_words(const char *cmd, char *out, size_t cap, int depth)
{
	const char *p = cmd;
	size_t o = 0;
	int state = NEXT_PLAIN;

	if (!cap)
		return NEXT_PLAIN;
	out[0] = 0;
	while (*p) {
		char w[1024], orig[1024];
		const char *src, *sep = p;
		size_t n = 0, len, srclen;
		char q = 0;
		int quote;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		src = p;
		for (; *p; p++) {
			char ch = *p;

			if (q) {
				if (ch == q) {
					q = 0;
					continue;
				}
				if (q == '"' && ch == '\\' && p[1])
					ch = *++p;
			} else if (ch == '\'' || ch == '"') {
				q = ch;
				continue;
			} else if (ch == '\\' && p[1]) {
				ch = *++p;
			} else if (ch == ' ' || ch == '\t' || ch == '\n') {
				break;
			}
			if (n + 1 < sizeof(w))
				w[n++] = ch;
		}
		w[n] = 0;
		memcpy(orig, w, n + 1);
		srclen = (size_t)(p - src);
		state = redact_any(w, sizeof(w), state, depth);
		if (!strcmp(w, orig)) {
			/* unchanged: as written, with the blanks before it */
			size_t blank = (size_t)(src - sep);

			if (!o)
				blank = 0;
			if (o + blank + srclen + 1 >= cap)
				break;
			memcpy(out + o, o ? sep : src, blank + srclen);
			o += blank + srclen;
			out[o] = 0;
			continue;
		}
		len = strlen(w);
		quote = !len || strpbrk(w, " \t\n'\"\\;&|<>()$`*?") != NULL;
		if (o + len + 4 + (quote ? 2 : 0) >= cap)
			break;
		if (o)
			out[o++] = ' ';
		if (quote) {
			/* single-quote, turning embedded quotes into '"' (readability only) */
			out[o++] = '\'';
			for (size_t i = 0; i < len && o + 2 < cap; i++)
				out[o++] = w[i] == '\'' ? '"' : w[i];
			out[o++] = '\'';
		} else {
			memcpy(out + o, w, len);
			o += len;
		}
		out[o] = 0;
	}
	return state;
}

/* One argument (or one word of a shell string) in the given state; returns the next state. */
static int redact_any(char *arg, size_t cap, int state, int depth)
{
	size_t len = strnlen(arg, cap);

	switch (state) {
	case NEXT_SECRET:
		if (is_scheme(arg))
			return NEXT_SECRET;
		if (strchr(arg, ' ')) {
			/* "Bearer T" in one argument keeps the scheme */
			size_t sp = strcspn(arg, " ");
			char scheme[16];

			if (sp < sizeof(scheme)) {
				memcpy(scheme, arg, sp);
				scheme[sp] = 0;
				if (is_scheme(scheme)) {
					replace_from(arg, cap, sp + 1);
					return NEXT_PLAIN;
				}
			}
		}
		replace_from(arg, cap, 0);
		return NEXT_PLAIN;
	case NEXT_HEADER:
		return redact_header_line(arg, cap);
	case NEXT_BODY:
		if (arg[0] != '@') /* "@file" names a file; everything else is the body itself */
			replace_from(arg, cap, 0);
		return NEXT_PLAIN;
	case NEXT_USERPASS:
		redact_userpass(arg, cap);
		return NEXT_PLAIN;
	case NEXT_COOKIE:
		if (strchr(arg, '='))
			replace_from(arg, cap, 0);
		return NEXT_PLAIN;
	default:
		break;
	}
	if (memchr(arg, ' ', len) || memchr(arg, '\t', len) || memchr(arg, '\n', len)) {
		char out[1024];

		/* a header line as one argument: the whole value */
		{
			size_t name = strcspn(arg, ": \t\n");

			if (arg[name] == ':' && name && ap_header_is_secret(arg, name)) {
				if (redact_header_line(arg, cap) == NEXT_SECRET)
					return NEXT_SECRET;
				return NEXT_PLAIN;
			}
		}
		if (depth >= SHELL_DEPTH) {
			replace_from(arg, cap, 0); /* too deeply nested to read: keep nothing */
			return NEXT_PLAIN;
		}
		state = redact_shell_words(arg, out, sizeof(out), depth + 1);
		copy_cut(arg, cap, out);
		return state;
	}
	return redact_word(arg, cap);
}

int ap_redact_arg(char *arg, size_t cap, int prev)
{
	if (!arg || !cap)
		return NEXT_PLAIN;
	arg[cap - 1] = 0;
	return redact_any(arg, cap, prev, 0);
}

void ap_redact_shell(const char *cmd, char *out, size_t cap)
{
	if (!out || !cap)
		return;
	out[0] = 0;
	if (cmd)
		redact_shell_words(cmd, out, cap, 1);
}
