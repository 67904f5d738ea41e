import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// The C API from the outside: C programs written against
/// include/taskhost/taskhost.h, compiled with `cc` here, linked to the built
/// libTaskHost.so with the README's line, and run.
@Suite struct EmbeddingTests {
    static let root = TestSupport.repositoryRoot
    static let products = TestSupport.productsFolder

    /// Compiles a C program with the README's link line (plus warnings as
    /// errors); returns the executable's path.
    static func compile(_ source: String, name: String, libraryFolder: String = products,
                        extraFlags: [String] = []) throws -> String {
        let output = TestSupport.temporaryFolder("embed-\(name)") + "/" + name
        let result = try TestSupport.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread",
                                                          "-I", root + "/include", source, "-o", output,
                                                          "-L", libraryFolder, "-Wl,-rpath," + libraryFolder, "-lTaskHost"]
                                                          + extraFlags)
        try #require(result.status == 0, "cc failed: \(result.stderr)")
        return output
    }

    /// What the test program prints when every check passes.
    static let expectedChecks = """
        ok version
        ok abi version
        ok kind names
        ok listing shows square.square(x: int64) -> int64
        ok listing out of range is NULL
        ok find task by bare name
        ok find unknown task says did you mean
        ok map square over 1...1000 on 2 workers
        ok a crash is a per-item error with kind crashed and SIGSEGV
        ok an exit is a per-item error with its code
        ok a task error is a per-item error
        ok apply text.upper("seed") is "SEED"
        ok starmap text.repeat with an int64 for an int32
        ok apply of a crash returns 0 and the item's error
        ok a value of the wrong type fails its item
        ok an unknown task fails the call
        ok a wrong arity fails the call
        ok a TH_VOID argument fails the call
        ok a NULL pool fails the call
        ok an empty map
        ok int64 2^53 for a double: exact, accepted
        ok int64 2^53+1 for a double: not exact, invalidArgument
        ok int64 -(2^53+1) for a double: not exact, invalidArgument
        ok int64 max for a double: invalidArgument
        ok int64 min (-2^63) for a double: exact, accepted
        ok int32 for a double
        ok int64 2^31-1 for an int32
        ok int64 2^31 for an int32: does not fit, invalidArgument
        ok int64 -1 for a uint64: invalidArgument
        ok uint64 2^63 for an int64: does not fit, invalidArgument
        ok uint64 5 for an int64
        ok two threads map on one pool at once
        ok a hanging item times out
        ok options of an older, smaller size
        ok a closed pool refuses calls
        ok options without size are refused
        ok a negative timeout is refused
        ok a missing plugin file fails the host
        ok 100000 processes are refused before anything starts
        ok SIZE_MAX processes are refused as SIZE_MAX
        ok a NaN task timeout is refused
        ok an infinite deadline and timeout are none
        ok a new process is not started
        Number 1
        Number 2
        Number 3
        Number 4
        Number 5
        ok process start
        ok starting twice is refused
        ok process print_numbers exits 0
        ok a crashing process's exit code is -11
        ok join with a timeout returns 0 while it runs
        ok a terminated process's exit code is -9
        ok a process with the wrong arity is refused
        ok a pool and a process outlive th_host_free
        ok host lifecycles freed without close or join leave descriptors flat
        all passed

        """

    /// Compares the program's output with `expectedChecks` line by line and
    /// records one issue per check that did not pass, by name (with the
    /// program's `FAIL` detail), and one for lines nobody expected.
    static func expectEveryCheck(_ output: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let printed = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let expected = expectedChecks.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let failures = Dictionary(printed.filter { $0.hasPrefix("FAIL ") }.map { line -> (String, String) in
            let rest = line.dropFirst(5)
            let name = rest.split(separator: ":", maxSplits: 1).first.map(String.init) ?? String(rest)
            return (name, line)
        }, uniquingKeysWith: { first, _ in first })
        let printedSet = Set(printed)
        for line in expected where !line.isEmpty && !printedSet.contains(line) {
            let name = line.hasPrefix("ok ") ? String(line.dropFirst(3)) : line
            let detail = failures.first { name.hasPrefix($0.key) }?.value ?? "not printed"
            Issue.record("check '\(name)' did not pass: \(detail)", sourceLocation: sourceLocation)
        }
        let expectedSet = Set(expected)
        let unexpected = printed.filter { !$0.isEmpty && !expectedSet.contains($0) && !$0.hasPrefix("FAIL ") }
        if !unexpected.isEmpty {
            Issue.record("unexpected output: \(unexpected.joined(separator: " | "))", sourceLocation: sourceLocation)
        }
        if expected.filter({ !$0.isEmpty }) != printed.filter({ !$0.isEmpty && !$0.hasPrefix("FAIL ") }) && unexpected.isEmpty
            && expected.allSatisfy({ $0.isEmpty || printedSet.contains($0) }) {
            Issue.record("the checks ran in another order than expected", sourceLocation: sourceLocation)
        }
    }

    /// The test plugin with a task of every type (Tests/Plugins/types): argument conversions.
    static let typesPlugin: String = { try! TestSupport.buildTestPlugin("types/types.c") }()

    @Test func theExampleMapsSquare() throws {
        let embed = try Self.compile(Self.root + "/Examples/embed.c", name: "embed")
        let result = try TestSupport.run(embed, [])
        #expect(result.stdout == "[1, 4, 9, 16, 25]\n")
        #expect(result.stderr == "")
        #expect(result.status == 0)
    }

    @Test func theExampleFiltersImagesOrSkipsCleanly() throws {
        let embed = try Self.compile(Self.root + "/Examples/embed.c", name: "embed")
        let folder = (embed as NSString).deletingLastPathComponent
        let result = try TestSupport.run(embed, ["-o", folder + "/out", folder + "/missing.png"], directory: folder)
        #expect(result.stdout.hasPrefix("[1, 4, 9, 16, 25]\n"))
        if result.stdout.contains("image filter skipped") {
            // The imagefilter plugin (or a task of a signature the example knows) isn't built.
            #expect(result.stdout == "[1, 4, 9, 16, 25]\nimage filter skipped: the imagefilter plugin with filter_image or apply_filter is not loaded\n")
            #expect(result.status == 0)
        } else {
            // It is: the missing image fails its own item, and the program says so.
            #expect(result.stdout.hasSuffix("Image processing finished\n"))
            #expect(result.stderr.contains("embed: \(folder)/missing.png failed ("))
            #expect(result.status == 1)
        }
    }

    /// The example's image part over a stand-in imagefilter plugin with the
    /// CLI's filter_image signature (found through TASKHOST_PLUGIN_PATH, so it
    /// wins over a built one): one starmap row per image, the tasks' lines on
    /// stdout, a failed image reported by name.
    @Test func theExampleStarmapsTheImageFilter() throws {
        let folder = TestSupport.temporaryFolder("embed-imagefilter")
        let source = #"""
            #include <taskhost/plugin.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            static char *filter_image(th_context *ctx, const char *path, const char *filter, const char *output,
                                      const char *format, int32_t quality, int64_t max_pixels) {
                (void)output; (void)format; (void)quality; (void)max_pixels;
                if (strstr(path, "broken")) { th_set_error(ctx, "cannot read the image"); return NULL; }
                printf("%s filtered with %s\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, filter);
                fflush(stdout);
                return strdup(path);
            }
            static const th_param params[] = {{"image", TH_STRING}, {"filter", TH_STRING}, {"output", TH_STRING},
                                              {"format", TH_STRING}, {"quality", TH_INT32}, {"max_pixels", TH_INT64}};
            static const th_task tasks[] = {{.name = "filter_image", .function = TH_FN(filter_image), .result = TH_STRING,
                                             .params = params, .param_count = 6, .flags = TH_TASK_CONTEXT}};
            TH_EXPORT_PLUGIN("imagefilter", "0.0.1", "a stand-in", tasks)
            """#
        try source.write(toFile: folder + "/imagefilter.c", atomically: true, encoding: .utf8)
        let plugin = try TestSupport.buildPlugin(folder + "/imagefilter.c", name: "imagefilter")
        let embed = try Self.compile(Self.root + "/Examples/embed.c", name: "embed")
        let environment = ["TASKHOST_PLUGIN_PATH": (plugin as NSString).deletingLastPathComponent]
        let result = try TestSupport.run(embed, ["-o", folder + "/out", "/images/one.png", "/images/two.jpg"],
                                         environment: environment, directory: folder)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "[1, 4, 9, 16, 25]")
        #expect(lines.dropFirst().dropLast().sorted() == ["one.png filtered with CONTOUR", "two.jpg filtered with CONTOUR"])
        #expect(lines.last == "Image processing finished")
        #expect(result.status == 0, "\(result.stderr)")

        let failed = try TestSupport.run(embed, ["-o", folder + "/out", "/images/broken.png"], environment: environment,
                                         directory: folder)
        #expect(failed.stdout == "[1, 4, 9, 16, 25]\nImage processing finished\n")
        #expect(failed.stderr.hasPrefix("embed: /images/broken.png failed (taskError): "))
        #expect(failed.stderr.contains("cannot read the image"))
        #expect(failed.status == 1)
    }

    @Test func theCAPIEndToEnd() throws {
        let program = try Self.compile(Self.root + "/Tests/EmbeddingTests/embedding.c", name: "embedding")
        let result = try TestSupport.run(program, [TestSupport.faultyPlugin, Self.typesPlugin])
        Self.expectEveryCheck(result.stdout)
        #expect(result.status == 0, "stderr: \(result.stderr)")
    }

    /// Every function taskhost.h declares is exported by libTaskHost.so (a
    /// release build drops Swift functions that are only internal).
    @Test func everyFunctionOfTheHeaderIsExported() throws {
        let header = try String(contentsOfFile: Self.root + "/include/taskhost/taskhost.h", encoding: .utf8)
        let declared = header.split(separator: "\n").compactMap { line -> String? in
            guard let first = line.first, first.isLetter, !line.hasPrefix("static"), !line.hasPrefix("typedef"),
                  let open = line.firstIndex(of: "(") else { return nil }
            return line[..<open].split(whereSeparator: { $0 == " " || $0 == "*" }).last.map(String.init)
        }
        #expect(declared.count >= 37)
        let nm = try TestSupport.run("/usr/bin/env", ["nm", "-D", "--defined-only", Self.products + "/libTaskHost.so"])
        let exported = Set(nm.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            return fields.count == 3 && fields[1] == "T" ? String(fields[2]) : nil
        })
        for name in declared { #expect(exported.contains(name), "\(name) is not exported") }
        // And nothing of C beside them: only the Swift API (mangled `$s…`) and the header's functions.
        let extra = exported.filter { !$0.hasPrefix("$s") && !declared.contains($0) }
        #expect(extra.isEmpty, "exported but not in taskhost.h: \(extra.sorted())")
    }

    /// Each shipped plugin, the Swift one built with the plugin kit included,
    /// defines one dynamic symbol: its entry (plugin.h).
    @Test(arguments: ["square", "print", "ipc", "text", "imagefilter"])
    func aShippedPluginExportsOnlyItsEntry(plugin: String) throws {
        let nm = try TestSupport.run("/usr/bin/env", ["nm", "-D", "--defined-only", Self.products + "/lib\(plugin).so"])
        #expect(nm.status == 0, "\(nm.stderr)")
        let defined = nm.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count == 3, !["__bss_start", "_edata", "_end"].contains(fields[2]) else { return nil }
            return String(fields[2])
        }
        #expect(defined == ["taskhost_plugin_entry"])
    }

    @Test func theHeaderIsC99AndCPlusPlusClean() throws {
        let folder = TestSupport.temporaryFolder("embed-header")
        let source = "#include <taskhost/taskhost.h>\nint main(void) { th_value v = th_string(\"x\"); return (int)v.as.bytes.length - 1; }\n"
        try source.write(toFile: folder + "/h.c", atomically: true, encoding: .utf8)
        try source.write(toFile: folder + "/h.cpp", atomically: true, encoding: .utf8)
        let c = try TestSupport.run("/usr/bin/env", ["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                                     "-I", Self.root + "/include", "-fsyntax-only", folder + "/h.c"])
        #expect(c.status == 0, "\(c.stderr)")
        let cxx = try TestSupport.run("/usr/bin/env", ["c++", "-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                                       "-I", Self.root + "/include", "-fsyntax-only", folder + "/h.cpp"])
        #expect(cxx.status == 0, "\(cxx.stderr)")
    }

    /// `make install PREFIX=…` of the built products, then a program outside
    /// the repository built with pkg-config: it finds the fork server and the
    /// plugins in PREFIX/lib/taskhost, and so does the installed CLI.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/make")
                   && FileManager.default.isExecutableFile(atPath: "/usr/bin/pkg-config")))
    func theInstalledLayoutWorks() throws {
        let prefix = TestSupport.temporaryFolder("embed-prefix")
        let install = try TestSupport.run("/usr/bin/make", ["-C", Self.root, "install", "PREFIX=" + prefix,
                                                            "PRODUCTS=" + Self.products])
        try #require(install.status == 0, "make install failed: \(install.stderr)")
        for file in ["bin/taskhost", "lib/libTaskHost.so", "lib/libTaskHostCluster.so", "lib/taskhost/taskhost-forkserver",
                     "lib/taskhost/plugins/libsquare.so", "lib/taskhost/plugins/libipc.so", "include/taskhost/taskhost.h",
                     "include/taskhost/plugin.h", "include/taskhost/shared.h", "include/taskhost/cluster.h"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "\(file) is not installed")
        }
        let flags = try TestSupport.run("/usr/bin/pkg-config", ["--cflags", "--libs", "taskhost"],
                                        environment: ["PKG_CONFIG_PATH": prefix + "/lib/pkgconfig"])
        #expect(flags.stdout == "-I\(prefix)/include -L\(prefix)/lib -Wl,-rpath,\(prefix)/lib -lTaskHost \n")

        let outside = TestSupport.temporaryFolder("embed-outside")
        try FileManager.default.copyItem(atPath: Self.root + "/Examples/embed.c", toPath: outside + "/my.c")
        let cc = try TestSupport.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", outside + "/my.c",
                                                      "-o", outside + "/my"]
                                                      + flags.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        try #require(cc.status == 0, "cc failed: \(cc.stderr)")
        let run = try TestSupport.run(outside + "/my", [], environment: ["TASKHOST_PLUGIN_PATH": ""], directory: outside)
        #expect(run.stdout == "[1, 4, 9, 16, 25]\n")
        #expect(run.status == 0, "\(run.stderr)")

        try Self.expectTheInstalledClusterLibrary(prefix: prefix, outside: outside)

        let plugins = try TestSupport.run(prefix + "/bin/taskhost", ["plugins", "--verbose"], environment: ["TASKHOST_PLUGIN_PATH": ""])
        #expect(plugins.stdout.contains("from \(prefix)/lib/taskhost/plugins/libsquare.so"))
        let map = try TestSupport.run(prefix + "/bin/taskhost", ["map", "square", "1", "2", "3"])
        #expect(map.stdout == "[1, 4, 9]\n")
    }

    /// The cluster library installed beside libTaskHost.so: a C program links it
    /// through `pkg-config taskhost-cluster`. Built without the trait MPI (as
    /// the tests are, but for MPITests), `th_cluster_pool_new` says how to get it.
    static func expectTheInstalledClusterLibrary(prefix: String, outside: String) throws {
        let flags = try TestSupport.run("/usr/bin/pkg-config", ["--cflags", "--libs", "taskhost-cluster"],
                                        environment: ["PKG_CONFIG_PATH": prefix + "/lib/pkgconfig"])
        #expect(flags.stdout == "-I\(prefix)/include -L\(prefix)/lib -Wl,-rpath,\(prefix)/lib -lTaskHostCluster \n")
        let cc = try TestSupport.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-DCLUSTER",
                                                      root + "/Tests/MPITests/cluster_pool.c", "-o", outside + "/cluster"]
                                                      + flags.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        try #require(cc.status == 0, "cc failed: \(cc.stderr)")
        #if !MPI
        let run = try TestSupport.run(outside + "/cluster", [TestSupport.faultyPlugin], environment: ["TASKHOST_PLUGIN_PATH": ""])
        #expect(run.stderr == "th_cluster_pool_new: systemError: th_cluster_pool_new needs TaskHost built with Open MPI: "
                              + "swift build --traits MPI (README: Running on a cluster)\n")
        #expect(run.status == 1)
        #endif
    }

    /// The end-to-end program under valgrind: no invalid reads or writes, no
    /// definite leaks. Valgrind can't read the DWARF 5 debug info Swift
    /// emits, so it runs against a copy of the products without it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind")))
    func theCAPIUnderValgrind() throws {
        let folder = TestSupport.temporaryFolder("embed-valgrind")
        for file in ["taskhost-forkserver", "libsquare.so", "libprint.so", "libtext.so"] {
            try FileManager.default.copyItem(atPath: Self.products + "/" + file, toPath: folder + "/" + file)
        }
        let strip = try TestSupport.run("/usr/bin/env", ["objcopy", "--strip-debug", Self.products + "/libTaskHost.so",
                                                         folder + "/libTaskHost.so"])
        try #require(strip.status == 0, "objcopy failed: \(strip.stderr)")
        let program = try Self.compile(Self.root + "/Tests/EmbeddingTests/embedding.c", name: "embedding",
                                       libraryFolder: folder)
        let result = try TestSupport.run("/usr/bin/valgrind",
                                         ["--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=9",
                                          program, TestSupport.faultyPlugin, Self.typesPlugin],
                                         environment: ["EMBEDDING_LIFECYCLES": "3"])
        Self.expectEveryCheck(result.stdout)
        #expect(result.status == 0, "valgrind: \(result.stderr.split(separator: "\n").suffix(40).joined(separator: "\n"))")
        #expect(result.stderr.contains("definitely lost: 0 bytes") || result.stderr.contains("All heap blocks were freed"))
        #expect(result.stderr.contains("ERROR SUMMARY: 0 errors"))
    }
}
