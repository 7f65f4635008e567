// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berthd", targets: ["berthd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The whole child path from clone() to execve(), and the other syscalls Swift
        // cannot make safely. Links libseccomp for filter compilation only.
        .target(
            name: "CBerth",
            path: "CShims/CBerth",
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        .target(name: "BerthOCI"),
        .target(name: "BerthLinux", dependencies: ["CBerth"]),
        .target(name: "BerthCgroups", dependencies: ["BerthLinux", "CBerth"]),
        .target(
            name: "BerthRuntime",
            dependencies: ["BerthOCI", "BerthLinux", "BerthCgroups", "CBerth"]
        ),
        .executableTarget(
            name: "berth",
            dependencies: [
                "BerthRuntime", "BerthOCI", "BerthLinux", "BerthCgroups",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "berthd"),
        .testTarget(name: "BerthOCITests", dependencies: ["BerthOCI"]),
        .testTarget(name: "BerthLinuxTests", dependencies: ["BerthLinux"]),
        .testTarget(name: "BerthCgroupsTests", dependencies: ["BerthCgroups", "BerthLinux"]),
        .testTarget(
            name: "BerthRuntimeTests",
            dependencies: ["BerthRuntime", "BerthOCI", "BerthLinux", "BerthCgroups"]
        ),
    ]
)
