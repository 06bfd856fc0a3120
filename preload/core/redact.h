/* redact.h: removes credentials from URL paths, URLs and header names before anything is stored. */
#ifndef AGENTPROF_REDACT_H
#define AGENTPROF_REDACT_H

#include <stddef.h>

#define AP_REDACTED "REDACTED"

/*
 * A query key is secret when, compared case-insensitively after %XX decoding, it is one of
 * key, api_key, apikey, api-key, token, access_token, sig, signature, x-goog-signature,
 * x-amz-signature, x-amz-credential, x-amz-security-token, awsaccesskeyid, secret, password,
 * passwd, pwd, auth, code, session, sessionid, jwt, credential, client_secret, ... or contains
 * one of "token", "secret", "key", "sig", "pass", "auth", "credential", "session".
 * Over-redaction (e.g. "keyword") is accepted on purpose.
 */
int ap_query_key_is_secret(const char *key, size_t n);

/*
 * Replace the value of every secret query parameter of a NUL-terminated path ("/p?a=1&key=x")
 * with REDACTED, in place. A result longer than cap-1 bytes is cut (always NUL-terminated).
 * Parameters are split on '&' and ';'; a fragment ('#...') is dropped.
 */
void ap_redact_path(char *path, size_t cap);

/* ap_redact_path for a full URL, which also removes "user:pass@" from the authority. */
void ap_redact_url(char *url, size_t cap);

/* 1 if a header with this name carries a credential (Authorization, Cookie, x-api-key, ...). */
int ap_header_is_secret(const char *name, size_t n);

#endif
