import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TaskHost
import TestSupport

/// Spare workers (issue 18): while a single process runs, and a moment after,
/// generic workers are kept forked ahead — two by the host where exits come
/// through pidfds, one by the fork server elsewhere — and the next
/// unsandboxed `WorkerProcess` starts in the oldest. It must behave exactly
/// as a worker forked for that process: its settings, its shared objects;
/// never a sandboxed process's; and it must not outlive its use or the host.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SpareWorkerTests {
    /// Spares kept at once on this kernel.
    static let spares = ExitReportTests.kernelReportsExits ? 2 : 1

    func makeHost() throws -> PluginHost {
        try PluginHost(pluginFiles: [TestSupport.faultyPlugin, TestSupport.escapePlugin])
    }

    /// Runs a single process to its end, then returns the spare the next
    /// one will take: the oldest of the fork server's live children left, all
    /// of them spares (nil if they were not seen in time, on a loaded machine).
    func spare(of host: PluginHost) throws -> pid_t? {
        let first = try WorkerProcess(host: host, task: "square", arguments: [3], taskOutput: .stderr)
        try first.start()
        first.join()
        #expect(first.result == .success(.int64(9)))
        var live: [pid_t] = []
        guard TestSupport.eventually(within: 0.05, {
            live = Supervision.liveWorkers(of: host)
            return live.count == Self.spares
        }) else { return nil }
        return live.min()
    }

    /// Runs the process `make` gives right after a spare was seen, until it
    /// ran in that spare (a loaded machine may outlast the spare's 100 ms;
    /// then it forks its own and this tries again), at most 30 times.
    /// Returns the last process and whether it ran in the spare.
    func runInSpare(_ host: PluginHost, _ make: () throws -> WorkerProcess) throws -> (WorkerProcess, Bool) {
        for _ in 0..<30 {
            guard let spare = try spare(of: host) else { continue }
            let process = try make()
            try process.start()
            process.join()
            if process.pid == spare { return (process, true) }
        }
        let process = try make()
        try process.start()
        process.join()
        return (process, false)
    }

    @Test func theNextProcessStartsInTheSpareForkedWhileTheLastOneRan() throws {
        let host = try makeHost()
        let (process, inSpare) = try runInSpare(host) {
            try WorkerProcess(host: host, task: "faulty.pid", arguments: [0], taskOutput: .stderr)
        }
        #expect(inSpare, "no process ran in a spare in 30 tries")
        #expect(process.exitCode == 0)
        #expect(process.result == .success(.int64(Int64(process.pid ?? -1))))
    }

    @Test func aSpareTakesItsProcessMemoryLimitAndSetup() throws {
        let host = try makeHost()
        let (eater, inSpare) = try runInSpare(host) {
            try WorkerProcess(host: host, task: "faulty.eat", arguments: [3], taskOutput: .stderr, memoryLimit: 256 << 20)
        }
        #expect(inSpare, "no process ran in a spare in 30 tries")
        let error = try #require(eater.result.flatMap(Supervision.failure))
        #expect(error.kind == .memoryLimit, "\(error)")
        #expect(error.message == "worker \(eater.pid!) went past its memory limit of 256 MiB while running faulty.eat(3)")
        // What every worker's setup does: no core files, stdin from /dev/null, its own descriptors only.
        for (task, expected) in [("faulty.core_limit", Int64(0)), ("faulty.stdin_null", 1)] {
            let (process, inSpare) = try runInSpare(host) {
                try WorkerProcess(host: host, task: task, arguments: [0], taskOutput: .stderr)
            }
            #expect(inSpare, "no process ran in a spare in 30 tries")
            #expect(process.result == .success(.int64(expected)), "\(task)")
        }
        let fresh = try WorkerProcess(host: try makeHost(), task: "faulty.fds", arguments: [0], taskOutput: .stderr)
        try fresh.start()
        fresh.join()
        let (spared, _) = try runInSpare(host) {
            try WorkerProcess(host: host, task: "faulty.fds", arguments: [0], taskOutput: .stderr)
        }
        #expect(spared.result == fresh.result, "a spare holds other descriptors than a fresh worker")
    }

    @Test func aSandboxedProcessNeverTakesTheSpare() throws {
        let host = try makeHost()
        var spare: pid_t?
        for _ in 0..<30 where spare == nil { spare = try self.spare(of: host) }
        let unused = try #require(spare)
        let process = try WorkerProcess(host: host, task: "escape.attempt", arguments: [.string("fork"), .string("")],
                                        taskOutput: .stderr, sandbox: Sandbox())
        try process.start()
        process.join()
        #expect(process.pid != unused)
        #expect(process.exitCode == -SIGSYS)
        let error = process.result.flatMap(Supervision.failure)
        #expect(error?.kind == .sandboxViolation, "\(String(describing: error))")
    }

    @Test func aSharedObjectMadeAfterTheSpareReachesTheNextProcess() throws {
        let host = try makeHost()
        var spare: pid_t?
        for _ in 0..<30 where spare == nil { spare = try self.spare(of: host) }
        let old = try #require(spare)
        let queue = try host.queue("late", capacity: 16, itemSize: 8)
        let process = try WorkerProcess(host: host, task: "ipc.put_range", arguments: ["late", 1, 3], taskOutput: .stderr)
        try process.start()
        process.join()
        #expect(process.result == .success(.int64(6)))
        #expect(queue.count == 3)
        #expect(process.pid != old, "a spare forked before the object took its process")
        #expect(TestSupport.eventually { !TestSupport.isRunning(old) }, "the spare without the object still runs")
    }

    /// (One killed in the very microseconds before it is handed over is
    /// that process's death, reported as SIGKILL, as a fresh worker's would be.)
    @Test func aSpareThatDiedIsNeverHandedOver() throws {
        let host = try makeHost()
        var spare: pid_t?
        for _ in 0..<30 where spare == nil { spare = try self.spare(of: host) }
        let killed = try #require(spare)
        kill(killed, SIGKILL)
        #expect(TestSupport.eventually { !TestSupport.isRunning(killed) })
        let process = try WorkerProcess(host: host, task: "faulty.pid", arguments: [0], taskOutput: .stderr)
        try process.start()
        process.join()
        #expect(process.pid != killed)
        #expect(process.exitCode == 0)
        #expect(process.result == .success(.int64(Int64(process.pid ?? -1))))
    }

    @Test func anUnusedSpareEnds() throws {
        let host = try makeHost()
        var spare: pid_t?
        for _ in 0..<30 where spare == nil { spare = try self.spare(of: host) }
        let unused = try #require(spare)
        #expect(TestSupport.eventually { !TestSupport.isRunning(unused) && Supervision.liveWorkers(of: host).isEmpty },
                "left: \(Supervision.liveWorkers(of: host))")
    }

    /// While a process runs its spare is kept; the host's end ends both.
    @Test func noSpareOutlivesItsHost() async throws {
        let pidFile = FileManager.default.temporaryDirectory.path + "/taskhost-spare-\(getpid())"
        try? FileManager.default.removeItem(atPath: pidFile)
        await #expect(processExitsWith: .success) { try SpareWorkerHost.runAndLeave() }
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: pidFile)
        let pids = text.split(separator: " ").compactMap { pid_t($0) }
        #expect(pids.count == 2 + Self.spares, "\(text)")  // the fork server, the running process, its spares
        #expect(TestSupport.eventually { !pids.contains(where: TestSupport.isRunning) },
                "still running: \(pids.filter(TestSupport.isRunning))")
    }
}

/// The body of `noSpareOutlivesItsHost`, run in a child process that ends
/// without any cleanup of its own.
enum SpareWorkerHost {
    static func runAndLeave() throws {
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let sleeper = try WorkerProcess(host: host, task: "faulty.sleepy", arguments: [60_000], taskOutput: .stderr)
        try sleeper.start()
        // Its worker is a child of the fork server a moment before its pid reaches this process.
        var live: [pid_t] = []
        guard TestSupport.eventually(within: 10, {
            live = Supervision.liveWorkers(of: host)
            return live.count == 1 + SpareWorkerTests.spares && sleeper.pid.map(live.contains) == true
        }) else { exit(2) }
        let pids = [host.forkServerPID] + live
        let path = FileManager.default.temporaryDirectory.path + "/taskhost-spare-\(getppid())"
        try pids.map(String.init).joined(separator: " ").write(toFile: path, atomically: true, encoding: .utf8)
        exit(0)
    }
}
