import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// A rootfs that `berth image bundle` mounted: config.json names it and the container's scratch
/// directory (upper, work, volumes) in annotations. Deleting the container unmounts the overlay
/// (or removes the copy) and removes the scratch directory. The scratch's bundle.json must name
/// the same rootfs, so a hand-written annotation cannot point delete at another directory.
/// (BerthImages owns the format; the runtime must not depend on it, so this reads two fields.)
enum ImageRootfs {
    static let rootfsKey = "org.berth.image.rootfs"
    static let scratchKey = "org.berth.image.scratch"

    private struct Record: Decodable {
        var rootfs: String
        var backend: String
    }

    static func release(annotations: [String: String]?) throws {
        guard let rootfs = annotations?[rootfsKey], let scratch = annotations?[scratchKey],
              rootfs.hasPrefix("/"), scratch.hasPrefix("/"), FileSystem.exists(scratch) else { return }
        let record = try OCIJSON.load(Record.self, path: scratch + "/bundle.json", source: "bundle.json")
        guard record.rootfs == rootfs else {
            throw RuntimeError("annotation \(rootfsKey) \"\(rootfs)\" is not the rootfs recorded in \(scratch): left in place")
        }
        if record.backend == "copy" {
            try FileSystem.removeTree(rootfs)
        } else {
            let (_, error) = retryingInterrupts { umount2(rootfs, Int32(MNT_DETACH)) }
            if let error, error != .invalid, error != .noEntry { throw SystemError("unmount \(rootfs)", error) }
            rmdir(rootfs)
        }
        try FileSystem.removeTree(scratch)
    }
}
