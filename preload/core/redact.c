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

/* The stems a query key is matched on, inside each of its words (see name_is_secret). */
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

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

#define NELEM(a) (sizeof(a) / sizeof(a[0]))

#define NAME_MAX_BYTES 128 /* longer names are judged on their first 127 bytes */

/*
 * Words that contain a secret stem by accident: "bypass", "keyboard", "monkey", "tokenizer",
 * "author", "signal". Only whole words of a name are looked up here (see name_is_secret), and a
 * word not in this list stays secret, so an unknown word errs on the side of redaction. In the
 * order of the stem they hold: key, pass, token, auth, sig.
 */
static const char *const innocent_words[] = {
	"keyboard", "keyword",	  "keynote",	 "keystroke", "keypad",	       "keyframe",
	"keymap",   "keybinding", "keybind",	 "monkey",    "donkey",	       "turkey",
	"hockey",   "jockey",	  "whiskey",	 "lackey",    "hotkey",	       "turnkey",
	"bypass",   "compass",	  "encompass",	 "overpass",  "underpass",     "surpass",
	"trespass", "passive",	  "passthrough", "passthru",  "passage",       "passenger",
	"passing",  "passes",	  "tokenizer",	 "tokenize",  "tokenized",     "tokenization",
	"author",   "authored",	  "authorship",	 "authority", "authoritative", "signal",
	"sigma",    "design",	  "designer",	 "assign",    "assignee",      "assignment",
	"signed",   "unsigned",	  "signing",	 "signer",    "signoff",       "insight",
};

/* "tokens" next to one of these counts tokens ("--max-tokens", "maxOutputTokens"). */
static const char *const token_count_words[] = {
	"max",	 "min",	   "num",    "total",	   "count",	"limit",    "budget", "remaining",
	"input", "output", "prompt", "completion", "reasoning", "thinking", "cached",
};

/* The bytes [start..end) of low, compared with a list (exact, or with one trailing 's'). */
static int word_in_list(const char *low, size_t start, size_t end, const char *const *list,
			size_t n, int plural)
{
	size_t len = end - start;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(list[i]);

		if ((l == len || (plural && l + 1 == len && low[end - 1] == 's')) &&
		    !memcmp(low + start, list[i], l))
			return 1;
	}
	return 0;
}

/*
 * 1 if name[0..n) (%XX-decoded) is secret: its lower-cased whole is in exact, or one of its words
 * contains one of stems and is not an innocent word. Words are split on every byte that is no
 * letter or digit ("--db-pass", "MYSQL_PWD", "x.api.key"), at camelCase humps ("apiKey",
 * "APIKey", "accessToken") and between letters and digits ("key2"). A stem that crosses a hump
 * ("PWd") counts. So "--bypass-cache", "--keyboard-layout", "--max-tokens" are plain while
 * "--db-pass", "--apikey", "--clientsecret" and "--aws-secret-access-key" are secret.
 */
static int name_is_secret(const char *name, size_t n, const char *const *stems, size_t nstems,
			  const char *const *exact, size_t nexact)
{
	char raw[NAME_MAX_BYTES], low[NAME_MAX_BYTES];
	unsigned char word[NAME_MAX_BYTES]; /* word number of each byte, 0 = a separator */
	size_t len = 0, nwords = 0;

	for (size_t i = 0; i < n && len + 1 < sizeof(raw); i++) {
		if (name[i] == '%' && i + 2 < n && hexval(name[i + 1]) >= 0 &&
		    hexval(name[i + 2]) >= 0) {
			raw[len] = (char)(hexval(name[i + 1]) << 4 | hexval(name[i + 2]));
			i += 2;
		} else {
			raw[len] = name[i];
		}
		if (!raw[len])
			raw[len] =
				'-'; /* a NUL ("%00") separates words, it does not end the name */
		len++;
	}
	raw[len] = 0;
	for (size_t i = 0; i <= len; i++)
		low[i] = lower(raw[i]);
	if (len == 0)
		return 0;
	if (in_list(low, exact, nexact))
		return 1;
	{
		size_t s = 0;

		while (s < nstems && !strstr(low, stems[s]))
			s++;
		if (s == nstems)
			return 0; /* no stem at all: no need for words */
	}
	for (size_t i = 0; i < len; i++) {
		char c = raw[i], p = i ? raw[i - 1] : 0, nx = raw[i + 1];
		int up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z', dg = c >= '0' && c <= '9';
		int pup = p >= 'A' && p <= 'Z', plo = p >= 'a' && p <= 'z',
		    pdg = p >= '0' && p <= '9';

		if (!up && !lo && !dg) {
			word[i] = 0;
			continue;
		}
		if (!i || !word[i - 1] || (up && plo) || (up && pup && nx >= 'a' && nx <= 'z') ||
		    dg != pdg)
			nwords++;
		word[i] = (unsigned char)nwords; /* at most 127 words: no wrap */
	}
	for (size_t s = 0; s < nstems; s++) {
		size_t sl = strlen(stems[s]);

		for (const char *hit = strstr(low, stems[s]); hit;
		     hit = strstr(hit + 1, stems[s])) {
			size_t at = (size_t)(hit - low), start = at, end = at + sl, w = word[at];

			if (word[end - 1] != w)
				return 1; /* across a hump: "PWd" */
			while (start > 0 && word[start - 1] == w)
				start--;
			while (end < len && word[end] == w)
				end++;
			if (word_in_list(low, start, end, innocent_words, NELEM(innocent_words), 1))
				continue;
			if (end - start == 6 && !memcmp(low + start, "tokens", 6)) {
				int counted = 0;

				/* "max-tokens": a count, when another word of the name says so */
				for (size_t i = 0; i < len && !counted; i++)
					if (word[i] && word[i] != w &&
					    (!i || word[i - 1] != word[i])) {
						size_t we = i;

						while (we < len && word[we] == word[i])
							we++;
						counted =
							word_in_list(low, i, we, token_count_words,
								     NELEM(token_count_words), 0);
					}
				if (counted)
					continue;
			}
			return 1;
		}
	}
	return 0;
}

