import BerthLinux
import BerthOCI
import CBerthCompress
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One import, holding the store lock: layers are unpacked into tmp/ while their digests are
/// computed and only renamed into layers/ once every byte checked out; the image record is
/// written last. Killed at any point, the store shows the image completely or not at all, and
/// layers already committed are reused by the re-run.
struct Importer {
    let layout: StoreLayout

    func run(path: String, name: String?, reference: String?) throws(ImageError) -> Image {
        var isDirectory = false
        var info = stat()
        guard stat(path, &info) == 0 else { throw ImageError("\(path): \(Errno.current)") }
        isDirectory = info.st_mode & S_IFMT == S_IFDIR
        let lock = try layout.lock()
        defer { lock.unlock() }
        var decompressed: String?
        defer { if let decompressed { unlink(decompressed) } }
        let source: BlobSource
        if isDirectory {
            source = BlobSource(directory: path)
        } else {
            // `docker save | gzip` and friends: decompress the archive into tmp/ first.
            var archive = path
            if let compression = try sniff(path), compression != .none {
                decompressed = try decompress(path, compression)
                archive = decompressed!
            }
            source = try BlobSource(archive: archive)
        }
        let resolved = try ImageResolver.resolve(source, reference: reference)
        guard let givenName = name ?? resolved.suggestedName else {
            throw ImageError("\(path) does not name its image: give one with --name")
        }
        let finalName = try ImageName.normalize(givenName)
        var layers: [Image.Layer] = []
        // The previous layer, flushing to disk while this one unpacks; renamed into layers/
        // once flushed, even when this one fails (a re-run reuses it). A staged layer that is
        // never committed is removed from tmp/ when it goes.
        var flushing: StagedLayer?
        for (number, layer) in resolved.layers.enumerated() {
            let context = "layer \(number + 1) of \(resolved.layers.count) (\(layer.location.name))"
            // The same layer twice in one image: the second finds the first in layers/.
            if flushing?.diffID == layer.diffID {
                try flushing?.commit()
                flushing = nil
            }
            let outcome = Result(catching: { () throws(ImageError) in try stage(layer, context: context) })
            try flushing?.commit()
            flushing = nil
            switch outcome {
            case .success(.stored(let size)):
                layers.append(Image.Layer(diffID: layer.diffID, size: size))
            case .success(.staged(let staged)):
                flushing = staged
                layers.append(Image.Layer(diffID: layer.diffID, size: staged.size))
            case .failure(let error):
                throw error.within(context)
            }
        }
        try flushing?.commit()
        try imageStep { () throws(SystemError) in
            // The renames on disk before the record that names their layers.
            let fd = try FileDescriptor.open(layout.layers, O_RDONLY | O_DIRECTORY)
            defer { fd.close() }
            try sys("sync \(layout.layers)") { fsync(fd.rawValue) }
            if let manifest = resolved.manifest { try writeBlob(manifest.bytes, manifest.digest) }
            try writeBlob(resolved.config.bytes, resolved.config.digest)
        }
        let configFile = resolved.configFile
        let image = Image(
            name: finalName, id: resolved.config.digest, manifest: resolved.manifest?.digest,
            architecture: configFile.architecture ?? ImageResolver.platform.architecture, os: configFile.os ?? ImageResolver.platform.os,
            created: configFile.created, imported: Date.ISO8601FormatStyle().format(Date()), layers: layers,
            config: configFile.config ?? ImageConfig())
        let bytes = try encode(image)
        try imageStep { () throws(SystemError) in try FileSystem.writeAtomically(bytes, to: layout.image(finalName), mode: 0o600) }
        return image
    }

    private struct LayerInfo: Codable {
        var diffID: Digest
        var size: Int64
        var blob: Digest?
    }

    enum Staged {
        /// The store has the layer already: its uncompressed size.
        case stored(Int64)
        /// Unpacked and verified in tmp/, flushing.
        case staged(StagedLayer)
    }

