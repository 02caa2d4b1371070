#!/usr/bin/env bash
# Analysis benchmark: generate a synthetic organization, then analyze + report it end to end,
# recording wall time and peak RSS of each step. Numbers go to stdout as a Markdown table.
#
#   scripts/bench-analysis.sh                      # 1000 10000 50000 accounts, release build
#   SIZES="200" PROFILE=dev scripts/bench-analysis.sh   # CI smoke check
#
# Environment: SIZES (accounts, space separated), PRODUCTS (50), DAYS (90), SEED (7),
# PROFILE (release|dev), WORK (scratch directory).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"1000 10000 50000"}
PRODUCTS=${PRODUCTS:-50}
DAYS=${DAYS:-90}
SEED=${SEED:-7}
PROFILE=${PROFILE:-release}
WORK=${WORK:-$(mktemp -d)}
TARGET=${CARGO_TARGET_DIR:-target}

if [ "$PROFILE" = release ]; then
  cargo build --release --quiet
  BIN="$TARGET/release/entitlement-audit"
else
  cargo build --quiet
  BIN="$TARGET/debug/entitlement-audit"
fi
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time): apt-get install -y time" >&2; exit 3; }

measure() { # command...: prints "wall_s rss_mib"; a failed command stops the benchmark
  local log err rc=0; log=$(mktemp); err=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "benchmark step failed (exit $rc): $*" >&2
    tail -5 "$err" >&2
    rm -f "$log" "$err"
    return 1
  fi
  tail -1 "$log" | awk '{ printf "%s %.0f\n", $1, $2/1024 }'
  rm -f "$log" "$err"
}

echo "| accounts | products | days | usage rows | grants | generate s | generate MiB | analyze+report s | analyze+report MiB | findings |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
  snap="$WORK/snap-$n"; out="$WORK/out-$n"
  gen=$(measure "$BIN" demo --accounts "$n" --products "$PRODUCTS" --days "$DAYS" --seed "$SEED" --out "$snap")
  run=$(measure "$BIN" run --snapshot "$snap" --out "$out" --no-history)
  read -r gen_s gen_mb <<<"$gen"
  read -r run_s run_mb <<<"$run"
  rows=$(python3 -c "import json;m=json.load(open('$snap/manifest.json'));print(m['tables']['usage']['rows'], m['tables']['grants']['rows'])")
  findings=$(python3 -c "import json;print(json.load(open('$out/summary.json'))['counts']['findings'])")
  echo "| $n | $PRODUCTS | $DAYS | ${rows% *} | ${rows#* } | $gen_s | $gen_mb | $run_s | $run_mb | $findings |"
done
