#!/usr/bin/env bash
# Runs every test brfed has, the way CI does (.ci/run execs this script):
#   1. scripts/deps.sh (installs what is missing, else only checks);
#   2. for the presets `ci` (-Werror) and `asan` (address + undefined sanitizers):
#      configure, build, and run all of CTest;
#   3. the libFuzzer targets, which the asan preset (clang) builds with the rest: runs each one
#      briefly over a copy of its seed corpus, failing on any crash.
# Stops at the first failure and says which phase failed.
#
# Environment:
#   BRFED_JOBS=N         parallelism of builds and ctest (default 2)
#   BRFED_FUZZ_SECONDS=N run time of each fuzz target (default 20)
#   BRFED_PRESETS="..."  the CTest presets to run (default "ci asan"; "" for none)
#   BRFED_SKIP_FUZZ=1    skip the fuzz phase
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${BRFED_JOBS:-2}
fuzz_seconds=${BRFED_FUZZ_SECONDS:-20}
presets=${BRFED_PRESETS-"ci asan"}
start_all=$(date +%s)

phase() { printf '\n==> %s\n' "$*"; }
fail() {
  printf '\ntest.sh: FAILED: %s (after %ds)\n' "$*" "$(($(date +%s) - start_all))" >&2
  exit 1
}
elapsed() { printf '    (%s took %ds)\n' "$1" "$(($(date +%s) - $2))"; }

phase "dependencies (scripts/deps.sh)"
scripts/deps.sh || fail "scripts/deps.sh"

for p in $presets; do
  t=$(date +%s)
  phase "preset $p: configure"
  cmake --preset "$p" >/dev/null || fail "cmake --preset $p (configure)"
  phase "preset $p: build"
  cmake --build --preset "$p" -j"$jobs" || fail "cmake --build --preset $p"
  phase "preset $p: ctest"
  # A hung test fails after 15 minutes instead of eating CI's budget. A failing test is run
  # once more (its first failure stays in the log above): the end-to-end suites run real
  # servers on a shared 2-core machine, and one unlucky scheduling must not hide the rest.
  ctest --preset "$p" -j"$jobs" --timeout 900 --repeat until-pass:2 ||
    fail "ctest --preset $p (see the failing tests above)"
  elapsed "preset $p" "$t"
done

if [[ ${BRFED_SKIP_FUZZ:-0} == 1 ]]; then
  phase "fuzz: skipped (BRFED_SKIP_FUZZ=1)"
elif [[ ! -f tests/fuzz/CMakeLists.txt ]]; then
  phase "fuzz: no tests/fuzz/CMakeLists.txt yet; nothing to fuzz"
else
  t=$(date +%s)
  # The asan preset builds the fuzz targets (BRFED_FUZZ) with its sanitizers: no build of
  # their own. Built here when the asan preset was not among the presets above.
  phase "fuzz: the asan preset's fuzz targets"
  cmake --preset asan >/dev/null || fail "cmake --preset asan (configure)"
  # The Ninja generator gives every directory an "<dir>/all" target: build only the fuzzers.
  cmake --build --preset asan -j"$jobs" --target tests/fuzz/all ||
    fail "cmake --build --preset asan --target tests/fuzz/all"

  mapfile -t fuzzers < <(find build/asan/tests/fuzz -type f -perm -u+x -name '*fuzz*' \
    ! -name '*.so' ! -path '*/CMakeFiles/*' | sort)
  ((${#fuzzers[@]})) || fail "the asan build produced no *fuzz* executable under build/asan/tests/fuzz"

  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for f in "${fuzzers[@]}"; do
    name=$(basename "$f")
    # Seeds in tests/fuzz/corpus/<name without _fuzz>/, a dictionary in tests/fuzz/<same>.dict.
    short=${name%_fuzz}
    seeds=""
    [[ -d tests/fuzz/corpus/$short ]] && seeds=tests/fuzz/corpus/$short
    # ... or under its first word (record_decoder_fuzz -> corpus/record).
    [[ -z $seeds && -d tests/fuzz/corpus/${short%%_*} ]] && seeds=tests/fuzz/corpus/${short%%_*}
    dict=()
    [[ -f tests/fuzz/$short.dict ]] && dict=(-dict="$PWD/tests/fuzz/$short.dict")
    corpus=$work/$name
    mkdir -p "$corpus"
    [[ -n $seeds ]] && cp -r "$seeds"/. "$corpus"/
    phase "fuzz: $name for ${fuzz_seconds}s (seeds: ${seeds:-none})"
    # A copy of the corpus, so the run never writes into the source tree. Crash inputs land
    # in $work and are reported by path.
    if ! (cd "$work" && "$OLDPWD/$f" "${dict[@]}" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
            -artifact_prefix="$work/$name-" "$corpus" 2>&1 | tail -n 25); then
      fail "fuzz target $name crashed (inputs: $(ls "$work"/"$name"-* 2>/dev/null | tr '\n' ' '))"
    fi
  done
  elapsed "fuzz" "$t"
fi

printf '\ntest.sh: all tests passed in %ds\n' "$(($(date +%s) - start_all))"