    /// Unpacks a layer into tmp/ unless the store has it.
    private func stage(_ layer: ResolvedImage.Layer, context: String) throws(ImageError) -> Staged {
        let final = layout.layer(layer.diffID)
        if let info = try? OCIJSON.load(LayerInfo.self, path: final + "/layer.json", source: "layer.json") {
            return .stored(info.size)
        }
        if FileSystem.exists(final) {
            // Not ours to trust (no layer.json): a leftover of a damaged store; unpack again.
            try imageStep { () throws(SystemError) in try FileSystem.removeTree(final) }
        }
        let staging = try layout.makeStagingDirectory()
        var handedOver = false
        defer { if !handedOver { try? FileSystem.removeTree(staging) } }
        try imageStep { () throws(SystemError) in try sys("mkdir \(staging)/diff") { mkdir(staging + "/diff", 0o755) } }

        let location = layer.location
        let compressed = HashingStream(FileRangeStream(fd: location.fd, name: location.name, offset: location.offset, length: location.length))
        var head = [UInt8](repeating: 0, count: 4)
        let headCount = head.withUnsafeMutableBytes { pread(location.fd.rawValue, $0.baseAddress, 4, off_t(location.offset)) }
        let compression = Compression.sniff(Array(head.prefix(max(0, headCount))))
        let plain: any ByteStream = compression == .none ? compressed : try DecompressingStream(compressed, compression: compression)
        let uncompressed = HashingStream(plain)
        // Reading, hashing and decompressing on a second thread, unpacking on this one.
        let prefetched = PrefetchingStream(uncompressed)
        let unpacker = try LayerUnpacker(into: staging + "/diff")
        let unpacked = Result(catching: { () throws(ImageError) in
            let tar: any ByteStream = prefetched ?? uncompressed
            try unpacker.unpack(TarReader(tar))
            try tar.drain()
        })
        // From here on the streams (and their digests) are this thread's again.
        prefetched?.finish()
        switch unpacked {
        case .success: break
        case .failure(let error):
            // A damaged blob usually breaks its decompression first: when the blob's digest is
            // wrong too, that is the cause to report.
            if let blob = layer.blob, (try? compressed.drain()) != nil, compressed.digest != blob.digest {
                throw ImageError("digest mismatch: the manifest says \(blob.digest), the blob hashes to \(compressed.digest)")
            }
            throw error
        }
        try compressed.drain()
        if let blob = layer.blob {
            guard Int64(compressed.count) == blob.size else {
                throw ImageError("size mismatch: the blob is \(compressed.count) bytes, the manifest says \(blob.size)")
            }
            guard compressed.digest == blob.digest else {
                throw ImageError("digest mismatch: the manifest says \(blob.digest), the blob hashes to \(compressed.digest)")
            }
        }
        guard uncompressed.digest == layer.diffID else {
            throw ImageError("digest mismatch: the config's diff_id is \(layer.diffID), the uncompressed layer hashes to \(uncompressed.digest)")
        }
        let info = LayerInfo(diffID: layer.diffID, size: Int64(uncompressed.count), blob: layer.blob?.digest)
        let infoBytes = try encode(info)
        try imageStep { () throws(SystemError) in
            try FileSystem.writeAtomically(infoBytes, to: staging + "/layer.json", mode: 0o600)
        }
        handedOver = true  // the staged layer owns tmp/<id> from here on
        return .staged(StagedLayer(staging: staging, final: final, diffID: layer.diffID, size: info.size, context: context))
    }

    private func writeBlob(_ bytes: [UInt8], _ digest: Digest) throws(SystemError) {
        let path = layout.blob(digest)
        if !FileSystem.exists(path) { try FileSystem.writeAtomically(bytes, to: path, mode: 0o600) }
    }

    private func sniff(_ path: String) throws(ImageError) -> Compression? {
        let fd = try imageStep { () throws(SystemError) in try FileDescriptor.open(path, O_RDONLY) }
        defer { fd.close() }
        var head = [UInt8](repeating: 0, count: 4)
        let count = head.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, 4) }
        return count >= 2 ? Compression.sniff(Array(head.prefix(count))) : nil
    }

    private func decompress(_ path: String, _ compression: Compression) throws(ImageError) -> String {
        let input = try imageStep { () throws(SystemError) in try FileDescriptor.open(path, O_RDONLY) }
        defer { input.close() }
        var info = stat()
        fstat(input.rawValue, &info)
        let target = layout.staging + "/archive-" + randomID() + ".tar"
        let output = try imageStep { () throws(SystemError) in try FileDescriptor.open(target, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) }
        defer { output.close() }
        let stream = try DecompressingStream(FileRangeStream(fd: input, name: path, offset: 0, length: Int64(info.st_size)), compression: compression)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        switch Result(catching: { () throws(ImageError) in
            while true {
                let count = try stream.read(into: buffer)
                if count == 0 { break }
                try imageStep { () throws(SystemError) in try output.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), step: "write \(target)") }
            }
        }) {
        case .success: return target
        case .failure(let error):
            unlink(target)
            throw error.within(path)
        }
    }
}

func encode<T: Encodable>(_ value: T) throws(ImageError) -> [UInt8] {
    switch Result(catching: { () throws(any Error) in try OCIJSON.encode(value) }) {
    case .success(let data): return Array(data)
    case .failure(let error): throw ImageError("cannot encode JSON: \(error)")
    }
}
