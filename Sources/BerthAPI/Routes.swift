/// The socket API's paths, shared by berthd's router and the client so neither can drift.
/// Everything is versioned under /v1.
public enum Routes {
    public static let prefix = "/v1"
    public static let agent = "/v1/agent"
    public static let offers = "/v1/offers"
    public static let acceptOffers = "/v1/offers/accept"
    public static let declineOffers = "/v1/offers/decline"
    public static let tasks = "/v1/tasks"
    /// A stream of task status updates, one JSON object per line.
    public static let events = "/v1/events"
    public static let images = "/v1/images"
    public static let importImage = "/v1/images/import"
    public static let pruneImages = "/v1/images/prune"

    public static func task(_ id: String) -> String { "/v1/tasks/\(percentEncoded(id))" }
    public static func killTask(_ id: String) -> String { "/v1/tasks/\(percentEncoded(id))/kill" }
    public static func taskLogs(_ id: String) -> String { "/v1/tasks/\(percentEncoded(id))/logs" }
    public static func image(_ name: String) -> String { "/v1/images/\(percentEncoded(name))" }

    /// Path segments carry ids and image names; anything outside the unreserved set is escaped.
    public static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// The inverse of `percentEncoded`; nil for a malformed escape.
    public static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex else { return nil }
                let second = utf8.index(after: first)
                guard second < utf8.endIndex,
                      let value = UInt8(String(decoding: [utf8[first], utf8[second]], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                index = utf8.index(after: second)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `?a=1&b=2` into pairs; later keys win.
    public static func query(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecoded(parts[0]) else { continue }
            result[key] = parts.count > 1 ? percentDecoded(parts[1]) ?? "" : ""
        }
        return result
    }
}
