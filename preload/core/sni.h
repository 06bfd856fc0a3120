/* sni.h: recognises TLS records and extracts the server name from a TLS ClientHello. */
#ifndef AGENTPROF_SNI_H
#define AGENTPROF_SNI_H

#include <stddef.h>

/*
 * 1 if buf starts like a TLS record header: content type 20..23 (change_cipher_spec, alert,
 * handshake, application_data) and version 3.x (x <= 4). Needs 3 bytes; fewer -> 0.
 */
int ap_tls_record_start(const void *buf, size_t n);

/*
 * Parse the first bytes a client wrote on a socket. Returns
 *    1  a ClientHello with a host_name server_name: copied to host (NUL-terminated, cut to cap-1)
 *    0  a TLS handshake, but incomplete (more bytes needed) or without a usable SNI
 *   -1  not a TLS handshake
 * The ClientHello may span several handshake records. Only [A-Za-z0-9.-_] names are accepted.
 */
int ap_sni_parse(const void *buf, size_t n, char *host, size_t cap);

#endif
