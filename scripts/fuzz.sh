#!/usr/bin/env bash
# Fuzzes every parser of untrusted input in kencho-core (the targets in fuzz/) for a short
# while each: builds them once, runs each for SECONDS_PER_TARGET (default 20), and fails on
# the first crash, panic, timeout or out-of-memory, naming the input that reproduces it.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]
#   cargo fuzz run <target> <reproducer>      # replay one (with RUSTC_BOOTSTRAP=1)
#
# The corpus grows in fuzz/corpus/<target> across runs (not committed); each run first seeds it
# from the repository's sample files. Builds are release with debug assertions and overflow
# checks, without a sanitizer: kencho-core has no unsafe code, and what is looked for is panics,
# hangs and runaway memory.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-20}"
# cargo-fuzz passes nightly-only flags; the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
build_flags=(--sanitizer none --codegen-units 16)

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Sample inputs per target: directories and files in the repository.
seeds() {
  case "$1" in
    procedure) echo demo/procedures fuzz/seeds/procedure ;;
    uplink) echo fuzz/seeds/uplink ;;
    jma) echo demo/evacuation/jma crates/kencho/tests/data/jma fuzz/seeds/jma ;;
    geojson) echo demo/evacuation/*.geojson ;;
    sites) echo demo/evacuation/sites.sample.csv crates/kencho/tests/data/07212_2-utf8-bom.csv ;;
    towns) echo demo/evacuation/mt_town.sample.csv demo/evacuation/mt_town_pos.sample.csv ;;
    approval) echo demo/approval ;;
    stripe) echo crates/kencho-core/tests/fixtures/stripe fuzz/seeds/stripe ;;
    fee_schedule) echo fuzz/seeds/fee_schedule ;;
    *) ;; # forms, text: structured input, no sample files
  esac
}

# Tokens libFuzzer splices into inputs, per target.
dict() {
  case "$1" in
    forms | towns | text) echo "-dict=fuzz/dicts/text.dict" ;;
    *) ;;
  esac
}

targets=$(cargo fuzz list)
start=$SECONDS
cargo fuzz build "${build_flags[@]}"
echo "fuzz: built in $((SECONDS - start)) s"

marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
for t in $targets; do
  corpus="fuzz/corpus/$t"
  artifacts="fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  for s in $(seeds "$t"); do
    if [ -d "$s" ]; then cp -f "$s"/* "$corpus"/; else cp -f "$s" "$corpus"/; fi
  done
  # Loading the corpus counts against the time; one that has grown large is minimised first.
  if [ "$(find "$corpus" -type f | wc -l)" -gt 4000 ]; then
    cargo fuzz cmin "${build_flags[@]}" "$t" "$corpus" >"fuzz/artifacts/$t.cmin.log" 2>&1
  fi
  echo "fuzz: $t for ${secs}s"
  touch "$marker"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: runaway memory.
  if ! cargo fuzz run "${build_flags[@]}" "$t" "$corpus" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $(dict "$t") \
    >"fuzz/artifacts/$t.log" 2>&1; then
    tail -n 60 "fuzz/artifacts/$t.log"
    repro=$(find "$artifacts" -type f -newer "$marker" | head -n 1)
    repro=${repro:-"(none written; see fuzz/artifacts/$t.log)"}
    echo "fuzz: $t FAILED; reproducer: $repro"
    echo "fuzz: replay with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_flags[*]} $t $repro"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "fuzz/artifacts/$t.log" | tail -n 1 | sed "s/^/fuzz: $t: /"
done
echo "fuzz: all targets passed in $((SECONDS - start)) s"
