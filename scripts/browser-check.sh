#!/usr/bin/env bash
# Browser accessibility check: builds kencho, starts a demo server on a free port with a
# fresh data dir, and runs browser/a11y-check.mjs (headless Chromium + axe-core, WCAG 2.2
# A/AA rules) over the resident and staff journeys. Exit status is the check's.
#
# Uses the system Chromium (Debian package `chromium`), installed here when missing; no tool
# downloads a browser of its own. Screenshots go to $A11Y_SCREENSHOT_DIR (default: a temp dir).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export CHROMIUM_PATH

log() { printf '[browser-check] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- Chromium, fonts, node, curl
apt_pkgs=()
[[ -x "$CHROMIUM_PATH" ]] || apt_pkgs+=(chromium)
command -v curl >/dev/null || apt_pkgs+=(curl)
command -v node >/dev/null || apt_pkgs+=(nodejs)
command -v npm >/dev/null || apt_pkgs+=(npm)
# Japanese glyphs, so the screenshots are readable (axe does not need them).
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || apt_pkgs+=(fonts-noto-cjk)
if ((${#apt_pkgs[@]})); then
  log "installing ${apt_pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi
[[ -x "$CHROMIUM_PATH" ]] || { log "no Chromium at $CHROMIUM_PATH"; exit 2; }

# ---------------------------------------------------------------- node packages
command -v node >/dev/null || { log "node is not installed"; exit 2; }
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
(
  cd browser
  if [[ -f package-lock.json ]]; then
    timeout 600 npm ci --no-audit --no-fund --loglevel=error
  else
    timeout 600 npm install --no-audit --no-fund --loglevel=error
  fi
)

# ---------------------------------------------------------------- kencho
# The debug build the test suite already made: pages and journeys do not need the optimiser,
# and a release build would double CI's time on two cores.
log "building kencho (debug)"
cargo build -p kencho --quiet
BIN="$ROOT/target/debug/kencho"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kencho-browser-check.XXXXXX")"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK/data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
mkdir -p "$WORK/data"
log "starting kencho on $BASE (data dir $WORK/data)"
"$BIN" serve --demo --data-dir "$WORK/data" --bind "127.0.0.1:$PORT" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 300); do # up to ~60 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "kencho exited early:"; cat "$SERVER_LOG" >&2; exit 2
  fi
  if curl -fsS --max-time 2 "$BASE/healthz" >/dev/null 2>&1 && grep -q 'TOTP secret' "$SERVER_LOG"; then
    ready=1; break
  fi
  sleep 0.2
done
[[ -n "$ready" ]] || { log "kencho did not become healthy within 60 s:"; cat "$SERVER_LOG" >&2; exit 2; }

# ---------------------------------------------------------------- the check
export A11Y_SCREENSHOT_DIR="${A11Y_SCREENSHOT_DIR:-$WORK/screenshots}"
status=0
timeout 900 node browser/a11y-check.mjs "$BASE" "$SERVER_LOG" || status=$?
if ((status != 0)); then
  log "check failed (exit $status); last server log lines:"
  tail -n 30 "$SERVER_LOG" >&2 || true
fi
exit "$status"
