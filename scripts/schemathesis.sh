#!/usr/bin/env bash
# Property-based tests of the JSON API from its own OpenAPI document (schemathesis, from PyPI):
# starts kencho with the demo on a fresh data directory, signs in as a resident and as a tenant
# administrator, and runs schemathesis with each token. Fails on any 5xx, any error that is not
# JSON with a `code`, or any status or content type the document does not declare. The two
# routes that take TOML (procedure files, 電子決裁 setup) are left out: schemathesis cannot
# write TOML; their parsers are fuzzed instead (scripts/fuzz.sh).
# Usage: scripts/schemathesis.sh [KENCHO_BINARY] [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/kencho}"
SECONDS_PER_RUN="${2:-120}"
VENV="${SCHEMATHESIS_VENV:-$HOME/.cache/kencho-schemathesis}"
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis==4.32.5'
fi
DIR="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$BIN" serve --demo --data-dir "$DIR" --bind "127.0.0.1:$PORT" >"$DIR/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.3; done
curl -fs "$BASE/healthz" >/dev/null

login() { curl -fs -H 'content-type: application/json' -d "$1" "$BASE/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
RESIDENT="$(login '{"email":"taro@example.jp","password":"kencho-demo-2026"}')"
SECRET="$(grep -E '^  staff +admin@minamisoma' "$DIR/serve.log" | awk '{print $NF}')"
CODE="$("$BIN" totp "$SECRET")"
ADMIN="$(login "{\"email\":\"admin@minamisoma.example.jp\",\"password\":\"kencho-demo-2026\",\"kind\":\"staff\",\"totp\":\"$CODE\"}")"

# Logging out would end the run's session; the excluded uploads take TOML, which schemathesis
# cannot write (their parsers are fuzzed by fuzz/ instead: procedure, approval, fee_schedule).
run() {
  "$VENV/bin/st" run "$BASE/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance \
    --max-time "$SECONDS_PER_RUN" --workers 2 --max-failures 20 \
    --header "Authorization: Bearer $1" \
    --exclude-path-regex '(/auth/logout|/admin/procedures|/admin/approval/.*|/admin/payments/schedule)$' \
    --suppress-health-check all
}
echo "--- schemathesis as a resident"
run "$RESIDENT"
echo "--- schemathesis as a tenant administrator"
run "$ADMIN"
