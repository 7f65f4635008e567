import BerthLinux
import BerthOCI
@testable import BerthRuntime
import Foundation
import Testing

/// A fake discovery root: two NVIDIA GPUs and the control node as real character devices
/// (major 195), described by the driver's /proc information files. No driver is behind them, so
/// opening an allowed node gives ENXIO and a refused one EPERM from the devices controller.
/// `minors` are the minor numbers of the GPUs at PCI addresses 0000:01:00.0 and 0000:02:00.0.
private func makeFakeGPURoot(in directory: String, minors: (Int, Int) = (0, 1)) throws -> String {
    let root = directory + "/gpu-root"
    for name in ["0000:01:00.0", "0000:02:00.0"] {
        try TestHost.run(["/bin/mkdir", "-p", root + "/dev", root + "/proc/driver/nvidia/gpus/" + name])
    }
    for (name, minor) in [("nvidia0", "0"), ("nvidia1", "1"), ("nvidiactl", "255")] {
        let made = try TestHost.run(["/bin/mknod", "-m", "666", root + "/dev/" + name, "c", "195", minor])
        #expect(made.succeeded, "mknod \(name): \(made.err)")
    }
    for (address, uuid, minor) in [("0000:01:00.0", "GPU-00000000-1111-2222-3333-444444444444", minors.0),
                                   ("0000:02:00.0", "GPU-55555555-6666-7777-8888-999999999999", minors.1)] {
        let text = """
            Model: \t\t Tesla T4
            IRQ:   \t\t 35
            GPU UUID: \t\t \(uuid)
            Video BIOS: \t 90.04.38.00.03
            Bus Type: \t\t PCIe
            DMA Size: \t\t 47 bits
            Bus Location: \t \(address)
            Device Minor: \t \(minor)

            """
        try FileSystem.writeAtomically(Array(text.utf8), to: root + "/proc/driver/nvidia/gpus/\(address)/information")
    }
    return root
}

private let secondUUID = "GPU-55555555-6666-7777-8888-999999999999"

@Suite("GPU inventory parsing and annotation checks")
struct GPUTestsWithoutRoot {
    @Test("the driver's information file gives model, UUID and minor")
    func information() {
        let info = GPUInventory.parseInformation("Model: \t\t NVIDIA A100-SXM4-40GB\nIRQ: 44\nGPU UUID: \t GPU-abc\nDevice Minor: \t 3\nBlacklisted: \t No\n")
        #expect(info == .init(model: "NVIDIA A100-SXM4-40GB", uuid: "GPU-abc", minor: 3))
    }

    @Test("a root without drivers has no GPUs and one note, and a spec without the annotation is untouched")
    func noDriver() throws {
        let directory = try TestHost.temporaryDirectory("gpu-empty")
        defer { _ = try? TestHost.run(["/bin/rm", "-rf", directory]) }
        let result = GPUInventory.scan(root: directory)
        #expect(result.gpus.isEmpty)
        #expect(result.note?.hasPrefix("GPUs: none found") == true)
        let spec = Spec.defaultSpec()
        #expect(try GPUInjection.apply(to: spec) == spec)
    }

    @Test("bad annotations are refused naming the annotation")
    func refusals() throws {
        let inventory = GPUInventory.Result(gpus: [
            GPU(vendor: .nvidia, index: 0, minor: 0, devicePaths: ["/dev/nvidia0"]),
            GPU(vendor: .nvidia, index: 1, minor: 1, devicePaths: ["/dev/nvidia1"]),
        ], note: nil)
        let field = "config.json: annotations.org.berth.gpus"
        #expect(throws: RuntimeError("\(field): GPU 7 does not exist (found 2)")) {
            try GPUInjection.select("7", from: inventory, field: field)
        }
        #expect(throws: RuntimeError("\(field): \"x\" is not \"all\" or a comma-separated list of GPU indices")) {
            try GPUInjection.select("x", from: inventory, field: field)
        }
        #expect(throws: RuntimeError.self) { try GPUInjection.select("0,,1", from: inventory, field: field) }
        #expect(throws: RuntimeError.self) { try GPUInjection.select("-1", from: inventory, field: field) }
        #expect(try GPUInjection.select("1, 0,1", from: inventory, field: field).map(\.index) == [1, 0])
        #expect(try GPUInjection.select("all", from: inventory, field: field).count == 2)
        #expect(throws: RuntimeError.self) {
            try GPUInjection.select("all", from: .init(gpus: [], note: "GPUs: none found"), field: field)
        }
    }
}

