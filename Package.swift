// swift-tools-version: 6.1
import PackageDescription

/// Where C targets find the public headers in `include/taskhost/`.
let publicHeaders: [CSetting] = [.headerSearchPath("../../include")]
/// C warnings we hold ourselves to.
let strictC: [CSetting] = [.unsafeFlags(["-std=c11", "-Wall", "-Wextra", "-D_GNU_SOURCE"])]

let package = Package(
    name: "TaskHost",
    products: [
        .library(name: "TaskHost", type: .dynamic, targets: ["TaskHost"]),
        .executable(name: "taskhost", targets: ["taskhost"]),
        .executable(name: "taskhost-forkserver", targets: ["taskhost-forkserver"]),
        .library(name: "square", type: .dynamic, targets: ["square"]),
        .library(name: "print", type: .dynamic, targets: ["print"]),
        .library(name: "ipc", type: .dynamic, targets: ["ipc"]),
        .library(name: "text", type: .dynamic, targets: ["text"]),
        .library(name: "imagefilter", type: .dynamic, targets: ["imagefilter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi",
                       providers: [.apt(["libffi-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),

        // Shared objects (locks, queues, values ...): the host creates and repairs them,
        // the fork server maps them, workers use them.
        .target(name: "CTaskHostShared", path: "Sources/CTaskHostShared", cSettings: publicHeaders + strictC),
        // The C core, split by who runs it. Host side (also used by the server): wire
        // codec, protocol messages, IPC, spawning the fork server.
        .target(name: "CTaskHost", path: "Sources/CTaskHost", cSettings: publicHeaders + strictC),
        // Server side, linked only into taskhost-forkserver: plugin loader, descriptor
        // checks, fork server, worker loop, libffi calls, the workers' sandbox (libseccomp).
        .target(name: "CTaskHostServer", dependencies: ["CTaskHost", "CFFI", "CTaskHostShared", "CSeccomp"],
                path: "Sources/CTaskHostServer",
                cSettings: publicHeaders + strictC),
        // Bound now, not lazily: otherwise every forked worker resolves (and copies)
        // the symbols it is the first to call.
        .executableTarget(name: "taskhost-forkserver", dependencies: ["CTaskHostServer"],
                          path: "Sources/taskhost-forkserver", cSettings: publicHeaders + strictC,
                          linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"])]),

        // The public C API's header (include/taskhost/taskhost.h), for the Swift code that implements it.
        .target(name: "CTaskHostAPI", dependencies: ["CTaskHost"], path: "Sources/CTaskHostAPI", cSettings: strictC),

        // The host library and the CLI.
        .target(name: "TaskHost", dependencies: ["CTaskHost", "CTaskHostAPI", "CTaskHostShared"], path: "Sources/TaskHost",
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .executableTarget(name: "taskhost",
                          dependencies: ["TaskHost",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/taskhost"),

        // Plugins that ship.
        .target(name: "square", path: "Plugins/square", cSettings: publicHeaders + strictC),
        .target(name: "print", path: "Plugins/print", cSettings: publicHeaders + strictC),
        .target(name: "ipc", path: "Plugins/ipc", cSettings: publicHeaders + strictC),
        .target(name: "TaskHostPluginSupport", path: "Plugins/TaskHostPluginSupport",
                cSettings: publicHeaders + strictC),
        .target(name: "TaskHostPluginKit", dependencies: ["TaskHostPluginSupport"], path: "Plugins/TaskHostPluginKit"),
        .target(name: "text", dependencies: ["TaskHostPluginKit"], path: "Plugins/text"),
        .target(name: "imagefilter", dependencies: ["CJPEG", "CPNG"], path: "Plugins/imagefilter",
                cSettings: publicHeaders + strictC + [.unsafeFlags(["-O3", "-ffp-contract=off"])],
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("z"), .linkedLibrary("m")]),

        // Tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TaskHostTests", dependencies: ["TaskHost", "TestSupport"], path: "Tests/TaskHostTests"),
        .testTarget(name: "SharedCoreTests", dependencies: ["CTaskHostShared"], path: "Tests/SharedCoreTests"),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"], path: "Tests/CLITests",
                    exclude: ["without_landlock.c"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["TestSupport"], path: "Tests/EmbeddingTests",
                    exclude: ["embedding.c", "sandbox_embedding.c"]),
        .testTarget(name: "ImageFilterTests", dependencies: ["imagefilter"], path: "Tests/ImageFilterTests",
                    exclude: ["Fixtures"]),
    ]
)
