#if canImport(Glibc)
import Glibc
#endif

/// Owns C memory built from Swift values for as long as the C side needs it.
/// Everything is freed together when the arena goes away.
final class CMemory {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit { allocations.forEach { free($0) } }

    func string(_ value: String) -> UnsafePointer<CChar> {
        let copy = strdup(value)!
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    func optionalString(_ value: String?) -> UnsafePointer<CChar>? {
        value.map { string($0) }
    }

    /// A NULL-terminated array of C strings.
    func stringArray(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let array = allocate(UnsafePointer<CChar>?.self, count: values.count + 1)
        for (index, value) in values.enumerated() { array[index] = string(value) }
        array[values.count] = nil
        return UnsafePointer(array)
    }

    func array<T>(_ values: [T]) -> UnsafePointer<T>? {
        if values.isEmpty { return nil }
        let array = allocate(T.self, count: values.count)
        array.initialize(from: values, count: values.count)
        return UnsafePointer(array)
    }

    /// Uninitialised: the C side writes it before reading. Zeroing 64 KiB would fault in 16
    /// pages that a fork then has to share, for a message that fits in one.
    func buffer(bytes: Int) -> UnsafeMutablePointer<CChar> {
        let raw = malloc(max(bytes, 1))!
        allocations.append(raw)
        return raw.bindMemory(to: CChar.self, capacity: max(bytes, 1))
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride)!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }
}
