import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// A `taskhost` started in the background, so a test can signal it mid-run.
final class Background: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var out = Data(), err = Data()
    private let readers = DispatchGroup()

    init(_ arguments: [String], closeStdout: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: TestSupport.taskhost)
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if closeStdout {
            try stdout.fileHandleForReading.close()
        } else {
            collect(stdout.fileHandleForReading) { $0.out.append($1) }
        }
        collect(stderr.fileHandleForReading) { $0.err.append($1) }
    }

    private func collect(_ handle: FileHandle, into store: @escaping @Sendable (Background, Data) -> Void) {
        readers.enter()
        DispatchQueue.global().async {
            let data = handle.readDataToEndOfFile()
            self.lock.lock()
            store(self, data)
            self.lock.unlock()
            self.readers.leave()
        }
    }

    var pid: pid_t { process.processIdentifier }

    /// The fork server (the host's only child) and its live children, the workers.
    var forkServer: pid_t? { TestSupport.children(of: pid).first }
    var workers: [pid_t] { forkServer.map { TestSupport.children(of: $0).filter(TestSupport.isRunning) } ?? [] }

    /// Waits up to `seconds` for the process to end.
    func waitForExit(within seconds: Double) -> Bool {
        TestSupport.eventually(within: seconds) { !process.isRunning }
    }

    /// What it printed (after it ended).
    func output() -> (stdout: String, stderr: String) {
        readers.wait()
        lock.lock()
        defer { lock.unlock() }
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func kill() { if process.isRunning { Glibc.kill(pid, SIGKILL) } }
}

/// Endings (issue 3): Ctrl-C, SIGTERM, a closed stdout and kill -9 of the
/// host all end every worker and the fork server; where the CLI can still
/// speak it reports the partial results, the rest `cancelled`.
@Suite(.timeLimit(.minutes(3)))
struct CLIEndingsTests {
    /// Two quick items, then four that would take 30 s each.
    static let slowMap = ["map", "faulty.sleepy", "10", "10", "30000", "30000", "30000", "30000", "-p", "2", "--chunksize", "1"]

    func startSlowMap() throws -> (Background, server: pid_t, workers: [pid_t]) {
        let host = try Background(Self.slowMap + ["--plugin", CLI.faulty])
        var workers: [pid_t] = []
        let started = TestSupport.eventually(within: 10) {
            workers = host.workers
            return workers.count == 2
        }
        guard started, let server = host.forkServer else {
            host.kill()
            throw TaskHostTestFailure("the workers did not start: \(host.output().stderr)")
        }
        usleep(300_000) // the two quick items are done, two slow ones running
        return (host, server, workers)
    }

    func expectEverythingGone(_ pids: [pid_t]) {
        #expect(TestSupport.eventually(within: 5) { !pids.contains(where: TestSupport.isRunning) },
                "still running: \(pids.filter(TestSupport.isRunning))")
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func aSignalReportsThePartialResultsAndEndsEveryProcess(signal: Int32, status: Int32) throws {
        let (host, server, workers) = try startSlowMap()
        defer { host.kill() }
        kill(host.pid, signal)
        #expect(host.waitForExit(within: 5))
        #expect(host.process.terminationReason == .exit)
        #expect(host.process.terminationStatus == status)
        let (stdout, _) = host.output()
        let items = try CLI.array(stdout)
        #expect(items.count == 6, "\(stdout)")
        #expect(items.prefix(2).map { $0 as? Int } == [10, 10])
        for item in items.dropFirst(2) { #expect(CLI.error(item)?["kind"] as? String == "cancelled", "\(item)") }
        expectEverythingGone([server] + workers)
    }

    @Test func killMinusNineOfTheHostEndsTheForkServerAndEveryWorker() throws {
        let (host, server, workers) = try startSlowMap()
        kill(host.pid, SIGKILL)
        #expect(host.waitForExit(within: 5))
        expectEverythingGone([server] + workers)
    }

    @Test func aClosedStdoutEndsTheHostAndEveryWorker() throws {
        // With --jsonl the first write comes with the first result, after 1 s;
        // the 20 items on 2 workers would take 10 s.
        let host = try Background(["map", "faulty.sleepy"] + Array(repeating: "1000", count: 20)
                                  + ["-p", "2", "--chunksize", "1", "--jsonl", "--plugin", CLI.faulty], closeStdout: true)
        defer { host.kill() }
        var tree: [pid_t] = []
        #expect(TestSupport.eventually(within: 5) {
            if let server = host.forkServer { tree = [server] + host.workers }
            return tree.count == 3
        }, "the workers did not start")
        #expect(host.waitForExit(within: 5), "taskhost kept running with its stdout closed")
        #expect(host.process.terminationReason == .uncaughtSignal)
        #expect(host.process.terminationStatus == SIGPIPE)
        expectEverythingGone(tree)
    }
}

struct TaskHostTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
