#!/usr/bin/env bash
# Analysis benchmark: generate a synthetic organization, then analyze + report it end to end as
# users run it (with the history store), recording wall time and peak RSS of each step, beside
# DuckDB's core exposure join over the same snapshot (scripts/duckdb_exposure.py), measured in
# the same rounds. Numbers go to stdout as Markdown tables; progress goes to stderr.
#
#   scripts/bench-analysis.sh                             # 10000 accounts, release build, 5 rounds
#   SIZES="10000 100000" scripts/bench-analysis.sh        # docs/performance.md
#   SIZES="200" PROFILE=dev RUNS=1 scripts/bench-analysis.sh   # CI smoke check
#
# Each round runs, one after the other on the same snapshot:
#   first   `run --snapshot` with a new history store, as of a week before the data ends
#   rerun   the weekly re-run on that store, as of the day the data ends (the default)
#   nohist  `run --snapshot --no-history`, as of the day the data ends
#   duckdb  the exposure join in DuckDB (the query's time, Parquet read included)
# and the tables give the median of the rounds, each time also as a ratio of DuckDB's median.
#
# Environment: SIZES (accounts, space separated), PRODUCTS (50), DAYS (90), SEED (7), RUNS
# (rounds, 5), PROFILE (release|dev), WORK (scratch directory, kept), PEER (duckdb|none:
# none skips the peer and its install), VENV (where DuckDB is installed from PyPI,
# ~/.cache/entitlement-audit/duckdb-venv), DUCKDB_VERSION (2.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"10000"}
PRODUCTS=${PRODUCTS:-50}
DAYS=${DAYS:-90}
SEED=${SEED:-7}
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-release}
WORK=${WORK:-$(mktemp -d)}
PEER=${PEER:-duckdb}
VENV=${VENV:-$HOME/.cache/entitlement-audit/duckdb-venv}
DUCKDB_VERSION=${DUCKDB_VERSION:-2.0.1}
TARGET=${CARGO_TARGET_DIR:-target}

say() { echo "bench: $*" >&2; }

[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time): apt-get install -y time" >&2; exit 3; }
case "$PEER" in
  duckdb | none) ;;
  *) echo "PEER must be duckdb or none, not '$PEER'" >&2; exit 3 ;;
esac

if [ "$PROFILE" = release ]; then
  cargo build --release --quiet
  BIN="$TARGET/release/entitlement-audit"
else
  cargo build --quiet
  BIN="$TARGET/debug/entitlement-audit"
fi

PY=python3
if [ "$PEER" = duckdb ]; then
  PY="$VENV/bin/python"
  if ! "$PY" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
    say "installing duckdb==$DUCKDB_VERSION from PyPI into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
  fi
fi

measure() { # OUTFILE STDOUT command...: appends "wall_s rss_mib" to OUTFILE, the command's output
  # goes to STDOUT; a failed command stops the benchmark
  local into=$1 stdout=$2 log err rc=0; shift 2
  log=$(mktemp); err=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$log" "$@" >"$stdout" 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "benchmark step failed (exit $rc): $*" >&2
    tail -5 "$err" >&2
    rm -f "$log" "$err"
    exit 1
  fi
  tail -1 "$log" | awk '{ printf "%s %.0f\n", $1, $2/1024 }' >>"$into"
  rm -f "$log" "$err"
}

json() { # FILE EXPRESSION: a value of a JSON file, `j` being the document
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

stats() { # FILE COLUMN: "median min max" of a column of numbers
  python3 - "$1" "$2" <<'EOF'
import statistics, sys
xs = [float(line.split()[int(sys.argv[2])]) for line in open(sys.argv[1]) if line.strip()]
print(f"{statistics.median(xs):g} {min(xs):g} {max(xs):g}")
EOF
}

ratio() { # A B: A / B to one decimal, "-" without B
  python3 -c "import sys; a, b = sys.argv[1], sys.argv[2]; print('-' if b in ('', '-') or float(b) == 0 else f'{float(a)/float(b):.1f}x')" "$1" "${2:--}"
}

for n in $SIZES; do
  dir="$WORK/$n"; snap="$dir/snap"
  rm -rf "$dir"; mkdir -p "$dir"
  say "$n accounts: generating the organization"
  measure "$dir/generate" /dev/null "$BIN" demo --accounts "$n" --products "$PRODUCTS" --days "$DAYS" --seed "$SEED" --out "$snap"
  end=$(json "$snap/manifest.json" "j['period_end']")
  first_as_of=$(date -u -d "$end - 7 days" +%F)
  for r in $(seq 1 "$RUNS"); do
    say "$n accounts: round $r of $RUNS"
    state="$dir/history-$r.sqlite"
    measure "$dir/first" /dev/null "$BIN" run --snapshot "$snap" --out "$dir/first-out" --state "$state" --as-of "$first_as_of"
    measure "$dir/rerun" /dev/null "$BIN" run --snapshot "$snap" --out "$dir/rerun-out" --state "$state"
    measure "$dir/nohist" /dev/null "$BIN" run --snapshot "$snap" --out "$dir/nohist-out" --no-history
    if [ "$PEER" = duckdb ]; then
      measure "$dir/duckdb-process" "$dir/duckdb-$r" "$PY" scripts/duckdb_exposure.py "$snap" 1
      cat "$dir/duckdb-$r" >>"$dir/duckdb"
    fi
  done

  read -r usage grants < <(json "$snap/manifest.json" "j['tables']['usage']['rows'], j['tables']['grants']['rows']" | tr -d '(),')
  read -r gen_s gen_mib <"$dir/generate"
  duck_s=-; duck_mib=-
  if [ "$PEER" = duckdb ]; then
    read -r duck_s duck_min duck_max < <(stats "$dir/duckdb" 0)
    read -r duck_mib _ _ < <(stats "$dir/duckdb-process" 1)
    read -r duck_exposure duck_rows < <(tail -1 "$dir/duckdb" | cut -d' ' -f2-)
  fi
  echo
  echo "### $n accounts x $PRODUCTS products x $DAYS days: $usage usage rows, $grants grants ($RUNS rounds)"
  echo
  echo "Generating the organization: $gen_s s, $gen_mib MiB."
  echo
  echo "| step | as of | median s | min-max s | / DuckDB | median MiB | min-max MiB | findings | new | resolved | exposure USD | report.html KB |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for step in first rerun nohist; do
    out="$dir/$step-out"
    read -r s smin smax < <(stats "$dir/$step" 0)
    read -r mib mmin mmax < <(stats "$dir/$step" 1)
    read -r as_of findings new resolved exposure < <(json "$out/summary.json" \
      "' '.join(str(x) for x in (j['run']['as_of'], j['counts']['findings'], (j['changes'] or {}).get('new', '-'), (j['changes'] or {}).get('resolved', '-'), j['totals']['exposure_usd']))")
    kb=$(( $(stat -c %s "$out/report.html") / 1000 ))
    echo "| $step | $as_of | $s | $smin-$smax | $(ratio "$s" "$duck_s") | $mib | $mmin-$mmax | $findings | $new | $resolved | $(printf '%.2f' "$exposure") | $kb |"
  done
  if [ "$PEER" = duckdb ]; then
    echo "| DuckDB exposure join | $end | $duck_s | $duck_min-$duck_max | 1.0x | $duck_mib (python process) | | | | | $duck_exposure ($duck_rows rows) | |"
  fi
done
