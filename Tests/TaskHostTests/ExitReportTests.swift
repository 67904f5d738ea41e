import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost
import TestSupport

/// How the host learns a worker's end: from the worker's pidfd, where the
/// kernel keeps a reaped process's wait status for it (Linux 6.15 and
/// later), or from the fork server, which reaps the worker and sends the
/// status (older kernels; forced here with `exitsByWaitpid`). Exit codes,
/// crash signals, kills, timeouts and a pool's deaths must read the same
/// either way.
@Suite(.timeLimit(.minutes(2)))
struct ExitReportTests {
    enum ExitPath: String, CaseIterable {
        case pidfd, waitpid
    }

    static let hosts: [ExitPath: PluginHost] = [
        .pidfd: try! PluginHost(pluginFiles: [TestSupport.faultyPlugin]),
        .waitpid: try! PluginHost(pluginFiles: [TestSupport.faultyPlugin], pluginPath: nil, includeBuiltin: true,
                                  loadTimeout: PluginHost.defaultLoadTimeout, exitsByWaitpid: true),
    ]

    /// Whether this kernel keeps exit statuses for pidfds (PIDFD_INFO_EXIT, 6.15).
    static let kernelReportsExits: Bool = {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return parts[0] > 6 || (parts[0] == 6 && parts[1] >= 15)
    }()

    /// The pids whose pidfds the fork server holds (its descriptors' fdinfo).
    static func pidfdTargets(of server: pid_t) -> Set<pid_t> {
        let folder = "/proc/\(server)/fd"
        var pids = Set<pid_t>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\(entry)"),
                  link.contains("pidfd"),
                  let info = try? String(contentsOfFile: "/proc/\(server)/fdinfo/\(entry)", encoding: .utf8) else { continue }
            for line in info.split(separator: "\n") where line.hasPrefix("Pid:") {
                if let pid = pid_t(line.dropFirst(4).trimmingCharacters(in: .whitespaces)) { pids.insert(pid) }
            }
        }
        return pids
    }

    @Test(arguments: ExitPath.allCases)
    func theServerWatchesWorkersByPidfdOnlyWhereTheKernelReportsExits(_ path: ExitPath) throws {
        let host = Self.hosts[path]!
        let process = try WorkerProcess(host: host, task: "faulty.hang", arguments: [3], taskOutput: .stderr)
        try process.start()
        defer { process.terminate(); process.join() }
        #expect(TestSupport.eventually { process.pid != nil })
        let pid = try #require(process.pid)
        let byPidfd = path == .pidfd && Self.kernelReportsExits
        #expect(Self.pidfdTargets(of: host.forkServerPID).contains(pid) == byPidfd)
    }

    @Test(arguments: ExitPath.allCases)
    func exitCodesAndSignalsAreTheWorkers(_ path: ExitPath) throws {
        let host = Self.hosts[path]!
        let cases: [(task: String, x: Int64, exitCode: Int32)] = [
            ("square", 7, 0), ("faulty.exit", 3, 7), ("faulty.exit", 4, 0), ("faulty.segv", 3, -SIGSEGV),
            ("faulty.abort", 3, -SIGABRT),
        ]
        for (task, x, exitCode) in cases {
            let process = try WorkerProcess(host: host, task: task, arguments: [.int64(x)], taskOutput: .stderr)
            try process.start()
            #expect(process.join(timeout: 30))
            #expect(process.exitCode == exitCode, "\(task)(\(x))")
            #expect(!process.isAlive)
        }
        let crashed = try WorkerProcess(host: host, task: "faulty.segv", arguments: [3], taskOutput: .stderr)
        try crashed.start()
        crashed.join()
        #expect(crashed.result == .failure(TaskHostError(
            .crashed, "worker \(crashed.pid!) was killed by SIGSEGV (segmentation fault) while running faulty.segv(3)",
            signal: "SIGSEGV")))
        let exited = try WorkerProcess(host: host, task: "faulty.exit", arguments: [3], taskOutput: .stderr)
        try exited.start()
        exited.join()
        #expect(exited.result == .failure(TaskHostError(.exited, "worker \(exited.pid!) exited with code 7 while running faulty.exit(3)", code: 7)))
    }

    @Test(arguments: ExitPath.allCases)
    func terminateAndTimeoutKillTheProcess(_ path: ExitPath) throws {
        let host = Self.hosts[path]!
        let hanging = try WorkerProcess(host: host, task: "faulty.hang", arguments: [3], taskOutput: .stderr)
        try hanging.start()
        #expect(hanging.join(timeout: 0.2) == false)
        #expect(hanging.isAlive)
        #expect(hanging.exitCode == nil)
        hanging.terminate()
        #expect(hanging.join(timeout: 30))
        #expect(hanging.exitCode == -SIGKILL)
        #expect(Supervision.failure(hanging.result!)?.kind == .cancelled)

        let timed = try WorkerProcess(host: host, task: "faulty.hang", arguments: [3], taskOutput: .stderr, timeout: 0.2)
        try timed.start()
        #expect(timed.join(timeout: 30))
        #expect(timed.exitCode == -SIGKILL)
        #expect(Supervision.failure(timed.result!)?.kind == .timedOut)
    }

    /// Processes started one after another start in spares on either path:
    /// the host's (pidfd) or the fork server's (waitpid).
    @Test(arguments: ExitPath.allCases)
    func processesInARowStartInSpares(_ path: ExitPath) throws {
        let host = Self.hosts[path]!
        var inSpare = 0
        for x in Int64(0)..<30 {
            let before = Set(Supervision.liveWorkers(of: host))
            let process = try WorkerProcess(host: host, task: "faulty.pid", arguments: [.int64(x)], taskOutput: .stderr)
            try process.start()
            process.join()
            #expect(process.exitCode == 0)
            #expect(process.result == .success(.int64(Int64(process.pid ?? -1))))
            if let pid = process.pid, before.contains(pid) { inSpare += 1 }
        }
        #expect(inSpare > 0, "none of 30 processes started in a spare")
    }

    @Test(arguments: ExitPath.allCases)
    func aPoolBlamesTheCrashingItemAndGoesOn(_ path: ExitPath) throws {
        let pool = try Pool(host: Self.hosts[path]!, processes: 2)
        defer { pool.terminate() }
        let results = try pool.map("faulty.segv97", Supervision.values(90...200), chunksize: 4)
        for (offset, result) in results.enumerated() {
            let x = Int64(90 + offset)
            if x % 97 == 0 {
                let error = Supervision.failure(result)
                #expect(error?.kind == .crashed, "x = \(x)")
                #expect(error?.signal == "SIGSEGV")
            } else {
                #expect(result == .success(.int64(x)), "x = \(x)")
            }
        }
        #expect(try pool.apply("square", [12]) == .int64(144))
    }
}
