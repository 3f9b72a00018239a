"""KUBE_API_SUBSET.md section 15, the Python `kubernetes` client's items, against kube-sim.

Usage: /usr/bin/python3 python_checklist.py KUBECONFIG CERT_KUBECONFIG BAD_TOKEN_KUBECONFIG

Prints one "ok <n> <what>" or "FAIL <n> <what>: <why>" line per checklist item and exits 1 if
anything failed. The kube-sim under test serves contexts dp1 and cp over HTTPS and plain over
plain HTTP.
"""
import json
import sys
import threading
import time
import traceback
from datetime import datetime, timezone

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

G, V, P = "federation.pingcap.com", "v1alpha1", "volumebackups"
NS = "pyns"
failures = []


def check(n, what):
    def wrap(fn):
        try:
            fn()
            print(f"ok {n} {what}", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure
            failures.append(n)
            print(f"FAIL {n} {what}: {e!r}", flush=True)
            traceback.print_exc()
        return fn
    return wrap


def api(kubeconfig, context):
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
    return client.ApiClient(cfg)


def expect_status(fn, status, reason=None):
    try:
        fn()
    except ApiException as e:
        assert e.status == status, f"status {e.status}, want {status}: {e.body}"
        if reason is not None:
            body = json.loads(e.body)
            assert body["reason"] == reason, f"reason {body['reason']}, want {reason}"
        return e
    raise AssertionError(f"no ApiException, want {status}")


def vb(name, **extra):
    o = {"apiVersion": f"{G}/{V}", "kind": "VolumeBackup",
         "metadata": {"name": name, "labels": {"app": "br"}}, "spec": {"clusters": []}}
    o.update(extra)
    return o


def admin(apic, method, path, body=None):
    """Calls a kube-sim admin endpoint with the kubeconfig's credentials."""
    r = apic.call_api(path, method, body=body, response_type="object", auth_settings=["BearerToken"],
                      _return_http_data_only=True)
    return r


kubeconfig, cert_kubeconfig, bad_kubeconfig = sys.argv[1:4]
cp = api(kubeconfig, "cp")
co = client.CustomObjectsApi(cp)


@check(22, "status patch without a status subresource is 404")
def _():
    co.create_namespaced_custom_object(G, V, NS, P, vb("st1"))
    expect_status(lambda: co.patch_namespaced_custom_object_status(G, V, NS, P, "st1",
                                                                   {"status": {}}), 404)


@check(23, "status subresource: /status changes status only; main endpoint ignores status")
def _():
    g, v, p = "test.kube-sim.io", "v1", "widgets"
    w = co.create_namespaced_custom_object(g, v, NS, p, {
        "apiVersion": f"{g}/{v}", "kind": "Widget", "metadata": {"name": "w1"},
        "spec": {"a": 1}, "status": {"phase": "dropped"}})
    assert "status" not in w, w
    gen = w["metadata"]["generation"]
    w = co.patch_namespaced_custom_object_status(g, v, NS, p, "w1", {"status": {"phase": "Up"}})
    assert w["status"]["phase"] == "Up" and w["metadata"]["generation"] == gen, w
    w = co.patch_namespaced_custom_object(g, v, NS, p, "w1", {"status": {"phase": "Down"}})
    assert w["status"]["phase"] == "Up" and w["metadata"]["generation"] == gen, w


@check(24, "replace with a stale resourceVersion is 409 Conflict")
def _():
    co.create_namespaced_custom_object(G, V, NS, P, vb("occ1"))
    o = co.get_namespaced_custom_object(G, V, NS, P, "occ1")
    co.patch_namespaced_custom_object(G, V, NS, P, "occ1", {"spec": {"changed": True}})
    o["spec"]["mine"] = 1
    expect_status(lambda: co.replace_namespaced_custom_object(G, V, NS, P, "occ1", o), 409,
                  "Conflict")


@check(25, "replace without resourceVersion is 422")
def _():
    o = co.get_namespaced_custom_object(G, V, NS, P, "occ1")
    del o["metadata"]["resourceVersion"]
    e = expect_status(lambda: co.replace_namespaced_custom_object(G, V, NS, P, "occ1", o), 422)
    assert "must be specified for an update" in e.body, e.body


@check(26, "merge patch with a stale resourceVersion is 409")
def _():
    expect_status(lambda: co.patch_namespaced_custom_object(
        G, V, NS, P, "occ1", {"metadata": {"resourceVersion": "1"}, "spec": {}}), 409)


@check(27, "second create is 409 AlreadyExists")
def _():
    co.create_namespaced_custom_object(G, V, NS, P, vb("dup1"))
    expect_status(lambda: co.create_namespaced_custom_object(G, V, NS, P, vb("dup1")), 409,
                  "AlreadyExists")


@check(28, "delete with a failed resourceVersion precondition is 409")
def _():
    body = client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version="1"))
    expect_status(lambda: co.delete_namespaced_custom_object(G, V, NS, P, "dup1", body=body), 409)


