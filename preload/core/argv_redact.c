/* argv_redact.c: removes secrets from command-line arguments before they are recorded. */
#include <string.h>
#include <strings.h>

#include "argv_redact.h"
#include "redact.h"

static const char *const secret_words[] = {"key",	 "token",  "secret", "passw", "auth",
					   "credential", "cookie", "sig",    NULL};
static const char *const key_prefixes[] = {"sk-",   "sk_",     "AIza",	  "ghp_",   "gho_", "xoxb-",
					   "xoxp-", "Bearer ", "bearer ", "Basic ", NULL};

static int name_is_secret(const char *s, size_t n)
{
	char low[64];

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	low[n] = 0;
	for (int i = 0; secret_words[i]; i++)
		if (strstr(low, secret_words[i]))
			return 1;
	return 0;
}

static void replace(char *arg, size_t cap, size_t keep)
{
	if (keep + sizeof(AP_REDACTED) <= cap)
		memcpy(arg + keep, AP_REDACTED, sizeof(AP_REDACTED));
	else if (cap)
		arg[keep < cap ? keep : cap - 1] = 0;
}

static int is_scheme(const char *w)
{
	return !strcasecmp(w, "bearer") || !strcasecmp(w, "basic") || !strcasecmp(w, "token");
}

/* Redact one word (no whitespace); the return value says what the next word is. */
static int redact_word(char *arg, size_t cap, int prev_secret)
{
	size_t len = strnlen(arg, cap);
	const char *eq;

	if (prev_secret == 2) {
		/* the value of -H: "Authorization: Bearer x" keeps only the header name */
		const char *colon = strchr(arg, ':');
		if (colon && ap_header_is_secret(arg, (size_t)(colon - arg))) {
			if (!colon[1])
				return 1; /* the value is the next word */
			replace(arg, cap, (size_t)(colon - arg) + 1);
		}
		return 0;
	}
	if (prev_secret) {
		if (is_scheme(arg))
			return 1; /* "Bearer" itself is kept; the token after it is not */
		replace(arg, cap, 0);
		return 0;
	}
	if (is_scheme(arg))
		return 1;
	if (len > 1 && arg[len - 1] == ':' && ap_header_is_secret(arg, len - 1))
		return 1;
	for (int i = 0; key_prefixes[i]; i++)
		if (!strncmp(arg, key_prefixes[i], strlen(key_prefixes[i])) && len > 12) {
			replace(arg, cap, 0);
			return 0;
		}
	if (strstr(arg, "://")) {
		ap_redact_url(arg, cap);
		return 0;
	}
	if (arg[0] == '-') {
		const char *name = arg + strspn(arg, "-");
		eq = strchr(name, '=');
		if (eq) {
			if (name_is_secret(name, (size_t)(eq - name)))
				replace(arg, cap, (size_t)(eq - arg) + 1);
			return 0;
		}
		if (!strcmp(arg, "-H") || !strcmp(arg, "--header"))
			return 2; /* a header follows: redacted if its name is a credential */
		return name_is_secret(name, strlen(name));
	}
	eq = strchr(arg, '=');
	if (eq && eq != arg && name_is_secret(arg, (size_t)(eq - arg)))
		replace(arg, cap, (size_t)(eq - arg) + 1);
	return 0;
}

/* A shell command in one argument ("sh -c 'curl -H ...'") is redacted word by word. */
int ap_redact_arg(char *arg, size_t cap, int prev_secret)
{
	char out[1024], word[512];
	size_t i = 0, o = 0, len = strnlen(arg, cap);
	int state = prev_secret;

	if (!memchr(arg, ' ', len) && !memchr(arg, '\t', len) && !memchr(arg, '\n', len))
		return redact_word(arg, cap, prev_secret);
	while (i < len && o + 1 < sizeof(out)) {
		size_t n = strcspn(arg + i, " \t\n'\"");
		if (!n) {
			out[o++] = arg[i++];
			continue;
		}
		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, arg + i, n);
		word[n] = 0;
		state = redact_word(word, sizeof(word), state);
		for (size_t k = 0; word[k] && o + 1 < sizeof(out); k++)
			out[o++] = word[k];
		i += strcspn(arg + i, " \t\n'\"");
	}
	out[o] = 0;
	if (o >= cap)
		o = cap - 1;
	memcpy(arg, out, o);
	arg[o] = 0;
	return 0;
}
