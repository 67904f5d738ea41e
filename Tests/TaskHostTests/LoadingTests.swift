import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TaskHost
import TestSupport

/// Loading that no plugin file can break (issue 11): whatever a file does
/// while it is opened, checked or loaded, it is refused with a message naming
/// it and saying what it did, within the load timeout; the other plugins load
/// and the host works; nothing it started is left alive.
@Suite(.timeLimit(.minutes(2))) struct LoadingTests {
    static let sources = TestSupport.repositoryRoot + "/Tests/Plugins/load/"

    /// Builds a test plugin of Tests/Plugins/load.
    static func build(_ source: String, as name: String? = nil, flags: [String] = []) throws -> String {
        try TestSupport.buildPlugin(sources + source + ".c", name: name ?? source, extraFlags: flags)
    }

    /// The refusal of an explicit file: its message, which names the file.
    func refusal(_ path: String, loadTimeout: Double = PluginHost.defaultLoadTimeout) -> String {
        do {
            _ = try PluginHost(pluginFiles: [path], loadTimeout: loadTimeout)
            Issue.record("\(path) was loaded")
            return ""
        } catch let error as TaskHostError {
            #expect(error.kind == .pluginError)
            #expect(error.message.hasPrefix("cannot load plugin file '\(path)': "), "\(error.message)")
            return String(error.message.dropFirst("cannot load plugin file '\(path)': ".count))
        } catch {
            Issue.record("unexpected \(error)")
            return ""
        }
    }

    /// A host with `path` lying in a folder of the plugin path, beside the shipped plugins.
    func hostWith(_ path: String, loadTimeout: Double = PluginHost.defaultLoadTimeout) throws -> PluginHost {
        let folder = (path as NSString).deletingLastPathComponent
        return try PluginHost(pluginPath: folder, loadTimeout: loadTimeout)
    }

    /// The shipped plugins work.
    func expectTheRestWorks(_ host: PluginHost) throws {
        let pool = try Pool(host: host, processes: 1)
        defer { pool.close(); pool.join() }
        #expect(try pool.apply("square", [7]) == .int64(49))
    }

    /// A file that misbehaved lying in a folder: one warning naming it, the rest works.
    func expectSkipped(_ path: String, _ reason: String, loadTimeout: Double = PluginHost.defaultLoadTimeout) throws {
        let host = try hostWith(path, loadTimeout: loadTimeout)
        #expect(host.catalog.warnings == ["skipped plugin file '\(path)': \(reason)"])
        try expectTheRestWorks(host)
    }

    @Test func exitInAConstructorIsRefused() throws {
        let zero = try Self.build("exit_in_constructor")
        #expect(refusal(zero) == "it exited with code 0 while loading")
        try expectSkipped(zero, "it exited with code 0 while loading")
        let raw = try Self.build("exit_in_constructor", as: "raw_exit", flags: ["-DRAW_EXIT", "-DCODE=3"])
        #expect(refusal(raw) == "it exited with code 3 while loading")
    }

    @Test func exitInTheEntryIsRefused() throws {
        let path = try Self.build("exit_in_entry")
        #expect(refusal(path) == "it exited with code 4 while loading")
        try expectSkipped(path, "it exited with code 4 while loading")
    }

    @Test func exitOnlyOutsideAProbeIsRefused() throws {
        let path = try Self.build("exit_in_server_only")
        #expect(refusal(path) == "it exited with code 0 while loading")
        try expectSkipped(path, "it exited with code 0 while loading")
    }

    @Test func aFlakyCrashIsRefusedWhenItCrashesAndLoadsWhenItDoesNot() throws {
        let counter = TestSupport.temporaryFolder("flaky") + "/loads"
        let path = try Self.build("flaky_entry", flags: ["-DCOUNTER=\"\(counter)\""])
        // Loads 1, 3, ... crash; 2, 4, ... don't.
        try expectSkipped(path, "it crashed while loading (Segmentation fault)")
        let host = try hostWith(path)
        #expect(host.catalog.warnings.isEmpty)
        let pool = try Pool(host: host, processes: 1)
        defer { pool.close(); pool.join() }
        #expect(try pool.apply("flaky.one", []) == .int64(1))
        #expect(refusal(path) == "it crashed while loading (Segmentation fault)")
    }

    @Test func aHangIsRefusedAfterTheLoadTimeout() throws {
        let path = try Self.build("hang_in_entry")
        let start = Date()
        try expectSkipped(path, "it did not finish loading within 1 s", loadTimeout: 1)
        #expect(Date().timeIntervalSince(start) < 8)
        #expect(refusal(path, loadTimeout: 0.5) == "it did not finish loading within 0.5 s")
    }

    @Test(arguments: [false, true]) func aConstructorThatLeavesAProcessRunningIsRefusedAndTheProcessKilled(detached: Bool) throws {
        let pidFile = TestSupport.temporaryFolder("spawner") + "/pid"
        let path = try Self.build("fork_in_constructor", as: detached ? "detached_spawner" : "spawner",
                                  flags: ["-DPIDFILE=\"\(pidFile)\""] + (detached ? ["-DDETACHED"] : []))
        let host = try hostWith(path)
        #expect(host.catalog.warnings.count == 1)
        #expect(TestSupport.matches(host.catalog.warnings.first ?? "",
                                    "^skipped plugin file '\(NSRegularExpression.escapedPattern(for: path))': it started a process \\(pid [0-9]+\\) while loading, which a plugin must not do$"),
                "\(host.catalog.warnings)")
        try expectTheRestWorks(host)
        let pid = pid_t((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(pid > 0)
        #expect(TestSupport.eventually(within: 5) { !TestSupport.isRunning(pid) }, "process \(pid) is still running")
    }

    @Test func aConstructorThatStartsAThreadIsRefused() throws {
        let path = try Self.build("thread_in_constructor", flags: ["-pthread"])
        #expect(refusal(path) == "it started a thread while loading, which a plugin must not do (workers are forked)")
        try expectSkipped(path, "it started a thread while loading, which a plugin must not do (workers are forked)")
    }

    @Test func aFIFOOrADeviceIsNeverOpenedForReading() throws {
        let folder = TestSupport.temporaryFolder("fifo")
        #expect(mkfifo(folder + "/pipe.so", 0o600) == 0)
        #expect(symlink("/dev/zero", folder + "/zero.so") == 0)
        #expect(refusal(folder + "/pipe.so") == "it is a FIFO, not a regular file, so it is not a TaskHost plugin")
        #expect(refusal("/dev/zero") == "it is a character device, not a regular file, so it is not a TaskHost plugin")
        let host = try PluginHost(pluginPath: folder)
        #expect(host.catalog.warnings.isEmpty)  // not plugins: skipped quietly, as any other such file
        #expect(host.catalog.notes.contains("skipped \(folder)/pipe.so: it is a FIFO, not a regular file, so it is not a TaskHost plugin"))
        try expectTheRestWorks(host)
    }

    /// An ELF header of another machine (the file needs no more to be judged).
    func foreignELF(_ name: String, elfClass: UInt8, machine: UInt16) -> String {
        var bytes: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, elfClass, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        bytes += [3, 0]  // e_type ET_DYN
        bytes += [UInt8(machine & 0xff), UInt8(machine >> 8)]
        bytes += [UInt8](repeating: 0, count: 64)
        let path = TestSupport.temporaryFolder("foreign") + "/\(name).so"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    @Test func anELFOfAnotherArchitectureIsNamedAsSuch() throws {
        #if arch(x86_64)
        let host = "x86-64"
        let (aarch64, i386) = (foreignELF("arm", elfClass: 2, machine: 183), foreignELF("x86", elfClass: 1, machine: 3))
        #expect(refusal(aarch64) == "it is built for another architecture: aarch64 (64-bit ARM), but this host is \(host)")
        #expect(refusal(i386) == "it is built for another architecture: i386 (32-bit x86), but this host is \(host)")
        #elseif arch(arm64)
        let x86 = foreignELF("x86", elfClass: 2, machine: 62)
        #expect(refusal(x86) == "it is built for another architecture: x86-64, but this host is aarch64 (64-bit ARM)")
        #endif
    }

    @Test func aPluginAtTheDocumentedMaximaLoads() throws {
        let path = try Self.build("huge_table")
        let host = try PluginHost(pluginFiles: [path])
        let huge = try #require(host.plugins.first { $0.name == "huge" })
        #expect(huge.tasks.count == 4096)
        #expect(huge.tasks.allSatisfy { $0.parameters.count == 32 })
        #expect(huge.summary.utf8.count == 220 * 1024)
        let last = "t4095_" + String(repeating: "x", count: 94)
        let pool = try Pool(host: host, processes: 1)
        defer { pool.close(); pool.join() }
        #expect(try pool.apply("huge." + last, (1...32).map { Value.int64(Int64($0)) }) == .int64(528))
    }

    @Test func manyPluginsLoad() throws {
        let built = try Self.build("named_by_file")
        let folder = TestSupport.temporaryFolder("many")
        for i in 1...45 { try FileManager.default.copyItem(atPath: built, toPath: folder + String(format: "/p%02d.so", i)) }
        let host = try PluginHost(pluginPath: folder, includeBuiltin: false)
        #expect(host.plugins.count == 45)
        #expect(host.plugins.allSatisfy { $0.tasks.count == 40 })
        let pool = try Pool(host: host, processes: 1)
        defer { pool.close(); pool.join() }
        #expect(try pool.apply("p45.t39", []) == .int64(39))
        #expect(try pool.apply("p01.t0", []) == .int64(0))
    }

    @Test func manyMisbehavingFilesAreEachRefusedAndTheRestLoads() throws {
        let folder = TestSupport.temporaryFolder("mixed")
        let files = [try Self.build("exit_in_constructor"), try Self.build("exit_in_entry"), try Self.build("chatty"),
                     try Self.build("named_by_file", as: "good")]
        for file in files { try FileManager.default.copyItem(atPath: file, toPath: folder + "/" + (file as NSString).lastPathComponent) }
        let host = try PluginHost(pluginPath: folder)
        #expect(host.catalog.warnings == ["skipped plugin file '\(folder)/exit_in_constructor.so': it exited with code 0 while loading",
                                          "skipped plugin file '\(folder)/exit_in_entry.so': it exited with code 4 while loading"])
        #expect(Set(host.plugins.map(\.name)).isSuperset(of: ["chatty", "good", "square"]))
        try expectTheRestWorks(host)
    }

    @Test func theLoadTimeoutMustBePositive() throws {
        for bad in [0, -1, Double.nan] {
            #expect(throws: TaskHostError.self) { _ = try PluginHost(loadTimeout: bad) }
        }
        #expect(try PluginHost(loadTimeout: .infinity).plugins.contains { $0.name == "square" })
    }
}
