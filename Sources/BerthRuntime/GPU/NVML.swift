import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// NVIDIA's management library, loaded with dlopen when the driver installed it. Only the few
/// calls inventory needs; every handle stays inside `devices()`.
enum NVML {
    struct Unavailable: Error {
        var message: String
    }

    private typealias Init = @convention(c) () -> Int32
    private typealias Shutdown = @convention(c) () -> Int32
    private typealias GetCount = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
    private typealias GetHandle = @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias GetMinor = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias GetString = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>, UInt32) -> Int32
    /// nvmlMemory_t is { unsigned long long total, free, used }.
    private typealias GetMemory = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt64>) -> Int32

    static let library = "libnvidia-ml.so.1"

    /// The GPUs NVML reports, in its order; `.failure` says why NVML could not be asked.
    static func devices() -> Swift.Result<[GPU], Unavailable> {
        // A process started without a dynamic loader (berth is linked statically) would bring a
        // second C library in with NVML; the driver's /proc files, in the same order, serve it.
        guard berth_has_dynamic_loader() != 0 else {
            return .failure(Unavailable(message: "\(library) is not loaded into a statically linked process"))
        }
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(Unavailable(message: "\(library) not loadable"))
        }
        defer { dlclose(handle) }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            guard let pointer = dlsym(handle, name) else { return nil }
            return unsafeBitCast(pointer, to: type)
        }
        guard let initialize = symbol("nvmlInit_v2", as: Init.self),
              let shutdown = symbol("nvmlShutdown", as: Shutdown.self),
              let getCount = symbol("nvmlDeviceGetCount_v2", as: GetCount.self),
              let getHandle = symbol("nvmlDeviceGetHandleByIndex_v2", as: GetHandle.self),
              let getMinor = symbol("nvmlDeviceGetMinorNumber", as: GetMinor.self)
        else {
            return .failure(Unavailable(message: "\(library) lacks the NVML v2 entry points"))
        }
        let getUUID = symbol("nvmlDeviceGetUUID", as: GetString.self)
        let getName = symbol("nvmlDeviceGetName", as: GetString.self)
        let getMemory = symbol("nvmlDeviceGetMemoryInfo", as: GetMemory.self)

        let status = initialize()
        guard status == 0 else {
            return .failure(Unavailable(message: "nvmlInit_v2 failed with NVML error \(status) (is the driver loaded?)"))
        }
        defer { _ = shutdown() }
        var count: UInt32 = 0
        guard getCount(&count) == 0 else {
            return .failure(Unavailable(message: "nvmlDeviceGetCount_v2 failed"))
        }
        var gpus: [GPU] = []
        for index in 0..<count {
            var device: OpaquePointer?
            var minor: UInt32 = 0
            guard getHandle(index, &device) == 0, getMinor(device, &minor) == 0 else { continue }
            var gpu = GPU(vendor: .nvidia, index: Int(index), minor: minor, devicePaths: ["/dev/nvidia\(minor)"])
            gpu.uuid = getUUID.flatMap { string($0, device) }
            gpu.name = getName.flatMap { string($0, device) }
            if let getMemory {
                var memory: (UInt64, UInt64, UInt64) = (0, 0, 0)
                let ok = withUnsafeMutableBytes(of: &memory) { raw in
                    getMemory(device, raw.baseAddress!.assumingMemoryBound(to: UInt64.self)) == 0
                }
                if ok { gpu.memoryBytes = memory.0 }
            }
            gpus.append(gpu)
        }
        return .success(gpus)
    }

    private static func string(_ call: GetString, _ device: OpaquePointer?) -> String? {
        // NVML's own buffer sizes are 80 (UUID) and 96 (name); 256 covers both.
        var buffer = [CChar](repeating: 0, count: 256)
        guard call(device, &buffer, UInt32(buffer.count)) == 0 else { return nil }
        let value = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return value.isEmpty ? nil : value
    }
}
