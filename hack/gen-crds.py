#!/usr/bin/env python3
"""Writes vmimage's stand-in CRDs for VM Operator's kinds into manifests/crds/.

They are for the demo, the benchmarks and users without VM Operator's own CRDs. Every
field vmimage reads or writes is typed as VM Operator types it (type, required, enum,
default, pattern, int-or-string), in every served version; the parts vmimage never
reads (most of a VirtualMachine) keep unknown fields. tests/tests/e2e/crd_parity.rs
shows that these and VM Operator's CRDs accept and refuse the same fixture objects.

Usage: python3 hack/gen-crds.py   (or `make vmop-crds`); needs PyYAML.
The VMImagePolicy CRD is not written here: it is generated from its Rust type
(`make crds`).
"""

import copy
import pathlib
import sys

import yaml

OUT = pathlib.Path(__file__).resolve().parent.parent / "manifests" / "crds"
VERSIONS = ["v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4", "v1alpha5", "v1alpha6"]
VMOP = "vmoperator.vmware.com"
REGISTRY = "imageregistry.vmware.com"

# --- building blocks ---------------------------------------------------------------


def string(**kw):
    return {"type": "string", **kw}


def boolean(**kw):
    return {"type": "boolean", **kw}


def int32(**kw):
    return {"type": "integer", "format": "int32", **kw}


def int64(**kw):
    return {"type": "integer", "format": "int64", **kw}


def time(**kw):
    return string(format="date-time", **kw)


def obj(properties, required=None, **kw):
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = sorted(required)
    out.update(kw)
    return out


def array(items, **kw):
    return {"type": "array", "items": items, **kw}


def opaque():
    """An object vmimage never reads: any content is kept."""
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def opaque_list(**kw):
    return array(opaque(), **kw)


def keyed_list(key, key_schema, **kw):
    """A list vmimage never reads whose entries are merged by `key` (server-side apply)."""
    item = opaque()
    item["properties"] = {key: key_schema}
    item["required"] = [key]
    return array(item, **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key]}, **kw)


# Kubernetes' resource.Quantity: an integer or a string such as "10Gi".
QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    "x-kubernetes-int-or-string": True,
}


def quantity():
    return copy.deepcopy(QUANTITY)


def metav1_condition():
    """metav1.Condition, as every v1alpha2+ kind uses it: reason and message required."""
    return obj(
        {
            "type": string(
                maxLength=316,
                pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            ),
            "status": string(enum=["True", "False", "Unknown"]),
            "observedGeneration": int64(minimum=0),
            "lastTransitionTime": time(),
            "reason": string(maxLength=1024, minLength=1, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
            "message": string(maxLength=32768),
        },
        required=["type", "status", "lastTransitionTime", "reason", "message"],
    )


def metav1_conditions(list_map=False):
    out = array(metav1_condition())
    if list_map:
        out["x-kubernetes-list-type"] = "map"
        out["x-kubernetes-list-map-keys"] = ["type"]
    return out


def v1alpha1_conditions():
    """VM Operator's own v1alpha1 condition: severity, no required reason or message."""
    return array(
        obj(
            {
                "type": string(),
                "status": string(),
                "severity": string(),
                "lastTransitionTime": time(),
                "reason": string(),
                "message": string(),
            },
            required=["type", "status", "lastTransitionTime"],
        )
    )


def column(name, json_path, type_="string", priority=None):
    out = {"name": name, "type": type_, "jsonPath": json_path}
    if priority is not None:
        out["priority"] = priority
    return out


def version(name, storage, spec, status, columns, deprecated=False):
    out = {"name": name, "served": True, "storage": storage}
    if deprecated:
        out["deprecated"] = True
    out["schema"] = {
        "openAPIV3Schema": obj(
            {
                "apiVersion": string(),
                "kind": string(),
                "metadata": {"type": "object"},
                "spec": spec,
                "status": status,
            }
        )
    }
    out["subresources"] = {"status": {}}
    if columns:
        out["additionalPrinterColumns"] = columns
    return out


def crd(group, kind, plural, short_names, namespaced, versions):
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
            },
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": versions,
        },
    }


# --- images ------------------------------------------------------------------------


