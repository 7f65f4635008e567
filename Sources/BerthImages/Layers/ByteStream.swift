import BerthLinux
import CBerthCompress
#if canImport(Glibc)
import Glibc
#endif

/// A pull-based byte stream: a blob is read from a file, hashed, decompressed and hashed again
/// on its way to the tar reader, without ever being held in memory whole.
protocol ByteStream: AnyObject {
    /// Fills some of `buffer`; 0 means the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int
    /// Skips `count` bytes without reading them, where the stream can (a file can seek).
    func skip(_ count: Int64) -> Bool
}

extension ByteStream {
    func skip(_ count: Int64) -> Bool { false }

    /// Reads to the end, so that a digest taken on the way covers every byte (tar padding after
    /// the end marker).
    func drain() throws(ImageError) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {}
    }
}

/// `length` bytes of a file from `offset` (a blob file, or a member of an archive).
final class FileRangeStream: ByteStream {
    private let fd: FileDescriptor
    private let name: String
    private var offset: Int64
    private var remaining: Int64

    init(fd: FileDescriptor, name: String, offset: Int64, length: Int64) {
        self.fd = fd
        self.name = name
        self.offset = offset
        self.remaining = length
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let want = Int(min(Int64(buffer.count), remaining))
        if want == 0 { return 0 }
        let (count, error) = retryingInterrupts { pread(fd.rawValue, buffer.baseAddress, want, off_t(offset)) }
        if let error { throw ImageError("read \(name): \(error)") }
        offset += Int64(count)
        remaining -= Int64(count)
        return count
    }

    func skip(_ count: Int64) -> Bool {
        guard count <= remaining else { return false }
        offset += count
        remaining -= count
        return true
    }
}

/// Passes bytes through while computing their SHA-256 and counting them.
final class HashingStream: ByteStream {
    private let upstream: any ByteStream
    private(set) var hasher = SHA256()

    init(_ upstream: any ByteStream) { self.upstream = upstream }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let count = try upstream.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        return count
    }

    var count: UInt64 { hasher.count }
    var digest: Digest { hasher.finish() }
}

/// The compression of a layer, told by its first bytes (media types lie more often than magic).
enum Compression: String, Sendable {
    case none, gzip, zstd

    static func sniff(_ head: [UInt8]) -> Compression {
        if head.starts(with: [0x1F, 0x8B]) { return .gzip }
        if head.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        return .none
    }
}

/// gzip or zstd decompression through CBerthCompress.
final class DecompressingStream: ByteStream {
    private let upstream: any ByteStream
    private let decoder: OpaquePointer
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
    private var start = 0, end = 0
    private var upstreamEnded = false
    private var streamEnded = false
    private let kind: Compression

    init(_ upstream: any ByteStream, compression: Compression) throws(ImageError) {
        self.upstream = upstream
        self.kind = compression
        guard let decoder = berth_decoder_new(compression == .gzip ? Int32(BERTH_CODEC_GZIP.rawValue) : Int32(BERTH_CODEC_ZSTD.rawValue)) else {
            input.deallocate()
            throw ImageError("cannot start a \(compression.rawValue) decoder: out of memory")
        }
        self.decoder = decoder
    }

    deinit {
        berth_decoder_free(decoder)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        while true {
            if start == end && !upstreamEnded {
                let count = try upstream.read(into: input)
                start = 0
                end = count
                if count == 0 { upstreamEnded = true }
            }
            if start == end && upstreamEnded {
                guard streamEnded else { throw ImageError("\(kind.rawValue) stream is truncated") }
                return 0
            }
            var used = 0, made = 0
            let status = berth_decoder_run(
                decoder, input.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, end - start, &used,
                buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), buffer.count, &made)
            start += used
            if status == Int32(BERTH_DECODE_ERROR.rawValue) {
                throw ImageError("corrupt \(kind.rawValue) data: \(String(cString: berth_decoder_error(decoder)))")
            }
            streamEnded = status == Int32(BERTH_DECODE_END.rawValue)
            if made > 0 { return made }
            if used == 0 && !streamEnded && start < end {
                throw ImageError("corrupt \(kind.rawValue) data: the decoder made no progress")
            }
        }
    }
}
