/* redact.h: the one redaction module: credentials out of URLs, header lines, argv and shell
 * strings. */
#ifndef AGENTPROF_REDACT_H
#define AGENTPROF_REDACT_H

#include <stddef.h>

#define AP_REDACTED "REDACTED"

/*
 * A query key is secret when, compared case-insensitively after %XX decoding, it is one of
 * key, api_key, apikey, api-key, token, access_token, sig, signature, x-goog-signature,
 * x-amz-signature, x-amz-credential, x-amz-security-token, awsaccesskeyid, secret, password,
 * passwd, pwd, auth, code, session, sessionid, jwt, credential, client_secret, ... or one of its
 * words contains one of "token", "secret", "key", "sig", "pass", "auth", "credential",
 * "session". Words are split on every byte that is no letter or digit, at camelCase humps
 * ("apiKey", "APIKey") and between letters and digits; a word that is an ordinary English or
 * CLI word with a stem inside ("bypass", "keyboard", "monkey", "hotkeys", "tokenizer", "author",
 * "signal", and "tokens" next to "max"/"num"/...: a count) is not secret. Any other word with a
 * stem is ("openaikey", "dbpass", "clientsecret"): unknown words err on the side of redaction.
 * Argv names and header names are matched the same way, each on its own stems.
 */
int ap_query_key_is_secret(const char *key, size_t n);

/*
 * Replace the value of every secret query parameter of a NUL-terminated path ("/p?a=1&key=x")
 * with REDACTED, in place. A result longer than cap-1 bytes is cut (always NUL-terminated).
 * Parameters are split on '&' and ';'; a fragment ('#...') is dropped. Path parameters
 * ("/a;jsessionid=x/b") are redacted the same way.
 */
void ap_redact_path(char *path, size_t cap);

/* ap_redact_path for a full URL, which also removes "user:pass@" from the authority. */
void ap_redact_url(char *url, size_t cap);

/* 1 if a header with this name carries a credential (Authorization, Cookie, x-api-key, ...):
 * one of the list, or a word holding "key", "token", "secret", "auth", "cookie", "session",
 * "password", "signature" or "credential" (words as for ap_query_key_is_secret). */
int ap_header_is_secret(const char *name, size_t n);

/*
 * Redact one command-line argument in place (cut to cap-1 bytes). prev is the value returned
 * for the previous argument (0 for the first): it says what this argument is, e.g. the value of
 * --api-key, of -H, of -d. Redacted:
 * - values of secret flags (--api-key X, --token=X, --password=X, mysql's -pX) and NAME=value
 *   pairs whose name looks secret (a word holding "key", "token", "secret", "pass", "auth",
 *   "credential", "cookie", "sig" or "pwd", as for ap_query_key_is_secret: "--db-pass" and
 *   "MYSQL_PWD" are secret, "--bypass-cache" and "--keyboard-layout" are not); the word after
 *   Bearer/Basic/Token, also after "--name=Bearer";
 * - header lines whose name is a credential, with or without a space after the colon
 *   ("Authorization:Bearer T", "Cookie: a=b; sid=S", "x-api-key:V"): the whole value goes;
 * - curl's -u/--user/--proxy-user "user:password" (the user stays), -b/--cookie pairs, and the
 *   bodies of -d/--data/--data-raw/--data-binary/--json/-F (never kept; "@file" stays);
 * - well-known key prefixes (sk-, AIza, ghp_, xoxb-, AKIA, eyJ..., ...), as a word or as the
 *   value of any --name= or NAME= (whatever the name);
 * - URL userinfo and secret query or ";name=value" path parameters.
 * An argument with whitespace is a shell string ("sh -c 'curl -u a:b ...'"): it is split as sh
 * would, each word redacted in turn, and joined again (nested shell strings up to 3 deep).
 * Returns the state for the next argument.
 */
int ap_redact_arg(char *arg, size_t cap, int prev);

/* A shell command line (system(), popen()) redacted word by word like argv, into out. */
void ap_redact_shell(const char *cmd, char *out, size_t cap);

#endif