def image_version(v, namespaced):
    if v == "v1alpha1":
        spec = obj(
            {
                "type": string(),
                "imageSourceType": string(),
                "imageID": string(),
                "hwVersion": int32(),
                "providerRef": obj(
                    {"apiVersion": string(), "kind": string(), "name": string(), "namespace": string()},
                    required=["kind", "name"],
                ),
                "productInfo": obj(
                    {"product": string(), "vendor": string(), "version": string(), "fullVersion": string()}
                ),
                "osInfo": obj({"type": string(), "version": string()}),
                "ovfEnv": {
                    "type": "object",
                    "additionalProperties": obj(
                        {"key": string(), "type": string(), "default": string(), "label": string(), "description": string()},
                        required=["key", "type"],
                    ),
                },
            },
            required=["imageID", "providerRef", "type"],
        )
        status = obj(
            {
                "imageName": string(),
                "imageSupported": boolean(),
                "conditions": v1alpha1_conditions(),
                "contentLibraryRef": obj(
                    {"apiGroup": string(), "kind": string(), "name": string()},
                    required=["kind", "name"],
                    **{"x-kubernetes-map-type": "atomic"},
                ),
                "contentVersion": string(),
                "firmware": string(),
                "internalId": string(),
                "powerState": string(),
                "uuid": string(),
            }
        )
        columns = [
            column("Display-Name", ".status.imageName"),
            column("Version", ".spec.productInfo.version"),
            column("Os-Type", ".spec.osInfo.type"),
            column("Format", ".spec.type"),
            column("Image-Supported", ".status.imageSupported", "boolean", priority=1),
            column("Age", ".metadata.creationTimestamp", "date"),
        ]
        return version(v, False, spec, status, columns, deprecated=True)

    spec = obj(
        {"providerRef": obj({"apiVersion": string(), "kind": string(), "name": string()}, required=["apiVersion", "kind", "name"])}
    )
    props = {
        "name": string(),
        "conditions": metav1_conditions(list_map=True),
        "capabilities": array(string(), **{"x-kubernetes-list-type": "set"}),
        "firmware": string(),
        "hardwareVersion": int32(),
        "osInfo": obj({"id": string(), "type": string(), "version": string()}),
        "productInfo": obj({"product": string(), "vendor": string(), "version": string(), "fullVersion": string()}),
        "ovfProperties": array(obj({"key": string(), "type": string(), "default": string()}, required=["key", "type"])),
        "vmwareSystemProperties": array(obj({"key": string(), "value": string()}, required=["key"])),
        "providerContentVersion": string(),
        "providerItemID": string(),
    }
    columns = [column("Display Name", ".status.name")]
    if v >= "v1alpha3":
        props["type"] = string()
        columns.append(column("Type", ".status.type"))
        if v in ("v1alpha3", "v1alpha4"):
            props["disks"] = array(obj({"capacity": quantity(), "size": quantity()}))
        else:
            props["disks"] = array(
                obj(
                    {
                        "name": string(),
                        "requested": quantity(),
                        "limit": quantity(),
                        "controllerType": string(enum=["IDE", "NVME", "SCSI", "SATA"]),
                        "controllerBusNumber": int32(),
                        "unitNumber": int32(),
                    },
                    required=["name"],
                ),
                **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
            )
    columns += [
        column("Image Version", ".status.productInfo.version"),
        column("OS Name", ".status.osInfo.type"),
        column("OS Version", ".status.osInfo.version"),
        column("Hardware Version", ".status.hardwareVersion"),
    ]
    if namespaced:
        columns.append(column("Capabilities", ".status.capabilities"))
    return version(v, v == "v1alpha6", spec, obj(props), columns)


# --- virtual machines --------------------------------------------------------------

MODES_V1A1 = ["hard", "soft", "trySoft"]
MODES = ["Hard", "Soft", "TrySoft"]


def image_ref():
    return obj({"kind": string(), "name": string()}, required=["kind", "name"])


