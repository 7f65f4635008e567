import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// One GPU of the machine, as discovered.
public struct GPU: Sendable, Codable, Equatable {
    public enum Vendor: String, Sendable, Codable {
        case nvidia, amd
    }

    public var vendor: Vendor
    /// The index containers ask for in `org.berth.gpus`: NVIDIA GPUs first (in NVML order; without
    /// NVML by PCI address as NVML orders them, then by minor number), then AMD GPUs by render node.
    public var index: Int
    /// The minor number of the GPU's own device node (/dev/nvidiaN, /dev/dri/renderDN).
    public var minor: UInt32
    public var uuid: String?
    public var name: String?
    public var memoryBytes: UInt64?
    /// The GPU's own device nodes, as paths below the discovery root (and so inside the container).
    public var devicePaths: [String]

    public init(vendor: Vendor, index: Int, minor: UInt32, uuid: String? = nil, name: String? = nil,
                memoryBytes: UInt64? = nil, devicePaths: [String]) {
        self.vendor = vendor
        self.index = index
        self.minor = minor
        self.uuid = uuid
        self.name = name
        self.memoryBytes = memoryBytes
        self.devicePaths = devicePaths
    }
}

/// Finds the machine's GPUs. Never fails: a missing driver means no GPUs and one note.
public enum GPUInventory {
    /// NVIDIA's character device major number.
    public static let nvidiaMajor: UInt32 = 195
    /// Nodes every NVIDIA container needs besides its GPUs' own, when the host has them.
    public static let nvidiaControlNodes = ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"]
    /// The node every AMD (ROCm) container needs besides its GPUs' render nodes.
    public static let amdControlNodes = ["/dev/kfd"]

    /// What discovery found, and at most one line saying why it found nothing.
    public struct Result: Sendable {
        public var gpus: [GPU]
        public var note: String?
    }

    /// The GPUs below `root` (tests point this at a fake tree; NVML is asked only for "/").
    public static func discover(root: String = "/") -> [GPU] {
        scan(root: root).gpus
    }

    public static func scan(root: String = "/") -> Result {
        let base = root == "/" ? "" : (root.hasSuffix("/") ? String(root.dropLast()) : root)
        var notes: [String] = []
        var nvidia: [GPU] = []
        if base.isEmpty {
            switch NVML.devices() {
            case .success(let found): nvidia = found
            case .failure(let reason): notes.append(reason.message)
            }
        }
        if nvidia.isEmpty {
            nvidia = nvidiaFromFiles(base: base)
        } else {
            // NVML knows the GPUs; /proc's information files may know names NVML did not give.
            let information = nvidiaInformation(base: base)
            for i in nvidia.indices where nvidia[i].name == nil {
                nvidia[i].name = information[nvidia[i].minor]?.model
            }
        }
        var gpus = nvidia.enumerated().map { offset, gpu in
            var gpu = gpu
            gpu.index = offset
            return gpu
        }
        for var gpu in amdFromFiles(base: base) {
            gpu.index = gpus.count
            gpus.append(gpu)
        }
        if !gpus.isEmpty { return Result(gpus: gpus, note: nil) }
        notes.append("no /dev/nvidia[0-9]* and no /dev/kfd with /dev/dri/renderD* below \(root)")
        return Result(gpus: [], note: "GPUs: none found (" + notes.joined(separator: "; ") + ")")
    }

    // MARK: files

    /// /dev/nvidiaN character devices (major 195), described by /proc/driver/nvidia/gpus/*/information.
    static func nvidiaFromFiles(base: String) -> [GPU] {
        let names = (try? FileSystem.listDirectory(base + "/dev")) ?? []
        var gpus: [GPU] = []
        for name in names where name.hasPrefix("nvidia") {
            let suffix = name.dropFirst("nvidia".count)
            guard ASCII.isDigits(suffix) else { continue }
            guard let node = DeviceNode.lookup(base + "/dev/" + name), node.isCharacter, node.major == nvidiaMajor else { continue }
            gpus.append(GPU(vendor: .nvidia, index: 0, minor: node.minor, devicePaths: ["/dev/" + name]))
        }
        let information = nvidiaInformation(base: base)
        for i in gpus.indices {
            guard let info = information[gpus[i].minor] else { continue }
            gpus[i].name = info.model
            gpus[i].uuid = info.uuid
        }
        // NVML's order, so that berth (no NVML in a static binary) and berthd agree on indices.
        // Nodes the driver's files do not describe come last.
        func order(_ gpu: GPU) -> (String, UInt32) { (information[gpu.minor]?.address ?? "~", gpu.minor) }
        return gpus.sorted { order($0) < order($1) }
    }

