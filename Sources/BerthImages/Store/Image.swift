import BerthOCI
import FoundationEssentials

/// An image in the store, as `berth image inspect` prints it: <store>/images/<name>.json.
public struct Image: Codable, Sendable, Equatable {
    /// `name:tag` (`busybox:latest`).
    public var name: String
    /// The config blob's digest: the image's identity (what `docker images` calls IMAGE ID).
    public var id: Digest
    /// The manifest's digest (nil for a docker-archive, which has none).
    public var manifest: Digest?
    public var architecture: String
    public var os: String
    public var created: String?
    /// When it was imported here.
    public var imported: String
    /// Bottom layer first, as overlay stacks them upside down.
    public var layers: [Layer]
    public var config: ImageConfig

    public struct Layer: Codable, Sendable, Equatable {
        /// Digest of the uncompressed tar: the key of the unpacked layer in the store.
        public var diffID: Digest
        /// Uncompressed size in bytes.
        public var size: Int64
    }

    /// Uncompressed bytes of all layers.
    public var size: Int64 { layers.reduce(0) { $0 + $1.size } }
}

/// Image names: `name[:tag]`, `:latest` when no tag is given.
public enum ImageName {
    /// Checks and completes a name. Names become file names in the store, so they are held to
    /// the characters registries allow.
    public static func normalize(_ name: String) throws(ImageError) -> String {
        guard !name.isEmpty, name.utf8.count <= 255 else { throw ImageError("image name \"\(name)\" is empty or longer than 255 bytes") }
        // Plain byte ranges: Unicode property tables cost milliseconds to load on first use.
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || "._-/:@+".utf8.contains(byte)
        }
        guard allowed, !name.hasPrefix("/"), !name.hasPrefix("."), !name.hasPrefix("-"), !name.contains(".."), !name.contains("//") else {
            throw ImageError("image name \"\(name)\" is not valid (letters, digits and ._-/:@+ only, no \"..\")")
        }
        if name.contains("@") { return name }
        let last = name.split(separator: "/").last ?? ""
        return last.contains(":") ? name : name + ":latest"
    }

    /// The record's file name: `/` would make directories, so it is escaped.
    static func fileName(_ normalized: String) -> String {
        normalized.replacing("%", with: "%25").replacing("/", with: "%2F") + ".json"
    }
}

/// What `prune` removed.
public struct PruneReport: Codable, Sendable, Equatable {
    public var layers: [Digest] = []
    public var blobs: [Digest] = []
    /// Container scratch directories whose bundle no longer exists.
    public var containers: [String] = []
    public var bytes: Int64 = 0
}

/// How a bundle's rootfs is made.
public enum RootfsBackend: String, Codable, Sendable, CaseIterable {
    /// An overlay mount of the store's layers with a private upper dir: constant time.
    case overlay
    /// A full copy of the merged layers, for where overlayfs is unavailable.
    case copy
}

/// What `bundle` made.
public struct Bundle: Sendable, Equatable {
    public var directory: String
    public var rootfs: String
    /// The container's private state in the store (upper and work dirs, volumes).
    public var scratch: String
    public var backend: RootfsBackend
    public var spec: Spec
}
