#!/usr/bin/env bash
# Embedded PAdES signatures checked by independent validators: starts an RFC 3161 TSA
# (`openssl ts -reply` behind scripts/tsa.py), runs the PAdES tests with it so they write a
# B-B and a B-T notice, then asks poppler's pdfsig and pyHanko whether each signature is
# valid and covers the whole document. Usage: scripts/pades-check.sh (from the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v pdfsig >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; }
python3 -c "import pyhanko.cli" 2>/dev/null || pip install -q "pyhanko-cli==0.6.0"

work="$(mktemp -d)"
tsa_pid=""
cleanup() { [ -n "$tsa_pid" ] && kill "$tsa_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The TSA's own key and certificate (test only, made here, never committed).
mkdir -p "$work/tsa" "$work/out"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tsa/tsa.key" -out "$work/tsa/tsa.crt" -days 30 \
  -subj "/CN=kencho CI time-stamp authority (test only)" \
  -addext "extendedKeyUsage=critical,timeStamping" -addext "keyUsage=critical,digitalSignature" 2>/dev/null
echo 01 > "$work/tsa/serial"
cat > "$work/tsa/tsa.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = $work/tsa
serial = \$dir/serial
crypto_device = builtin
signer_cert = \$dir/tsa.crt
signer_key = \$dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
port=$((20000 + RANDOM % 20000))
python3 scripts/tsa.py "$work/tsa" "$port" &
tsa_pid=$!
for _ in $(seq 1 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

# An office certificate as a PKCS#12 file, written by openssl (AES-256 and PBKDF2, its default).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/office.key" -out "$work/office.crt" -days 30 \
  -subj "/O=南相馬市/CN=南相馬市長 (test only)" -utf8 -addext "keyUsage=critical,digitalSignature,nonRepudiation" 2>/dev/null
openssl pkcs12 -export -inkey "$work/office.key" -in "$work/office.crt" -passout pass:kencho-p12 -out "$work/office.p12"

KENCHO_TEST_P12="$work/office.p12" KENCHO_TEST_P12_PASSWORD=kencho-p12 \
KENCHO_TEST_TSA_URL="http://127.0.0.1:$port/" KENCHO_TEST_PADES_DIR="$work/out" \
  cargo test -p kencho --test http pades:: -- --test-threads 1 --include-ignored
test -s "$work/out/notice-b-b.pdf" && test -s "$work/out/notice-b-t.pdf" || { echo "the tests wrote no PDFs"; exit 1; }

fail=0
for level in b-b b-t; do
  pdf="$work/out/notice-$level.pdf"
  echo "--- pdfsig $(basename "$pdf")"
  out="$(pdfsig -nocert "$pdf" 2>&1 || true)"
  echo "$out"
  grep -q "Signature Validation: Signature is Valid." <<<"$out" || { echo "pdfsig: not valid"; fail=1; }
  grep -q "Total document signed" <<<"$out" || { echo "pdfsig: not the whole document"; fail=1; }
  grep -q "Signature Type: ETSI.CAdES.detached" <<<"$out" || { echo "pdfsig: not PAdES"; fail=1; }

  echo "--- pyHanko $(basename "$pdf")"
  out="$(python3 -m pyhanko sign validate --pretty-print --trust "$work/out/notice-$level.ca.pem" --trust "$work/tsa/tsa.crt" "$pdf" 2>&1 || true)"
  echo "$out"
  grep -q "The signature is cryptographically sound." <<<"$out" || { echo "pyHanko: not sound"; fail=1; }
  grep -q "The signature covers the entire file." <<<"$out" || { echo "pyHanko: not the entire file"; fail=1; }
  grep -q "The signature is judged VALID." <<<"$out" || { echo "pyHanko: not judged valid"; fail=1; }
  if [ "$level" = b-t ]; then
    grep -q "The timestamp token is cryptographically sound." <<<"$out" || { echo "pyHanko: no sound time-stamp"; fail=1; }
  fi
done
exit "$fail"
