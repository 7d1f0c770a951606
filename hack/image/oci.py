#!/usr/bin/env python3
"""Writes a single-layer image archive from local files, without a registry or a daemon.

The archive is an OCI image layout that also carries Docker's manifest.json (the layout
`docker save` writes since Docker 25), so `ctr images import`, `docker load` and
`podman load` all take it. Byte-for-byte reproducible: sorted entries, owner 0, a fixed
time, an uncompressed layer.

  oci.py --name ghcr.io/vmimage/vmimage-webhook:0.1.0 --out image.tar \\
         --file target/.../vmimage-webhook:/vmimage-webhook --entrypoint /vmimage-webhook \\
         --user 65532:65532 --expose 8443 --expose 8080
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tarfile

EPOCH = 0  # 1970-01-01: no build time leaks into the digest


def tar_bytes(entries):
    """entries: [(archive path, bytes, mode)] -> an uncompressed tar, sorted by path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, EPOCH
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def split_ref(ref):
    """'host/repo:tag' -> tag; a reference with no tag is refused (containerd needs one)."""
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last or "@" in ref:
        sys.exit(f"oci.py: --name {ref!r} needs a tag, e.g. {ref}:1.0 (digests are not supported)")
    return last.split(":", 1)[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="image reference with a tag")
    p.add_argument("--out", required=True, help="archive to write")
    p.add_argument("--file", action="append", default=[], metavar="SRC:DEST", help="a file to put in the image (mode kept)")
    p.add_argument("--entrypoint", action="append", default=[], help="entrypoint words, in order")
    p.add_argument("--user", default="", help="uid:gid the container runs as")
    p.add_argument("--expose", action="append", default=[], help="a TCP port (documentation, as EXPOSE)")
    p.add_argument("--arch", default="amd64")
    a = p.parse_args()

    tag = split_ref(a.name)
    if not a.file:
        sys.exit("oci.py: give at least one --file SRC:DEST")
    entries = []
    for spec in a.file:
        src, sep, dest = spec.partition(":")
        if not sep or not dest.startswith("/"):
            sys.exit(f"oci.py: --file {spec!r}: write SRC:/absolute/dest")
        try:
            with open(src, "rb") as f:
                data = f.read()
        except OSError as e:
            sys.exit(f"oci.py: --file {spec!r}: {e.strerror}: {src}")
        entries.append((dest.lstrip("/"), data, os.stat(src).st_mode & 0o777))

    layer = tar_bytes(entries)
    config = {
        "architecture": a.arch,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "User": a.user,
            "Entrypoint": a.entrypoint,
            "ExposedPorts": {f"{port}/tcp": {} for port in a.expose},
            "Env": ["PATH=/"],
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hack/image/oci.py"}],
    }
    config_b = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config_b), "size": len(config_b)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}],
    }
    manifest_b = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(manifest_b),
            "size": len(manifest_b),
            "platform": {"architecture": a.arch, "os": "linux"},
            "annotations": {"io.containerd.image.name": a.name, "org.opencontainers.image.ref.name": tag},
        }],
    }
    blob = lambda b: "blobs/sha256/" + digest(b).split(":", 1)[1]
    docker = [{"Config": blob(config_b), "RepoTags": [a.name], "Layers": [blob(layer)]}]
    files = [
        ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', 0o644),
        ("index.json", json.dumps(index, sort_keys=True).encode(), 0o644),
        ("manifest.json", json.dumps(docker).encode(), 0o644),
        (blob(config_b), config_b, 0o644),
        (blob(manifest_b), manifest_b, 0o644),
        (blob(layer), layer, 0o644),
    ]
    tmp = a.out + ".partial"
    with open(tmp, "wb") as f:
        f.write(tar_bytes(files))
    os.replace(tmp, a.out)  # no half-written archive under the real name
    print(f"{a.out}: {a.name} ({digest(manifest_b)}, layer {len(layer)} bytes)")


if __name__ == "__main__":
    main()
