#!/bin/sh
# gen-cert.sh DIR: make a throwaway test CA and a server certificate for localhost / 127.0.0.1.
#
# Writes into DIR (created if missing):
#   ca.pem ca.key          the CA (give ca.pem to clients: curl --cacert, SSL_CERT_FILE,
#                          CURLOPT_CAINFO, NODE_EXTRA_CA_CERTS)
#   server.pem server.key  leaf for CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#                          (server.pem is the leaf followed by the CA: a full chain)
# Keys are EC P-256 (fast to make), valid for 30 days from one day ago (clock skew).
# Nothing here is secret or reused: run it at test time.
set -eu

dir=${1:?usage: gen-cert.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agentprof-cert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null

cat >"$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = agentprof test CA
O = agentprof tests
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

cat >"$tmp/leaf.cnf" <<'CNF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

# Backdate by a day so a slightly skewed clock still accepts the certificates.
start=$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ 2>/dev/null || true)

openssl req -new -x509 -key ca.key -config "$tmp/ca.cnf" -days 30 -sha256 -out ca.pem

openssl req -new -key server.key -subj "/CN=localhost/O=agentprof tests" -out "$tmp/server.csr"
if [ -n "$start" ] && openssl x509 -help 2>&1 | grep -q -- '-not_before'; then
	notbefore="-not_before $start"
else
	notbefore=""
fi
# shellcheck disable=SC2086
openssl x509 -req -in "$tmp/server.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
	-days 30 -sha256 -extfile "$tmp/leaf.cnf" $notbefore -out "$tmp/leaf.pem" 2>/dev/null
cat "$tmp/leaf.pem" ca.pem >server.pem
chmod 644 ca.pem server.pem
chmod 600 ca.key server.key

openssl verify -CAfile ca.pem "$tmp/leaf.pem" >/dev/null
