import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TaskHost
import TestSupport

// The opt-in sandbox (issue 16), through the Swift API: the escape plugin
// (Tests/Plugins/escape) tries, item by item, to read and write files, to
// connect to a TCP port this test opens, to fork, to exec /bin/true and to
// ptrace. Unsandboxed every attempt succeeds; sandboxed each fails as the
// README says and the harmless items around them are fine.

/// The escape plugin and a folder layout to try it in.
struct EscapeWorkspace {
    let folder = TestSupport.temporaryFolder("sandbox")
    var grantedFile: String { folder + "/granted.txt" }   // allowed to read by its own path
    var deniedFile: String { folder + "/denied.txt" }     // beside it, not allowed
    var readable: String { folder + "/readable" }         // a folder allowed to read
    var writable: String { folder + "/writable" }         // a folder allowed to write
    var outside: String { folder + "/outside.txt" }

    init() throws {
        for sub in [readable + "/deep", writable] {
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        }
        try "granted\n".write(toFile: grantedFile, atomically: true, encoding: .utf8)
        try "denied\n".write(toFile: deniedFile, atomically: true, encoding: .utf8)
        try "deep inside\n".write(toFile: readable + "/deep/file.txt", atomically: true, encoding: .utf8)
    }

    var sandbox: Sandbox { Sandbox(allowRead: [grantedFile, readable], allowWrite: [writable]) }

    func host() throws -> PluginHost { try PluginHost(pluginFiles: [TestSupport.escapePlugin]) }
}

@Suite(.serialized) struct SandboxTests {
    static func attempt(_ action: String, _ target: String = "") -> [Value] { [.string(action), .string(target)] }

    /// The escape attempts in order, as (action, target).
    static func attempts(_ w: EscapeWorkspace, port: UInt16) -> [(String, String)] {
        [("echo", "1"), ("read", "/etc/passwd"), ("read", w.grantedFile), ("read", w.deniedFile),
         ("read", w.readable + "/deep/file.txt"), ("write", w.outside), ("write", w.writable + "/inside.txt"),
         ("connect", String(port)), ("fork", ""), ("thread", ""), ("exec", ""), ("ptrace", ""), ("echo", "2")]
    }

    static func run(_ w: EscapeWorkspace, port: UInt16, sandbox: Sandbox?) throws -> [TaskResult] {
        let pool = try Pool(host: try w.host(), processes: 1, sandbox: sandbox)
        defer { pool.terminate() }
        return try pool.starmap("escape.attempt", attempts(w, port: port).map { attempt($0.0, $0.1) }, chunksize: 1)
    }

