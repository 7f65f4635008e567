import ArgumentParser
import BerthAPI
import BerthLinux
import BerthImages
import BerthLinux
import BerthOCI
import BerthRuntimeCLI
import FoundationEssentials

/// `berth image ...`: the image store (BerthImages) from the command line.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Import OCI and Docker images, and make bundles from them.",
        subcommands: [
            ImageImportCommand.self, ImageListCommand.self, ImageInspectCommand.self, ImageRemoveCommand.self,
            ImagePruneCommand.self, ImageBundleCommand.self, ImageUnbundleCommand.self,
        ]
    )
}

/// Options every `berth image` command takes.
struct ImageStoreOptions: ParsableArguments {
    @Option(help: "Image store directory (it must survive reboots; default \(ImageStore.defaultRoot)).")
    var store: String?

    func open(_ global: GlobalOptions) throws -> ImageStore {
        _ = try global.prepare()
        return ImageStore(root: store ?? ImageStore.defaultRoot)
    }

    /// berthd's store when berthd answers on its socket (and no --store was given), so an
    /// import is seen by the agent at once; else the store directory in-process.
    func berthd(_ global: GlobalOptions) -> AgentClient? {
        guard store == nil else { return nil }
        let client = global.agentClient
        guard let fd = try? UnixSocket.connect(client.socketPath) else { return nil }
        fd.close()
        return client
    }
}

/// Runs a store operation; its refusal becomes berth's one-line error.
func imageOperation<T>(_ body: () throws(ImageError) -> T) throws -> T {
    switch Result(catching: body) {
    case .success(let value): return value
    case .failure(let error): throw CommandError(description: error.description)
    }
}

struct ImageImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an OCI image layout, an oci-archive or a docker-archive (docker/podman save).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageStoreOptions
    @Option(help: "Name the image NAME[:TAG] (default: the name the archive gives it).") var name: String?
    @Option(help: "Which image of a layout or archive holding several (ref.name or RepoTag).") var ref: String?
    @Argument(help: "Layout directory or archive file.") var path: String

    func run() throws {
        if let berthd = options.berthd(global), ref == nil {
            let absolute = path.hasPrefix("/") ? path : FileSystem.currentDirectory() + "/" + path
            let image = try berthd.call("POST", Routes.importImage, body: ImportRequest(path: absolute, name: name), as: Image.self)
            print("\(image.name) \(image.id)")
            return
        }
        let store = try options.open(global)
        let image = try imageOperation { () throws(ImageError) in try store.import(path: path, name: name, reference: ref) }
        print("\(image.name) \(image.id)")
    }
}

struct ImageListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List images.", aliases: ["ls"])
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageStoreOptions
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"

    func run() throws {
        guard format == "table" || format == "json" else {
            throw CommandError(description: "image list: --format: \"\(format)\" is not table or json")
        }
        let images: [Image]
        if let berthd = options.berthd(global) {
            images = try berthd.call("GET", Routes.images, as: [Image].self)
        } else {
            let store = try options.open(global)
            images = try imageOperation { () throws(ImageError) in try store.list() }
        }
        if format == "json" {
            print(try OCIJSON.encodeString(images, pretty: false))
            return
        }
        let rows = [["NAME", "ID", "LAYERS", "SIZE", "IMPORTED"]] + images.map {
            [$0.name, $0.id.short, String($0.layers.count), megabytes($0.size), $0.imported]
        }
        print(Table.render(rows), terminator: "")
    }
}

func megabytes(_ bytes: Int64) -> String {
    let tenths = (bytes * 10 + (1 << 19)) >> 20
    return "\(tenths / 10).\(tenths % 10) MiB"
}

struct ImageInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print an image's record as JSON.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageStoreOptions
    @Argument(help: "NAME[:TAG].") var name: String

    func run() throws {
        let store = try options.open(global)
        let image = try imageOperation { () throws(ImageError) in try store.inspect(name) }
        print(try OCIJSON.encodeString(image), terminator: "")
    }
}

struct ImageRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an image (prune frees its layers).", aliases: ["rm"])
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageStoreOptions
    @Argument(help: "NAME[:TAG].") var names: [String]

    func run() throws {
        if let berthd = options.berthd(global) {
            for name in names { _ = try berthd.call("DELETE", Routes.image(name), as: AgentClient.Empty.self) }
            return
        }
        let store = try options.open(global)
        for name in names { try imageOperation { () throws(ImageError) in try store.remove(name) } }
    }
}

struct ImagePruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove layers and blobs no image and no container uses.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageStoreOptions

    func run() throws {
        let store = try options.open(global)
        let report = try imageOperation { () throws(ImageError) in try store.prune() }
        print("removed \(report.layers.count) layers (\(megabytes(report.bytes))), \(report.blobs.count) blobs, \(report.containers.count) stale container directories")
    }
}

struct ImageBundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Make an OCI bundle from an image: rootfs (overlay of its layers) and config.json.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImageStoreOptions
    @Option(help: "overlay (a mount, constant time) or copy (where overlayfs is unavailable).") var backend: String = "overlay"
    @Argument(help: "NAME[:TAG].") var name: String
    @Argument(help: "Bundle directory.") var directory: String
    @Argument(parsing: .postTerminator, help: "After --: a command replacing the image's Cmd.") var command: [String] = []

    func run() throws {
        guard let backend = RootfsBackend(rawValue: backend) else {
            throw CommandError(description: "image bundle: --backend: \"\(self.backend)\" is not overlay or copy")
        }
        let store = try options.open(global)
        let command = command.isEmpty ? nil : command
        let started = ContinuousClock.now
        try imageOperation { () throws(ImageError) in try store.bundle(name, at: directory, backend: backend, command: command) }
        if global.debug {
            // The benchmark reads this: the bundle's own cost, without process start-up.
            let elapsed = started.duration(to: .now)
            let microseconds = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            _ = try? FileDescriptor.standardError.writeAll(Array("berth: image bundle: \(microseconds) us\n".utf8))
        }
    }
}

struct ImageUnbundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unbundle",
        abstract: "Undo image bundle for a bundle no container uses (berth delete does it for containers).")
    @OptionGroup var global: GlobalOptions
    /// Accepted like every image command; the bundle's own annotations say where its store is.
    @OptionGroup var options: ImageStoreOptions
    @Argument(help: "Bundle directory.") var directory: String

    func run() throws {
        _ = try global.prepare()
        try imageOperation { () throws(ImageError) in try ImageStore.teardown(bundle: directory) }
    }
}
