#!/bin/sh
# Makes the RFC 3161 fixtures of formats/pki's tests with OpenSSL: a throwaway root, a
# time-stamping authority it issues, and a time-stamp token over stamped.txt.
# Regeneration makes new keys; the tests check behaviour, not hashes.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/root.key" -subj "/CN=Dist Test TSA Root" \
    -days 36500 -outform DER -out root.der 2>/dev/null
openssl x509 -inform DER -in root.der -out "$tmp/root.pem"
openssl req -newkey rsa:2048 -nodes -keyout "$tmp/tsa.key" -subj "/CN=Dist Test TSA" \
    -out "$tmp/tsa.csr" 2>/dev/null
printf 'extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\n' > "$tmp/ext"
openssl x509 -req -in "$tmp/tsa.csr" -CA "$tmp/root.pem" -CAkey "$tmp/root.key" -CAcreateserial \
    -days 36500 -extfile "$tmp/ext" -out "$tmp/tsa.pem" 2>/dev/null
cat > "$tmp/ts.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $tmp/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
echo 01 > "$tmp/serial"
printf 'the bytes a signer signed\n' > stamped.txt
openssl ts -query -data stamped.txt -sha256 -cert -out "$tmp/req.tsq"
openssl ts -reply -config "$tmp/ts.cnf" -queryfile "$tmp/req.tsq" -signer "$tmp/tsa.pem" \
    -inkey "$tmp/tsa.key" -out "$tmp/resp.tsr" 2>/dev/null
openssl ts -reply -in "$tmp/resp.tsr" -token_out -out token.der
openssl ts -verify -data stamped.txt -in token.der -token_in -CAfile "$tmp/root.pem" \
    -untrusted "$tmp/tsa.pem"
