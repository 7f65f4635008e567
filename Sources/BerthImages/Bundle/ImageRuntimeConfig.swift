import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// config.json for a container of an image, following the image-spec's conversion rules:
/// Entrypoint + Cmd become process.args, Env process.env, WorkingDir process.cwd, User is
/// resolved against the image's own /etc/passwd and /etc/group, ExposedPorts and StopSignal
/// become annotations, and each Volume gets a private directory bind-mounted over it.
struct ImageRuntimeConfig {
    let image: Image
    let rootfs: String
    let scratch: String
    let backend: RootfsBackend
    let command: [String]?

    static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// Docker's default set: what images written for Docker expect to have as root.
    static let capabilities = [
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD",
        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    ]

    func makeSpec() throws(ImageError) -> Spec {
        let config = image.config
        var spec = Spec.defaultSpec()
        let arguments = (config.Entrypoint ?? []) + (command ?? config.Cmd ?? [])
        guard !arguments.isEmpty else {
            throw ImageError("image \(image.name) has neither Entrypoint nor Cmd: give a command")
        }
        var env = config.Env ?? []
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.insert(Self.defaultPath, at: 0) }
        let user = try resolveUser(config.User ?? "")
        if let home = user.home, !env.contains(where: { $0.hasPrefix("HOME=") }) { env.append("HOME=" + home) }
        var cwd = config.WorkingDir ?? ""
        if cwd.isEmpty { cwd = "/" }
        if !cwd.hasPrefix("/") { cwd = "/" + cwd }

        spec.process?.terminal = false
        spec.process?.args = arguments
        spec.process?.env = env
        spec.process?.cwd = cwd
        spec.process?.user = Spec.User(uid: user.uid, gid: user.gid, additionalGids: user.groups.isEmpty ? nil : user.groups)
        spec.process?.capabilities = Spec.Capabilities(bounding: Self.capabilities, effective: Self.capabilities, permitted: Self.capabilities)
        spec.root = Spec.Root(path: "rootfs", readonly: false)

        var annotations = [
            BundleAnnotation.image: image.name, BundleAnnotation.imageID: image.id.description,
            BundleAnnotation.rootfs: rootfs, BundleAnnotation.scratch: scratch, BundleAnnotation.backend: backend.rawValue,
        ]
        if let ports = config.ExposedPorts, !ports.isEmpty {
            annotations[BundleAnnotation.exposedPorts] = ports.keys.sorted().joined(separator: ",")
        }
        if let signal = config.StopSignal { annotations[BundleAnnotation.stopSignal] = signal }
        spec.annotations = annotations
        spec.mounts = (spec.mounts ?? []) + (try volumes())
        return spec
    }

    // MARK: User

    struct ResolvedUser {
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32]
        var home: String?
    }

    /// `""`, `user`, `uid`, `user:group`, `uid:gid` (names looked up in the image, not the host).
    func resolveUser(_ text: String) throws(ImageError) -> ResolvedUser {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts.first ?? ""
        let groupPart = parts.count > 1 ? parts[1] : nil
        let passwd = readImageFile("etc/passwd").map(Self.parseTable) ?? []
        let group = readImageFile("etc/group").map(Self.parseTable) ?? []
        var result = ResolvedUser(uid: 0, gid: 0, groups: [], home: nil)
        var userName: String?
        if !userPart.isEmpty {
            let entry = passwd.first { $0[0] == userPart } ?? UInt32(userPart).flatMap { uid in passwd.first { $0.count > 2 && UInt32($0[2]) == uid } }
            if let entry, entry.count >= 4, let uid = UInt32(entry[2]), let gid = UInt32(entry[3]) {
                result.uid = uid
                result.gid = gid
                result.home = entry.count > 5 ? entry[5] : nil
                userName = entry[0]
            } else if let uid = UInt32(userPart) {
                result.uid = uid
            } else {
                throw ImageError("image \(image.name): User \"\(text)\": no user \"\(userPart)\" in the image's /etc/passwd")
            }
        } else if let root = passwd.first(where: { $0.count > 5 && $0[2] == "0" }) {
            result.home = root[5]
            userName = root[0]
        }
        if let groupPart {
            if let gid = UInt32(groupPart) {
                result.gid = gid
            } else if let entry = group.first(where: { $0[0] == groupPart }), entry.count >= 3, let gid = UInt32(entry[2]) {
                result.gid = gid
            } else {
                throw ImageError("image \(image.name): User \"\(text)\": no group \"\(groupPart)\" in the image's /etc/group")
            }
        }
        if let userName, groupPart == nil {
            // Supplementary groups the image's /etc/group lists the user in, as login does.
            result.groups = group.compactMap { entry in
                guard entry.count >= 4, entry[3].split(separator: ",").contains(Substring(userName)), let gid = UInt32(entry[2]), gid != result.gid else { return nil }
                return gid
            }
        }
        return result
    }

    private static func parseTable(_ bytes: [UInt8]) -> [[String]] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            return fields.count >= 3 ? fields : nil
        }
    }

    /// A small regular file of the rootfs, resolved as if the rootfs were `/` (an image's
    /// /etc/passwd linking to /../../etc/passwd reads its own). Nil when absent, unreadable, not
    /// a regular file or over 4 MiB (FileSystem.readFile(inRoot:) checks before it opens).
    func readImageFile(_ path: String) -> [UInt8]? {
        try? FileSystem.readFile(inRoot: rootfs, path, limit: 4 << 20)
    }

    private func openInRootfs(_ path: [String], flags: Int32) -> FileDescriptor? {
        guard var current = try? FileDescriptor.open(rootfs, O_RDONLY | O_DIRECTORY) else { return nil }
        for (index, component) in path.enumerated() {
            let last = index == path.count - 1
            let fd = openat(current.rawValue, component, (last ? flags : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            current.close()
            guard fd >= 0 else { return nil }
            current = FileDescriptor(rawValue: fd)
        }
        return current
    }

    // MARK: Volumes

    /// A directory per volume under the container's scratch, seeded with what the image has there.
    private func volumes() throws(ImageError) -> [Spec.Mount] {
        var mounts: [Spec.Mount] = []
        let paths = (image.config.Volumes ?? [:]).keys.sorted()
        for (number, path) in paths.enumerated() {
            let components: [String]
            switch Result(catching: { () throws(ImageError) in try LayerPath.components(String(path.drop { $0 == "/" })) }) {
            case .success(let value): components = value
            case .failure(let error): throw ImageError("image \(image.name): Volumes: \"\(path)\": \(error.message)")
            }
            guard !components.isEmpty else { throw ImageError("image \(image.name): Volumes: \"\(path)\": a volume cannot be the root") }
            let directory = scratch + "/volumes/\(number)"
            try imageStep { () throws(SystemError) in try FileSystem.createDirectory(directory) }
            if let fd = openInRootfs(components, flags: O_RDONLY | O_DIRECTORY) {
                fd.close()
                try LayerCopier.apply(layer: rootfs + "/" + components.joined(separator: "/"), onto: directory)
            }
            mounts.append(Spec.Mount(destination: "/" + components.joined(separator: "/"), type: "bind", source: directory, options: ["rbind", "rw"]))
        }
        return mounts
    }
}
