#!/usr/bin/env bash
# Runs bench/compare.sh ($1) on two stand-ins for engine_bench that print fixed figures, and
# checks the ratios it reports, then that it refuses a binary that prints no result.
set -euo pipefail
compare=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# A stand-in printing engine_bench's result line with the given rate and CPU per record.
fake() {
  cat >"$dir/$1" <<SCRIPT
#!/usr/bin/env bash
echo "engine: 80000 records in 40 batches (2000 records/batch) in 0.100s: $2/s, $3us CPU each; p99"
echo "raw leveldb, sync: not a line compare.sh reads, 999,999/s"
SCRIPT
  chmod +x "$dir/$1"
}
fake fast 600,000 2.50
fake slow 400,000 3.75
printf '#!/usr/bin/env bash\necho "no result"\n' >"$dir/broken"
chmod +x "$dir/broken"

out=$("$compare" -n 3 "$dir/fast" "$dir/slow")
echo "$out"
grep -q '^pairs: 3;' <<<"$out" || { echo "FAIL: pair count"; exit 1; }
grep -q 'transitions/s A/B: median 1.500 (middle half 1.500-1.500), geometric mean 1.500 (A 600000/s, B 400000/s' <<<"$out" ||
  { echo "FAIL: rate ratio"; exit 1; }
grep -q 'CPU per record A/B: median 0.667' <<<"$out" || { echo "FAIL: CPU ratio"; exit 1; }

if "$compare" -n 1 "$dir/fast" "$dir/broken" 2>"$dir/err"; then
  echo "FAIL: a binary without a result line was accepted"
  exit 1
fi
grep -q 'printed no engine line' "$dir/err" || { echo "FAIL: error message"; cat "$dir/err"; exit 1; }
if "$compare" "$dir/fast" 2>/dev/null; then
  echo "FAIL: one binary was accepted"
  exit 1
fi
echo PASS