def cdroms(v):
    item = {
        "name": string(pattern="^[a-z0-9]{2,}$"),
        "image": image_ref(),
        "connected": boolean(default=True),
        "allowGuestControl": boolean(default=True),
    }
    if v >= "v1alpha5":
        item["controllerType"] = string(enum=["IDE", "NVME", "SCSI", "SATA"])
        item["controllerBusNumber"] = int32()
        item["unitNumber"] = int32()
    return array(
        obj(item, required=["name", "image"]),
        **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


def vm_version(v):
    if v == "v1alpha1":
        props = {
            "imageName": string(),
            "className": string(),
            "storageClass": string(),
            "resourcePolicyName": string(),
            "minHardwareVersion": int32(minimum=13),
            "nextRestartTime": string(),
            "powerState": string(enum=["poweredOn", "poweredOff", "suspended"]),
            "powerOffMode": string(enum=MODES_V1A1, default="hard"),
            "restartMode": string(enum=MODES_V1A1, default="hard"),
            "suspendMode": string(enum=MODES_V1A1, default="hard"),
            "advancedOptions": opaque(),
            "readinessProbe": opaque(),
            "vmMetadata": opaque(),
            "networkInterfaces": opaque_list(maxItems=10),
            "ports": opaque_list(),
            "volumes": opaque_list(),
        }
        spec = obj(props, required=["className", "imageName"])
        columns = [
            column("Power-State", ".status.powerState"),
            column("Class", ".spec.className", priority=1),
            column("Image", ".spec.imageName", priority=1),
            column("Primary-IP", ".status.vmIp", priority=1),
            column("Age", ".metadata.creationTimestamp", "date"),
        ]
        return version(v, False, spec, opaque(), columns, deprecated=True)

    props = {
        "imageName": string(),
        "className": string(),
        "storageClass": string(),
        "groupName": string(),
        "minHardwareVersion": int32(minimum=13),
        "nextRestartTime": string(),
        "powerState": string(enum=["PoweredOff", "PoweredOn", "Suspended"]),
        "powerOffMode": string(enum=MODES, default="TrySoft"),
        "restartMode": string(enum=MODES, default="TrySoft"),
        "suspendMode": string(enum=MODES, default="TrySoft"),
        "advanced": opaque(),
        "affinity": opaque(),
        "bootstrap": opaque(),
        "crypto": opaque(),
        "network": opaque(),
        "readinessProbe": opaque(),
        "reserved": opaque(),
        "volumes": keyed_list("name", string()),
    }
    if v >= "v1alpha3":
        props["image"] = image_ref()
        props["biosUUID"] = string(format="uuid")
        props["instanceUUID"] = string(format="uuid")
        props["guestID"] = string()
    if v in ("v1alpha3", "v1alpha4"):
        props["cdrom"] = cdroms(v)
    if v >= "v1alpha4":
        props["promoteDisksMode"] = string(enum=["Online", "Offline", "Disabled"], default="Online")
    if v >= "v1alpha5":
        props["hardware"] = obj(
            {
                "cdrom": cdroms(v),
                "ideControllers": keyed_list("busNumber", int32(minimum=0, maximum=1), maxItems=2),
                "nvmeControllers": keyed_list("busNumber", int32(minimum=0, maximum=3), maxItems=4),
                "sataControllers": keyed_list("busNumber", int32(minimum=0, maximum=3), maxItems=4),
                "scsiControllers": keyed_list("busNumber", int32(minimum=0, maximum=3), maxItems=4),
            }
        )
        props["bootOptions"] = opaque()
        props["class"] = opaque()
        props["currentSnapshotName"] = string()
        props["policies"] = opaque_list()
    if v >= "v1alpha6":
        props["cpuAdvanced"] = opaque()
        props["memoryAdvanced"] = opaque()
        props["resources"] = opaque()
        props["volumeAttributesClassName"] = string()
    columns = [
        column("Power-State", ".status.powerState"),
        column("Class", ".spec.className", priority=1),
        column("Image", ".spec.imageName" if v == "v1alpha2" else ".spec.image.name", priority=1),
        column("Primary-IP4", ".status.network.primaryIP4", priority=1),
        column("Age", ".metadata.creationTimestamp", "date"),
    ]
    return version(v, v == "v1alpha6", obj(props), opaque(), columns)


# --- publish requests --------------------------------------------------------------


def publish_refs():
    source = obj(
        {
            "apiVersion": string(default=f"{VMOP}/v1alpha1"),
            "kind": string(default="VirtualMachine"),
            "name": string(),
        }
    )
    target = obj(
        {
            "item": obj({"name": string(), "description": string()}),
            "location": obj(
                {
                    "apiVersion": string(default=f"{REGISTRY}/v1alpha1"),
                    "kind": string(default="ContentLibrary"),
                    "name": string(),
                }
            ),
        }
    )
    return source, target


def publish_version(v):
    source, target = publish_refs()
    spec = {"source": source, "target": target, "ttlSecondsAfterFinished": int64(minimum=0)}
    if v >= "v1alpha5":
        spec["backoffLimit"] = int64(minimum=0, default=3)
    status = obj(
        {
            "sourceRef": copy.deepcopy(source),
            "targetRef": copy.deepcopy(target),
            "imageName": string(),
            "ready": boolean(),
            "attempts": int64(),
            "startTime": time(),
            "lastAttemptTime": time(),
            "completionTime": time(),
            "conditions": v1alpha1_conditions() if v == "v1alpha1" else metav1_conditions(),
        }
    )
    return version(v, v == "v1alpha6", obj(spec), status, [], deprecated=v == "v1alpha1")


# --- content libraries and their items ---------------------------------------------


def library_status(v):
    if v == "v1alpha1":
        return obj(
            {
                "name": string(),
                "description": string(),
                "type": string(enum=["Local", "Subscribed"]),
                "conditions": v1alpha1_conditions(),
                "creationTime": time(),
                "lastModifiedTime": time(),
                "lastSyncTime": time(),
                "publishInfo": obj({"URL": string(), "published": boolean()}, required=["URL", "published"]),
                "subscriptionInfo": obj(
                    {"URL": string(), "automaticSync": boolean(), "onDemand": boolean()},
                    required=["URL", "automaticSync", "onDemand"],
                ),
                "securityPolicyID": string(),
                "serverGUID": string(),
                "state": string(enum=["Active", "InMaintenance"]),
                "storageBacking": obj(
                    {"datastoreID": string(), "type": string(enum=["Datastore", "Other"])}, required=["type"]
                ),
                "version": string(),
            }
        )
    return obj(
        {
            "name": string(),
            "description": string(),
            "conditions": metav1_conditions(),
            "creationTime": time(),
            "lastModifiedTime": time(),
            "lastSyncTime": time(),
            "publishInfo": obj({"url": string(), "published": boolean()}, required=["url", "published"]),
            "subscriptionInfo": obj(
                {"url": string(), "automaticSync": boolean(), "onDemand": boolean()},
                required=["url", "automaticSync", "onDemand"],
            ),
            "securityPolicyID": string(),
            "serverGUID": string(),
            "state": string(enum=["Active", "InMaintenance"]),
            "storageBacking": array(
                obj({"datastoreID": string(), "type": string(enum=["Datastore", "Other"])}, required=["type"])
            ),
            "version": string(),
        }
    )


def library_version(v, namespaced):
    if v == "v1alpha1":
        props = {
            "uuid": string(),
            "resourceNamingStrategy": string(enum=["FROM_ITEM_ID", "PREFER_ITEM_SOURCE_ID"], default="FROM_ITEM_ID"),
        }
        required = ["uuid"]
        columns = [column("vSphereName", ".status.name"), column("Type", ".status.type")]
        if namespaced:
            props["writable"] = boolean()
            props["allowImport"] = boolean(default=False)
            required.append("writable")
            columns += [
                column("Writable", ".spec.writable", "boolean"),
                column("AllowImport", ".spec.allowImport", "boolean"),
            ]
        columns += [
            column("StorageType", ".status.storageBacking.type"),
            column("Age", ".metadata.creationTimestamp", "date"),
        ]
    else:
        props = {
            "id": string(),
            "libraryType": string(enum=["ContentLibrary", "Inventory"], default="ContentLibrary"),
            "resourceNamingStrategy": string(enum=["FromItemID", "PreferItemSourceID"], default="FromItemID"),
        }
        required = ["id"]
        columns = [column("DisplayName", ".status.name")]
        if namespaced:
            props["allowPublish"] = boolean()
            props["allowImport"] = boolean()
            props["allowDelete"] = boolean()
            props["storageClass"] = string()
            columns += [
                column("AllowPublish", ".spec.allowPublish", "boolean"),
                column("AllowImport", ".spec.allowImport", "boolean"),
            ]
        columns.append(column("Age", ".metadata.creationTimestamp", "date"))
    return version(v, v == "v1alpha2", obj(props, required=required), library_status(v), columns)


CERT_STATES = {
    "v1alpha1": ["NOT_AVAILABLE", "VERIFIED", "INTERNAL", "VERIFICATION_FAILURE", "VERIFICATION_IN_PROGRESS", "UNTRUSTED"],
    "v1alpha2": ["NotAvailable", "Verified", "Internal", "VerificationFailure", "VerificationInProgress", "Untrusted"],
}


def item_version(v, namespaced):
    file_info_required = ["cached", "name", "sizeInBytes", "version"] if v == "v1alpha1" else ["name"]
    status = {
        "name": string(),
        "description": string(),
        "type": string(enum=["OVF", "ISO"] if v == "v1alpha1" else ["OVF", "ISO", "VM"]),
        "cached": boolean(default=False) if v == "v1alpha1" else boolean(),
        "securityCompliance": boolean(),
        "sizeInBytes": quantity(),
        "contentVersion": string(),
        "sourceID": string(),
        "creationTime": time(),
        "lastModifiedTime": time(),
        "lastSyncTime": time(),
        "certificateVerificationInfo": obj(
            {"certChain": array(string()), "status": string(enum=CERT_STATES[v])}
        ),
        "fileInfo": array(
            obj(
                {
                    "name": string(),
                    "cached": boolean(default=False) if v == "v1alpha1" else boolean(),
                    "sizeInBytes": quantity(),
                    "storageURI": string(),
                    "version": string(),
                },
                required=file_info_required,
            )
        ),
        "conditions": v1alpha1_conditions() if v == "v1alpha1" else metav1_conditions(),
    }
    ready = ".status.conditions[?(.type=='Ready')].status"
    if v == "v1alpha1":
        status["metadataVersion"] = string()
        status["contentLibraryRef"] = obj({"kind": string(), "name": string()}, required=["name"])
        spec = obj({"uuid": string()}, required=["uuid"])
        ref = "ContentLibraryRef" if namespaced else "ClusterContentLibraryRef"
        columns = [
            column("vSphereName", ".status.name"),
            column(ref, ".status.contentLibraryRef.name"),
            column("Type", ".status.type"),
        ]
        size = "SizeInBytes"
    else:
        status["version"] = string()
        spec = obj({"id": string(), "libraryName": string()}, required=["id", "libraryName"])
        columns = [
            column("Type", ".status.type"),
            column("DisplayName", ".status.name"),
            # NB: VM Operator's cluster kind points this column at status, where the field is not.
            column("LibraryName", ".spec.libraryName" if namespaced else ".status.libraryName"),
        ]
        size = "Size"
    columns += [
        column("Ready", ready),
        column("Cached", ".status.cached", "boolean"),
        column(size, ".status.sizeInBytes"),
        column("SecurityCompliant", ".status.securityCompliance", "boolean"),
        column("Age", ".metadata.creationTimestamp", "date"),
    ]
    return version(v, v == "v1alpha2", spec, obj(status), columns)


# --- output ------------------------------------------------------------------------

HEADER = """\
# vmimage's stand-in for VM Operator's {kind} CRD, for the demo, the benchmarks and
# clusters without VM Operator. Faithful in every field vmimage reads or writes, in every
# served version; generated by hack/gen-crds.py, do not edit. Supervisor clusters run
# VM Operator's own CRD instead.
"""


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True  # spell every schema out: readers should not chase anchors


def _str(dumper, value):
    style = "'" if value in ("True", "False") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)


