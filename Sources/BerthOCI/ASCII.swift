/// Checks on ASCII text by its bytes. Character.isNumber and Unicode.Scalar.properties consult
/// the Unicode tables, whose first use costs a process that starts for every container page
/// faults for data it never needs here.
package enum ASCII {
    /// One or more of 0-9, nothing else.
    package static func isDigits(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isDigit)
    }

    package static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    package static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
