import CBerthCompress

/// A content digest, `sha256:<64 lowercase hex>`: the only algorithm berth accepts. The hex part
/// is checked before it is ever used in a path, so a digest can never name a file outside the store.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init(hex: String) throws(ImageError) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw ImageError("\"\(hex)\" is not 64 lowercase hex digits")
        }
        self.hex = hex
    }

    /// Parses `sha256:…`; anything else (another algorithm, upper case, wrong length) is refused.
    public init(parsing text: String) throws(ImageError) {
        guard text.hasPrefix("sha256:") else {
            throw ImageError("digest \"\(text)\" is not sha256:<hex> (the only algorithm berth verifies)")
        }
        switch Result(catching: { () throws(ImageError) in try Digest(hex: String(text.dropFirst(7))) }) {
        case .success(let digest): self = digest
        case .failure: throw ImageError("digest \"\(text)\" is not sha256 followed by 64 lowercase hex digits")
        }
    }

    public var description: String { "sha256:" + hex }
    /// The first 12 hex digits, as `docker images` shows them.
    public var short: String { String(hex.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch Result(catching: { () throws(ImageError) in try Digest(parsing: text) }) {
        case .success(let digest): self = digest
        case .failure(let error):
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The digest of a byte string.
    public static func of(_ bytes: some Collection<UInt8>) -> Digest {
        var hasher = SHA256()
        hasher.update(Array(bytes))
        return hasher.finish()
    }
}

/// Streaming SHA-256 (the C implementation in CBerthCompress), with a byte count.
public struct SHA256: Sendable {
    private var context = berth_sha256()

    public init() { berth_sha256_init(&context) }

    public var count: UInt64 { context.length }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        berth_sha256_update(&context, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func finish() -> Digest {
        var copy = context
        var digest = [UInt8](repeating: 0, count: 32)
        berth_sha256_final(&copy, &digest)
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xF)])
        }
        // Always well-formed: 64 lowercase hex digits.
        return try! Digest(hex: String(decoding: hex, as: UTF8.self))
    }
}
