/// Checks on ASCII text by its bytes. Character.isNumber and Unicode.Scalar.properties consult
/// the Unicode tables, whose first use costs a process that starts for every container page
/// faults for data it never needs here.
package enum ASCII {
    /// One or more of 0-9, nothing else.
    package static func isDigits(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isDigit)
    }

    package static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// `text` with every `character` (ASCII) replaced. Not String.replacing, which is Swift's
    /// string-processing library: berth links none of it.
    package static func replacing(_ character: Character, with replacement: String, in text: String) -> String {
        guard let target = character.asciiValue, text.utf8.contains(target) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            if byte == target { bytes.append(contentsOf: replacement.utf8) } else { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    package static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
