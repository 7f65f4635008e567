/// Writes every container's samples straight into one byte buffer per family: each container's
/// identity labels are rendered and escaped once, values are written as digits without a String.
struct ContainerPage: ContainerSampleSink {
    private static let names: [[UInt8]] = ContainerMetrics.families.map { Array($0.name.utf8) }

    private var bodies: [[UInt8]] = Array(repeating: [], count: ContainerMetrics.families.count)
    /// `{task_id="..",container_id="..",image="..",label_x=".."` of the container being written.
    private var identity: [UInt8] = []

    /// The container whose samples come next; its labels are rendered once and kept with its
    /// files until they change.
    mutating func begin(_ target: MetricTarget, labelPrefix: String, files: ContainerFiles) {
        let source = TargetIdentity.Source(target, labelPrefix: labelPrefix)
        if let known = files.identity, known.source == source {
            identity = known.rendered
            return
        }
        identity = [UInt8(ascii: "{")] + Array(TargetIdentity(target, labelPrefix: labelPrefix).rendered.utf8)
        files.identity = (source, identity)
    }

    mutating func add(_ series: ContainerMetrics.Series, _ value: ContainerValue, label: (name: String, value: UnsafeRawBufferPointer)?) {
        let slot = series.rawValue
        bodies[slot].append(contentsOf: Self.names[slot])
        bodies[slot].append(contentsOf: identity)
        if let label {
            if identity.count > 1 { bodies[slot].append(UInt8(ascii: ",")) }
            bodies[slot].append(contentsOf: label.name.utf8)
            bodies[slot].append(contentsOf: "=\"".utf8)
            Self.appendEscaped(label.value, to: &bodies[slot])
            bodies[slot].append(UInt8(ascii: "\""))
        }
        bodies[slot].append(contentsOf: "} ".utf8)
        switch value {
        case .integer(let number): Digits.appendDecimal(number, to: &bodies[slot])
        case .nanoseconds(let number): Digits.appendFixed(number, scale: 9, to: &bodies[slot])
        case .microseconds(let number): Digits.appendFixed(number, scale: 6, to: &bodies[slot])
        case .real(let number): bodies[slot].append(contentsOf: SampleValue.real(number).text.utf8)
        }
        bodies[slot].append(10)
    }

    /// Hands every family with samples to the page, in the order of `ContainerMetrics.families`.
    func write(into exposition: inout Exposition) {
        for (slot, body) in bodies.enumerated() where !body.isEmpty {
            exposition.append(ContainerMetrics.families[slot], lines: body)
        }
    }

    /// A label value from the kernel (a device or interface name): escaped as the format wants,
    /// and anything not UTF-8 replaced, as String(decoding:) would.
    static func appendEscaped(_ value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard value.allSatisfy({ $0 < 0x80 }) else {
            out.append(contentsOf: Labels.escapeValue(String(decoding: value, as: UTF8.self)).utf8)
            return
        }
        for byte in value {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case 10: out.append(contentsOf: "\\n".utf8)
            default: out.append(byte)
            }
        }
    }
}

/// Numbers written as text straight into a byte buffer.
package enum Digits {
    package static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = value
            var i = 20
            while rest > 0 {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    /// `value / 10^scale` as an exact decimal without trailing zeros: 2546374 ns is "0.002546374".
    package static func appendFixed(_ value: UInt64, scale: Int, to out: inout [UInt8]) {
        var unit: UInt64 = 1
        for _ in 0..<scale { unit *= 10 }
        appendDecimal(value / unit, to: &out)
        var fraction = value % unit
        guard fraction > 0 else { return }
        out.append(UInt8(ascii: "."))
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scale) { digits in
            for i in stride(from: scale - 1, through: 0, by: -1) {
                digits[i] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            var end = scale
            while digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[..<end]))
        }
    }
}
