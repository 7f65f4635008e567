/// Reads a task's Prometheus text exposition so its samples can be re-exposed with the task's
/// labels. Every line is checked; a bad line is skipped and counted, never copied through.
struct ScrapedSample: Sendable {
    /// The sample's full name ("http_requests_total", "latency_bucket").
    var name: String
    var labels: [(String, String)]
    var value: String
}

struct ScrapedFamily: Sendable {
    var name: String
    var type: MetricType
    var help: String?
    var samples: [ScrapedSample] = []
}

enum ExpositionParser {
    /// Families in the order they appear. At most `limit` samples are kept; `skipped` counts
    /// the rest and the malformed lines.
    static func parse(_ text: String, limit: Int) -> (families: [ScrapedFamily], skipped: Int) {
        var families: [ScrapedFamily] = []
        var index: [String: Int] = [:]
        var kept = 0, skipped = 0

        func family(_ name: String) -> Int {
            if let i = index[name] { return i }
            index[name] = families.count
            families.append(ScrapedFamily(name: name, type: .untyped))
            return families.count - 1
        }

        for rawLine in text.split(separator: "\n") {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
                guard parts.count >= 3, parts[0] == "#", Labels.isValidMetricName(String(parts[2])) else { continue }
                let name = String(parts[2])
                if parts[1] == "TYPE", parts.count == 4, let type = MetricType(rawValue: String(parts[3]).trimmingCharacters(in: " \t")) {
                    families[family(name)].type = type
                } else if parts[1] == "HELP" {
                    families[family(name)].help = parts.count == 4 ? unescapeHelp(parts[3]) : ""
                }
                continue
            }
            guard let sample = parseSample(line) else { skipped += 1; continue }
            guard kept < limit else { skipped += 1; continue }
            kept += 1
            families[family(owner(of: sample.name, index: index, families: families))].samples.append(sample)
        }
        return (families.filter { !$0.samples.isEmpty }, skipped)
    }

    /// The family a sample belongs to: its own name, or for _bucket/_sum/_count (histograms and
    /// summaries) and _total/_created (OpenMetrics counters) the declared family it extends.
    static func owner(of name: String, index: [String: Int], families: [ScrapedFamily]) -> String {
        if index[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count", "_total", "_created"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let i = index[base], families[i].type != .untyped { return base }
        }
        return name
    }

    /// `name{a="x",b="y"} value [timestamp]`; the timestamp is dropped.
    static func parseSample(_ line: Substring) -> ScrapedSample? {
        var rest = line[...]
        let nameEnd = rest.firstIndex { $0 == "{" || $0 == " " || $0 == "\t" } ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard Labels.isValidMetricName(name) else { return nil }
        rest = rest[nameEnd...]
        var labels: [(String, String)] = []
        if rest.first == "{" {
            rest = rest.dropFirst()
            while true {
                rest = rest.drop { $0 == " " }
                if rest.first == "}" { rest = rest.dropFirst(); break }
                guard let equals = rest.firstIndex(of: "=") else { return nil }
                let key = String(rest[..<equals]).trimmingCharacters(in: " ")
                guard Labels.isValidName(key) else { return nil }
                rest = rest[rest.index(after: equals)...].drop { $0 == " " }
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                var value = ""
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\"" { closed = true; break }
                    if c == "\\" {
                        guard let next = rest.first else { return nil }
                        rest = rest.dropFirst()
                        switch next {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: return nil
                        }
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { return nil }
                labels.append((key, value))
                rest = rest.drop { $0 == " " }
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { return nil }
            }
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 1 || fields.count == 2 else { return nil }
        let value = String(fields[0])
        guard ["+Inf", "-Inf", "NaN"].contains(value) || Double(value) != nil else { return nil }
        if fields.count == 2 && Int64(fields[1]) == nil { return nil }
        return ScrapedSample(name: name, labels: labels, value: value)
    }

    static func unescapeHelp(_ text: Substring) -> String {
        String(text).replacing("\\n", with: "\n").replacing("\\\\", with: "\\")
    }
}
