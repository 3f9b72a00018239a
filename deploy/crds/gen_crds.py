#!/usr/bin/env python3
"""Generates brfed's federation CRDs (VolumeBackup, VolumeRestore, VolumeBackupSchedule).

    python3 deploy/crds/gen_crds.py            # rewrites deploy/crds/*.yaml
    python3 deploy/crds/gen_crds.py --check    # fails if a file is out of date

The types below are brfed's own description of the federation.pingcap.com/v1alpha1 API
(FEDERATION_PROTOCOL.md §3-§5) and of the Kubernetes core types its templates embed. The
generated schemas are structural, accept every field the upstream CRDs accept (a test checks
that), and carry no descriptions except our own on the top-level fields.
"""
import os
import sys

import yaml

# ---- a tiny type language -------------------------------------------------------------------
# "string" | "integer" | "int32" | "int64" | "number" | "boolean" | "int-or-string" | "quantity"
# | "time" (nullable date-time) | "object" (free-form) | "map:<type>" | [<type>] (list)
# | {field: type} (object; a trailing "!" on the field name marks it required)
# | ("default", value, type) for a defaulted scalar | ("nullable", type)
# "time" is a metav1.Time (nullable, §2.3), "timeptr" a *metav1.Time (absent when unset).


def req(fields):
    return {k.rstrip("!"): v for k, v in fields.items()}, [k.rstrip("!") for k in fields if k.endswith("!")]


def schema(t):
    if isinstance(t, tuple) and t[0] == "nullable":
        s = schema(t[1])
        s["nullable"] = True
        return s
    if isinstance(t, tuple) and t[0] == "default":
        s = schema(t[2])
        s["default"] = t[1]
        return s
    if isinstance(t, list):
        return {"type": "array", "items": schema(t[0])}
    if isinstance(t, dict):
        props, required = req(t)
        s = {"type": "object", "properties": {k: schema(v) for k, v in sorted(props.items())}}
        if required:
            s["required"] = sorted(required)
        return s
    if t.startswith("map:"):
        return {"type": "object", "additionalProperties": schema(t[4:])}
    return {
        "string": {"type": "string"},
        "integer": {"type": "integer"},
        "int32": {"type": "integer", "format": "int32"},
        "int64": {"type": "integer", "format": "int64"},
        "number": {"type": "number"},
        "boolean": {"type": "boolean"},
        "int-or-string": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                          "x-kubernetes-int-or-string": True},
        "quantity": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                     "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
                     "x-kubernetes-int-or-string": True},
        "time": {"type": "string", "format": "date-time", "nullable": True},
        "timeptr": {"type": "string", "format": "date-time"},
        "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }[t]


# ---- Kubernetes core/v1 types used by the templates ---------------------------------------
LOCAL_REF = {"name": "string"}
KEY_TO_PATH = [{"key!": "string", "mode": "int32", "path!": "string"}]
FIELD_SELECTOR = {"apiVersion": "string", "fieldPath!": "string"}
RESOURCE_SELECTOR = {"containerName": "string", "divisor": "quantity", "resource!": "string"}
DOWNWARD_FILES = [{"fieldRef": FIELD_SELECTOR, "mode": "int32", "path!": "string",
                   "resourceFieldRef": RESOURCE_SELECTOR}]
LABEL_SELECTOR = {"matchExpressions": [{"key!": "string", "operator!": "string",
                                        "values": ["string"]}],
                  "matchLabels": "map:string"}
RESOURCES = {"claims": [{"name!": "string"}], "limits": "map:quantity",
             "requests": "map:quantity"}
