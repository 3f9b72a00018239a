#!/usr/bin/env bash
# The main job: a federated EBS-snapshot backup and restore on this machine, with the manager
# killed mid-backup and resuming from its journal.
#
#   scripts/demo.sh                 the federation demo (below)
#   scripts/demo.sh --engine-only   the engine alone: a test workflow run by `brfedctl run`,
#                                   killed by a failpoint, inspected offline and resumed
#
# The federation demo:
#   1. installs what is missing (scripts/deps.sh) and builds kube-sim, br-federation-manager
#      and brfedctl (`dev` preset);
#   2. starts kube-sim with examples/sim/federation.yaml: a control plane and three data planes
#      (k8s-1..3) over HTTPS with a token, each data plane with a simulated tidb-operator whose
#      phases take a few seconds, and TidbCluster tidb-cluster/basic;
#   3. shows the step graph of the upstream guide's VolumeBackup (`brfedctl plan`);
#   4. starts br-federation-manager (journal in the work dir), applies
#      examples/federation/volume-backup.yaml with kubectl and follows `kubectl get vbk -o wide`;
#      once the backup is running with members in the data planes the manager is killed with
#      SIGKILL (GC is still paused), the journal says what the run waits for
#      (`brfedctl inspect why`), and the manager is started again: it resumes the run from the
#      journal and the backup completes;
#   5. puts the data planes' TidbClusters in recovery mode, applies
#      examples/federation/volume-restore.yaml and follows it to Complete;
#   6. shows /metrics, then stops the manager and lists the journal's runs.
# Every process it starts is stopped when it exits, also on failure or Ctrl-C.
#
# Environment: BRFED_JOBS (build parallelism, default 2), BRFED_DEMO_DIR (the engine demo's
# directory, default build/demo), BRFED_FED_DEMO_DIR (the federation demo's, default
# build/demo-federation; both wiped first), BRFED_DEMO_TIMEOUT (seconds to wait for each
# object, default 180), BRFED_BUILD_DIR (use the binaries of this build directory and skip
# the deps and build steps; default: build them in build/dev).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${BRFED_JOBS:-2}
mode=federation
case "${1:-}" in
  "") ;;
  --engine-only) mode=engine ;;
  -h | --help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: scripts/demo.sh [--engine-only]" >&2
    exit 2
    ;;
esac

if [[ -t 1 ]]; then bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'; else bold='' dim='' off=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$off"; "$@"; }

bin=${BRFED_BUILD_DIR:-build/dev}
ctl=$bin/tools/brfedctl/brfedctl
brfedctl() { "$ctl" "$@"; }

# ---------------------------------------------------------------------------------------------
# The engine alone (the first demo): brfedctl run of a test workflow, killed and resumed.
engine_demo() {
  local crash_at=${BRFED_DEMO_CRASH_AT:-34}
  local work=${BRFED_DEMO_DIR:-build/demo}

  if [[ -z ${BRFED_BUILD_DIR:-} ]]; then
    say "installing dependencies (scripts/deps.sh) and building brfedctl (preset dev)"
    scripts/deps.sh
    cmake --preset dev >/dev/null
    cmake --build --preset dev -j"$jobs" --target brfedctl
  fi

  local wf=examples/workflows/crash-test.yaml
  rm -rf "$work"
  mkdir -p "$work"
  local journal=$work/journal
  local out=$work/side-effects.txt
  local run=(run --journal "$journal" --run-id demo-1 --param "out=$out" "$wf")

  say "validate: the example is valid; a broken copy is reported as FILE:LINE:COL: reason"
  show brfedctl validate "$wf"
  sed -e 's/needs: \[prepare\]/needs: [prepar]/' -e 's/timeout: 10s/timeout: 10 parsecs/' \
    "$wf" >"$work/broken.yaml"
  show brfedctl validate "$work/broken.yaml" || echo "(exit $?: invalid)"

  say "run it; the process kills itself (SIGKILL, no clean-up) after journal record $crash_at"
  set +e
  show env BRFED_CRASH_AFTER_RECORDS="$crash_at" "$ctl" "${run[@]}"
  local rc=$?
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
  local dups
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
}

