import BerthLinux
import BerthOCI
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Berth's content-addressed image store. Each layer is unpacked once, keyed by the digest of
/// its uncompressed tar, and shared by every image that names it; `bundle` turns an image into
/// an OCI bundle whose rootfs is an overlay of those layers. The store is a plain directory
/// (default /var/lib/berth/images, which survives reboots): berthd and the `berth image`
/// commands open it in-process, and a file lock serialises writers between processes.
public struct ImageStore: Sendable {
    public static let defaultRoot = "/var/lib/berth/images"

    public let root: String
    let layout: StoreLayout

    public init(root: String = ImageStore.defaultRoot) {
        let trimmed = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.root = trimmed
        self.layout = StoreLayout(root: trimmed)
    }

    /// Imports an OCI image layout directory, an oci-archive or a docker-archive (optionally
    /// gzip or zstd compressed). `name` overrides the name the source gives; `reference` picks
    /// one image (ref.name or RepoTag) where the source holds several.
    @discardableResult
    public func `import`(path: String, name: String? = nil, reference: String? = nil) throws(ImageError) -> Image {
        try Importer(layout: layout).run(path: path, name: name, reference: reference)
    }

    /// Every image, by name.
    public func list() throws(ImageError) -> [Image] {
        guard FileSystem.isDirectory(layout.images) else { return [] }
        let names = try imageStep { () throws(SystemError) in try FileSystem.listDirectory(layout.images) }
        var images: [Image] = []
        for file in names where file.hasSuffix(".json") {
            images.append(try load(layout.images + "/" + file))
        }
        return images.sorted { $0.name < $1.name }
    }

    /// The image called `name` (`:latest` when no tag is given).
    public func inspect(_ name: String) throws(ImageError) -> Image {
        let normalized = try ImageName.normalize(name)
        let path = layout.image(normalized)
        guard FileSystem.exists(path) else { throw ImageError("no image named \"\(normalized)\" in \(root)") }
        return try load(path)
    }

    /// Forgets an image. Its layers stay until `prune` finds nothing else using them.
    public func remove(_ name: String) throws(ImageError) {
        let normalized = try ImageName.normalize(name)
        let lock = try layout.lock()
        defer { lock.unlock() }
        let path = layout.image(normalized)
        guard FileSystem.exists(path) else { throw ImageError("no image named \"\(normalized)\" in \(root)") }
        try imageStep { () throws(SystemError) in try sys("remove \(path)") { unlink(path) } }
    }

    /// Removes layers and blobs that no image and no container uses, and the scratch
    /// directories of bundles that were deleted without `teardown`. `keeping` names more
    /// layers to keep (berthd passes those of tasks it is about to start).
    @discardableResult
    public func prune(keeping: Set<Digest> = []) throws(ImageError) -> PruneReport {
        let lock = try layout.lock()
        defer { lock.unlock() }
        var report = PruneReport()
        var usedLayers = keeping
        var usedBlobs: Set<Digest> = []
        for image in try list() {
            usedLayers.formUnion(image.layers.map(\.diffID))
            usedBlobs.insert(image.id)
            if let manifest = image.manifest { usedBlobs.insert(manifest) }
        }
        for id in try imageStep({ () throws(SystemError) in try FileSystem.listDirectory(layout.containers) }) {
            let scratch = layout.container(id)
            guard let record = try? BundleRecord.load(scratch: scratch) else { continue }
            if FileSystem.exists(record.rootfs) {
                usedLayers.formUnion(record.layers)
            } else {
                // The bundle is gone and nothing can be mounted on a path that does not exist.
                try imageStep { () throws(SystemError) in try FileSystem.removeTree(scratch) }
                report.containers.append(id)
            }
        }
        for hex in try imageStep({ () throws(SystemError) in try FileSystem.listDirectory(layout.layers) }) {
            guard let digest = try? Digest(hex: hex), !usedLayers.contains(digest) else { continue }
            let size = (try? OCIJSON.load(Image.Layer.self, path: layout.layer(digest) + "/layer.json", source: "layer.json"))?.size ?? 0
            try imageStep { () throws(SystemError) in try FileSystem.removeTree(layout.layer(digest)) }
            report.layers.append(digest)
            report.bytes += size
        }
        for hex in try imageStep({ () throws(SystemError) in try FileSystem.listDirectory(layout.blobs) }) {
            guard let digest = try? Digest(hex: hex), !usedBlobs.contains(digest) else { continue }
            try imageStep { () throws(SystemError) in try sys("remove blob \(hex)") { unlink(layout.blob(digest)) } }
            report.blobs.append(digest)
        }
        return report
    }

    /// Makes an OCI bundle in `directory` (created if missing, must hold no config.json or
    /// rootfs yet): rootfs from the image's layers, config.json from its config. `command`
    /// replaces the image's Cmd, as `docker run IMAGE COMMAND` does.
    @discardableResult
    public func bundle(_ name: String, at directory: String, backend: RootfsBackend = .overlay, command: [String]? = nil) throws(ImageError) -> Bundle {
        try BundleMaker(store: self).make(image: inspect(name), directory: directory, backend: backend, command: command)
    }

    /// Undoes `bundle`: unmounts (or removes) the rootfs, removes the container's upper, work
    /// and volume directories, then config.json (and the directory, if that leaves it empty).
    /// `berth delete` releases the rootfs of a container created from the bundle the same way;
    /// this is for bundles no container took over.
    public static func teardown(bundle directory: String) throws(ImageError) {
        let spec = try decoding { () throws(OCIError) in try Spec.load(bundle: directory) }
        try BundleMaker.release(annotations: spec.annotations ?? [:])
        unlink(directory + "/config.json")
        rmdir(directory)
    }

    private func load(_ path: String) throws(ImageError) -> Image {
        try decoding { () throws(OCIError) in try OCIJSON.load(Image.self, path: path, source: path) }
    }
}
