#if canImport(Glibc)
import Glibc
#endif

/// Reads tar archives as image layers use them: ustar (with its name prefix), pax extended
/// headers (long names, large sizes and ids, sub-second times, xattrs) and GNU long names.
/// Every header's checksum is verified; a short or corrupt archive is an error, never a guess.
final class TarReader {
    private let source: any ByteStream
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    private var start = 0, end = 0, sourceEnded = false
    /// Bytes of the current entry's content not yet consumed, and the padding after them.
    private var contentLeft: Int64 = 0
    private var paddingLeft: Int64 = 0
    private var globalPax: [String: [UInt8]] = [:]
    private(set) var ended = false
    /// The last header's name, for errors about its content.
    private(set) var currentName = ""
    /// Bytes taken from the source so far.
    private var consumed: Int64 = 0
    /// Offset in the source of the next unread byte: after `next()`, where the entry's content starts.
    var position: Int64 { consumed - Int64(end - start) }

    /// Extended headers longer than this are refused: names and xattrs are never this big, and a
    /// hostile archive must not make berth allocate what it says.
    static let maxMetadataSize: Int64 = 1 << 20
    static let maxPathLength = 4096

    init(_ source: any ByteStream) { self.source = source }
    deinit { buffer.deallocate() }

    /// Makes at least `count` bytes available (count <= buffer size); false at the end of the source.
    private func fill(_ count: Int) throws(ImageError) -> Bool {
        if end - start >= count { return true }
        if start > 0 {
            let pending = end - start
            if pending > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, pending) }
            start = 0
            end = pending
        }
        while end - start < count && !sourceEnded {
            let read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if read == 0 { sourceEnded = true }
            consumed += Int64(read)
            end += read
        }
        return end - start >= count
    }

    private func skip(_ count: Int64) throws(ImageError) {
        var left = count
        let buffered = Int64(end - start)
        if left > buffered && source.skip(left - buffered) {
            consumed += left - buffered
            start = end
            return
        }
        while left > 0 {
            if start == end {
                guard try fill(1) else { throw ImageError("archive is truncated inside \"\(currentName)\"") }
            }
            let take = Int(min(left, Int64(end - start)))
            start += take
            left -= Int64(take)
        }
    }

    /// Hands the current entry's content to `body` in chunks straight from the read buffer.
    func readContent(_ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        while contentLeft > 0 {
            if start == end {
                guard try fill(1) else { throw ImageError("archive is truncated inside \"\(currentName)\"") }
            }
            let take = Int(min(contentLeft, Int64(end - start)))
            try body(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + take)]))
            start += take
            contentLeft -= Int64(take)
        }
    }

    private func readBytes(_ count: Int64) throws(ImageError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(count))
        contentLeft = count
        try readContent { chunk throws(ImageError) in bytes.append(contentsOf: chunk) }
        return bytes
    }

    /// The next entry, or nil after the end-of-archive marker. Unread content of the previous
    /// entry is skipped.
    func next() throws(ImageError) -> TarEntry? {
        if ended { return nil }
        try skip(contentLeft)
        contentLeft = 0
        // umoci 0.4 also leaves the last member unpadded: the archive may end here.
        let paddingPresent = paddingLeft == 0 ? true : try fill(Int(paddingLeft))
        if !paddingPresent && end == start {
            ended = true
            return nil
        }
        try skip(paddingLeft)
        paddingLeft = 0
        var pax: [String: [UInt8]] = [:]
        var longName: [UInt8]?
        var longLink: [UInt8]?
        while true {
            guard try fill(512) else {
                // Some writers (umoci 0.4) omit the end marker; ending exactly between members is
                // accepted as Go's and Python's readers do (a cut archive still fails its digest).
                if end - start == 0 && pax.isEmpty && longName == nil && longLink == nil {
                    ended = true
                    return nil
                }
                throw ImageError("archive is truncated inside a header after \"\(currentName)\"")
            }
            let header = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + 512)])
            if header.allSatisfy({ $0 == 0 }) {
                start += 512
                ended = true
                return nil
            }
            try verifyChecksum(header)
            let type = header[156]
            var size = try number(header, 124, 12, "size")
            if let paxSize = pax["size"] { size = try paxNumber(paxSize, "size") }
            start += 512
            guard size >= 0 else { throw ImageError("entry after \"\(currentName)\": negative size") }
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= Self.maxMetadataSize else { throw ImageError("pax header after \"\(currentName)\" is \(size) bytes (limit \(Self.maxMetadataSize))") }
                let records = try parsePax(try readBytes(size))
                try skip(padding(size))
                if type == UInt8(ascii: "g") { globalPax.merge(records) { $1 } } else { pax.merge(records) { $1 } }
                continue
            case UInt8(ascii: "L"), UInt8(ascii: "K"):
                guard size <= Int64(Self.maxPathLength) else { throw ImageError("GNU long name after \"\(currentName)\" is \(size) bytes (limit \(Self.maxPathLength))") }
                var value = try readBytes(size)
                try skip(padding(size))
                if let nul = value.firstIndex(of: 0) { value = Array(value[..<nul]) }
                if type == UInt8(ascii: "L") { longName = value } else { longLink = value }
                continue
            default:
                break
            }
            let records = globalPax.merging(pax) { $1 }
            var entry = try makeEntry(header: UnsafeRawBufferPointer(rebasing: buffer[(start - 512)..<start]), type: type, size: size, pax: records, longName: longName, longLink: longLink)
            currentName = entry.path
            // Only regular files carry content; a size on anything else is skipped as tar does.
            if entry.kind != .regular {
                try skip(size + padding(size))
                entry.size = entry.kind == .hardLink ? 0 : entry.size
            } else {
                contentLeft = size
                paddingLeft = padding(size)
            }
            return entry
        }
    }

    private func padding(_ size: Int64) -> Int64 { (512 - size % 512) % 512 }

    private func makeEntry(
        header: UnsafeRawBufferPointer, type: UInt8, size: Int64, pax: [String: [UInt8]], longName: [UInt8]?, longLink: [UInt8]?
    ) throws(ImageError) -> TarEntry {
        var nameBytes = field(header, 0, 100)
        let isUstar = Array(header[257..<262]) == Array("ustar".utf8)
        if isUstar && header[345] != 0 {
            let prefix = field(header, 345, 155)
            if !prefix.isEmpty { nameBytes = prefix + [UInt8(ascii: "/")] + nameBytes }
        }
        if let longName { nameBytes = longName }
        if let paxPath = pax["path"] { nameBytes = paxPath }
        var linkBytes = field(header, 157, 100)
        if let longLink { linkBytes = longLink }
        if let paxLink = pax["linkpath"] { linkBytes = paxLink }
        let path = try text(nameBytes, what: "name", after: currentName)
        guard nameBytes.count <= Self.maxPathLength, linkBytes.count <= Self.maxPathLength else {
            throw ImageError("entry \"\(path.prefix(80))…\": name longer than \(Self.maxPathLength) bytes")
        }
        let linkName = try text(linkBytes, what: "link target", after: path)
        let kind: TarEntry.Kind
        switch type {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = path.hasSuffix("/") ? .directory : .regular
        case UInt8(ascii: "1"): kind = .hardLink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        default:
            throw ImageError("entry \"\(path)\": unsupported tar entry type \(describe(type))")
        }
        func id(_ key: String, _ offset: Int) throws(ImageError) -> UInt32 {
            var value = try number(header, offset, 8, key)
            if let bytes = pax[key] { value = try paxNumber(bytes, key) }
            guard value >= 0, value <= Int64(UInt32.max - 1) else { throw ImageError("entry \"\(path)\": \(key) \(value) is out of range") }
            return UInt32(value)
        }
        let mode = try number(header, 100, 8, "mode")
        var modified = TarTime(seconds: try number(header, 136, 12, "mtime"), nanoseconds: 0)
        if let value = pax["mtime"] { modified = try paxTime(value, "mtime") }
        var accessed: TarTime?
        if let value = pax["atime"] { accessed = try paxTime(value, "atime") }
        var xattrs: [(String, [UInt8])] = []
        for (key, value) in pax.sorted(by: { $0.key < $1.key }) where key.hasPrefix("SCHILY.xattr.") {
            xattrs.append((String(key.dropFirst("SCHILY.xattr.".count)), value))
        }
        return TarEntry(
            path: path, kind: kind, mode: UInt32(truncatingIfNeeded: mode) & 0o7777, uid: try id("uid", 108), gid: try id("gid", 116),
            size: size, modified: modified, accessed: accessed, linkName: linkName,
            deviceMajor: UInt32(truncatingIfNeeded: try number(header, 329, 8, "devmajor")),
            deviceMinor: UInt32(truncatingIfNeeded: try number(header, 337, 8, "devminor")),
            xattrs: xattrs)
    }

    private func describe(_ type: UInt8) -> String {
        (0x20..<0x7F).contains(type) ? "'\(Character(Unicode.Scalar(type)))'" : "\(type)"
    }

    private func field(_ header: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> [UInt8] {
        let slice = header[offset..<(offset + length)]
        let stop = slice.firstIndex(of: 0) ?? slice.endIndex
        return Array(header[offset..<stop])
    }

    private func text(_ bytes: [UInt8], what: String, after: String) throws(ImageError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw ImageError("entry after \"\(after)\": \(what) is not valid UTF-8")
        }
        return string
    }

    private func verifyChecksum(_ header: UnsafeRawBufferPointer) throws(ImageError) {
        var unsigned = 0, signed = 0
        for i in 0..<512 {
            let byte = (148..<156).contains(i) ? UInt8(ascii: " ") : header[i]
            unsigned += Int(byte)
            signed += Int(Int8(bitPattern: byte))
        }
        let stored = try number(header, 148, 8, "checksum")
        guard stored == Int64(unsigned) || stored == Int64(signed) else {
            throw ImageError("corrupt tar header after \"\(currentName)\": checksum mismatch (not a tar archive, or damaged)")
        }
    }

    /// An octal field, or GNU base-256 when the top bit of the first byte is set.
    private func number(_ header: UnsafeRawBufferPointer, _ offset: Int, _ length: Int, _ name: String) throws(ImageError) -> Int64 {
        let bytes = header[offset..<(offset + length)]
        if let first = bytes.first, first & 0x80 != 0 {
            guard first & 0x40 == 0 else { throw ImageError("tar header after \"\(currentName)\": negative \(name)") }
            var value: Int64 = Int64(first & 0x3F)
            for byte in bytes.dropFirst() {
                guard value <= Int64.max >> 8 else { throw ImageError("tar header after \"\(currentName)\": \(name) overflows") }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false
        for byte in bytes {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if seenDigit { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else {
                throw ImageError("corrupt tar header after \"\(currentName)\": \(name) is not an octal number")
            }
            guard value <= Int64.max >> 3 else { throw ImageError("tar header after \"\(currentName)\": \(name) overflows") }
            value = value << 3 | Int64(byte - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    /// `LEN KEY=VALUE\n` records; values may hold any bytes (xattrs).
    private func parsePax(_ bytes: [UInt8]) throws(ImageError) -> [String: [UInt8]] {
        var records: [String: [UInt8]] = [:]
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0 { break }
            guard let space = bytes[i...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[i..<space], as: UTF8.self)),
                  length > space - i, i + length <= bytes.count, bytes[i + length - 1] == UInt8(ascii: "\n"),
                  let equals = bytes[(space + 1)..<(i + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw ImageError("corrupt pax header after \"\(currentName)\"") }
            let key = String(decoding: bytes[(space + 1)..<equals], as: UTF8.self)
            records[key] = Array(bytes[(equals + 1)..<(i + length - 1)])
            i += length
        }
        return records
    }

    private func paxNumber(_ bytes: [UInt8], _ key: String) throws(ImageError) -> Int64 {
        guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else {
            throw ImageError("pax header after \"\(currentName)\": \(key) is not a number")
        }
        return value
    }

    /// `SECONDS[.FRACTION]`, possibly negative.
    private func paxTime(_ bytes: [UInt8], _ key: String) throws(ImageError) -> TarTime {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0].isEmpty ? "0" : String(parts[0])) else {
            throw ImageError("pax header after \"\(currentName)\": \(key) \"\(text)\" is not a time")
        }
        var nanoseconds: Int64 = 0
        if parts.count == 2 {
            let digits = String(parts[1].prefix(9)).padding(toLength: 9, withPad: "0")
            guard let fraction = Int64(digits), parts[1].allSatisfy(\.isNumber) else {
                throw ImageError("pax header after \"\(currentName)\": \(key) \"\(text)\" is not a time")
            }
            nanoseconds = text.hasPrefix("-") ? -fraction : fraction
        }
        return TarTime(seconds: seconds, nanoseconds: nanoseconds)
    }

    /// Reads what follows the end marker (tar writers pad to a record size) so the stream's
    /// digest covers it; anything but zeros there is refused.
    func finish() throws(ImageError) {
        guard ended else { throw ImageError("archive is truncated: it ends without the end-of-archive marker") }
        while true {
            if start == end {
                guard try fill(1) else { return }
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
            guard chunk.allSatisfy({ $0 == 0 }) else {
                throw ImageError("data after the end-of-archive marker")
            }
            start = end
        }
    }
}

extension String {
    /// Pads on the right to `length` (FoundationEssentials has no padding(toLength:)).
    fileprivate func padding(toLength length: Int, withPad pad: Character) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }
}
