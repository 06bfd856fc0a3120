/* argv_redact.h: removes secrets from command-line arguments before they are recorded. */
#ifndef AGENTPROF_ARGV_REDACT_H
#define AGENTPROF_ARGV_REDACT_H

#include <stddef.h>

/*
 * Redact one argument in place. prev_secret is the value this function returned for the
 * previous argument (1 when that argument was a flag such as --api-key whose value follows).
 * Redacted: values of secret flags (--api-key X, --token=X, --password X, -H "Authorization:
 * ..."), NAME=value pairs whose name looks secret, bearer tokens and well-known key prefixes
 * (sk-, sk-ant-, AIza, ghp_, xoxb-), and secret query values or user:pass@ in URLs.
 * Returns 1 if the next argument is a secret value, 2 if it is a header ("Name: value").
 */
int ap_redact_arg(char *arg, size_t cap, int prev_secret);

#endif
