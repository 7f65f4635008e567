import BerthOCI
import FoundationEssentials

/// What an import found in its source before any layer is unpacked: the chosen manifest, the
/// verified config, and where each layer's blob is.
struct ResolvedImage {
    struct Layer {
        var location: BlobLocation
        /// Digest and size the manifest promises for the blob (nil in a docker-archive, which
        /// names layers by path; their content is checked against the config's diff_ids).
        var blob: Descriptor?
        var diffID: Digest
    }

    var manifest: (digest: Digest, bytes: [UInt8])?
    var config: (digest: Digest, bytes: [UInt8])
    var configFile: ImageConfigFile
    var layers: [Layer]
    /// The name the source gives the image (ref.name annotation, RepoTags).
    var suggestedName: String?
}

/// Reads an OCI layout (directory or oci-archive) or a docker-archive and picks the image.
enum ImageResolver {
    static let platform = (os: "linux", architecture: "amd64")
    static let refAnnotation = "org.opencontainers.image.ref.name"

    static func resolve(_ source: BlobSource, reference: String?) throws(ImageError) -> ResolvedImage {
        if try source.locate("index.json") != nil {
            return try resolveOCI(source, reference: reference)
        }
        if let manifest = try source.locate("manifest.json") {
            return try resolveDocker(source, manifest: manifest, reference: reference)
        }
        throw ImageError("\(source.displayName): neither an OCI image layout (index.json) nor a docker-archive (manifest.json)")
    }

    // MARK: OCI image layout

    private struct Layout: Codable { var imageLayoutVersion: String }

    private static func resolveOCI(_ source: BlobSource, reference: String?) throws(ImageError) -> ResolvedImage {
        guard let layoutFile = try source.locate("oci-layout") else {
            throw ImageError("\(source.displayName): index.json without oci-layout: not an OCI image layout")
        }
        _ = try decode(Layout.self, try source.read(layoutFile, limit: 4096), "oci-layout")
        let index = try decode(ImageIndex.self, try source.read(try source.locate("index.json")!), "index.json")
        var candidates: [(descriptor: Descriptor, ref: String?)] = []
        try collect(index, from: source, ref: nil, depth: 0, into: &candidates)
        let matching = candidates.filter { candidate in
            guard let platform = candidate.descriptor.platform else { return true }
            return platform.os == Self.platform.os && platform.architecture == Self.platform.architecture
        }
        var chosen = matching
        if let reference {
            chosen = matching.filter { $0.ref == reference }
            guard !chosen.isEmpty else {
                let refs = Set(candidates.compactMap(\.ref)).sorted()
                throw ImageError("\(source.displayName): no image with ref \"\(reference)\" (refs: \(refs.isEmpty ? "none" : refs.joined(separator: ", ")))")
            }
        }
        // Several refs naming one manifest are one image.
        if Set(chosen.map(\.descriptor.digest)).count > 1 {
            let refs = chosen.map { $0.ref ?? $0.descriptor.digest.description }
            throw ImageError("\(source.displayName): index.json lists \(chosen.count) linux/amd64 images (\(refs.joined(separator: ", "))): choose one with --ref")
        }
        guard let pick = chosen.first else {
            let platforms = candidates.compactMap { $0.descriptor.platform.map { "\($0.os)/\($0.architecture)" } }
            throw ImageError("\(source.displayName): no linux/amd64 image in index.json (it has: \(platforms.isEmpty ? "none" : platforms.joined(separator: ", ")))")
        }
        let manifestBytes = try readBlob(source, pick.descriptor, what: "manifest")
        let manifest = try decode(ImageManifest.self, manifestBytes, "manifest \(pick.descriptor.digest)")
        if let type = manifest.mediaType, type != MediaType.ociManifest, type != MediaType.dockerManifest {
            throw ImageError("manifest \(pick.descriptor.digest): mediaType \"\(type)\" is not an image manifest")
        }
        let configBytes = try readBlob(source, manifest.config, what: "config")
        let configFile = try decode(ImageConfigFile.self, configBytes, "config \(manifest.config.digest)")
        try checkConfig(configFile, layerCount: manifest.layers.count, name: "config \(manifest.config.digest)")
        var layers: [ResolvedImage.Layer] = []
        for (number, descriptor) in manifest.layers.enumerated() {
            if let type = descriptor.mediaType, !(type.contains(".layer.") || type.contains(".rootfs.diff.")) || type.contains("encrypted") {
                throw ImageError("manifest \(pick.descriptor.digest): layers[\(number)]: mediaType \"\(type)\" is not a layer berth can unpack")
            }
            guard let location = try source.locate("blobs/sha256/" + descriptor.digest.hex) else {
                throw ImageError("manifest \(pick.descriptor.digest): layers[\(number)]: blob \(descriptor.digest) is missing from \(source.displayName)")
            }
            guard location.length == descriptor.size else {
                throw ImageError("layer blob \(descriptor.digest): size is \(location.length) bytes, the manifest says \(descriptor.size)")
            }
            layers.append(.init(location: location, blob: descriptor, diffID: configFile.rootfs.diff_ids[number]))
        }
        return ResolvedImage(
            manifest: (pick.descriptor.digest, manifestBytes), config: (manifest.config.digest, configBytes),
            configFile: configFile, layers: layers, suggestedName: pick.ref)
    }