int ap_query_key_is_secret(const char *key, size_t n)
{
	if (!key)
		return 0;
	return name_is_secret(key, n, secret_parts, NELEM(secret_parts), secret_keys,
			      NELEM(secret_keys));
}

int ap_header_is_secret(const char *name, size_t n)
{
	if (!name)
		return 0;
	return name_is_secret(name, n, secret_header_parts, NELEM(secret_header_parts),
			      secret_headers, NELEM(secret_headers));
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
	size_t n;

	if (!path || cap == 0)
		return;
	path[cap - 1] = 0;
	if (!path[strcspn(path, "#;?")])
		return; /* no fragment, parameter or query: the usual API path */
	n = strlen(path);
	q = memchr(path, '#', n);
	if (q) {
		*q = 0;
		n = (size_t)(q - path);
	}
	q = memchr(path, '?', n);
	/* ";name=value" path parameters ("/a;jsessionid=x/b", "/v1;key=x"), each segment */
	if (memchr(path, ';', q ? (size_t)(q - path) : n)) {
		for (size_t i = 0; path[i] && path[i] != '?'; i++)
			if (path[i] == ';')
				redact_params(path, cap, i + 1, "/?", ";");
		q = strchr(path, '?');
	}
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

/* The stems a flag or NAME=value name is matched on, inside each of its words. */
static const char *const argv_parts[] = {
	"key", "token", "secret", "pass", "auth", "credential", "cookie", "sig", "pwd",
};
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

static int argv_name_is_secret(const char *s, size_t n)
{
	return name_is_secret(s, n, argv_parts, NELEM(argv_parts), secret_keys, NELEM(secret_keys));
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

/* ASCII-only strcasecmp(a, b) == 0 (libc's is locale-aware and one more text page to fault in
 * at every profiled process's start). */
static int ascii_ieq(const char *a, const char *b)
{
	for (; *a && lower(*a) == lower(*b); a++, b++)
		;
	return !*a && !*b;
}

static int is_scheme(const char *w)
{
	return ascii_ieq(w, "bearer") || ascii_ieq(w, "basic") || ascii_ieq(w, "token") ||
	       ascii_ieq(w, "digest");
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

/* A well-known key format (sk-..., AKIA..., a JWT), whatever name it is given to. */
static int looks_like_key(const char *v)
{
	size_t len = strlen(v);

	for (int i = 0; key_prefixes[i]; i++)
		if (!strncmp(v, key_prefixes[i], strlen(key_prefixes[i])) && len > 12)
			return 1;
	return 0;
}

/* "--name=value" or "NAME=value", the '=' at w[eq], the name starting at name: the value goes
 * when the name is secret or the value looks like a key; "--x=Bearer" makes the next word secret.
 */
static int redact_assignment(char *w, size_t cap, size_t eq, const char *name)
{
	if (argv_name_is_secret(name, (size_t)(w + eq - name)) || looks_like_key(w + eq + 1)) {
		replace_from(w, cap, eq + 1);
		return NEXT_PLAIN;
	}
	return is_scheme(w + eq + 1) ? NEXT_SECRET : NEXT_PLAIN;
}

/* One word without whitespace, state 0: flags, NAME=value, key prefixes, URLs, headers. */
static int redact_word(char *w, size_t cap)
{
	size_t len = strnlen(w, cap), n;
	const char *eq;

	if (!len)
		return NEXT_PLAIN;
	if (is_scheme(w))
		return NEXT_SECRET; /* "Bearer" itself is kept; the token after it is not */
	if (looks_like_key(w)) {
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
			if (eq && argv_name_is_secret(name, (size_t)(eq - name)))
				replace_from(w, cap, (size_t)(eq - w) + 1);
			else
				redact_url_in(w, cap);
			return NEXT_PLAIN;
		}
		{
			const char *name = w + strspn(w, "-");

			eq = strchr(name, '=');
			if (eq)
				return redact_assignment(w, cap, (size_t)(eq - w), name);
			return argv_name_is_secret(name, strlen(name)) ? NEXT_SECRET : NEXT_PLAIN;
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
	if (eq && eq != w)
		return redact_assignment(w, cap, (size_t)(eq - w), w);
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
