#!/usr/bin/env python3
"""Builds image layers and OCI image layouts by hand, including broken and hostile ones, for
Berth's image tests and benchmark. Real tools (umoci, podman, skopeo) build the well-formed
images; this builds what they refuse to.

  oci-builder.py tar OUT.tar SPEC.json          # SPEC: list of entries, see make_tar
  oci-builder.py layout OUTDIR CONFIG.json LAYER[:gzip|:zstd|:none|:gzip-truncated]... \
                 [--ref NAME] [--tamper digest|size|missing|diffid]
  oci-builder.py random-layer OUT.tar MIB [SEED]  # one file of MIB MiB of random bytes
"""
import gzip, hashlib, io, json, os, random, subprocess, sys, tarfile


def make_tar(out, entries, corrupt_first_header=False):
    """entries: [{"name", "type": file|dir|symlink|hardlink|char|block|fifo, "content", "mode",
    "uid", "gid", "mtime", "link", "major", "minor", "xattrs": {name: value}, "gnu": bool}]"""
    buffer = io.BytesIO()
    fmt = tarfile.PAX_FORMAT
    if any(e.get("gnu") for e in entries):
        fmt = tarfile.GNU_FORMAT
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            kind = e.get("type", "file")
            info.mode = e.get("mode", 0o755 if kind == "dir" else 0o644)
            info.uid = e.get("uid", 0)
            info.gid = e.get("gid", 0)
            info.mtime = e.get("mtime", 1700000000)
            data = None
            if kind == "file":
                data = e.get("content", "").encode()
                info.size = len(data)
            else:
                info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                             "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                info.linkname = e.get("link", "")
                info.devmajor = e.get("major", 0)
                info.devminor = e.get("minor", 0)
            if e.get("xattrs"):
                info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = bytearray(buffer.getvalue())
    if corrupt_first_header:
        raw[0] ^= 0x55
    with open(out, "wb") as f:
        f.write(raw)


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def make_layout(out, config, layers, ref=None, tamper=None):
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    diff_ids, descriptors = [], []
    for spec in layers:
        path, _, compression = spec.partition(":")
        compression = compression or "gzip"
        data = open(path, "rb").read()
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
        media = "application/vnd.oci.image.layer.v1.tar"
        if compression.startswith("gzip"):
            data = gzip.compress(data, compresslevel=1, mtime=0)
            media += "+gzip"
            if compression == "gzip-truncated":
                data = data[: len(data) // 2]
        elif compression == "zstd":
            data = subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout
            media += "+zstd"
        descriptor = blob(out, data)
        descriptor["mediaType"] = media
        descriptors.append(descriptor)
    if tamper == "diffid":
        diff_ids[-1] = "sha256:" + "0" * 64
    image_config = {"architecture": "amd64", "os": "linux", "config": config,
                    "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config_descriptor = blob(out, json.dumps(image_config).encode())
    config_descriptor["mediaType"] = "application/vnd.oci.image.config.v1+json"
    last = descriptors[-1]
    layer_path = os.path.join(out, "blobs", "sha256", last["digest"][7:])
    if tamper == "digest":
        data = bytearray(open(layer_path, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(layer_path, "wb").write(data)
    elif tamper == "size":
        last["size"] += 1
    elif tamper == "missing":
        os.unlink(layer_path)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_descriptor, "layers": descriptors}
    manifest_descriptor = blob(out, json.dumps(manifest).encode())
    manifest_descriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest_descriptor["platform"] = {"architecture": "amd64", "os": "linux"}
    if ref:
        manifest_descriptor["annotations"] = {"org.opencontainers.image.ref.name": ref}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest_descriptor]}, f)


def random_layer(out, mib, seed=0):
    rng = random.Random(seed)
    with tarfile.open(out, "w") as archive:
        info = tarfile.TarInfo("data/random-%d.bin" % seed)
        info.size = mib << 20
        info.mtime = 1700000000
        chunks = io.BytesIO(rng.randbytes(info.size))
        archive.addfile(info, chunks)


def main(argv):
    if argv[0] == "tar":
        spec = json.load(open(argv[2]))
        make_tar(argv[1], spec["entries"], spec.get("corruptFirstHeader", False))
    elif argv[0] == "layout":
        args, ref, tamper = list(argv[3:]), None, None
        if "--ref" in args:
            i = args.index("--ref"); ref = args[i + 1]; del args[i:i + 2]
        if "--tamper" in args:
            i = args.index("--tamper"); tamper = args[i + 1]; del args[i:i + 2]
        make_layout(argv[1], json.load(open(argv[2])), args, ref, tamper)
    elif argv[0] == "random-layer":
        random_layer(argv[1], int(argv[2]), int(argv[3]) if len(argv) > 3 else 0)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
