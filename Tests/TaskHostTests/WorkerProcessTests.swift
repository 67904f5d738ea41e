import Foundation
import Testing
import TaskHost
import TestSupport

/// The seed's Process: start, join, exit code, result.
@Suite struct WorkerProcessTests {
    static let host = TestHosts.withFaulty()

    @Test func lifecycleOfAProcessThatSucceeds() throws {
        let process = try WorkerProcess(host: Self.host, task: "square", arguments: [7], taskOutput: .stderr)
        #expect(process.exitCode == nil)
        #expect(!process.isAlive)
        #expect(process.join(timeout: 0.01) == false)  // not started
        try process.start()
        #expect(throws: TaskHostError.self) { try process.start() }
        #expect(process.join(timeout: 10))
        #expect(process.exitCode == 0)
        #expect(!process.isAlive)
        #expect(process.pid != nil)
        #expect(process.result == .success(.int64(49)))
        #expect(process.join())  // joining again returns at once
    }

    @Test func aCrashIsMinusTheSignal() throws {
        let process = try WorkerProcess(host: Self.host, task: "faulty.segv", arguments: [3], taskOutput: .stderr)
        try process.start()
        process.join()
        #expect(process.exitCode == -11)
        guard case .failure(let error)? = process.result else { Issue.record("no failure"); return }
        #expect(error.kind == .crashed)
        #expect(error.signal == "SIGSEGV")
    }

    @Test func anExitIsItsCode() throws {
        let process = try WorkerProcess(host: Self.host, task: "faulty.exit", arguments: [3], taskOutput: .stderr)
        try process.start()
        process.join()
        #expect(process.exitCode == 7)
        #expect(process.result == .failure(TaskHostError(.exited, "worker \(process.pid!) exited with code 7 while running faulty.exit(3)", code: 7)))
    }

    @Test func terminateEndsAHangingProcess() throws {
        let process = try WorkerProcess(host: Self.host, task: "faulty.hang", arguments: [3], taskOutput: .stderr)
        try process.start()
        #expect(process.join(timeout: 0.3) == false)
        #expect(process.isAlive)
        process.terminate()
        #expect(process.join(timeout: 10))
        #expect(process.exitCode == -9)
        guard case .failure(let error)? = process.result else { Issue.record("no failure"); return }
        #expect(error.kind == .cancelled)
    }

    @Test func timeoutKillsTheProcess() throws {
        let process = try WorkerProcess(host: Self.host, task: "faulty.hang", arguments: [3], taskOutput: .stderr, timeout: 0.3)
        try process.start()
        #expect(process.join(timeout: 10))
        guard case .failure(let error)? = process.result else { Issue.record("no failure"); return }
        #expect(error.kind == .timedOut)
    }
}
