import BerthLinux
import CBerthCompress
#if canImport(Glibc)
import Glibc
#endif

/// A layer unpacked and verified in tmp/, waiting to be renamed into layers/. Its syncfs runs
/// on a thread of its own while the next layer unpacks: the disk writes one layer while the
/// CPU unpacks the next, instead of the CPU idling through each layer's flush.
final class StagedLayer {
    let diffID: Digest
    let size: Int64
    /// Names the layer in errors ("layer 2 of 5 (blobs/sha256/…)").
    let context: String
    private let staging: String
    private let final: String
    private let flushed = Semaphore(0)
    /// Written by the sync thread before it posts `flushed`.
    private var failure: SystemError?
    private var settled = false

    /// Starts flushing the file system that holds `staging` (complete, layer.json included).
    init(staging: String, final: String, diffID: Digest, size: Int64, context: String) {
        self.staging = staging
        self.final = final
        self.diffID = diffID
        self.size = size
        self.context = context
        let flush = { [self] in
            switch Result(catching: { () throws(SystemError) in
                let fd = try FileDescriptor.open(staging, O_RDONLY | O_DIRECTORY)
                defer { fd.close() }
                try sys("sync \(staging)") { berth_syncfs(fd.rawValue) }
            }) {
            case .success: break
            case .failure(let error): failure = error
            }
            flushed.post()
        }
        let box = UncheckedSendable(flush)
        if (try? startThread(named: "layer sync", { box.value() })) == nil {
            flush()  // no thread to be had: flush here
        }
    }

    /// Waits for the flush, then makes the layer visible: everything in it is on disk before
    /// the rename that shows it.
    func commit() throws(ImageError) {
        precondition(!settled, "a staged layer is committed or dropped once")
        settled = true
        flushed.wait()
        switch Result(catching: { () throws(SystemError) in
            if let failure { throw failure }
            try sys("rename \(staging) to \(final)") { rename(staging, final) }
        }) {
        case .success: return
        case .failure(let error):
            try? FileSystem.removeTree(staging)
            throw ImageError(error).within(context)
        }
    }

    /// The import failed elsewhere: the layer never becomes visible.
    func drop() {
        if settled { return }
        settled = true
        flushed.wait()
        try? FileSystem.removeTree(staging)
    }

    deinit { drop() }
}

/// Hands a closure that is only ever run once, by one thread at a time, to another thread.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
