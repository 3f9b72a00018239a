#!/usr/bin/env bash
# The main job, until the federation manager is in: a local demo of the brfed engine.
#
#   1. installs what is missing (scripts/deps.sh) and builds brfedctl (`dev` preset);
#   2. runs examples/workflows/crash-test.yaml — a fan-out with retries, sleeps, test.append
#      side effects and finally steps — and has the process SIGKILL itself right after its
#      34th journal record is durable (BRFED_CRASH_AFTER_RECORDS, the crash tests' failpoint);
#   3. looks at the half-done run offline (inspect list / why), resumes it with the same
#      command, and shows that every side effect happened exactly once;
#   4. inspects the finished run: show, timeline, verify, replay --until, graph.
#
# Environment: BRFED_JOBS (build parallelism, default 2), BRFED_DEMO_CRASH_AT (default 34),
# BRFED_DEMO_DIR (where the journal and outputs go, default build/demo; wiped first).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${BRFED_JOBS:-2}
crash_at=${BRFED_DEMO_CRASH_AT:-34}
work=${BRFED_DEMO_DIR:-build/demo}

if [[ -t 1 ]]; then bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'; else bold='' dim='' off=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$off"; "$@"; }

say "installing dependencies (scripts/deps.sh) and building brfedctl (preset dev)"
scripts/deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j"$jobs" --target brfedctl
ctl=build/dev/tools/brfedctl/brfedctl
brfedctl() { "$ctl" "$@"; }

wf=examples/workflows/crash-test.yaml
rm -rf "$work"
mkdir -p "$work"
journal=$work/journal
out=$work/side-effects.txt
run=(run --journal "$journal" --run-id demo-1 --param "out=$out" "$wf")

say "validate: the example is valid; a broken copy is reported as FILE:LINE:COL: reason"
show brfedctl validate "$wf"
sed -e 's/needs: \[prepare\]/needs: [prepar]/' -e 's/timeout: 10s/timeout: 10 parsecs/' \
  "$wf" >"$work/broken.yaml"
show brfedctl validate "$work/broken.yaml" || echo "(exit $?: invalid)"

say "run it; the process kills itself (SIGKILL, no clean-up) after journal record $crash_at"
set +e
show env BRFED_CRASH_AFTER_RECORDS="$crash_at" "$ctl" "${run[@]}"
rc=$?
set -e
echo "brfedctl run ended with exit status $rc$( ((rc == 137)) && echo ' (SIGKILL)')"

say "offline, from the journal alone: the run is unfinished, and this is what it waits on"
show brfedctl inspect --journal "$journal" list
show brfedctl inspect --journal "$journal" why demo-1
say "side effects so far (each line starts with its step instance's idempotency key)"
show cat "$out"

say "resume: the same command again, without the failpoint"
echo "Attempts that were running at the crash are re-issued under the same idempotency keys;"
echo "test.append skips a line whose key is already in the file."
show brfedctl "${run[@]}"

say "every side effect exactly once"
show cat "$out"
dups=$(awk '{print $1}' "$out" | sort | uniq -d)
if [[ -n $dups ]]; then
  echo "DUPLICATED: $dups" >&2
  exit 1
fi
echo "no key appears twice"

say "the finished run: its steps, its records, a health check of the journal"
show brfedctl inspect --journal "$journal" show demo-1
show brfedctl inspect --journal "$journal" timeline demo-1
show brfedctl verify --journal "$journal"

say "replay: the state the machine derives from the first 20 records, as at the time"
show brfedctl replay --journal "$journal" --until 20 demo-1

say "graph: the run's DAG in DOT, step states as colours"
brfedctl graph --journal "$journal" demo-1 >"$work/demo-1.dot"
echo "wrote $work/demo-1.dot ($(grep -c -- '->' "$work/demo-1.dot") edges)"
if command -v dot >/dev/null 2>&1; then
  dot -Tsvg "$work/demo-1.dot" -o "$work/demo-1.svg" && echo "wrote $work/demo-1.svg"
else
  echo "(install graphviz and run: dot -Tsvg $work/demo-1.dot -o demo-1.svg)"
fi

say "done: the journal is in $journal — try: $ctl inspect --journal $journal --json show demo-1"
