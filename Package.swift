// swift-tools-version: 6.1
import PackageDescription

/// Where C targets find the public headers in `include/taskhost/`.
let publicHeaders: [CSetting] = [.headerSearchPath("../../include")]
/// What every C target is compiled with (beside `cLanguageStandard: .c11`). No
/// raw compiler or linker flags anywhere: SwiftPM refuses a package that
/// carries them as a dependency required by version. `-Wall -Wextra -Werror`
/// is enforced by `.ci/c-warnings` instead.
let strictC: [CSetting] = [.define("_GNU_SOURCE")]

let package = Package(
    name: "TaskHost",
    products: [
        .library(name: "TaskHost", type: .dynamic, targets: ["TaskHost"]),
        // For plugins written in Swift (a dependent package's own plugins).
        .library(name: "TaskHostPluginKit", targets: ["TaskHostPluginKit"]),
        .executable(name: "taskhost", targets: ["taskhost"]),
        .executable(name: "taskhost-forkserver", targets: ["taskhost-forkserver"]),
        .library(name: "square", type: .dynamic, targets: ["square"]),
        .library(name: "print", type: .dynamic, targets: ["print"]),
        .library(name: "ipc", type: .dynamic, targets: ["ipc"]),
        .library(name: "text", type: .dynamic, targets: ["text"]),
        .library(name: "imagefilter", type: .dynamic, targets: ["imagefilter"]),
        // Empty unless the trait MPI is on (then it needs Open MPI): see "Running on a cluster".
        .library(name: "TaskHostMPI", targets: ["TaskHostMPI"]),
        // libTaskHostCluster.so: taskhost.h's C API plus include/taskhost/cluster.h (th_cluster_pool_new,
        // which says how to build it unless the trait MPI is on). libTaskHost.so never needs MPI.
        .library(name: "TaskHostCluster", type: .dynamic, targets: ["TaskHostMPI"]),
    ],
    // Off by default, so that one machine never needs Open MPI: `swift build --traits MPI`.
    traits: [
        .trait(name: "MPI", description: "Scale-out over Open MPI: taskhost --mpi and TaskHostMPI's ClusterPool (needs libopenmpi-dev)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg-dev"])]),
        // Only the trait MPI links it; with the trait off nothing depends on it and pkg-config is never asked.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // Shared objects (locks, queues, values ...): the host creates and repairs them,
        // the fork server maps them, workers use them.
        .target(name: "CTaskHostShared", path: "Sources/CTaskHostShared", cSettings: publicHeaders + strictC),
        // The C core, split by who runs it. Host side (also used by the server): wire
        // codec, protocol messages, IPC, spawning the fork server.
        .target(name: "CTaskHost", path: "Sources/CTaskHost", cSettings: publicHeaders + strictC),
        // The fork server: its `main` (Sources/taskhost-forkserver) and the server side
        // of the C core (Sources/CTaskHostServer: plugin loader, descriptor checks, fork
        // server, worker loop, libffi calls, the workers' sandbox with libseccomp), one
        // executable target, linked only into taskhost-forkserver.
        //
        // One target, and libffi and libseccomp named here rather than through
        // system-library targets, because the host library depends on this target (so
        // that SwiftPM builds the server wherever the library is built, also in a
        // dependent package): SwiftPM links the library targets and system libraries an
        // executable target depends on into whatever depends on it, but not the
        // executable target's own sources and linker settings. So libTaskHost.so gets
        // neither the server code nor libffi. `ffi.h` and `seccomp.h` are in the
        // compiler's default search path (Debian's libffi-dev, libseccomp-dev).
        //
        // Bound now, not lazily (LD_BIND_NOW, set when it is spawned): otherwise every
        // forked worker resolves (and copies) the symbols it is the first to call.
        .executableTarget(name: "taskhost-forkserver", dependencies: ["CTaskHost", "CTaskHostShared"],
                          path: "Sources", sources: ["taskhost-forkserver", "CTaskHostServer"],
                          cSettings: [.headerSearchPath("CTaskHostServer/include"), .headerSearchPath("../include")]
                              + strictC,
                          linkerSettings: [.linkedLibrary("ffi"), .linkedLibrary("seccomp")]),

        // The public C API's header (include/taskhost/taskhost.h), for the Swift code that implements it.
        .target(name: "CTaskHostAPI", dependencies: ["CTaskHost"], path: "Sources/CTaskHostAPI", cSettings: strictC),

        // The host library and the CLI.
        // Depending on the fork server's executable target makes SwiftPM build it
        // (and put it beside the program) wherever the library is built — also in a
        // dependent package, with a plain `swift build` or `swift run`.
        .target(name: "TaskHost", dependencies: ["CTaskHost", "CTaskHostAPI", "CTaskHostShared", "taskhost-forkserver"],
                path: "Sources/TaskHost"),
        .executableTarget(name: "taskhost",
                          dependencies: ["TaskHost",
                                         .target(name: "TaskHostMPI", condition: .when(traits: ["MPI"])),
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/taskhost"),
        // A pool whose workers span the ranks of an MPI job (Swift, and C in libTaskHostCluster.so); `#if MPI`.
        .target(name: "TaskHostMPI",
                dependencies: ["TaskHost", "CTaskHostAPI", .target(name: "CMPI", condition: .when(traits: ["MPI"]))],
                path: "Sources/TaskHostMPI"),

        // The plugin kit: an SDK for plugins written in Swift (the ABI header and helpers).
        .target(name: "TaskHostPluginSupport", path: "Sources/TaskHostPluginSupport",
                cSettings: publicHeaders + strictC),
        .target(name: "TaskHostPluginKit", dependencies: ["TaskHostPluginSupport"], path: "Sources/TaskHostPluginKit"),

        // Plugins that ship.
        .target(name: "square", path: "Plugins/square", cSettings: publicHeaders + strictC),
        .target(name: "print", path: "Plugins/print", cSettings: publicHeaders + strictC),
        .target(name: "ipc", path: "Plugins/ipc", cSettings: publicHeaders + strictC),
        .target(name: "text", dependencies: ["TaskHostPluginKit"], path: "Plugins/text"),
        .target(name: "imagefilter", dependencies: ["CJPEG"], path: "Plugins/imagefilter",
                cSettings: publicHeaders + strictC,
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("z"), .linkedLibrary("m")]),

        // Tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TaskHostTests", dependencies: ["TaskHost", "TestSupport"], path: "Tests/TaskHostTests"),
        .testTarget(name: "SharedCoreTests", dependencies: ["CTaskHostShared", "TestSupport"], path: "Tests/SharedCoreTests"),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"], path: "Tests/CLITests",
                    exclude: ["without_landlock.c"]),
        // taskhost --mpi under mpirun; skipped, saying why, unless built with the trait MPI.
        .testTarget(name: "MPITests", dependencies: ["TestSupport"], path: "Tests/MPITests", exclude: ["cluster_pool.c"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["TestSupport"], path: "Tests/EmbeddingTests",
                    exclude: ["embedding.c", "sandbox_embedding.c"]),
        .testTarget(name: "ImageFilterTests", dependencies: ["imagefilter"], path: "Tests/ImageFilterTests",
                    exclude: ["Fixtures"]),
    ],
    cLanguageStandard: .c11
)

// DocC (`Sources/TaskHost/TaskHost.docc`): the documentation plugin is added only when
// asked for, so that packages depending on TaskHost never fetch it:
//   TASKHOST_DOCS=1 swift package generate-documentation --target TaskHost
if Context.environment["TASKHOST_DOCS"] == "1" {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
