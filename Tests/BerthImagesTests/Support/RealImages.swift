import BerthLinux
import Foundation

/// Images made by the real tools from the busybox-static rootfs.
enum RealImages {
    /// What a container of `umociLayout` prints, line by line.
    static let expectedOutput = [
        "uid=1000 gid=1000 groups=1000",
        "cwd=/data",
        "msg=hello from config HOME=/home/user",
        "srv=new.txt",
        "home=gone",
        "greeting=hi there",
    ]

    static let script = """
        echo uid=$(id -u) gid=$(id -g) groups=$(id -G); echo cwd=$(pwd); echo msg=$MSG HOME=$HOME; \
        echo srv=$(ls /srv); [ -e /home ] && echo home=present || echo home=gone; echo greeting=$(cat greeting)
        """

    /// Four layers (umoci insert): the rootfs; /data/greeting and /srv/old.txt; /srv made opaque
    /// with new.txt; a whiteout of /home. Config: Entrypoint sh -c, Cmd the script, Env, a
    /// WorkingDir, User by name, an exposed port and a volume.
    static func umociLayout(in workspace: Workspace, name: String = "layout") throws -> String {
        let layout = workspace.path(name)
        let image = layout + ":latest"
        try ImagesHost.succeed(["/usr/bin/umoci", "init", "--layout", layout])
        try ImagesHost.succeed(["/usr/bin/umoci", "new", "--image", image])
        try ImagesHost.succeed(["/usr/bin/umoci", "insert", "--image", image, ImagesHost.rootfs, "/"])
        let extra = workspace.path(name + "-extra")
        try FileSystem.createDirectory(extra + "/data")
        try FileSystem.createDirectory(extra + "/srv")
        try Data("hi there\n".utf8).write(to: URL(fileURLWithPath: extra + "/data/greeting"))
        try Data("old\n".utf8).write(to: URL(fileURLWithPath: extra + "/srv/old.txt"))
        try ImagesHost.succeed(["/usr/bin/umoci", "insert", "--image", image, extra + "/data", "/data"])
        try ImagesHost.succeed(["/usr/bin/umoci", "insert", "--image", image, extra + "/srv", "/srv"])
        let newSrv = workspace.path(name + "-srv")
        try FileSystem.createDirectory(newSrv)
        try Data("new\n".utf8).write(to: URL(fileURLWithPath: newSrv + "/new.txt"))
        try ImagesHost.succeed(["/usr/bin/umoci", "insert", "--image", image, "--opaque", newSrv, "/srv"])
        try ImagesHost.succeed(["/usr/bin/umoci", "insert", "--image", image, "--whiteout", "/home"])
        try ImagesHost.succeed([
            "/usr/bin/umoci", "config", "--image", image,
            "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c", "--config.cmd", script,
            "--config.env", "MSG=hello from config", "--config.workingdir", "/data", "--config.user", "user",
            "--config.exposedports", "8080/tcp", "--config.volume", "/data",
        ])
        return layout
    }

    /// `podman import` of the rootfs with a config, then `podman save` as a docker-archive.
    /// The podman image is removed again; the archive names it `tag`.
    static func podmanArchive(in workspace: Workspace, tag: String) throws -> String {
        let tarball = workspace.path("rootfs.tar")
        try ImagesHost.succeed(["/bin/tar", "-C", ImagesHost.rootfs, "-cf", tarball, "."])
        try ImagesHost.succeed([
            "/usr/bin/podman", "import",
            "--change", "CMD [\"/bin/sh\", \"-c\", \"echo from-podman user=$(id -un) cwd=$PWD foo=$FOO\"]",
            "--change", "WORKDIR /tmp", "--change", "ENV FOO=bar", "--change", "USER nobody",
            tarball, tag,
        ])
        defer { _ = try? ImagesHost.run(["/usr/bin/podman", "rmi", "-f", tag]) }
        let archive = workspace.path("podman.tar")
        try ImagesHost.succeed(["/usr/bin/podman", "save", "--format", "docker-archive", "-o", archive, tag])
        return archive
    }
}
