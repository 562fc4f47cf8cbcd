#!/usr/bin/env bash
# Makes a throwaway certificate authority and certificates with the
# openssl command, for trying TLS out (`make run TLS=1`): never for
# production. usage: scripts/tls-certs.sh DIR [AGENT_ID...]
#   DIR/ca.pem, ca.key              the CA (valid 30 days)
#   DIR/server.pem, server.key      gantryd's: names 127.0.0.1, ::1, localhost
#                                   and this host's name
#   DIR/agent-ID.pem, agent-ID.key  one client certificate per agent id,
#                                   CN = the id (for agents.tls_bind_id)
# Existing files are kept: run it again with new ids to add agents.
set -euo pipefail
dir=${1:?usage: scripts/tls-certs.sh DIR [AGENT_ID...]}
shift
mkdir -p "$dir"
cd "$dir"
umask 077
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

if [ ! -f ca.pem ]; then
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=Gantry throwaway CA" 2>/dev/null
fi
sign() { # name, subject, extensions
  openssl req "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
    -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
if [ ! -f server.pem ]; then
  host=$(hostname 2>/dev/null || echo localhost)
  sign server "/CN=gantryd" \
    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:$host
extendedKeyUsage=serverAuth"
fi
for id in "$@"; do
  [ -f "agent-$id.pem" ] || sign "agent-$id" "/CN=$id" "extendedKeyUsage=clientAuth"
done
chmod 644 ./*.pem
