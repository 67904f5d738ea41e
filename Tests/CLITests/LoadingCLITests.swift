import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// The CLI's side of loading that no plugin can break (issue 11): a bad file
/// lying in a plugin folder is named on stderr and every command still
/// works, stdout holds only JSON, `--load-timeout` bounds a hang, and
/// neither a killed host nor a worker leaves a process behind.
@Suite(.timeLimit(.minutes(2))) struct LoadingCLITests {
    static func build(_ folder: String, _ source: String, as name: String? = nil, flags: [String] = []) throws -> String {
        try TestSupport.buildPlugin(TestSupport.repositoryRoot + "/Tests/Plugins/\(folder)/\(source).c", name: name ?? source,
                                    extraFlags: flags)
    }

    /// A plugin folder holding copies of `files`.
    static func folder(_ files: [String]) throws -> String {
        let folder = TestSupport.temporaryFolder("plugin-path")
        for file in files { try FileManager.default.copyItem(atPath: file, toPath: folder + "/" + (file as NSString).lastPathComponent) }
        return folder
    }

    static func occurrences(of text: String, in output: String) -> Int { output.components(separatedBy: text).count - 1 }

    @Test func stdoutHoldsOnlyJSONAndLoadOutputIsPrintedOnceOnStderr() throws {
        // chatty loads first, then exit_in_constructor kills the fork server:
        // chatty is loaded again by the next one, and its lines printed once.
        let folder = try Self.folder([try Self.build("load", "chatty"), try Self.build("load", "exit_in_constructor")])
        let result = try CLI.taskhost(["map", "square", "7"], environment: ["TASKHOST_PLUGIN_PATH": folder])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "[49]\n")
        #expect(Self.occurrences(of: "chatty constructor on stderr\n", in: result.stderr) == 1, "\(result.stderr)")
        #expect(Self.occurrences(of: "chatty constructor on stdout", in: result.stderr) == 1, "\(result.stderr)")
        #expect(result.stderr.contains("taskhost: skipped plugin file '\(folder)/exit_in_constructor.so': it exited with code 0 while loading\n"))
    }

    @Test func aHangingPluginIsRefusedAfterTheLoadTimeout() throws {
        let folder = try Self.folder([try Self.build("load", "hang_in_entry")])
        let start = Date()
        let result = try CLI.taskhost(["map", "square", "1", "2", "--load-timeout", "1"], environment: ["TASKHOST_PLUGIN_PATH": folder])
        #expect(result.status == 0)
        #expect(result.stdout == "[1, 4]\n")
        #expect(result.stderr == "taskhost: skipped plugin file '\(folder)/hang_in_entry.so': it did not finish loading within 1 s\n")
        #expect(Date().timeIntervalSince(start) < 8)
    }

    @Test func anExplicitBadFileIsAnErrorNamingIt() throws {
        let path = try Self.build("load", "exit_in_entry")
        let result = try CLI.taskhost(["map", "square", "1", "--plugin", path])
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr == "taskhost: cannot load plugin file '\(path)': it exited with code 4 while loading\n")
    }

    @Test(arguments: ["0", "-1", "nan"]) func aLoadTimeoutThatIsNotPositiveIsAUsageError(value: String) throws {
        let result = try CLI.taskhost(["map", "square", "1", "--load-timeout=\(value)"])
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr.contains("--load-timeout must be a positive number of seconds"), "\(result.stderr)")
    }

    /// kill -9 of the host while a plugin hangs in its entry (or in a
    /// constructor after forking a child) leaves no process behind.
    @Test(arguments: [false, true]) func killMinusNineOfTheHostWhileAPluginHangsLeavesNothing(forkFirst: Bool) throws {
        let pidFile = TestSupport.temporaryFolder("hang") + "/pid"
        let path = forkFirst
            ? try Self.build("load", "fork_in_constructor", as: "fork_then_hang", flags: ["-DPIDFILE=\"\(pidFile)\"", "-DTHEN_HANG"])
            : try Self.build("load", "hang_in_entry")
        let host = try Background(["map", "square", "1", "--plugin", path, "--load-timeout", "100"])
        defer { host.kill() }
        var server: pid_t = 0
        #expect(TestSupport.eventually(within: 10) {
            server = host.forkServer ?? 0
            return server > 0 && (!forkFirst || FileManager.default.fileExists(atPath: pidFile))
        }, "the fork server did not start")
        usleep(200_000)  // well inside the plugin now
        var tree = [server] + TestSupport.children(of: server)
        if forkFirst, let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            tree.append(pid)
        }
        #expect(tree.count == (forkFirst ? 3 : 1), "\(tree)")
        kill(host.pid, SIGKILL)
        #expect(host.waitForExit(within: 5))
        #expect(TestSupport.eventually(within: 5) { !tree.contains(where: TestSupport.isRunning) },
                "still running: \(tree.filter(TestSupport.isRunning))")
    }

    /// What workers start — a setsid()'d double-forked grandchild, fifty
    /// children each in two workers — is gone once the command has ended.
    @Test func nothingAWorkerStartsOutlivesTheRun() throws {
        let escaper = try Self.build("lifetime", "escaper")
        let pids = TestSupport.temporaryFolder("escaper") + "/pids"
        let escaped = try CLI.taskhost(["apply", "escaper.escape", pids, "--plugin", escaper])
        #expect(escaped.status == 0 && escaped.stdout == "0\n", "\(escaped.stderr)")
        let spawned = try CLI.taskhost(["starmap", "escaper.spawn", "-p", "2", "--chunksize", "1", "--plugin", escaper],
                                       input: "[50, \"\(pids)\"]\n[50, \"\(pids)\"]\n")
        #expect(spawned.status == 0 && spawned.stdout == "[50, 50]\n", "\(spawned.stderr)")
        let started = (try String(contentsOfFile: pids, encoding: .utf8)).split(separator: "\n").compactMap { pid_t($0) }
        #expect(started.count == 101)
        #expect(TestSupport.eventually(within: 5) { !started.contains(where: TestSupport.isRunning) },
                "still running: \(started.filter(TestSupport.isRunning))")
    }
}