def write(doc):
    spec = doc["spec"]
    name = f"{spec['group']}_{spec['names']['plural']}.yaml"
    text = HEADER.format(kind=spec["names"]["kind"]) + yaml.dump(
        doc, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=1000
    )
    (OUT / name).write_text(text)
    return name


def main():
    docs = [
        crd(VMOP, "VirtualMachine", "virtualmachines", ["vm"], True, [vm_version(v) for v in VERSIONS]),
        crd(VMOP, "VirtualMachineImage", "virtualmachineimages", ["vmi", "vmimage"], True,
            [image_version(v, True) for v in VERSIONS]),
        crd(VMOP, "ClusterVirtualMachineImage", "clustervirtualmachineimages",
            ["cvmi", "cvmimage", "clustervmi", "clustervmimage"], False, [image_version(v, False) for v in VERSIONS]),
        crd(VMOP, "VirtualMachinePublishRequest", "virtualmachinepublishrequests", ["vmpub"], True,
            [publish_version(v) for v in VERSIONS]),
        crd(REGISTRY, "ContentLibrary", "contentlibraries", ["lib", "library"], True,
            [library_version(v, True) for v in VERSIONS[:2]]),
        crd(REGISTRY, "ClusterContentLibrary", "clustercontentlibraries", ["clib", "clibrary"], False,
            [library_version(v, False) for v in VERSIONS[:2]]),
        crd(REGISTRY, "ContentLibraryItem", "contentlibraryitems", ["libitem"], True,
            [item_version(v, True) for v in VERSIONS[:2]]),
        crd(REGISTRY, "ClusterContentLibraryItem", "clustercontentlibraryitems", ["clibitem"], False,
            [item_version(v, False) for v in VERSIONS[:2]]),
    ]
    for doc in docs:
        print(f"wrote manifests/crds/{write(doc)}", file=sys.stderr)


if __name__ == "__main__":
    main()