PVC_SPEC = {
    "accessModes": ["string"],
    "dataSource": {"apiGroup": "string", "kind!": "string", "name!": "string"},
    "dataSourceRef": {"apiGroup": "string", "kind!": "string", "name!": "string",
                      "namespace": "string"},
    "resources": RESOURCES,
    "selector": LABEL_SELECTOR,
    "storageClassName": "string",
    "volumeAttributesClassName": "string",
    "volumeMode": "string",
    "volumeName": "string",
}
VOLUME = {
    "name!": "string",
    "awsElasticBlockStore": {"fsType": "string", "partition": "int32", "readOnly": "boolean",
                             "volumeID!": "string"},
    "azureDisk": {"cachingMode": "string", "diskName!": "string", "diskURI!": "string",
                  "fsType": "string", "kind": "string", "readOnly": "boolean"},
    "azureFile": {"readOnly": "boolean", "secretName!": "string", "shareName!": "string"},
    "cephfs": {"monitors!": ["string"], "path": "string", "readOnly": "boolean",
               "secretFile": "string", "secretRef": LOCAL_REF, "user": "string"},
    "cinder": {"fsType": "string", "readOnly": "boolean", "secretRef": LOCAL_REF,
               "volumeID!": "string"},
    "configMap": {"defaultMode": "int32", "items": KEY_TO_PATH, "name": "string",
                  "optional": "boolean"},
    "csi": {"driver!": "string", "fsType": "string", "nodePublishSecretRef": LOCAL_REF,
            "readOnly": "boolean", "volumeAttributes": "map:string"},
    "downwardAPI": {"defaultMode": "int32", "items": DOWNWARD_FILES},
    "emptyDir": {"medium": "string", "sizeLimit": "quantity"},
    "ephemeral": {"volumeClaimTemplate": {"metadata": "object", "spec!": PVC_SPEC}},
    "fc": {"fsType": "string", "lun": "int32", "readOnly": "boolean", "targetWWNs": ["string"],
           "wwids": ["string"]},
    "flexVolume": {"driver!": "string", "fsType": "string", "options": "map:string",
                   "readOnly": "boolean", "secretRef": LOCAL_REF},
    "flocker": {"datasetName": "string", "datasetUUID": "string"},
    "gcePersistentDisk": {"fsType": "string", "partition": "int32", "pdName!": "string",
                          "readOnly": "boolean"},
    "gitRepo": {"directory": "string", "repository!": "string", "revision": "string"},
    "glusterfs": {"endpoints!": "string", "path!": "string", "readOnly": "boolean"},
    "hostPath": {"path!": "string", "type": "string"},
    "image": {"pullPolicy": "string", "reference": "string"},
    "iscsi": {"chapAuthDiscovery": "boolean", "chapAuthSession": "boolean", "fsType": "string",
              "initiatorName": "string", "iqn!": "string", "iscsiInterface": "string",
              "lun!": "int32", "portals": ["string"], "readOnly": "boolean",
              "secretRef": LOCAL_REF, "targetPortal!": "string"},
    "nfs": {"path!": "string", "readOnly": "boolean", "server!": "string"},
    "persistentVolumeClaim": {"claimName!": "string", "readOnly": "boolean"},
    "photonPersistentDisk": {"fsType": "string", "pdID!": "string"},
    "portworxVolume": {"fsType": "string", "readOnly": "boolean", "volumeID!": "string"},
    "projected": {"defaultMode": "int32", "sources": [{
        "clusterTrustBundle": {"labelSelector": LABEL_SELECTOR, "name": "string",
                               "optional": "boolean", "path!": "string",
                               "signerName": "string"},
        "configMap": {"items": KEY_TO_PATH, "name": "string", "optional": "boolean"},
        "downwardAPI": {"items": DOWNWARD_FILES},
        "secret": {"items": KEY_TO_PATH, "name": "string", "optional": "boolean"},
        "serviceAccountToken": {"audience": "string", "expirationSeconds": "int64",
                                "path!": "string"},
    }]},
    "quobyte": {"group": "string", "readOnly": "boolean", "registry!": "string",
                "tenant": "string", "user": "string", "volume!": "string"},
    "rbd": {"fsType": "string", "image!": "string", "keyring": "string",
            "monitors!": ["string"], "pool": "string", "readOnly": "boolean",
            "secretRef": LOCAL_REF, "user": "string"},
    "scaleIO": {"fsType": "string", "gateway!": "string", "protectionDomain": "string",
                "readOnly": "boolean", "secretRef!": LOCAL_REF, "sslEnabled": "boolean",
                "storageMode": "string", "storagePool": "string", "system!": "string",
                "volumeName": "string"},
    "secret": {"defaultMode": "int32", "items": KEY_TO_PATH, "optional": "boolean",
               "secretName": "string"},
    "storageos": {"fsType": "string", "readOnly": "boolean", "secretRef": LOCAL_REF,
                  "volumeName": "string", "volumeNamespace": "string"},
    "vsphereVolume": {"fsType": "string", "storagePolicyID": "string",
                      "storagePolicyName": "string", "volumePath!": "string"},
}
VOLUME_MOUNT = {"mountPath!": "string", "mountPropagation": "string", "name!": "string",
                "readOnly": "boolean", "recursiveReadOnly": "string", "subPath": "string",
                "subPathExpr": "string"}
