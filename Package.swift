// swift-tools-version:6.0
import PackageDescription

// The Swift runtime and FoundationEssentials linked into the executables: loading a dozen
// shared Swift libraries at every start was the biggest part of a short `berth run`.
// (_FoundationCollections and _FoundationCShims are what the static FoundationEssentials needs.)
// lld (in the Swift toolchain) packs the 60,000 relative relocations of a position-independent
// berth into 9 KiB (DT_RELR) instead of 1.4 MB the loader reads at every start. libgcc, like
// libseccomp, zlib and zstd (see their targets), is linked in: each shared library costs the
// loader mappings and symbol lookups at every start. So is libstdc++, the Swift runtime's C++
// library, whose own symbol relocations were the loader's largest cost: the static-stdlib
// arguments ask for `-lstdc++`, and CShims/Link, searched before the compiler's
// directories, answers with a linker script naming libstdc++.a. (libc and libm stay shared.)
let staticSwiftFlags = [
    "-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims",
    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xclang-linker", "-static-libgcc",
    "-L", Context.packageDirectory + "/CShims/Link",
]
let staticSwift: [LinkerSetting] = [.unsafeFlags(staticSwiftFlags)]
// The modules berth links are built without the implicit import of Swift's string-processing
// library: one String.replacing pulled it and the regex parser in, whose metadata and
// conformances cost every `berth run` about 0.2 ms.
let withoutStringProcessing: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import"])]
// berth starts for every container, so it goes further: libc and libm linked in too, as a
// static PIE (loaded at a random address like any PIE, but with no dynamic loader, no libraries
// to map and no symbols to look up). About 1 ms less per `berth run`. CShims/Link/ld-static-pie
// is lld without SwiftPM's -rpath, which a static PIE cannot start with. (swiftc still says
// -pie to clang, which -static-pie replaces.) berthd stays dynamic: NVML, which its GPU
// inventory loads with dlopen, cannot be loaded into a static process.
let staticBerth: [LinkerSetting] = [
    .unsafeFlags(staticSwiftFlags + [
        "-use-ld=" + Context.packageDirectory + "/CShims/Link/ld-static-pie",
        "-Xclang-linker", "-static-pie", "-Xclang-linker", "-Wno-unused-command-line-argument",
    ])
]

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-cli", targets: ["berth-cli"]),
        .executable(name: "berthd", targets: ["berthd"]),
        .executable(name: "berth-supervisor", targets: ["berth-supervisor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The whole child path from clone() to execve(), and the other syscalls Swift
        // cannot make safely. Links libseccomp (statically) for filter compilation only.
        .target(
            name: "CBerth",
            path: "CShims/CBerth",
            linkerSettings: [.linkedLibrary(":libseccomp.a")]
        ),
        // Streaming gzip and zstd decompression for image layers (zlib and zstd linked in).
        .target(
            name: "CBerthCompress",
            path: "CShims/CBerthCompress",
            linkerSettings: [.linkedLibrary(":libz.a"), .linkedLibrary(":libzstd.a")]
        ),
        // One small C process per task: holds its stdio, rotates its logs, reaps it and records
        // its exit, so a task never depends on berthd being alive (and stays far under 2 MiB).
        // Linked statically: a dynamic link through swiftc maps libswiftCore and libstdc++ too.
        // no_swift_runtime.c keeps the Swift runtime out of the static link (0.9 MB, not 9.6 MB).
        .executableTarget(
            name: "berth-supervisor",
            path: "CShims/berth-supervisor",
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        .target(name: "BerthOCI", swiftSettings: withoutStringProcessing),
        .target(name: "BerthLinux", dependencies: ["CBerth"], swiftSettings: withoutStringProcessing),
        .target(name: "BerthCgroups", dependencies: ["BerthLinux", "CBerth"], swiftSettings: withoutStringProcessing),
        // Blocking work off Swift concurrency's pool, for berthd. Apart from BerthLinux so that
        // berth, which starts for every container, links neither Swift concurrency nor
        // libdispatch (whose tables alone were 16 relocated pages at each start).
        .target(name: "BerthAsync", dependencies: ["BerthLinux"]),
        .target(
            name: "BerthRuntime",
            dependencies: ["BerthOCI", "BerthLinux", "BerthCgroups", "CBerth"],
            swiftSettings: withoutStringProcessing
        ),
        .target(name: "BerthImages", dependencies: ["BerthOCI", "BerthLinux", "CBerthCompress"]),
        .target(name: "BerthAPI", dependencies: ["BerthOCI", "BerthLinux"]),
        .target(
            name: "BerthAgent",
            dependencies: [
                "BerthAPI", "BerthAsync", "BerthRuntime", "BerthImages", "BerthCgroups", "BerthNetwork", "BerthMetrics",
                "BerthMetricsServer", "BerthLinux", "BerthOCI", "CBerth",
            ]
        ),
        // Per-container statistics at scrape time, Prometheus text, StatsD lines and their sender.
        .target(name: "BerthMetrics", dependencies: ["BerthAsync", "BerthCgroups", "BerthLinux", "BerthOCI"]),
        // berthd's metrics endpoints on SwiftNIO: /metrics over HTTP and each task's StatsD relay.
        // Apart from BerthMetrics so the berth CLI, which starts for every container, links no NIO.
        .target(
            name: "BerthMetricsServer",
            dependencies: [
                "BerthMetrics", "BerthLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Network namespaces and the CNI plugins: host, none and bridge modes, port mappings.
        .target(name: "BerthNetwork", dependencies: ["BerthLinux", "BerthOCI", "CBerth"]),
        // The socket API's HTTP side (SwiftNIO); kept out of BerthAPI so the CLI stays lean.
        .target(
            name: "BerthServer",
            dependencies: [
                "BerthAgent", "BerthAPI", "BerthLinux", "BerthMetricsServer", "BerthOCI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The lifecycle commands podman, conmon and containerd run for every container (create,
        // run, start, state, kill, delete), read without ArgumentParser: all `berth` itself holds.
        .target(name: "BerthRuntimeCLI", dependencies: ["BerthRuntime", "BerthOCI", "BerthLinux"], swiftSettings: withoutStringProcessing),
        // The whole berth command line: every runtime command, images, the agent client, help.
        .target(
            name: "BerthCLI",
            dependencies: [
                "BerthRuntimeCLI", "BerthRuntime", "BerthOCI", "BerthLinux", "BerthCgroups", "BerthImages",
                "BerthAPI", "BerthMetrics", "BerthNetwork",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `berth`: the lifecycle commands in their plain forms, and an exec of berth-cli (beside
        // it) for anything else. Every module linked in costs each start its relocations: the
        // whole CLI's, with Foundation's, took a third of a millisecond before main.
        .executableTarget(
            name: "berth",
            dependencies: ["BerthRuntimeCLI", "BerthRuntime"],
            linkerSettings: staticBerth
        ),
        .executableTarget(
            name: "berth-cli",
            dependencies: [
                "BerthCLI", "BerthRuntimeCLI", "BerthRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: staticBerth
        ),
        .executableTarget(
            name: "berthd",
            dependencies: [
                "BerthAgent", "BerthAPI", "BerthServer", "BerthMetrics", "BerthMetricsServer", "BerthLinux", "BerthOCI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            linkerSettings: staticSwift
        ),
        // What every test target needs to know about the machine and the binaries under test.
        .target(name: "BerthTestSupport", dependencies: ["BerthLinux"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthOCITests", dependencies: ["BerthOCI"]),
        // The CLI's own parsing (the lifecycle fast path against ArgumentParser).
        .testTarget(name: "BerthCLITests", dependencies: ["BerthCLI", "BerthRuntimeCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "BerthLinuxTests", dependencies: ["BerthTestSupport", "BerthLinux"]),
        .testTarget(name: "BerthCgroupsTests", dependencies: ["BerthCgroups", "BerthLinux"]),
        .testTarget(
            name: "BerthRuntimeTests",
            dependencies: ["BerthTestSupport", "BerthRuntime", "BerthOCI", "BerthLinux", "BerthCgroups"]
        ),
        .testTarget(name: "BerthImagesTests", dependencies: ["BerthTestSupport", "BerthImages", "BerthOCI", "BerthLinux"]),
        .testTarget(
            name: "BerthMetricsTests",
            dependencies: ["BerthTestSupport", "BerthMetrics", "BerthMetricsServer", "BerthCgroups", "BerthLinux", "BerthOCI"]
        ),
        .testTarget(name: "BerthNetworkTests", dependencies: ["BerthTestSupport", "BerthNetwork", "BerthLinux", "BerthOCI"]),
        // Real berthd processes on temporary sockets and state dirs.
        .testTarget(name: "BerthDaemonTests", dependencies: ["BerthTestSupport", "BerthAPI", "BerthLinux", "BerthOCI"]),
        .testTarget(
            name: "BerthAgentTests",
            dependencies: ["BerthTestSupport", "BerthAgent", "BerthAPI", "BerthOCI", "BerthLinux"]
        ),
    ]
)

// Concrete generic types (KeyedDecodingContainer<Spec.CodingKeys>, [String: String]) are made
// through their metadata accessors instead of being looked up by mangled name: a mangled name
// that carries a conformance sends the Swift runtime through all 5,000 conformance records of the
// binary the first time it is used, about 40 µs each. That was 2-3 ms of CPU per `berth run`.
for target in package.targets where target.path?.hasPrefix("CShims") != true {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])
    ]
}