@check(37, "watch from a list RV with timeout_seconds: ADDED, MODIFIED, DELETED, then ends")
def _():
    rv = co.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]

    def writer():
        time.sleep(0.5)
        co.create_namespaced_custom_object(G, V, NS, P, vb("vb4"))
        co.patch_namespaced_custom_object(G, V, NS, P, "vb4", {"spec": {"x": 1}})
        co.delete_namespaced_custom_object(G, V, NS, P, "vb4")

    t = threading.Thread(target=writer)
    t.start()
    start = time.monotonic()
    seen = []
    for ev in watch.Watch().stream(co.list_namespaced_custom_object, G, V, NS, P,
                                   resource_version=rv, timeout_seconds=3):
        seen.append((ev["type"], ev["object"]["metadata"]["name"]))
    elapsed = time.monotonic() - start
    t.join()
    assert seen == [("ADDED", "vb4"), ("MODIFIED", "vb4"), ("DELETED", "vb4")], seen
    assert elapsed >= 2.5, elapsed


@check(38, "stream closed early: the client re-watches from the last RV, nothing lost or repeated")
def _():
    rv = co.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    events = []
    w = watch.Watch()

    def reader():
        for ev in w.stream(co.list_namespaced_custom_object, G, V, NS, P, resource_version=rv):
            events.append((ev["type"], ev["object"]["metadata"]["name"]))
            if len(events) == 2:
                w.stop()

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.5)
    co.create_namespaced_custom_object(G, V, NS, P, vb("re1"))
    time.sleep(0.3)
    admin(cp, "POST", "/admin/watches/drop")  # the simulator closes the stream
    time.sleep(0.3)
    co.create_namespaced_custom_object(G, V, NS, P, vb("re2"))
    t.join(10)
    assert not t.is_alive(), "watch did not resume"
    assert events == [("ADDED", "re1"), ("ADDED", "re2")], events


@check(39, "RV older than the history: two ERROR 410 events, then ApiException 410 Expired")
def _():
    rv = co.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    co.create_namespaced_custom_object(G, V, NS, P, vb("old1"))
    admin(cp, "POST", "/admin/compact")
    admin(cp, "DELETE", "/admin/requests")
    try:
        for _ in watch.Watch().stream(co.list_namespaced_custom_object, G, V, NS, P,
                                      resource_version=rv):
            pass
        raise AssertionError("no exception")
    except ApiException as e:
        assert e.status == 410 and "Expired" in e.reason, (e.status, e.reason)
    log = admin(cp, "GET", "/admin/requests")
    watches = [r for r in log if "watch=" in r["target"]]
    assert len(watches) == 2, watches


