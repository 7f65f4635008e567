import BerthLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs its upstream (a layer blob being read, hashed, decompressed and hashed again) on a
/// thread of its own, a few chunks ahead of the reader, so that on a machine with two cores
/// the decompression and both SHA-256s overlap with the tar unpacking and its file writes.
///
/// The upstream belongs to the producer thread until `finish()` returns; after that (and only
/// then) the caller may touch it again, to read its digests or drain it.
final class PrefetchingStream: ByteStream {
    private let ring: Ring
    /// The slot being read, and how much of it was taken.
    private var current: Ring.Slot?
    private var offset = 0
    private var next = 0
    private var joined = false

    /// Nil when no thread can be had: the caller then reads its upstream directly.
    init?(_ upstream: any ByteStream, chunkSize: Int = 1 << 20, depth: Int = 4) {
        ring = Ring(upstream: upstream, chunkSize: chunkSize, depth: depth)
        let ring = self.ring
        switch Result(catching: { () throws(SystemError) in try startThread(named: "layer prefetch") { ring.produce() } }) {
        case .success: break
        case .failure: return nil
        }
    }

    deinit { finish() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        precondition(!joined, "read after finish")
        while true {
            if let slot = current {
                if offset < slot.count {
                    let count = min(buffer.count, slot.count - offset)
                    buffer.baseAddress!.copyMemory(from: slot.buffer.baseAddress! + offset, byteCount: count)
                    offset += count
                    return count
                }
                if slot.isLast {
                    if let error = slot.error { throw error }
                    return 0
                }
                current = nil
                ring.free.post()
            }
            ring.filled.wait()
            current = ring.slots[next]
            next = (next + 1) % ring.slots.count
            offset = 0
        }
    }

    /// Stops the producer (if it is still reading) and waits until it has let go of the upstream.
    func finish() {
        if joined { return }
        joined = true
        ring.stopping.store(true, ordering: .releasing)
        ring.free.post()
        ring.exited.wait()
    }
}

extension PrefetchingStream {
    /// What the producer and the reader share: fixed buffers handed back and forth through two
    /// counting semaphores (free slots, filled slots), so neither side ever waits on a lock the
    /// other holds.
    final class Ring: @unchecked Sendable {
        final class Slot {
            let buffer: UnsafeMutableRawBufferPointer
            var count = 0
            /// The upstream ended (or failed) with this slot's bytes.
            var isLast = false
            var error: ImageError?

            init(size: Int) { buffer = .allocate(byteCount: size, alignment: 4096) }
            deinit { buffer.deallocate() }
        }

        let upstream: any ByteStream
        let slots: [Slot]
        let free: Semaphore
        let filled = Semaphore(0)
        let exited = Semaphore(0)
        let stopping = Atomic<Bool>(false)

        init(upstream: any ByteStream, chunkSize: Int, depth: Int) {
            self.upstream = upstream
            slots = (0..<depth).map { _ in Slot(size: chunkSize) }
            free = Semaphore(UInt32(depth))
        }

        /// The producer thread: fills slots in order until the upstream ends or fails, or the
        /// reader stops it.
        func produce() {
            defer { exited.post() }
            var index = 0
            while true {
                free.wait()
                if stopping.load(ordering: .acquiring) { return }
                let slot = slots[index]
                slot.count = 0
                // Whole slots: fewer hand-overs than one per decompressor call.
                while slot.count < slot.buffer.count && !slot.isLast {
                    let room = UnsafeMutableRawBufferPointer(rebasing: slot.buffer[slot.count...])
                    switch Result(catching: { () throws(ImageError) in try upstream.read(into: room) }) {
                    case .success(let count):
                        slot.count += count
                        slot.isLast = count == 0
                    case .failure(let error):
                        slot.error = error
                        slot.isLast = true
                    }
                }
                filled.post()
                if slot.isLast { return }
                index = (index + 1) % slots.count
            }
        }
    }
}