# ---------------------------------------------------------------------------------------------
# The federation: kube-sim + br-federation-manager + kubectl.

sim_pid=''
manager_pid=''

stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s; only a process this script started
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$manager_pid"
  stop_pid "$sim_pid"
  if ((rc != 0)) && [[ -n ${fed_work:-} && -d ${fed_work:-} ]]; then
    echo "demo failed (exit $rc); logs in $fed_work: kube-sim.log, manager*.log" >&2
  fi
  exit "$rc"
}

die() {
  echo "demo: $*" >&2
  for f in "$fed_work"/manager*.log "$fed_work/kube-sim.log"; do
    [[ -f $f ]] && { echo "--- tail of $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The demo's kubectl: the simulator's kubeconfig, a private discovery cache (ports change on
# every start, kubectl caches discovery per host:port).
k() { kubectl --kubeconfig "$fed_work/kubeconfig" --cache-dir "$fed_work/kubectl-cache" "$@"; }
kshow() {
  local a line=''
  for a in "$@"; do
    [[ $a =~ ^[A-Za-z0-9_./:=,-]*$ ]] && line+=" $a" || line+=" '$a'"
  done
  printf '%s$ kubectl%s%s\n' "$dim" "$line" "$off"
  k "$@"
}

start_manager() {  # start_manager LOG
  NAMESPACE=br-federation KUBECONFIG="$fed_work/kubeconfig" \
    "$bin/manager/br-federation-manager" \
    -federation-kubeconfig-path "$fed_work/federation-kubeconfig" \
    -journal-dir "$fed_work/journal" \
    -health-addr "127.0.0.1:$health_port" \
    -kube-client-qps 50 -kube-client-burst 100 >"$1" 2>&1 &
  manager_pid=$!
  local i
  for i in $(seq 300); do
    kill -0 "$manager_pid" 2>/dev/null || die "br-federation-manager exited"
    if curl -sf "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1; then
      echo "br-federation-manager pid $manager_pid ready (leads, caches synced) after $((i / 10)).$((i % 10))s;" \
        "/healthz /readyz /metrics on 127.0.0.1:$health_port"
      return 0
    fi
    sleep 0.1
  done
  die "br-federation-manager not ready after 30s"
}

# Prints the object's `get -o wide` line (without AGE) and its members whenever they change.
# follow KIND NAME UNTIL_PHASE [STOP_PREDICATE]: returns when the phase is UNTIL_PHASE, 0, or
# when STOP_PREDICATE (a function name, given the phase) succeeds, 3; fails on Failed/Invalid.
follow() {
  local kind=$1 name=$2 want=$3 stop_when=${4:-}
  local timeout=${BRFED_DEMO_TIMEOUT:-180} start=$SECONDS last='' line members phase
  printf '%s$ kubectl get %s %s -o wide   (every 0.5 s, printed when it changes)%s\n' \
    "$dim" "$kind" "$name" "$off"
  k get "$kind" "$name" -o wide | sed -n 1p | sed 's/ *AGE *$//' | sed 's/^/       /'
  while :; do
    ((SECONDS - start < timeout)) || die "$kind $name not $want after ${timeout}s"
    line=$(k get "$kind" "$name" -o wide --no-headers 2>/dev/null | sed 's/ *[^ ]* *$//') || line=''
    members=$(k get "$kind" "$name" -o \
      jsonpath='{range .status.'"$([[ $kind == vbk ]] && echo backups || echo restores)"'[*]}{.k8sClusterName}={.phase} {end}' \
      2>/dev/null) || members=''
    if [[ "$line|$members" != "$last" ]]; then
      printf '%5ss  %s\n' "$((SECONDS - start))" "$line"
      [[ -n $members ]] && printf '        members: %s\n' "$members"
      last="$line|$members"
    fi
    phase=$(k get "$kind" "$name" -o jsonpath='{.status.phase}' 2>/dev/null) || phase=''
    [[ $phase == "$want" ]] && return 0
    if [[ $phase == Failed || $phase == Invalid ]]; then
      kshow get "$kind" "$name" -o yaml | sed -n '/^status:/,$p'
      die "$kind $name is $phase"
    fi
    if [[ -n $stop_when ]] && "$stop_when" "$phase"; then return 3; fi
    sleep 0.5
  done
}

# Kill the manager once the backup runs and it has members in every data plane: GC and PD
# scheduling are paused, the snapshots are being taken.
backup_in_flight() {
  [[ $1 == Running ]] || return 1
  local n
  n=$(k --context k8s-3 -n tidb-cluster get bk --no-headers 2>/dev/null | wc -l)
  ((n > 0))
}

federation_demo() {
  fed_work=${BRFED_FED_DEMO_DIR:-build/demo-federation}
  set -E
  trap 'echo "demo: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  if [[ -z ${BRFED_BUILD_DIR:-} ]]; then
    say "installing dependencies (scripts/deps.sh) and building kube-sim, br-federation-manager, brfedctl"
    scripts/deps.sh
    cmake --preset dev >/dev/null
    cmake --build --preset dev -j"$jobs" --target kube-sim br-federation-manager brfedctl
  fi
  if ! command -v kubectl >/dev/null 2>&1; then
    # Debian 12 packages kubectl 1.20 as kubernetes-client (kube-sim is checked against it).
    echo "demo: kubectl is missing: installing the Debian package kubernetes-client"
    local sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
      kubernetes-client
  fi

  rm -rf "$fed_work"
  mkdir -p "$fed_work"

  say "kube-sim: a control plane and three data planes (k8s-1..3) over HTTPS, each data plane"
  echo "with a simulated tidb-operator and TidbCluster tidb-cluster/basic (examples/sim/federation.yaml)"
  "$bin/tools/kube-sim/kube-sim" --config examples/sim/federation.yaml \
    --kubeconfig-out "$fed_work/kubeconfig" >"$fed_work/kube-sim.log" 2>&1 &
  sim_pid=$!
  local i
  for i in $(seq 300); do
    kill -0 "$sim_pid" 2>/dev/null || die "kube-sim exited"
    grep -q 'kube-sim: ready' "$fed_work/kube-sim.log" && break
    ((i < 300)) || die "kube-sim not ready after 30s"
    sleep 0.1
  done
  sed 's/^/  /' "$fed_work/kube-sim.log"
  # The manager's federation kubeconfig: the data-plane contexts only (its context names are
  # the k8sClusterNames of the CRs).
  python3 - "$fed_work/kubeconfig" "$fed_work/federation-kubeconfig" <<'EOF'
import sys, yaml
kc = yaml.safe_load(open(sys.argv[1]))
kc["contexts"] = [c for c in kc["contexts"] if c["name"].startswith("k8s-")]
kc["current-context"] = kc["contexts"][0]["name"]
with open(sys.argv[2], "w") as f:
    yaml.safe_dump(kc, f)
EOF
  chmod 600 "$fed_work/federation-kubeconfig"
  kshow config get-contexts
  kshow --context k8s-1 -n tidb-cluster get tc

  say "the plan: the steps the upstream guide's VolumeBackup will run (validated like the manager does)"
  show brfedctl plan --kubeconfig "$fed_work/federation-kubeconfig" examples/federation/volume-backup.yaml

  say "br-federation-manager: journal in $fed_work/journal"
  health_port=$(free_port)
  printf '%s$ NAMESPACE=br-federation KUBECONFIG=%s br-federation-manager -federation-kubeconfig-path %s -journal-dir %s -health-addr 127.0.0.1:%s &%s\n' \
    "$dim" "$fed_work/kubeconfig" "$fed_work/federation-kubeconfig" "$fed_work/journal" "$health_port" "$off"
  start_manager "$fed_work/manager-1.log"

  say "the VolumeBackup of the upstream guide, applied with kubectl"
  kshow apply -f examples/federation/volume-backup.yaml
  local uid
  uid=$(k get vbk demo-backup -o jsonpath='{.metadata.uid}')
  echo "run id = its uid: $uid"
  local rc=0
  follow vbk demo-backup Complete backup_in_flight || rc=$?
  ((rc == 3)) || die "the backup finished before the manager could be killed"

  say "kill -9 the manager mid-backup (pid $manager_pid): no clean-up, no goodbye"
  kill -KILL "$manager_pid"
  wait "$manager_pid" 2>/dev/null || true
  manager_pid=''
  echo "GC and PD scheduling of the TiDB cluster are still paused, and nobody is driving the backup:"
  printf '%s$ kubectl --context k8s-1 get --raw /admin/operator/pause%s\n' "$dim" "$off"
  k --context k8s-1 get --raw /admin/operator/pause | python3 -c \
    'import json,sys; [print("  %s: paused=%s pauses=%s" % (n, c["paused"], c["pauseCount"])) for n, c in json.load(sys.stdin)["clusters"].items()]'
  kshow --context k8s-1 -n tidb-cluster get bk
  echo "What the journal says the run waits for (offline, from the journal alone):"
  show brfedctl inspect --journal "$fed_work/journal" why "$uid"

  say "start the manager again: it recovers the run from the journal and carries on"
  start_manager "$fed_work/manager-2.log"
  follow vbk demo-backup Complete
  kshow get vbk -o wide
  for c in k8s-1 k8s-2 k8s-3; do
    kshow --context "$c" -n tidb-cluster get bk
  done
  printf '%s$ kubectl --context k8s-1 get --raw /admin/operator/pause%s\n' "$dim" "$off"
  k --context k8s-1 get --raw /admin/operator/pause | python3 -c \
    'import json,sys; [print("  %s: paused=%s pauses=%s paused for %.1fs in all" % (n, c["paused"], c["pauseCount"], c["totalPausedSeconds"])) for n, c in json.load(sys.stdin)["clusters"].items()]'

  say "restore: the target TidbClusters go into recovery mode, then the guide's VolumeRestore"
  for c in k8s-1 k8s-2 k8s-3; do
    kshow --context "$c" -n tidb-cluster patch tc basic --type merge -p '{"spec":{"recoveryMode":true}}'
  done
  kshow apply -f examples/federation/volume-restore.yaml
  follow vrt demo-restore Complete
  kshow get vrt -o wide
  kshow get vrt demo-restore -o jsonpath='{range .status.steps[*]}{.stepName}: {.timeTaken}{"\n"}{end}'

  say "metrics (upstream's fed_volume_backup_* series; brfed's own are brfed_*)"
  printf '%s$ curl -s http://127.0.0.1:%s/metrics | grep -E "^fed_volume_backup|^brfed_gc_pause_window_seconds_(sum|count)|^brfed_runs_finished"%s\n' \
    "$dim" "$health_port" "$off"
  curl -s "http://127.0.0.1:$health_port/metrics" |
    grep -E '^fed_volume_backup|^brfed_gc_pause_window_seconds_(sum|count)|^brfed_runs_finished' || true

  say "stop the manager (SIGTERM) and read its journal offline"
  stop_pid "$manager_pid"
  manager_pid=''
  show brfedctl inspect --journal "$fed_work/journal" list
  show brfedctl verify --journal "$fed_work/journal"

  say "done: the journal is in $fed_work/journal — try: $ctl inspect --journal $fed_work/journal timeline $uid"
}

if [[ $mode == engine ]]; then
  engine_demo
else
  federation_demo
fi