@check(40, "field_selector watch sees only its object")
def _():
    rv = co.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    co.create_namespaced_custom_object(G, V, NS, P, vb("fs-other"))
    co.create_namespaced_custom_object(G, V, NS, P, vb("fs-me"))
    names = [ev["object"]["metadata"]["name"] for ev in watch.Watch().stream(
        co.list_namespaced_custom_object, G, V, NS, P, resource_version=rv,
        field_selector="metadata.name=fs-me", timeout_seconds=1)]
    assert names == ["fs-me"], names


@check(41, "allow_watch_bookmarks: BOOKMARK events carry metadata.resourceVersion")
def _():
    rv = co.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    admin(cp, "DELETE", "/admin/requests")
    bookmarks = []
    for ev in watch.Watch().stream(co.list_namespaced_custom_object, G, V, NS, P,
                                   resource_version=rv, allow_watch_bookmarks=True,
                                   timeout_seconds=3):
        if ev["type"] == "BOOKMARK":
            bookmarks.append(ev["object"]["metadata"]["resourceVersion"])
    assert bookmarks, "no BOOKMARK in 3 s with bookmarkIntervalSeconds: 1"
    log = admin(cp, "GET", "/admin/requests")
    assert any("allowWatchBookmarks=True" in r["target"] for r in log), log


coord = client.CoordinationV1Api(cp)


@check(42, "read of a missing lease is 404")
def _():
    expect_status(lambda: coord.read_namespaced_lease("br-federation-manager", "br-fed"), 404)


@check(43, "create a lease with a tz-aware renew_time; read back equal to the microsecond")
def _():
    t = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    body = client.V1Lease(metadata=client.V1ObjectMeta(name="br-federation-manager"),
                          spec=client.V1LeaseSpec(holder_identity="mgr-a",
                                                  lease_duration_seconds=15,
                                                  acquire_time=t, renew_time=t,
                                                  lease_transitions=0))
    coord.create_namespaced_lease("br-fed", body)
    got = coord.read_namespaced_lease("br-federation-manager", "br-fed")
    assert got.spec.renew_time == t, got.spec.renew_time


@check(44, "two replaces with the same RV: one 200, one 409")
def _():
    a = coord.read_namespaced_lease("br-federation-manager", "br-fed")
    b = coord.read_namespaced_lease("br-federation-manager", "br-fed")
    a.spec.holder_identity = "mgr-a2"
    b.spec.holder_identity = "mgr-b"
    coord.replace_namespaced_lease("br-federation-manager", "br-fed", a)
    expect_status(lambda: coord.replace_namespaced_lease("br-federation-manager", "br-fed", b),
                  409, "Conflict")


@check(50, "a wrong token is 401")
def _():
    bad = client.CustomObjectsApi(api(bad_kubeconfig, "cp"))
    expect_status(lambda: bad.list_namespaced_custom_object(G, V, NS, P), 401)


@check(51, "a server certificate without SAN fails the hostname check")
def _():
    c = client.CustomObjectsApi(api(kubeconfig, "nosan"))
    c.api_client.configuration.retries = 0
    try:
        c.list_namespaced_custom_object(G, V, NS, P)
        raise AssertionError("no error")
    except urllib3.exceptions.MaxRetryError as e:
        assert "match" in str(e) or "certificate" in str(e), str(e)


@check(52, "a client certificate instead of a token works")
def _():
    c = client.CustomObjectsApi(api(cert_kubeconfig, "cp"))
    items = c.list_namespaced_custom_object(G, V, NS, P)["items"]
    assert any(i["metadata"]["name"] == "occ1" for i in items), items


@check(53, "plain HTTP: Python sends the token")
def _():
    h = api(kubeconfig, "plain")
    client.CustomObjectsApi(h).list_namespaced_custom_object(G, V, NS, P)
    log = admin(h, "GET", "/admin/requests")
    assert any(r["authorization"] and "volumebackups" in r["target"] for r in log), log


print("python checklist:", "FAILED " + str(failures) if failures else "all passed", flush=True)
sys.exit(1 if failures else 0)
