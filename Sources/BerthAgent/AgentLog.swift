#if canImport(Glibc)
import Glibc
#endif

/// Structured log lines on stderr, logfmt style: `ts=... level=info msg="..." task=web`.
public struct AgentLog: Sendable {
    public enum Level: String, Sendable { case debug, info, warn, error }
    public var debugEnabled: Bool

    public init(debug: Bool = false) {
        self.debugEnabled = debug
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        if debugEnabled { write(.debug, message, fields) }
    }
    public func info(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.info, message, fields) }
    public func warn(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.warn, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, String> = [:]) { write(.error, message, fields) }

    private func write(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, String>) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var line = "ts=\(spec.tv_sec).\(String(spec.tv_nsec / 1_000_000).leftPadded(3)) level=\(level.rawValue) msg=\(Self.quote(message))"
        for (key, value) in fields { line += " \(key)=\(Self.quote(value))" }
        line += "\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    }

    /// Values with spaces, quotes or control characters are quoted and escaped, so one log
    /// record is always one line.
    static func quote(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0.value < 0x7f }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
