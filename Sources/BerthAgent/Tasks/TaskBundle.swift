import BerthAPI
import BerthImages
import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// The OCI bundle of one run: a config.json built from the task, and for a container task an
/// overlay rootfs from the image store.
enum TaskBundle {
    /// The run's directory: what its supervisor needs to start.
    static func makeDirectories(layout: TaskLayout, run: Int) throws(APIError) {
        do {
            // Every directory made here is one more wait before the supervisor can start (on
            // these VMs' ext4 a new inode can take 0.3 ms): the bundle's come in `prepare`.
            try FileSystem.createDirectory(layout.runDirectory(run), mode: 0o700)
            // The one file the supervisor would otherwise create before it runs `berth` (making
            // a file is the slow part of writing one; it makes its logs while `berth` works):
            // the temporary file its write_file_atomically fills and renames into
            // supervisor.json (it truncates an existing one; empty, it names nothing).
            try FileDescriptor.open(layout.runDirectory(run) + "/.supervisor.json.tmp",
                                    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o644).close()
        } catch {
            throw APIError(status: 500, message: "bundle: \(error)")
        }
    }

    /// Makes the bundle in the run's directory (the directory too, when the supervisor's side
    /// has not made it yet; and the task's sandbox, on its first run): config.json, and the
    /// rootfs of a container task.
    static func prepare(builder: TaskSpecBuilder, images: ImageStore, backend: RootfsBackend) throws(APIError) {
        let directory = builder.layout.bundle(builder.run)
        // A berthd killed mid-prepare may have left a half-made bundle of this run.
        discard(directory)
        do {
            try FileSystem.createDirectory(builder.layout.sandbox, mode: 0o755)
            try FileSystem.createDirectory(directory, mode: 0o700)
        } catch {
            throw APIError(status: 500, message: "bundle: \(error)")
        }
        var imageSpec: Spec?
        if let reference = builder.definition.container?.image {
            do {
                let name = try resolve(reference, in: images)
                imageSpec = try images.bundle(name, at: directory, backend: backend).spec
            } catch {
                discard(directory)
                throw APIError(status: 400, message: "image \(reference): \(error.message)", field: "container.image")
            }
        }
        do {
            let spec = try builder.build(imageSpec: imageSpec)
            // No fsync: a bundle only serves this boot's run (a restart of berthd remakes it).
            try FileSystem.writeAtomically(try OCIJSON.encode(spec), to: directory + "/config.json", mode: 0o600, durable: false)
        } catch let error as APIError {
            discard(directory)
            throw error
        } catch {
            discard(directory)
            throw APIError(status: 500, message: "bundle: \(error)")
        }
    }

    /// An image name in the store, or the path of a layout or archive, imported on first use.
    private static func resolve(_ reference: String, in images: ImageStore) throws(ImageError) -> String {
        guard reference.hasPrefix("/") else { return reference }
        return try images.import(path: reference).name
    }

    /// Unmounts the run's rootfs if the image store mounted it, then removes the bundle. A
    /// rootfs that stays mounted keeps its directory: removing through it would be wrong.
    static func discard(_ directory: String) {
        guard FileSystem.exists(directory) else { return }
        if FileSystem.exists(directory + "/config.json") {
            try? ImageStore.teardown(bundle: directory)
        }
        if isMountPoint(directory + "/rootfs") { return }
        try? FileSystem.removeTree(directory)
    }

    private static func isMountPoint(_ path: String) -> Bool {
        var inner = stat(), outer = stat()
        guard stat(path, &inner) == 0, stat(FileSystem.parentDirectory(of: path), &outer) == 0 else { return false }
        return inner.st_dev != outer.st_dev
    }
}