KEY_SELECTOR = {"key!": "string", "name": "string", "optional": "boolean"}
ENV_VAR = {"name!": "string", "value": "string",
           "valueFrom": {"configMapKeyRef": KEY_SELECTOR, "fieldRef": FIELD_SELECTOR,
                         "resourceFieldRef": RESOURCE_SELECTOR, "secretKeyRef": KEY_SELECTOR}}
TOLERATION = {"effect": "string", "key": "string", "operator": "string",
              "tolerationSeconds": "int64", "value": "string"}

# ---- pingcap.com storage providers and BR config (§3.4, §3.5) -----------------------------
S3 = {"acl": "string", "bucket": "string", "endpoint": "string", "forcePathStyle": "boolean",
      "options": ["string"], "path": "string", "prefix": "string", "provider!": "string",
      "region": "string", "secretName": "string", "sse": "string", "storageClass": "string"}
GCS = {"bucket": "string", "bucketAcl": "string", "location": "string", "objectAcl": "string",
       "path": "string", "prefix": "string", "projectId!": "string", "secretName": "string",
       "storageClass": "string"}
AZBLOB = {"accessTier": "string", "container": "string", "path": "string", "prefix": "string",
          "sasToken": "string", "secretName": "string", "storageAccount": "string"}
LOCAL = {"prefix": "string", "volume!": VOLUME, "volumeMount!": VOLUME_MOUNT}
STORAGE = {"s3": S3, "gcs": GCS, "azblob": AZBLOB, "local": LOCAL}
BR = {"checkRequirements": "boolean", "concurrency": "int32", "options": ["string"],
      "sendCredToTikv": "boolean"}
POD_SETTINGS = {
    "additionalVolumeMounts": [VOLUME_MOUNT],
    "additionalVolumes": [VOLUME],
    "automountServiceAccountToken": "boolean",
    "br": BR,
    "env": [ENV_VAR],
    "imagePullSecrets": [LOCAL_REF],
    "priorityClassName": "string",
    "resources": RESOURCES,
    "serviceAccount": "string",
    "tolerations": [TOLERATION],
    "toolImage": "string",
}
CONDITION = {"lastTransitionTime": "time", "message": "string", "reason": "string",
             "status!": "string", "type!": "string"}

# ---- federation.pingcap.com/v1alpha1 ----------------------------------------------------------
BACKUP_TEMPLATE = dict(POD_SETTINGS, **STORAGE, **{
    "calcSizeLevel": ("default", "all", "string"),
    "cleanPolicy": "string",
    "snapshotsDeleteRatio": ("default", 1, "number"),
    "volumeBackupInitJobMaxActiveSeconds": ("default", 600, "integer"),
})
BACKUP_SPEC = {
    "clusters": [{"k8sClusterName": "string", "tcName": "string", "tcNamespace": "string"}],
    "template": BACKUP_TEMPLATE,
}
BACKUP_STATUS = {
    "backupSize": "int64",
    "backupSizeReadable": "string",
    "backups": [{"backupName!": "string", "backupPath": "string", "backupSize": "int64",
                 "commitTs": "string", "k8sClusterName": "string", "message": "string",
                 "phase!": "string", "reason": "string", "tcName": "string",
                 "tcNamespace": "string"}],
    "commitTs": "string",
    "conditions": ("nullable", [CONDITION]),
    "phase": "string",
    "timeCompleted": "time",
    "timeStarted": "time",
    "timeTaken": "string",
}
RESTORE_SPEC = {
    "clusters": [{"azName": "string", "backup": STORAGE, "k8sClusterName": "string",
                  "tcName": "string", "tcNamespace": "string"}],
    "template": dict(POD_SETTINGS, **{
        "warmup": "string",
        "warmupImage": "string",
        "warmupStrategy": ("default", "hybrid", "string"),
    }),
}
RESTORE_STATUS = {
    "commitTs": "string",
    "conditions": ("nullable", [CONDITION]),
    "phase": "string",
    "restores": [{"commitTs": "string", "k8sClusterName": "string", "message": "string",
                  "phase!": "string", "reason": "string", "restoreName!": "string",
                  "tcName": "string", "tcNamespace": "string"}],
    "steps": [{"stepName!": "string", "timeCompleted": "time", "timeStarted": "time",
               "timeTaken": "string"}],
    "timeCompleted": "time",
    "timeStarted": "time",
    "timeTaken": "string",
}
SCHEDULE_SPEC = {
    "backupTemplate!": BACKUP_SPEC,
    "maxBackups": "int32",
    "maxReservedTime": "string",
    "pause": "boolean",
    "schedule!": "string",
}
SCHEDULE_STATUS = {"allBackupCleanTime": "timeptr", "lastBackup": "string",
                   "lastBackupTime": "timeptr"}


