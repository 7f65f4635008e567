import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Scrapes a task's own Prometheus endpoint at scrape time (one HTTP/1.0 GET on 127.0.0.1 with
/// a deadline) and re-exposes its series with the task's labels added. A task that does not
/// answer in time, answers badly or answers too much only loses its own series.
enum TaskScraper {
    static let up = Family("berth_task_scrape_up", .gauge, "1 when the task's own metrics endpoint answered the last scrape, else 0.")
    static let skipped = Family("berth_task_scrape_samples_skipped", .gauge, "Samples of the task's last scrape left out: malformed, over the series limit or clashing with berth's own.")

    /// The most a task's answer may hold.
    static let maxBytes = 8 << 20

    struct Result: Sendable {
        var families: [ScrapedFamily]
        var skipped: Int
    }

    /// GET http://127.0.0.1:port/path; nil on any failure or a non-200 answer.
    static func fetch(port: Int, path: String, timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            guard errno == EINPROGRESS, wait(fd, for: Int16(POLLOUT), until: deadline) else { return nil }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return nil }
        }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n".utf8)
        var offset = 0
        while offset < request.count {
            guard wait(fd, for: Int16(POLLOUT), until: deadline) else { return nil }
            let (written, error) = request.withUnsafeBytes { buffer in
                retryingInterrupts { send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if let error { if error == .wouldBlock { continue }; return nil }
            offset += written
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            guard wait(fd, for: Int16(POLLIN), until: deadline) else { return nil }
            let (count, error) = chunk.withUnsafeMutableBytes { buffer in
                retryingInterrupts { recv(fd, buffer.baseAddress, buffer.count, 0) }
            }
            if let error { if error == .wouldBlock { continue }; return nil }
            if count == 0 { break }
            response += chunk[0..<count]
            if response.count > maxBytes { return nil }
        }
        return body(of: response)
    }

    /// poll(2) until `events` or the deadline.
    private static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(min(seconds * 1000 + attoseconds / 1_000_000_000_000_000, 60_000)) + 1
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let (ready, error) = retryingInterrupts { poll(&entry, 1, milliseconds) }
            if error != nil { return false }
            if ready > 0 { return entry.revents & (events | Int16(POLLHUP)) != 0 }
        }
    }

    /// The body of a 200 answer, de-chunked when the server chunked it.
    static func body(of response: [UInt8]) -> String? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = response.indices.dropLast(3).first(where: { response[$0..<$0 + 4].elementsEqual(separator) }) else { return nil }
        let head = String(decoding: response[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let status = lines.first, status.split(separator: " ").dropFirst().first == "200" else { return nil }
        let chunked = lines.dropFirst().contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        var body = Array(response[(end + 4)...])
        if chunked {
            guard let plain = dechunk(body) else { return nil }
            body = plain
        }
        return String(decoding: body, as: UTF8.self)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard let lineEnd = bytes[i...].firstIndex(of: 13), lineEnd + 1 < bytes.count else { return nil }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16) else { return nil }
            if size == 0 { return out }
            let start = lineEnd + 2
            guard start + size <= bytes.count else { return nil }
            out += bytes[start..<start + size]
            i = start + size + 2
        }
        return nil
    }

    /// Scrapes one target and parses what it says.
    static func scrape(_ target: MetricTarget, limit: Int, timeout: Duration) -> Result? {
        guard let endpoint = target.prometheusEndpoint,
              let text = fetch(port: endpoint.port, path: endpoint.path, timeout: timeout) else { return nil }
        let (families, skipped) = ExpositionParser.parse(text, limit: limit)
        return Result(families: families, skipped: skipped)
    }

    /// Re-exposes a task's series: its identity first; a label of the task's own with the same
    /// name becomes exported_<name>, as Prometheus does without honor_labels.
    static func write(_ result: Result, identity: TargetIdentity, identityNames: Set<String>, into exposition: inout Exposition) -> Int {
        var skipped = result.skipped
        for family in result.families {
            let declared = Family(family.name, family.type, family.help.flatMap { $0.isEmpty ? nil : $0 } ?? "Scraped from a task's own metrics endpoint.")
            for sample in family.samples {
                let own = sample.labels.map { (identityNames.contains($0.0) ? "exported_" + $0.0 : $0.0, $0.1) }
                let labels = Labels.join(identity.rendered, Labels.render(own))
                let suffix = String(sample.name.dropFirst(family.name.count))
                let value: SampleValue
                switch sample.value {
                case "+Inf": value = .real(.infinity)
                case "-Inf": value = .real(-.infinity)
                default: value = .real(Double(sample.value) ?? .nan)
                }
                if !exposition.add(declared, labels: labels, value: value, suffix: suffix, guest: true) { skipped += 1 }
            }
        }
        return skipped
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
