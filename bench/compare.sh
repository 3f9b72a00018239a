#!/usr/bin/env bash
# compare.sh: is engine build A faster than build B? Runs the two engine_bench binaries in
# pairs of one-round runs, A then B, then B then A, and so on, and prints the median and the
# geometric mean of the pairs' ratios A/B (transitions/s and CPU per record).
#
#   bench/compare.sh [-n PAIRS] BIN_A BIN_B [ENGINE_BENCH_FLAGS...]
#   bench/compare.sh -n 60 /tmp/engine_bench.new build/dev/bench/engine_bench
#
# Why pairs of single rounds: on a shared VM the machine's speed drifts over minutes by more
# than the effects worth measuring (a few percent). Two runs taken seconds apart see nearly the
# same machine, so their ratio cancels the drift that separate averages of A and of B keep, and
# the alternating order cancels what running second costs or gains. Run A against A first to
# see the noise: with 30 to 60 pairs the geometric mean lands within about 3% of 1.
# Exit code 0; 2 on bad usage or when a run prints no result.
set -euo pipefail

pairs=40
if [[ ${1:-} == -n ]]; then
  pairs=${2:?-n needs a number}
  shift 2
fi
if (($# < 2)); then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
a=$1 b=$2
shift 2
for bin in "$a" "$b"; do
  [[ -x $bin ]] || { echo "compare.sh: $bin is not an executable" >&2; exit 2; }
done

# One round of one binary: "<transitions/s> <us CPU per record>".
one() {
  local out
  out=$("$1" --rounds=1 --single_records=200 "${@:2}" 2>&1) || true
  awk '/^engine:/ {
         for (i = 1; i <= NF; i++) {
           if ($i ~ /\/s,$/) { r = $i; gsub(/[,\/s]/, "", r) }
           if ($i == "CPU") { c = $(i - 1); sub(/us$/, "", c) }
         }
       }
       END { if (r != "" && c != "") print r, c }' <<<"$out"
}

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for ((i = 1; i <= pairs; i++)); do
  if ((i % 2)); then
    ra=$(one "$a" "$@")
    rb=$(one "$b" "$@")
  else
    rb=$(one "$b" "$@")
    ra=$(one "$a" "$@")
  fi
  if [[ -z $ra || -z $rb ]]; then
    echo "compare.sh: pair $i: a run printed no engine line (run it alone to see why)" >&2
    exit 2
  fi
  echo "$ra $rb" >>"$rows"
done

# Column 1: rate A/B; column 2: CPU per record A/B.
ratios=$(awk '{printf "%.6f %.6f\n", $1 / $3, $2 / $4}' "$rows")
summary() {  # $1: column of $ratios
  awk -v c="$1" '{print $c}' <<<"$ratios" | sort -g | awk '
    { v[NR] = $1; s += log($1) }
    END {
      median = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "median %.3f (middle half %.3f-%.3f), geometric mean %.3f",
        median, v[int(NR / 4) + 1], v[int(3 * NR / 4) + 1], exp(s / NR)
    }'
}
mean() { awk -v c="$1" '{s += $c} END {printf "%.0f", s / NR}' "$rows"; }
echo "pairs: $pairs; A: $a; B: $b"
echo "transitions/s A/B: $(summary 1) (A $(mean 1)/s, B $(mean 3)/s on average)"
echo "CPU per record A/B: $(summary 2)"
