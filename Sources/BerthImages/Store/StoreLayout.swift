import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Where everything lives under the store root. Each directory is only ever renamed into
/// place complete, so a reader never sees half of anything.
///
///     lock                      flock: one writer at a time
///     images/<name>.json        image records (atomic writes)
///     blobs/sha256/<hex>        manifests and configs, as imported
///     layers/<hex>/diff/        unpacked layers in overlay form, keyed by diff_id
///     layers/<hex>/layer.json   their sizes
///     containers/<id>/          one per bundle: upper/, work/, volumes/, bundle.json
///     tmp/                      staging; emptied whenever the lock is taken
struct StoreLayout: Sendable {
    let root: String

    var lockFile: String { root + "/lock" }
    var images: String { root + "/images" }
    var blobs: String { root + "/blobs/sha256" }
    var layers: String { root + "/layers" }
    var containers: String { root + "/containers" }
    var staging: String { root + "/tmp" }

    func image(_ normalizedName: String) -> String { images + "/" + ImageName.fileName(normalizedName) }
    func blob(_ digest: Digest) -> String { blobs + "/" + digest.hex }
    func layer(_ diffID: Digest) -> String { layers + "/" + diffID.hex }
    func layerTree(_ diffID: Digest) -> String { layer(diffID) + "/diff" }
    func container(_ id: String) -> String { containers + "/" + id }

    func createDirectories() throws(ImageError) {
        try imageStep { () throws(SystemError) in
            for directory in [images, blobs, layers, containers, staging] {
                try FileSystem.createDirectory(directory, mode: 0o700)
            }
        }
    }

    /// Takes the store's writer lock and clears what an interrupted writer left in tmp/.
    func lock() throws(ImageError) -> FileLock {
        try createDirectories()
        let lock = try imageStep { () throws(SystemError) in try FileLock.acquire(lockFile) }
        switch Result(catching: { () throws(SystemError) in
            for name in try FileSystem.listDirectory(staging) { try FileSystem.removeTree(staging + "/" + name) }
        }) {
        case .success: return lock
        case .failure(let error):
            lock.unlock()
            throw ImageError(error)
        }
    }

    /// A fresh, empty staging directory.
    func makeStagingDirectory() throws(ImageError) -> String {
        let path = staging + "/" + randomID()
        try imageStep { () throws(SystemError) in try sys("mkdir \(path)") { mkdir(path, 0o700) } }
        return path
    }
}

/// 16 random hex digits.
func randomID() -> String {
    var generator = SystemRandomNumberGenerator()
    let value = generator.next() as UInt64
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
