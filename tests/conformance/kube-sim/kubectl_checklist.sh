#!/usr/bin/env bash
# KUBE_API_SUBSET.md section 15, kubectl's items, against a running kube-sim.
#
# Usage: kubectl_checklist.sh KUBECTL KUBECONFIG WORKDIR
# The kube-sim serves contexts dp1, cp (HTTPS, token of a user with every right and admin) and
# plain (plain HTTP). Prints "ok N what" / "FAIL N what: why" and exits 1 if anything failed.
set -u
KUBECTL=$1
KC=$2
WORK=$3
mkdir -p "$WORK"
cd "$WORK" || exit 2
fails=()

# A fresh discovery cache on every call is part of the contract (KUBE_API_SUBSET.md 15).
k() { "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context cp -n ns1 "$@"; }
kdp() { "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context dp1 -n ns1 "$@"; }
ok() { echo "ok $1 $2"; }
fail() { echo "FAIL $1 $2: $3"; fails+=("$1"); }
# expect N WHAT CMD... : runs CMD, keeps stdout+stderr in $out and the exit code in $rc.
run() { out=$("$@" 2>&1); rc=$?; }
has() { grep -qF -- "$1" <<<"$out"; }
admin() {  # admin METHOD PATH -> stdout (kube-sim admin endpoint of cp, with the token)
  local server token
  server=$(awk '/name: "cp"/{f=1} f&&/server:/{print $2; exit}' "$KC" | tr -d '"')
  token=$(awk '/token:/{print $2; exit}' "$KC" | tr -d '"')
  curl -sS --cacert "$WORK/ca.crt" -H "Authorization: Bearer $token" -X "$1" --data '' "$server$2"
}
# wait_for FILE REGEX COUNT: polls (up to 20 s) until FILE has COUNT lines matching REGEX.
wait_for() {
  for _ in $(seq 200); do
    [[ $(grep -cE "$2" "$1" 2>/dev/null) -ge $3 ]] && return 0
    sleep 0.1
  done
  return 1
}
rv_of() { k get vbk "$1" -o jsonpath='{.metadata.resourceVersion}'; }
gen_of() { k get vbk "$1" -o jsonpath='{.metadata.generation}'; }
awk '/certificate-authority-data/{print $2; exit}' "$KC" | base64 -d > "$WORK/ca.crt"

vbyaml() {  # vbyaml NAME [extra metadata lines] [spec]
  cat <<EOF
apiVersion: federation.pingcap.com/v1alpha1
kind: VolumeBackup
metadata:
  name: $1
  namespace: ns1
  labels: {app: br}
$2
spec:
  clusters: [{k8sClusterName: dp1, tcName: tc1, tcNamespace: ns1}]
  ${3:-}
EOF
}
vbyaml vb1 "" > vb1.yaml
vbyaml vb1 "" "template: {cleanPolicy: Delete}" > vb1-changed.yaml

# ---- discovery and apply
run k apply -f vb1.yaml
if [[ $rc == 0 ]] && has "volumebackup.federation.pingcap.com/vb1 created" &&
   [[ $(gen_of vb1) == 1 ]] &&
   k get vbk vb1 -o jsonpath='{.metadata.uid}' | grep -qE '^[0-9a-f-]{36}$' &&
   k get vbk vb1 -o jsonpath='{.metadata.creationTimestamp}' | grep -q 'Z$' &&
   k get vbk vb1 -o yaml | grep -q 'kubectl.kubernetes.io/last-applied-configuration'; then
  ok 1 "apply creates"; else fail 1 "apply creates" "$out"; fi
rv1=$(rv_of vb1)
run k apply -f vb1.yaml
if has "vb1 unchanged" && [[ $(rv_of vb1) == "$rv1" ]]; then ok 2 "apply unchanged"; else fail 2 "apply unchanged" "$out"; fi
admin DELETE /admin/requests >/dev/null
run k apply -f vb1-changed.yaml
patches=$(admin GET /admin/requests | grep -o '{[^{}]*}' | grep '"method":"PATCH"' | grep -c 'merge-patch+json')
if has "vb1 configured" && [[ $(gen_of vb1) == 2 ]] && [[ $patches == 1 ]]; then
  ok 3 "apply configured"; else fail 3 "apply configured" "$out gen=$(gen_of vb1) patches=$patches"; fi
run k apply --validate=false -f vb1.yaml
if [[ $rc == 0 ]]; then ok 4 "apply --validate=false"; else fail 4 "apply --validate=false" "$out"; fi
run k get volumebackups.federation.pingcap.com
out2=$(k get volumebackup 2>&1)
if has vb1 && grep -q vb1 <<<"$out2"; then ok 5 "get by full and singular names"; else fail 5 "get by names" "$out $out2"; fi
run "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context cp api-resources --api-group=federation.pingcap.com
if grep -qE '^volumebackups +vbk +federation.pingcap.com/v1alpha1 +true +VolumeBackup' <<<"$out"; then
  ok 6 "api-resources"; else fail 6 "api-resources" "$out"; fi

# ---- get / Table / errors
run k get vbk
if grep -qE '^NAME +STATUS +BACKUPSIZE +COMMITTS +TIMETAKEN +AGE$' <<<"$out" &&
   grep -qE '^vb1 .* [0-9]+s$' <<<"$out"; then ok 7 "Table columns and age"; else fail 7 "Table" "$out"; fi
cat > bk1.yaml <<EOF
apiVersion: pingcap.com/v1alpha1
kind: Backup
metadata: {name: bk1, namespace: ns1}
spec: {backupType: full, backupMode: volume-snapshot}
EOF
kdp apply -f bk1.yaml >/dev/null 2>&1
run kdp get bk
out_wide=$(kdp get bk -o wide 2>&1)
if grep -qE '^NAME +TYPE +MODE +STATUS +BACKUPPATH +BACKUPSIZE +COMMITTS +LOGTRUNCATEUNTIL +TIMETAKEN +AGE$' <<<"$out" &&
   grep -qE '^NAME +TYPE +MODE +STATUS +BACKUPPATH +BACKUPSIZE +INCREMENTALBACKUPSIZE +COMMITTS +LOGTRUNCATEUNTIL +STARTED +COMPLETED +TIMETAKEN +AGE$' <<<"$out_wide"; then
  ok 8 "Backup columns, -o wide adds priority > 0"; else fail 8 "Backup columns" "$out / $out_wide"; fi
run k get vbk -A --show-labels
if grep -qE '^ns1 +vb1 .*app=br' <<<"$out"; then ok 9 "-A --show-labels"; else fail 9 "-A --show-labels" "$out"; fi
run k get vbk vb1 -o yaml
if has "apiVersion: federation.pingcap.com/v1alpha1" && has "kind: VolumeBackup"; then ok 10 "-o yaml"; else fail 10 "-o yaml" "$out"; fi
run k get vbk nope
if [[ $rc == 1 ]] && has 'Error from server (NotFound): volumebackups.federation.pingcap.com "nope" not found'; then
  ok 11 "NotFound"; else fail 11 "NotFound" "$out"; fi
for i in 2 3 5 6; do vbyaml "vbc$i" "" | k apply -f - >/dev/null 2>&1; done
admin DELETE /admin/requests >/dev/null
run k get vbk --chunk-size=2
lists=$(admin GET /admin/requests | grep -o '"target":"/apis/federation.pingcap.com/v1alpha1/namespaces/ns1/volumebackups?[^"]*' | grep -c 'limit=2')
conts=$(admin GET /admin/requests | grep -o '"target":"[^"]*continue=[^"]*' | wc -l)
if [[ $(grep -cE '^(vb1|vbc[0-9]) ' <<<"$out") == 5 ]] && [[ $lists == 3 ]] && [[ $conts == 2 ]]; then
  ok 12 "paging with --chunk-size"; else fail 12 "paging" "$out lists=$lists conts=$conts"; fi
vbyaml vbnl "" | sed 's/labels: {app: br}/labels: {app: other}/' | k apply -f - >/dev/null 2>&1
run k get vbk -l 'app in (br)'
if has vb1 && ! has vbnl; then ok 13 "label selector"; else fail 13 "label selector" "$out"; fi
run "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context cp get vbk -n empty-ns
if [[ $rc == 0 ]] && has "No resources found in empty-ns namespace."; then ok 14 "empty namespace"; else fail 14 "empty namespace" "$out"; fi
run k create -f vb1.yaml
if [[ $rc == 1 ]] && has 'Error from server (AlreadyExists): error when creating "vb1.yaml": volumebackups.federation.pingcap.com "vb1" already exists'; then
  ok 15 "AlreadyExists"; else fail 15 "AlreadyExists" "$out"; fi

# ---- patch / status / generation
g=$(gen_of vb1)
run k patch vbk vb1 --type merge -p '{"spec":{"x":1}}'
if has "vb1 patched" && [[ $(gen_of vb1) == $((g + 1)) ]]; then ok 16 "merge patch"; else fail 16 "merge patch" "$out"; fi
rv=$(rv_of vb1)
run k patch vbk vb1 --type merge -p '{"spec":{"x":1}}'
if has "patched (no change)" && [[ $(rv_of vb1) == "$rv" ]]; then ok 17 "no-op patch"; else fail 17 "no-op patch" "$out"; fi
g=$(gen_of vb1)
run k patch vbk vb1 --type json -p '[{"op":"add","path":"/metadata/labels/x","value":"y"}]'
if has "vb1 patched" && [[ $(gen_of vb1) == "$g" ]]; then ok 18 "JSON patch of metadata"; else fail 18 "JSON patch" "$out"; fi
run k patch vbk vb1 -p '{"spec":{"x":2}}'
if [[ $rc == 1 ]] && has "the body of the request was in an unknown format - accepted media types include:"; then
  ok 19 "strategic merge patch is 415"; else fail 19 "strategic 415" "$out"; fi
admin DELETE /admin/requests >/dev/null
run k patch vbk vb1 --type json -p '[{"op":"test","path":"/spec/x","value":99}]'
code=$(admin GET /admin/requests | grep -o '{[^{}]*}' | grep '"method":"PATCH"' | grep -o '"code":[0-9]*,' | head -1)
if [[ $rc == 1 ]] && has "is invalid" && [[ $code == '"code":422,'* ]]; then ok 20 "failed JSON patch test is 422"; else fail 20 "JSON patch test" "$out $code"; fi
g=$(gen_of vb1)
run k patch vbk vb1 --type merge -p '{"status":{"phase":"Running"}}'
if has "vb1 patched" && [[ $(gen_of vb1) == $((g + 1)) ]] && k get vbk | grep -qE '^vb1 +Running'; then
  ok 21 "status through the main endpoint"; else fail 21 "status main endpoint" "$out"; fi

# ---- finalizers and delete
vbyaml vb2 "" | k apply -f - >/dev/null 2>&1
run k delete vbk vb2
if [[ $rc == 0 ]] && has '"vb2" deleted' && ! k get vbk vb2 >/dev/null 2>&1; then ok 29 "delete"; else fail 29 "delete" "$out"; fi
vbyaml vb3 "  finalizers: [federation.pingcap.com/cleanup]" | k apply -f - >/dev/null 2>&1
g=$(gen_of vb3)
run k delete vbk vb3 --wait=false
if [[ $rc == 0 ]] && [[ -n $(k get vbk vb3 -o jsonpath='{.metadata.deletionTimestamp}') ]] &&
   [[ $(gen_of vb3) == $((g + 1)) ]]; then ok 30 "delete with a finalizer"; else fail 30 "finalizer delete" "$out"; fi
run k patch vbk vb3 --type merge -p '{"metadata":{"finalizers":["a","federation.pingcap.com/cleanup"]}}'
if [[ $rc != 0 ]] && has "no new finalizers can be added if the object is being deleted"; then
  ok 31 "no new finalizers while deleting"; else fail 31 "new finalizer" "$out"; fi
k delete vbk vb3 > del.out 2>&1 &
delpid=$!
wait_for del.out 'deleted' 1  # kubectl prints "deleted" and then waits for the object to go
sleep 0.5
k patch vbk vb3 --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
for _ in $(seq 100); do kill -0 $delpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $delpid 2>/dev/null; then
  kill $delpid; wait $delpid 2>/dev/null; fail 32 "blocking delete" "still waiting 10 s after the finalizer went"
else
  wait $delpid; drc=$?
  if [[ $drc == 0 ]] && ! k get vbk vb3 >/dev/null 2>&1; then ok 32 "blocking delete returns"; else fail 32 "blocking delete" "rc=$drc $(cat del.out)"; fi
fi

# ---- watch
# stop_watch PID: ends a kubectl get -w that is still running.
# (SIGTERM: background jobs of a non-interactive shell ignore SIGINT.)
stop_watch() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
kw() { "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context cp -n ns1 "$@"; }
kw get vbk -w > w34.out 2>&1 &
wpid=$!
wait_for w34.out '^NAME' 1  # the list is done; the watch starts from its resourceVersion
vbyaml vb4 "" | k apply -f - >/dev/null 2>&1
k patch vbk vb4 --type merge -p '{"spec":{"y":1}}' >/dev/null 2>&1
k delete vbk vb4 --wait=false >/dev/null 2>&1
wait_for w34.out '^vb4 ' 3
sleep 0.5  # room for a wrong extra row to show up
stop_watch $wpid
headers=$(grep -c '^NAME' w34.out); vb4rows=$(grep -c '^vb4 ' w34.out); vb1rows=$(grep -c '^vb1 ' w34.out)
if [[ $headers == 1 && $vb4rows == 3 && $vb1rows == 1 ]]; then ok 34 "get -w"; else fail 34 "get -w" "$(cat w34.out)"; fi
kw get vbk vb1 -w > w35.out 2>&1 &
wpid=$!
wait_for w35.out '^vb1 ' 1
sleep 1  # kubectl's RV=0 watch must be open before the patches (its first event is dropped)
k patch vbk vb1 --type merge -p '{"spec":{"w":1}}' >/dev/null 2>&1
k patch vbk vb1 --type merge -p '{"spec":{"w":2}}' >/dev/null 2>&1
wait_for w35.out '^vb1 ' 3
sleep 0.5
stop_watch $wpid
if [[ $(grep -c '^vb1 ' w35.out) == 3 ]]; then ok 35 "get NAME -w"; else fail 35 "get NAME -w" "$(cat w35.out)"; fi
kw get vbk -w > w36.out 2>&1 &
wpid=$!
wait_for w36.out '^NAME' 1
sleep 0.5
for _ in $(seq 100); do
  kill -0 $wpid 2>/dev/null || break
  admin POST /admin/watches/drop >/dev/null
  sleep 0.2
done
if kill -0 $wpid 2>/dev/null; then stop_watch $wpid; fail 36 "closed stream" "kubectl still running"
else wait $wpid; wrc=$?; if [[ $wrc == 0 ]]; then ok 36 "closed stream ends get -w with 0"; else fail 36 "closed stream" "rc=$wrc"; fi; fi

# ---- leases, authorization, describe
cat > lease.yaml <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: kubectl-lease, namespace: br-fed}
spec: {holderIdentity: a, leaseDurationSeconds: 15}
EOF
"$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context cp apply -f lease.yaml >/dev/null 2>&1
run "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context cp get leases -n br-fed
if has kubectl-lease; then ok 45 "get leases"; else fail 45 "get leases" "$out"; fi
admin_dp() {
  local server token
  server=$(awk '/name: "dp1"/{f=1} f&&/server:/{print $2; exit}' "$KC" | tr -d '"')
  token=$(awk '/token:/{print $2; exit}' "$KC" | tr -d '"')
  curl -sS --cacert "$WORK/ca.crt" -H "Authorization: Bearer $token" -X "$1" --data '' "$server$2"
}
admin_dp DELETE /admin/requests >/dev/null
run "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" auth can-i create backups.pingcap.com -n ns1 --context dp1
ssar=$(admin_dp GET /admin/requests | grep -o '"resourceAttributes":{[^}]*}' | head -1)
if [[ $rc == 0 ]] && [[ $out == yes* ]] && grep -q '"group":"pingcap.com"' <<<"$ssar" &&
   grep -q '"namespace":"ns1"' <<<"$ssar" && grep -q '"resource":"backups"' <<<"$ssar" &&
   grep -q '"verb":"create"' <<<"$ssar"; then ok 46 "auth can-i yes"; else fail 46 "auth can-i yes" "$out $ssar"; fi
sed 's/conformance-admin-token/conformance-denied-token/' "$KC" > "$WORK/denied.kubeconfig"
run "$KUBECTL" --kubeconfig "$WORK/denied.kubeconfig" --cache-dir "$(mktemp -d -p "$WORK")" auth can-i create backups.pingcap.com -n ns1 --context dp1
if [[ $rc == 1 ]] && [[ $out == no* ]]; then ok 47 "auth can-i no"; else fail 47 "auth can-i no" "rc=$rc $out"; fi
uid=$(k get vbk vb1 -o jsonpath='{.metadata.uid}')
cat > ev.yaml <<EOF
apiVersion: v1
kind: Event
metadata: {name: vb1.17a0c, namespace: ns1}
involvedObject: {apiVersion: federation.pingcap.com/v1alpha1, kind: VolumeBackup, name: vb1, namespace: ns1, uid: "$uid"}
reason: BackupStarted
message: snapshot phase started
type: Normal
source: {component: br-federation-manager}
firstTimestamp: "2024-05-01T10:00:00Z"
lastTimestamp: "2024-05-01T10:00:00Z"
count: 1
EOF
k apply -f ev.yaml >/dev/null 2>&1
run k describe vbk vb1
if grep -qE '^Name: +vb1' <<<"$out" && grep -qE '^Namespace: +ns1' <<<"$out" &&
   grep -qE '^Kind: +VolumeBackup' <<<"$out" && has "Spec:" && has "BackupStarted" &&
   has "snapshot phase started"; then ok 48 "describe with events"; else fail 48 "describe" "$out"; fi

# ---- transport
run k get vbk vb1
if [[ $rc == 0 ]]; then ok 49 "HTTPS with CA data and token"; else fail 49 "HTTPS" "$out"; fi
sed 's/conformance-admin-token/wrong-token/' "$KC" > "$WORK/bad.kubeconfig"
run "$KUBECTL" --kubeconfig "$WORK/bad.kubeconfig" --cache-dir "$(mktemp -d -p "$WORK")" --context cp get vbk -n ns1
# kubectl 1.20 says "(Unauthorized)"; newer ones "(the server has asked for the client to provide
# credentials)".
if [[ $rc == 1 ]] && has "error: You must be logged in to the server ("; then ok 50 "wrong token"; else fail 50 "wrong token" "$out"; fi
if [[ -n ${CERT_KUBECONFIG:-} ]]; then
  run "$KUBECTL" --kubeconfig "$CERT_KUBECONFIG" --cache-dir "$(mktemp -d -p "$WORK")" --context cp get vbk -n ns1
  if [[ $rc == 0 ]] && has vb1; then ok 52 "client certificate"; else fail 52 "client certificate" "$out"; fi
fi
if [[ -n ${NOSAN_KUBECONFIG:-} ]]; then
  run "$KUBECTL" --kubeconfig "$NOSAN_KUBECONFIG" --cache-dir "$(mktemp -d -p "$WORK")" --context nosan get vbk -n ns1
  if [[ $rc != 0 ]] && has "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"; then
    ok 51 "certificate without SAN rejected"; else fail 51 "no SAN" "$out"; fi
fi
plain_server=$(awk '/name: "plain"/{f=1} f&&/server:/{print $2; exit}' "$KC" | tr -d '"')
curl -sS -X DELETE --data '' "$plain_server/admin/requests" >/dev/null
run "$KUBECTL" --kubeconfig "$KC" --cache-dir "$(mktemp -d -p "$WORK")" --context plain get vbk -n ns1
log=$(curl -sS "$plain_server/admin/requests")
if [[ $rc == 0 ]] && grep -q volumebackups <<<"$log" && ! grep -q '"authorization":true' <<<"$log"; then
  ok 53 "plain HTTP: kubectl sends no Authorization"; else fail 53 "plain HTTP" "$out"; fi

# ---- delete --all last (it empties ns1)
run k delete vbk --all
if [[ $rc == 0 ]] && [[ -z $(k get vbk -o name 2>/dev/null) ]]; then ok 33 "delete --all"; else fail 33 "delete --all" "$out"; fi

if ((${#fails[@]})); then echo "kubectl checklist: FAILED ${fails[*]}"; exit 1; fi
echo "kubectl checklist: all passed"
