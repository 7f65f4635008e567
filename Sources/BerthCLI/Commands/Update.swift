import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthLinux
import BerthRuntimeCLI
import FoundationEssentials

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change the resource limits of a live container.")
    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "OCI linux.resources JSON file, or - for stdin.") var resources: String?
    @Option(name: .customLong("cpu-shares"), parsing: .unconditional, help: "CPU shares (relative weight).") var cpuShares: String?
    @Option(name: .customLong("cpu-period"), parsing: .unconditional, help: "CFS period in microseconds.") var cpuPeriod: String?
    @Option(name: .customLong("cpu-quota"), parsing: .unconditional, help: "CFS quota in microseconds (-1 = unlimited).") var cpuQuota: String?
    @Option(name: .customLong("cpu-rt-period"), parsing: .unconditional, help: "Real-time period in microseconds.") var cpuRtPeriod: String?
    @Option(name: .customLong("cpu-rt-runtime"), parsing: .unconditional, help: "Real-time runtime in microseconds.") var cpuRtRuntime: String?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs allowed (0-3,5).") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes allowed.") var cpusetMems: String?
    @Option(name: .customLong("memory"), parsing: .unconditional, help: "Memory limit in bytes (k/m/g suffixes; -1 = unlimited).") var memory: String?
    @Option(name: .customLong("memory-reservation"), parsing: .unconditional, help: "Memory soft limit in bytes.") var memoryReservation: String?
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: "Memory plus swap limit in bytes.") var memorySwap: String?
    @Option(name: .customLong("kernel-memory"), parsing: .unconditional, help: "Kernel memory limit in bytes.") var kernelMemory: String?
    @Option(name: .customLong("kernel-memory-tcp"), parsing: .unconditional, help: "Kernel TCP memory limit in bytes.") var kernelMemoryTCP: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: "Maximum number of processes (-1 = unlimited).") var pidsLimit: String?
    @Option(name: .customLong("blkio-weight"), parsing: .unconditional, help: "Block IO weight (10 to 1000).") var blkioWeight: String?
    @Argument(help: "Container id.") var id: String

    func run() throws {
        let runtime = try global.prepare()
        var change = Spec.Resources()
        if let resources {
            let data: Data
            do {
                data = Data(resources == "-"
                    ? try FileDescriptor.standardInput.readAll(step: "read standard input")
                    : try FileSystem.readBytes(resources))
            } catch {
                throw CommandError(description: "update: --resources: \(error)")
            }
            do {
                change = try OCIJSON.decode(Spec.Resources.self, from: data, source: "resources.json")
            } catch {
                throw CommandError(description: "update: \(error)")
            }
        }
        func editCPU(_ edit: (inout Spec.Resources.CPU) -> Void) {
            var value = change.cpu ?? Spec.Resources.CPU()
            edit(&value)
            change.cpu = value
        }
        func editMemory(_ edit: (inout Spec.Resources.Memory) -> Void) {
            var value = change.memory ?? Spec.Resources.Memory()
            edit(&value)
            change.memory = value
        }
        if let v = try Self.unsigned(cpuShares, "--cpu-shares") { editCPU { $0.shares = v } }
        if let v = try Self.unsigned(cpuPeriod, "--cpu-period") { editCPU { $0.period = v } }
        if let v = try Self.signed(cpuQuota, "--cpu-quota") { editCPU { $0.quota = v } }
        if let v = try Self.unsigned(cpuRtPeriod, "--cpu-rt-period") { editCPU { $0.realtimePeriod = v } }
        if let v = try Self.signed(cpuRtRuntime, "--cpu-rt-runtime") { editCPU { $0.realtimeRuntime = v } }
        if let v = cpusetCpus { editCPU { $0.cpus = v } }
        if let v = cpusetMems { editCPU { $0.mems = v } }
        if let v = try Self.bytes(memory, "--memory") { editMemory { $0.limit = v } }
        if let v = try Self.bytes(memoryReservation, "--memory-reservation") { editMemory { $0.reservation = v } }
        if let v = try Self.bytes(memorySwap, "--memory-swap") { editMemory { $0.swap = v } }
        if let v = try Self.bytes(kernelMemory, "--kernel-memory") { editMemory { $0.kernel = v } }
        if let v = try Self.bytes(kernelMemoryTCP, "--kernel-memory-tcp") { editMemory { $0.kernelTCP = v } }
        if let v = try Self.signed(pidsLimit, "--pids-limit") { change.pids = .init(limit: v) }
        if let text = blkioWeight {
            guard let v = UInt16(text) else {
                throw CommandError(description: "update: --blkio-weight: \"\(text)\" is not a weight (10 to 1000)")
            }
            var io = change.blockIO ?? Spec.Resources.BlockIO()
            io.weight = v
            change.blockIO = io
        }
        try runtime.update(id: id, with: change)
    }

    static func signed(_ text: String?, _ flag: String) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text) else { throw CommandError(description: "update: \(flag): \"\(text)\" is not a whole number") }
        return value
    }

    static func unsigned(_ text: String?, _ flag: String) throws -> UInt64? {
        guard let text else { return nil }
        guard let value = UInt64(text) else { throw CommandError(description: "update: \(flag): \"\(text)\" is not a non-negative whole number") }
        return value
    }

    /// A byte count as runc takes it: "1048576", "512k", "32m", "1g" (binary units), or -1.
    static func bytes(_ text: String?, _ flag: String) throws -> Int64? {
        guard let text else { return nil }
        var digits = text.lowercased()
        if digits.hasSuffix("ib") { digits.removeLast(2) } else if digits.hasSuffix("b") { digits.removeLast() }
        var multiplier: Int64 = 1
        if let last = digits.last, let power = ["k": 1, "m": 2, "g": 3, "t": 4][String(last)] {
            digits.removeLast()
            multiplier = Int64(1) << (10 * power)
        }
        guard let value = Int64(digits), value.multipliedReportingOverflow(by: multiplier).overflow == false else {
            throw CommandError(description: "update: \(flag): \"\(text)\" is not a byte count")
        }
        return value == -1 ? -1 : value * multiplier
    }
}