    struct NvidiaInformation: Equatable {
        var model: String?
        var uuid: String?
        var minor: UInt32?
        /// The PCI address the driver's directory is named by ("0000:3b:00.0").
        var address: String?
    }

    /// Each /proc/driver/nvidia/gpus/<pci address>/information, keyed by device minor.
    static func nvidiaInformation(base: String) -> [UInt32: NvidiaInformation] {
        let directory = base + "/proc/driver/nvidia/gpus"
        var result: [UInt32: NvidiaInformation] = [:]
        for address in (try? FileSystem.listDirectory(directory)) ?? [] {
            guard let text = try? FileSystem.readString(directory + "/" + address + "/information") else { continue }
            var info = parseInformation(text)
            info.address = address.lowercased()
            if let minor = info.minor { result[minor] = info }
        }
        return result
    }

    /// Lines like "Model:           Tesla T4", "GPU UUID:        GPU-…", "Device Minor:    0".
    static func parseInformation(_ text: String) -> NvidiaInformation {
        var info = NvidiaInformation()
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmed(" \t")
            let value = line[line.index(after: colon)...].trimmed(" \t")
            guard !value.isEmpty else { continue }
            switch key {
            case "Model": info.model = value
            case "GPU UUID": info.uuid = value
            case "Device Minor": info.minor = UInt32(value)
            default: break
            }
        }
        return info
    }

    /// AMD: /dev/kfd plus one /dev/dri/renderDN per GPU (a render node whose sysfs vendor is
    /// known and not AMD's 0x1002 is someone else's GPU and is left out).
    static func amdFromFiles(base: String) -> [GPU] {
        guard let kfd = DeviceNode.lookup(base + "/dev/kfd"), kfd.isCharacter else { return [] }
        var gpus: [GPU] = []
        for name in (try? FileSystem.listDirectory(base + "/dev/dri")) ?? [] where name.hasPrefix("renderD") {
            guard let node = DeviceNode.lookup(base + "/dev/dri/" + name), node.isCharacter else { continue }
            let sys = base + "/sys/class/drm/" + name + "/device"
            if let vendor = try? FileSystem.readString(sys + "/vendor"),
               vendor.trimmed(" \n") != "0x1002" { continue }
            var gpu = GPU(vendor: .amd, index: 0, minor: node.minor, devicePaths: ["/dev/dri/" + name])
            if let name = try? FileSystem.readString(sys + "/product_name") {
                let trimmed = name.trimmed(" \n")
                if !trimmed.isEmpty { gpu.name = trimmed }
            }
            if let vram = try? FileSystem.readString(sys + "/mem_info_vram_total") {
                gpu.memoryBytes = UInt64(vram.trimmed(" \n"))
            }
            gpus.append(gpu)
        }
        return gpus.sorted { $0.minor < $1.minor }
    }
}

/// A device node's type and numbers, from stat(2) (symlinks followed, as the kernel would).
struct DeviceNode: Equatable {
    var mode: mode_t
    var major: UInt32
    var minor: UInt32

    var isCharacter: Bool { mode & S_IFMT == S_IFCHR }
    var isBlock: Bool { mode & S_IFMT == S_IFBLK }
    var permissions: UInt32 { UInt32(mode & 0o7777) }

    static func lookup(_ path: String) -> DeviceNode? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let device = UInt64(info.st_rdev)
        // glibc's gnu_dev_major/minor encoding.
        let major = UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff)))
        let minor = UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~UInt64(0xff)))
        return DeviceNode(mode: info.st_mode, major: major, minor: minor)
    }
}

extension StringProtocol {
    fileprivate func trimmed(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
