import BerthLinux
import BerthOCI
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Turns an image into an OCI bundle: a rootfs (overlay mount or copy) and a config.json.
/// Either all of it exists afterwards or, on any failure, none of it.
struct BundleMaker {
    let store: ImageStore
    var layout: StoreLayout { store.layout }

    func make(image: Image, directory: String, backend: RootfsBackend, command: [String]?) throws(ImageError) -> Bundle {
        guard !image.layers.isEmpty else { throw ImageError("image \(image.name) has no layers") }
        let bundle = try absolute(directory)
        let rootfs = bundle + "/rootfs"
        let configPath = bundle + "/config.json"
        guard !FileSystem.exists(configPath) else { throw ImageError("\(configPath) exists: choose an empty directory") }
        var created: [String] = []
        var scratch: String?
        var mounted = false
        var finished = false
        defer {
            if !finished {
                if mounted { umount2(rootfs, Int32(MNT_DETACH)) }
                if let scratch { try? FileSystem.removeTree(scratch) }
                for path in created.reversed() { try? FileSystem.removeTree(path) }
            }
        }
        try imageStep { () throws(SystemError) in
            if !FileSystem.exists(bundle) {
                try FileSystem.createDirectory(bundle)
                created.append(bundle)
            }
            if FileSystem.exists(rootfs) {
                guard FileSystem.isDirectory(rootfs), try FileSystem.listDirectory(rootfs).isEmpty else {
                    throw SystemError("\(rootfs) exists and is not an empty directory", .exists)
                }
            } else {
                try sys("mkdir \(rootfs)") { mkdir(rootfs, 0o755) }
                created.append(rootfs)
            }
        }
        // Claim the layers under the lock, so a concurrent prune keeps them.
        let record = BundleRecord(image: image.name, layers: image.layers.map(\.diffID), bundle: bundle, rootfs: rootfs, backend: backend)
        do {
            let lock = try layout.lock()
            defer { lock.unlock() }
            for layer in image.layers where !FileSystem.isDirectory(layout.layerTree(layer.diffID)) {
                throw ImageError("image \(image.name): layer \(layer.diffID) is missing from the store: import the image again")
            }
            let path = layout.container(randomID())
            try imageStep { () throws(SystemError) in
                try sys("mkdir \(path)") { mkdir(path, 0o700) }
                scratch = path
                if backend == .overlay {
                    try sys("mkdir \(path)/upper") { mkdir(path + "/upper", 0o755) }
                    try sys("mkdir \(path)/work") { mkdir(path + "/work", 0o700) }
                }
            }
            let recordBytes = try encode(record)
            try writeBundleFile(recordBytes, to: path + "/" + BundleRecord.fileName, mode: 0o600)
        }
        switch backend {
        case .overlay:
            try mountOverlay(image, at: rootfs, scratch: scratch!)
            mounted = true
        case .copy:
            for layer in image.layers {
                try LayerCopier.apply(layer: layout.layerTree(layer.diffID), onto: rootfs)
            }
        }
        let spec = try ImageRuntimeConfig(image: image, rootfs: rootfs, scratch: scratch!, backend: backend, command: command).makeSpec()
        let bytes = try encode(spec)
        try writeBundleFile(bytes, to: configPath, mode: 0o644)
        finished = true
        return Bundle(directory: bundle, rootfs: rootfs, scratch: scratch!, backend: backend, spec: spec)
    }

    private func mountOverlay(_ image: Image, at rootfs: String, scratch: String) throws(ImageError) {
        // overlayfs wants the top layer first, and each directory once (it refuses a repeated
        // lower with ELOOP): a layer named again lower down adds nothing its top copy does not
        // cover, so only the top copy is kept. (Built byte-wise: String's Character-level
        // contains and joined cost more than the mount itself.)
        var lowers = ""
        var seen: Set<Digest> = []
        for layer in image.layers.reversed() where seen.insert(layer.diffID).inserted {
            if !lowers.isEmpty { lowers += ":" }
            lowers += layout.layerTree(layer.diffID)
        }
        for path in [layout.root, scratch] where path.utf8.contains(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ",") }) {
            throw ImageError("store path \(path) contains ':' or ',', which overlay mount options cannot carry")
        }
        let options = "lowerdir=" + lowers + ",upperdir=" + scratch + "/upper,workdir=" + scratch + "/work,index=off"
        // The kernel copies mount options into one page.
        guard options.utf8.count < 4096 else {
            throw ImageError("image \(image.name) has \(image.layers.count) layers: too many for one overlay mount (options exceed a page); use the copy backend")
        }
        try imageStep { () throws(SystemError) in
            try sys("mount overlay on \(rootfs)") { mount("overlay", rootfs, "overlay", 0, options) }
        }
    }

    /// Written whole and renamed into place, without fsyncs: a bundle does not outlive a reboot
    /// (its overlay mount does not either), and the fsyncs would be most of its cost.
    private func writeBundleFile(_ bytes: [UInt8], to path: String, mode: mode_t) throws(ImageError) {
        try imageStep { () throws(SystemError) in
            try FileSystem.writeAtomically(bytes, to: path, mode: mode, durable: false)
        }
    }

    private func absolute(_ path: String) throws(ImageError) -> String {
        var result = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            guard getcwd(&buffer, buffer.count) != nil else { throw ImageError("getcwd: \(Errno.current)") }
            result = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
        }
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// Unmounts or removes a bundle's rootfs and removes its scratch directory, after checking
    /// that the annotations name what `make` recorded. Releasing twice is fine.
    static func release(annotations: [String: String]) throws(ImageError) {
        guard let rootfs = annotations[BundleAnnotation.rootfs], let scratch = annotations[BundleAnnotation.scratch] else {
            throw ImageError("config.json: annotations: no \(BundleAnnotation.rootfs)/\(BundleAnnotation.scratch): not a bundle made by berth image bundle")
        }
        guard FileSystem.exists(scratch) else { return }
        let record = try BundleRecord.load(scratch: scratch)
        guard record.rootfs == rootfs else {
            throw ImageError("config.json: annotations: \(BundleAnnotation.rootfs) \"\(rootfs)\" is not the rootfs recorded in \(scratch)")
        }
        try imageStep { () throws(SystemError) in
            switch record.backend {
            case .overlay:
                let (_, error) = retryingInterrupts { umount2(rootfs, Int32(MNT_DETACH)) }
                if let error, error != .invalid, error != .noEntry { throw SystemError("unmount \(rootfs)", error) }
                rmdir(rootfs)
            case .copy:
                try FileSystem.removeTree(rootfs)
            }
            try FileSystem.removeTree(scratch)
        }
    }
}
