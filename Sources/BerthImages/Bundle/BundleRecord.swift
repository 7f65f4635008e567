import BerthLinux
import BerthOCI
import FoundationEssentials

/// <store>/containers/<id>/bundle.json: which layers a bundle's rootfs stacks (so `prune`
/// keeps them) and where it is mounted. `berth delete` checks it before removing anything an
/// annotation names, so a hand-written config.json cannot make it remove another directory.
struct BundleRecord: Codable, Sendable {
    var image: String
    var layers: [Digest]
    var bundle: String
    var rootfs: String
    var backend: RootfsBackend

    static let fileName = "bundle.json"

    static func load(scratch: String) throws(ImageError) -> BundleRecord {
        try decoding { () throws(OCIError) in
            try OCIJSON.load(BundleRecord.self, path: scratch + "/" + fileName, source: fileName)
        }
    }
}

/// The annotations `bundle` writes into config.json (the runtime reads the same three keys).
public enum BundleAnnotation {
    public static let image = "org.berth.image.name"
    public static let imageID = "org.berth.image.id"
    public static let rootfs = "org.berth.image.rootfs"
    public static let scratch = "org.berth.image.scratch"
    public static let backend = "org.berth.image.backend"
    /// From the OCI image-spec's conversion rules.
    public static let exposedPorts = "org.opencontainers.image.exposedPorts"
    public static let stopSignal = "org.opencontainers.image.stopSignal"
}
