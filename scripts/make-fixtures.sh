#!/usr/bin/env bash
# Regenerates the test certificates in test/fixtures with certtool (gnutls-bin).
# Valid ones last 20 years; expired/not-yet-valid ones are made so on purpose.
set -euo pipefail
out=${1:-"$(dirname "$0")/../test/fixtures"}
mkdir -p "$out"
cd "$out"
tmpl=$(mktemp)
trap 'rm -f "$tmpl"' EXIT

key() { certtool --generate-privkey --key-type "${2:-ecdsa}" ${3:+--bits "$3"} --outfile "$1.key" 2>/dev/null; }
self() { # name, template lines...
  local n=$1; shift; printf '%s\n' "$@" >"$tmpl"
  certtool --generate-self-signed --load-privkey "$n.key" --template "$tmpl" --outfile "$n.pem" 2>/dev/null
}
signed() { # name, issuer, template lines...
  local n=$1 i=$2; shift 2; printf '%s\n' "$@" >"$tmpl"
  certtool --generate-certificate --load-privkey "$n.key" --load-ca-certificate "$i.pem" \
    --load-ca-privkey "$i.key" --template "$tmpl" --outfile "$n.pem" 2>/dev/null
}
days='expiration_days = 7300'
server=(tls_www_server signing_key encryption_key "$days")

key ca;            self ca 'cn = node-gnutls Test CA' 'organization = node-gnutls' ca cert_signing_key crl_signing_key "$days"
key int;           signed int ca 'cn = node-gnutls Intermediate CA' 'organization = node-gnutls' ca cert_signing_key "$days"
key server;        signed server int 'cn = localhost' 'organization = node-gnutls' 'dns_name = localhost' 'ip_address = 127.0.0.1' 'ip_address = ::1' "${server[@]}"
cat server.pem int.pem > server-chain.pem
key server-rsa rsa 2048; signed server-rsa ca 'cn = localhost' 'dns_name = localhost' 'ip_address = 127.0.0.1' "${server[@]}"
key client;        signed client ca 'cn = client.node-gnutls' 'organization = node-gnutls' 'email = client@example.org' tls_www_client signing_key "$days"
key client2;       signed client2 ca 'cn = other-client.node-gnutls' tls_www_client signing_key "$days"
key self-signed;   self self-signed 'cn = localhost' 'dns_name = localhost' 'ip_address = 127.0.0.1' "${server[@]}"
key expired;       signed expired ca 'cn = localhost' 'dns_name = localhost' 'activation_date = "2001-01-01 00:00:00"' 'expiration_date = "2002-01-01 00:00:00"' tls_www_server signing_key
key notyet;        signed notyet ca 'cn = localhost' 'dns_name = localhost' 'activation_date = "2090-01-01 00:00:00"' 'expiration_date = "2091-01-01 00:00:00"' tls_www_server signing_key
key wronghost;     signed wronghost ca 'cn = example.com' 'dns_name = example.com' "${server[@]}"
key a.example;     signed a.example ca 'cn = a.example.com' 'dns_name = a.example.com' "${server[@]}"
key b.example;     signed b.example ca 'cn = b.example.com' 'dns_name = b.example.com' "${server[@]}"
key other-ca;      self other-ca 'cn = Other Test CA' ca cert_signing_key "$days"
key other-leaf;    signed other-leaf other-ca 'cn = localhost' 'dns_name = localhost' 'ip_address = 127.0.0.1' "${server[@]}"
cat other-leaf.pem other-ca.pem > other-leaf-chain.pem
key revoked;       signed revoked ca 'cn = localhost' 'dns_name = localhost' 'serial = 4242' "${server[@]}"
printf '%s\n' 'crl_next_update = 7300' 'crl_number = 1' >"$tmpl"
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem --load-certificate revoked.pem \
  --template "$tmpl" --outfile ca.crl 2>/dev/null
certtool --to-p12 --load-privkey server.key --load-certificate server-chain.pem --p12-name server \
  --password secret --outder --outfile server.pfx 2>/dev/null
# Diffie-Hellman groups for the dhparam option (too small, small, and the recommended size).
for bits in 512 1024 2048; do openssl dhparam -out dhparam-$bits.pem $bits 2>/dev/null; done
echo "fixtures written to $(pwd)"