def col(name, path, typ="string", priority=0, description=None):
    c = {"name": name, "type": typ, "jsonPath": path}
    if priority:
        c["priority"] = priority
    if description:
        c["description"] = description
    return c


AGE = col("Age", ".metadata.creationTimestamp", "date")

KINDS = [
    {
        "kind": "VolumeBackup", "plural": "volumebackups", "short": "vbk",
        "doc": "A backup of one TiDB cluster's EBS volumes across several Kubernetes clusters.",
        "top": {"skipGC": ("default", False, "boolean")},
        "spec": BACKUP_SPEC, "status": BACKUP_STATUS,
        "columns": [
            col("Status", ".status.phase", description="Last condition written"),
            col("BackupSize", ".status.backupSizeReadable", description="Sum of the members' sizes"),
            col("CommitTS", ".status.commitTs", description="Smallest commit ts of the members"),
            col("TimeTaken", ".status.timeTaken", description="From Running to Complete or Failed"),
            AGE,
        ],
    },
    {
        "kind": "VolumeRestore", "plural": "volumerestores", "short": "vrt",
        "doc": "A restore of one TiDB cluster from a VolumeBackup across several Kubernetes clusters.",
        "top": {}, "spec": RESTORE_SPEC, "status": RESTORE_STATUS,
        "columns": [
            col("Status", ".status.phase", description="Last condition written"),
            col("CommitTS", ".status.commitTs", description="The ts the data was restored to"),
            col("TimeTaken", ".status.timeTaken", description="From Running to Complete or Failed"),
            AGE,
        ],
    },
    {
        "kind": "VolumeBackupSchedule", "plural": "volumebackupschedules", "short": "vbks",
        "doc": "Periodic VolumeBackups with retention.",
        "top": {}, "spec": SCHEDULE_SPEC, "status": SCHEDULE_STATUS,
        "columns": [
            col("Schedule", ".spec.schedule", description="Cron expression"),
            col("MaxBackups", ".spec.maxBackups", "integer", description="Backups kept at most"),
            col("MaxReservedTime", ".spec.maxReservedTime", description="Age after which backups are deleted"),
            col("LastBackup", ".status.lastBackup", priority=1, description="Last VolumeBackup created"),
            col("LastBackupTime", ".status.lastBackupTime", "date", priority=1,
                description="Scheduled time of the last VolumeBackup"),
            AGE,
        ],
    },
]


def crd(k):
    root = schema(dict({"apiVersion": "string", "kind": "string", "metadata!": "object",
                        "spec!": k["spec"], "status": k["status"]}, **k["top"]))
    root["description"] = k["doc"]
    root["properties"]["metadata"] = {"type": "object"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": k["plural"] + ".federation.pingcap.com",
                     "labels": {"app.kubernetes.io/part-of": "brfed"}},
        "spec": {
            "group": "federation.pingcap.com",
            "scope": "Namespaced",
            "names": {"kind": k["kind"], "listKind": k["kind"] + "List", "plural": k["plural"],
                      "singular": k["kind"].lower(), "shortNames": [k["short"]]},
            "versions": [{
                "name": "v1alpha1", "served": True, "storage": True,
                "subresources": {},
                "additionalPrinterColumns": k["columns"],
                "schema": {"openAPIV3Schema": root},
            }],
        },
    }


HEADER = ("# Generated by deploy/crds/gen_crds.py from brfed's own type descriptions; do not edit.\n"
          "# %s (%s): federation.pingcap.com/v1alpha1, no status subresource (status is\n"
          "# written with whole-object updates, FEDERATION_PROTOCOL.md §2.2).\n")


def render(k):
    return HEADER % (k["kind"], k["short"]) + "---\n" + yaml.safe_dump(
        crd(k), sort_keys=False, default_flow_style=False, width=100)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    check = "--check" in sys.argv[1:]
    stale = []
    for k in KINDS:
        path = os.path.join(here, "federation.pingcap.com_%s.yaml" % k["plural"])
        text = render(k)
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if check:
            stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit("out of date, run deploy/crds/gen_crds.py: " + ", ".join(stale))


if __name__ == "__main__":
    main()