    /// Flattens nested indexes into image manifests, carrying the ref.name annotation down.
    private static func collect(
        _ index: ImageIndex, from source: BlobSource, ref: String?, depth: Int, into result: inout [(descriptor: Descriptor, ref: String?)]
    ) throws(ImageError) {
        guard depth < 4 else { throw ImageError("\(source.displayName): image indexes nested more than 4 deep") }
        for descriptor in index.manifests {
            let name = descriptor.annotations?[refAnnotation] ?? ref
            switch descriptor.mediaType {
            case MediaType.ociIndex, MediaType.dockerList:
                let bytes = try readBlob(source, descriptor, what: "index")
                try collect(try decode(ImageIndex.self, bytes, "index \(descriptor.digest)"), from: source, ref: name, depth: depth + 1, into: &result)
            case MediaType.ociManifest, MediaType.dockerManifest, nil:
                result.append((descriptor, name))
            default:
                continue  // artifacts, attestations: not images
            }
        }
    }

    // MARK: docker-archive

    private static func resolveDocker(_ source: BlobSource, manifest: BlobLocation, reference: String?) throws(ImageError) -> ResolvedImage {
        let entries = try decode([DockerArchiveEntry].self, try source.read(manifest), "manifest.json")
        var chosen = entries
        if let reference {
            chosen = entries.filter { ($0.RepoTags ?? []).contains(reference) }
        }
        guard chosen.count == 1, let entry = chosen.first else {
            let tags = entries.flatMap { $0.RepoTags ?? [] }
            if chosen.isEmpty {
                throw ImageError("\(source.displayName): no image \(reference.map { "tagged \"\($0)\"" } ?? "") in manifest.json (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
            throw ImageError("\(source.displayName): manifest.json lists \(chosen.count) images (\(tags.joined(separator: ", "))): choose one with --ref")
        }
        guard let configLocation = try source.locate(entry.Config) else {
            throw ImageError("manifest.json: Config \"\(entry.Config)\" is missing from \(source.displayName)")
        }
        let configBytes = try source.read(configLocation)
        let configDigest = Digest.of(configBytes)
        // The config is named after its digest (`<hex>.json`, or `blobs/sha256/<hex>`).
        if let named = digestInName(entry.Config), named != configDigest {
            throw ImageError("manifest.json: Config \"\(entry.Config)\": digest mismatch: the file hashes to \(configDigest)")
        }
        let configFile = try decode(ImageConfigFile.self, configBytes, entry.Config)
        try checkConfig(configFile, layerCount: entry.Layers.count, name: entry.Config)
        var layers: [ResolvedImage.Layer] = []
        for (number, path) in entry.Layers.enumerated() {
            guard let location = try source.locate(path) else {
                throw ImageError("manifest.json: Layers[\(number)]: \"\(path)\" is missing from \(source.displayName)")
            }
            // Newer `docker save` stores layers as blobs/sha256/<digest>: then that digest is checked too.
            let blob = digestInName(path).flatMap { digest in path.hasPrefix("blobs/") ? Descriptor(digest: digest, size: location.length) : nil }
            layers.append(.init(location: location, blob: blob, diffID: configFile.rootfs.diff_ids[number]))
        }
        return ResolvedImage(manifest: nil, config: (configDigest, configBytes), configFile: configFile, layers: layers, suggestedName: entry.RepoTags?.first)
    }

    private static func digestInName(_ path: String) -> Digest? {
        let last = path.split(separator: "/").last.map(String.init) ?? path
        let hex = last.hasSuffix(".json") ? String(last.dropLast(5)) : last
        return try? Digest(hex: hex)
    }

    // MARK: shared

    private static func checkConfig(_ config: ImageConfigFile, layerCount: Int, name: String) throws(ImageError) {
        if let os = config.os, os != platform.os {
            throw ImageError("\(name): the image is for \(os), not linux")
        }
        if let architecture = config.architecture, architecture != platform.architecture {
            throw ImageError("\(name): the image is for \(architecture); this machine runs \(platform.architecture)")
        }
        guard config.rootfs.type == "layers" else {
            throw ImageError("\(name): rootfs.type is \"\(config.rootfs.type)\", not \"layers\"")
        }
        guard config.rootfs.diff_ids.count == layerCount else {
            throw ImageError("\(name): rootfs.diff_ids has \(config.rootfs.diff_ids.count) entries for \(layerCount) layers")
        }
    }

    /// A manifest, index or config: present, of the promised size, and hashing to its digest.
    static func readBlob(_ source: BlobSource, _ descriptor: Descriptor, what: String) throws(ImageError) -> [UInt8] {
        guard let location = try source.locate("blobs/sha256/" + descriptor.digest.hex) else {
            throw ImageError("\(what) blob \(descriptor.digest) is missing from \(source.displayName)")
        }
        guard location.length == descriptor.size else {
            throw ImageError("\(what) blob \(descriptor.digest): size is \(location.length) bytes, the descriptor says \(descriptor.size)")
        }
        let bytes = try source.read(location)
        let actual = Digest.of(bytes)
        guard actual == descriptor.digest else {
            throw ImageError("\(what) blob \(descriptor.digest): digest mismatch: the content hashes to \(actual)")
        }
        return bytes
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], _ source: String) throws(ImageError) -> T {
        try decoding { () throws(OCIError) in try OCIJSON.decode(type, from: Data(bytes), source: source) }
    }
}
