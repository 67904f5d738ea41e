import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// When a rank's taskhost itself dies (kill -9), as Open MPI 4.1 allows:
/// by default mpirun aborts the job naming the rank and host; with
/// --enable-recovery the items that rank held fail, naming it, and the rest
/// of the job finishes on the other ranks.
@Suite(.enabled(if: MPIRun.available, MPIRun.unavailableReason), .serialized)
struct MPILostRankTests {
    /// 90 items of 200 ms, one at a time per rank: rank 2 is killed while it holds one.
    static let arguments = ["map", "faulty.sleepy"] + Array(repeating: "200", count: 90)
        + ["-p", "1", "--chunksize", "1", "--plugin", TestSupport.faultyPlugin, "--mpi"]

    @Test func byDefaultTheJobAbortsNamingTheRankAndHost() throws {
        let run = try MPIRun.killingRank(2, mpirunOptions: [], Self.arguments)
        #expect(run.status == 137)
        #expect(run.stderr.contains("process rank 2 with PID"))
        #expect(run.stderr.contains("on node \(MPIRun.hostName) exited on signal 9 (Killed)"))
    }

    @Test func withEnableRecoveryOnlyTheLostRanksItemsFail() throws {
        let run = try MPIRun.killingRank(2, mpirunOptions: ["--enable-recovery"], Self.arguments)
        let items = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [Any], "\(run.stderr)")
        #expect(items.count == 90)
        var lost = 0
        for item in items {
            if item as? Int == 200 { continue }
            let error = (item as? [String: Any])?["error"] as? [String: Any]
            #expect(error?["kind"] as? String == "systemError")
            #expect(error?["message"] as? String
                    == "MPI rank 2 on host \(MPIRun.hostName) was lost: it sent nothing for 10 s (its process died or hangs)")
            lost += 1
        }
        // Rank 2 held at most its two chunks of one item when it died.
        #expect((1...2).contains(lost))
        #expect(run.stderr.contains("taskhost: \(lost) of 90 items failed"))
    }
}

extension MPIRun {
    static let hostName: String = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        return name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }()

    /// Runs taskhost on 3 ranks and kills rank `rank`'s taskhost with SIGKILL
    /// half a second after its workers are up (so it holds chunks by then).
    static func killingRank(_ rank: Int, mpirunOptions: [String],
                            _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun!)
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "3"] + mpirunOptions
            + [TestSupport.taskhost] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var stdout = Data(), stderr = Data()
        DispatchQueue.global().async(group: group) { stdout = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { stderr = err.fileHandleForReading.readDataToEndOfFile() }
        var victim: pid_t?
        for _ in 0..<600 where victim == nil {
            Thread.sleep(forTimeInterval: 0.05)
            if let candidate = childRank(rank, of: process.processIdentifier),
               let server = children(of: candidate).first, !children(of: server).isEmpty {
                victim = candidate
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(victim != nil, "no taskhost of rank \(rank) under mpirun")
        if let victim { kill(victim, SIGKILL) }
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// The child of `parent` whose environment says it is MPI rank `rank`.
    static func childRank(_ rank: Int, of parent: pid_t) -> pid_t? {
        children(of: parent).first { pid in
            guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
        }
    }

    /// The processes whose parent is `parent`.
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[1]) == parent ? pid : nil
        }
    }
}