@Suite("GPUs from a fake discovery root, allowed and refused by the devices controller", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct GPUTests {
    @Test("inventory reads /dev/nvidiaN (major 195) and /proc/driver/nvidia; berth gpus lists it")
    func inventory() throws {
        let sandbox = try Sandbox("gpu-inv")
        defer { sandbox.cleanUp() }
        let root = try makeFakeGPURoot(in: sandbox.directory)
        let result = GPUInventory.scan(root: root)
        #expect(result.note == nil)
        #expect(result.gpus == [
            GPU(vendor: .nvidia, index: 0, minor: 0, uuid: "GPU-00000000-1111-2222-3333-444444444444", name: "Tesla T4", devicePaths: ["/dev/nvidia0"]),
            GPU(vendor: .nvidia, index: 1, minor: 1, uuid: secondUUID, name: "Tesla T4", devicePaths: ["/dev/nvidia1"]),
        ])
        #expect(GPUInventory.discover(root: root + "/") == result.gpus)

        let listed = try TestHost.run([TestHost.berthBinary, "gpus", "--discovery-root", root, "--format", "json"])
        #expect(listed.succeeded, "\(listed.err)")
        #expect(try JSONDecoder().decode([GPU].self, from: Data(listed.standardOutput)) == result.gpus)
        let table = try TestHost.run([TestHost.berthBinary, "gpus", "--discovery-root", root])
        #expect(table.succeeded, "\(table.err)")
        #expect(table.out.split(separator: "\n").count == 3)
        #expect(table.out.contains(secondUUID))
    }

    @Test("without NVML (berth is static) GPUs are numbered by PCI address, as NVML numbers them, not by minor")
    func pciOrder() throws {
        let sandbox = try Sandbox("gpu-order")
        defer { sandbox.cleanUp() }
        let root = try makeFakeGPURoot(in: sandbox.directory, minors: (1, 0))
        let gpus = GPUInventory.scan(root: root).gpus
        #expect(gpus.map(\.minor) == [1, 0])
        #expect(gpus.map(\.index) == [0, 1])
        #expect(gpus.map(\.devicePaths) == [["/dev/nvidia1"], ["/dev/nvidia0"]])
        // The static berth binary answers the same.
        let listed = try TestHost.run([TestHost.berthBinary, "gpus", "--discovery-root", root, "--format", "json"])
        #expect(listed.succeeded, "\(listed.err)")
        #expect(try JSONDecoder().decode([GPU].self, from: Data(listed.standardOutput)) == gpus)
    }

    @Test("injection adds the GPU's node, the control node, allow rules and the environment")
    func injection() throws {
        let sandbox = try Sandbox("gpu-spec")
        defer { sandbox.cleanUp() }
        let root = try makeFakeGPURoot(in: sandbox.directory)
        var spec = Spec.defaultSpec()
        spec.annotations = ["org.berth.gpus": "1", "org.berth.gpu-root": root]
        let injected = try GPUInjection.apply(to: spec)
        #expect(injected.linux?.devices == [
            Spec.Device(type: "c", path: "/dev/nvidia1", major: 195, minor: 1, fileMode: 0o666, uid: 0, gid: 0),
            Spec.Device(type: "c", path: "/dev/nvidiactl", major: 195, minor: 255, fileMode: 0o666, uid: 0, gid: 0),
        ])
        #expect(injected.linux?.resources?.devices == (spec.linux?.resources?.devices ?? []) + [
            .init(allow: true, type: "c", major: 195, minor: 1, access: "rwm"),
            .init(allow: true, type: "c", major: 195, minor: 255, access: "rwm"),
        ])
        let env = injected.process?.env ?? []
        #expect(env.contains("NVIDIA_VISIBLE_DEVICES=\(secondUUID)"))
        #expect(env.contains("CUDA_VISIBLE_DEVICES=\(secondUUID)"))

        spec.annotations?["org.berth.gpus"] = "all"
        #expect(try GPUInjection.apply(to: spec).linux?.devices?.map(\.path) == ["/dev/nvidia0", "/dev/nvidia1", "/dev/nvidiactl"])
        spec.annotations?["org.berth.gpu-root"] = "relative/dir"
        #expect(throws: RuntimeError.self) { try GPUInjection.apply(to: spec) }
    }

    @Test("in a container: the asked-for GPU opens as far as the (absent) driver, another GPU is refused")
    func container() throws {
        let sandbox = try Sandbox("gpu-run")
        defer { sandbox.cleanUp() }
        let root = try makeFakeGPURoot(in: sandbox.directory)
        let bundle = try sandbox.bundle(["sh", "-c", """
            ls /dev/nvidia1 /dev/nvidiactl
            ls /dev/nvidia0 2>/dev/null || echo no-nvidia0
            cat /dev/nvidia1 2>&1
            cat /dev/nvidiactl 2>&1
            mknod /dev/nvidia0 c 195 0 && cat /dev/nvidia0 2>&1
            echo "visible=$NVIDIA_VISIBLE_DEVICES"
            """]) { spec in
            spec.annotations = ["org.berth.gpus": "1", "org.berth.gpu-root": root]
            // mknod needs the capability; the devices controller then decides about opening.
            var caps = spec.process?.capabilities
            for keyPath in [\Spec.Capabilities.bounding, \.effective, \.permitted] {
                caps?[keyPath: keyPath]?.append("CAP_MKNOD")
            }
            spec.process?.capabilities = caps
            // The default spec's deny-all device policy stays in force.
            #expect(spec.linux?.resources?.devices?.first == .init(allow: false, access: "rwm"))
        }
        let output = try sandbox.run(bundle, id: "gpu-run-\(UUID().uuidString.prefix(8))")
        #expect(output.succeeded, "\(output.err)")
        let lines = output.out.split(separator: "\n").map(String.init)
        #expect(lines.contains("/dev/nvidia1"))
        #expect(lines.contains("/dev/nvidiactl"))
        #expect(lines.contains("no-nvidia0"))
        #expect(lines.contains("cat: can't open '/dev/nvidia1': No such device or address"), "\(output.out)")
        #expect(lines.contains("cat: can't open '/dev/nvidiactl': No such device or address"), "\(output.out)")
        #expect(lines.contains("cat: can't open '/dev/nvidia0': Operation not permitted"), "\(output.out)")
        #expect(lines.contains("visible=\(secondUUID)"))
    }

    @Test("berth run refuses a GPU that does not exist, naming the annotation")
    func refusedByRun() throws {
        let sandbox = try Sandbox("gpu-bad")
        defer { sandbox.cleanUp() }
        let root = try makeFakeGPURoot(in: sandbox.directory)
        for (value, message) in [("7", "GPU 7 does not exist (found 2)"),
                                 ("x", "\"x\" is not \"all\" or a comma-separated list of GPU indices")] {
            let bundle = try sandbox.bundle(["true"], name: "bundle-\(value)") { spec in
                spec.annotations = ["org.berth.gpus": value, "org.berth.gpu-root": root]
            }
            let output = try sandbox.run(bundle, id: "gpu-bad-\(UUID().uuidString.prefix(8))")
            #expect(!output.succeeded)
            #expect(output.err == "berth: config.json: annotations.org.berth.gpus: \(message)")
        }
    }
}