    static func fileSize(_ path: String) -> Int64 {
        Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1)
    }

    @Test func withoutTheSandboxEveryAttemptSucceeds() throws {
        let w = try EscapeWorkspace()
        let listener = try LocalTCPListener()
        let results = try Self.run(w, port: listener.port, sandbox: nil)
        let values = results.map { try? $0.get() }
        #expect(values[0] == .int64(1))
        #expect(values[1] == .int64(Self.fileSize("/etc/passwd")))
        #expect(values[2] == .int64(8) && values[3] == .int64(7) && values[4] == .int64(12))
        #expect(values[5] == .int64(8) && values[6] == .int64(8))
        #expect(FileManager.default.contents(atPath: w.outside) == Data("escaped\n".utf8))
        #expect(values[7] == .int64(1), "connect")
        #expect(values[8] == .int64(7), "the forked child's exit code")
        #expect(values[9] == .int64(1), "a thread")
        // execve succeeded: the worker became /bin/true, which exited 0.
        let exec = Supervision.failure(results[10])
        #expect(exec?.kind == .exited && exec?.code == 0)
        #expect(values[11] == .int64(1), "ptrace")
        #expect(values[12] == .int64(2))
    }

    @Test func inTheSandboxEachEscapeFailsAndTheRestAreFine() throws {
        let w = try EscapeWorkspace()
        let listener = try LocalTCPListener()
        let port = listener.port
        let results = try Self.run(w, port: port, sandbox: w.sandbox)
        let values = results.map { try? $0.get() }
        #expect(values[0] == .int64(1))
        func taskError(_ index: Int, _ message: String) {
            let error = Supervision.failure(results[index])
            #expect(error?.kind == .taskError && error?.message == message, "item \(index): \(String(describing: error))")
        }
        taskError(1, "escape.attempt(\"read\", \"/etc/passwd\"): cannot open /etc/passwd: Permission denied")
        #expect(values[2] == .int64(8), "a file allowed by its own path")
        taskError(3, "escape.attempt(\"read\", \"\(w.deniedFile)\"): cannot open \(w.deniedFile): Permission denied")
        #expect(values[4] == .int64(12), "a file beneath an allowed folder")
        taskError(5, "escape.attempt(\"write\", \"\(w.outside)\"): cannot create \(w.outside): Permission denied")
        #expect(!FileManager.default.fileExists(atPath: w.outside))
        #expect(values[6] == .int64(8))
        #expect(FileManager.default.contents(atPath: w.writable + "/inside.txt") == Data("escaped\n".utf8))
        func violation(_ index: Int, _ call: String, _ action: String, _ target: String = "") {
            let error = Supervision.failure(results[index])
            #expect(error?.kind == .sandboxViolation && error?.signal == "SIGSYS", "item \(index): \(String(describing: error))")
            let pattern = "worker [0-9]+ was stopped by the sandbox: it called \(call) while running "
                + Supervision.escaped("escape.attempt(\"\(action)\", \"\(target)\")")
            #expect(TestSupport.matches(error?.message ?? "", pattern), "\(error?.message ?? "no error")")
        }
        violation(7, "socket", "connect", String(port))
        violation(8, "clone", "fork")
        #expect(values[9] == .int64(1), "threads stay allowed")
        violation(10, "execve", "exec")
        violation(11, "ptrace", "ptrace")
        #expect(values[12] == .int64(2))
    }

    @Test func procIsClosedButTheMemoryLimitIsStillNamed() throws {
        let pool = try Pool(host: try PluginHost(pluginFiles: [TestSupport.escapePlugin, TestSupport.faultyPlugin]),
                            processes: 1, memoryLimit: 256 << 20, sandbox: Sandbox())
        defer { pool.terminate() }
        // The fork server's /proc entry (its environment, its memory) least of all.
        for path in ["/proc/self/status", "/proc/\(pool.host.forkServerPID)/environ"] {
            let error = Supervision.failure(try pool.starmap("escape.attempt", [Self.attempt("read", path)])[0])
            #expect(error?.message.hasSuffix("cannot open \(path): Permission denied") == true, "\(String(describing: error))")
        }
        // The death detector reads /proc/self/statm through a descriptor opened before the sandbox.
        let eaten = Supervision.failure(try pool.map("faulty.eat", [3])[0])
        #expect(eaten?.kind == .memoryLimit, "\(String(describing: eaten))")
    }

    @Test func aSandboxedProcessDiesOfSIGSYSWithTheCallNamed() throws {
        let w = try EscapeWorkspace()
        let listener = try LocalTCPListener()
        let process = try WorkerProcess(host: try w.host(), task: "escape.attempt",
                                        arguments: Self.attempt("connect", String(listener.port)),
                                        taskOutput: .stderr, sandbox: Sandbox())
        try process.start()
        process.join()
        #expect(process.exitCode == -SIGSYS)
        let error = process.result.flatMap(Supervision.failure)
        #expect(error?.kind == .sandboxViolation)
        #expect(error?.message.contains("was stopped by the sandbox: it called socket while running escape.attempt(") == true)
    }

    @Test func noSignalReachesTheForkServerTheHostOrEveryone() throws {
        let w = try EscapeWorkspace()
        let pool = try Pool(host: try w.host(), processes: 1, sandbox: w.sandbox)
        defer { pool.terminate() }
        let results = try pool.starmap("escape.attempt", [Self.attempt("kill", "parent"), Self.attempt("kill", "-1"),
                                                           Self.attempt("echo", "3")], chunksize: 1)
        for (index, target) in ["parent", "-1"].enumerated() {
            let error = Supervision.failure(results[index])
            #expect(error?.kind == .sandboxViolation, "\(String(describing: error))")
            #expect(error?.message.hasSuffix("it called kill while running escape.attempt(\"kill\", \"\(target)\")") == true)
        }
        #expect(try results[2].get() == .int64(3), "the fork server is still there")
    }

    @Test func applyOnAWarmPoolThrowsTheViolation() throws {
        let w = try EscapeWorkspace()
        let pool = try Pool(host: try w.host(), processes: 1, sandbox: w.sandbox)
        defer { pool.terminate() }
        #expect(try pool.apply("escape.attempt", Self.attempt("echo", "4")) == .int64(4)) // warm: the direct path
        #expect {
            try pool.apply("escape.attempt", Self.attempt("fork"))
        } throws: { error in
            guard let error = error as? TaskHostError else { return false }
            return error.kind == .sandboxViolation
                && TestSupport.matches(error.message, "worker [0-9]+ was stopped by the sandbox: it called clone while running "
                                       + Supervision.escaped("escape.attempt(\"fork\", \"\")"))
        }
        #expect(try pool.apply("escape.attempt", Self.attempt("echo", "5")) == .int64(5))
    }

    @Test func pathsThatCannotFitASpawnRequestAreRefused() throws {
        let paths = Array(repeating: "/" + String(repeating: "x", count: 250), count: 9000)
        #expect {
            _ = try Pool(host: try EscapeWorkspace().host(), processes: 1, sandbox: Sandbox(allowRead: paths))
        } throws: { error in
            (error as? TaskHostError)?.kind == .invalidArgument
                && (error as? TaskHostError)?.message.hasSuffix("allow their folders instead") == true
        }
    }

    @Test func relativePathsAreTakenFromTheCurrentDirectory() throws {
        let w = try EscapeWorkspace()
        let here = FileManager.default.currentDirectoryPath
        let relative = String(repeating: "../", count: here.split(separator: "/").count) + w.writable.dropFirst()
        let pool = try Pool(host: try w.host(), processes: 1, sandbox: Sandbox(allowWrite: [relative]))
        defer { pool.terminate() }
        #expect(try pool.apply("escape.attempt", Self.attempt("write", w.writable + "/relative.txt")) == .int64(8))
    }
}
