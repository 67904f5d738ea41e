import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost
import TestSupport

/// `apply` on a warm pool talks to an idle worker from the calling thread.
/// Everything that goes wrong there ends exactly as on the supervisor's path.
@Suite(.timeLimit(.minutes(3)))
struct DirectApplyTests {
    static let host = TestHosts.withFaulty()

    /// Applies until a call has gone the direct way (workers are lent once idle).
    func warm(_ pool: Pool) throws {
        for _ in 0..<200 where pool.directCalls == 0 {
            #expect(try pool.apply("square.square", [4]) == 16)
            usleep(1000)
        }
        try #require(pool.directCalls > 0)
    }

    @Test func quickCallsGoStraightToAnIdleWorker() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        try warm(pool)
        let before = pool.directCalls
        for x in Int64(0)..<500 { #expect(try pool.apply("square.square", [.int64(x)]) == .int64(x * x)) }
        #expect(pool.directCalls - before > 400)
        let error = #expect(throws: TaskHostError.self) { try pool.apply("square.square", ["seven"]) }
        #expect(error?.message == "square.square: parameter 'x' expects int64, got string \"seven\"")
    }

    @Test func aTaskErrorIsTheItemsError() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        try warm(pool)
        let error = #expect(throws: TaskHostError.self) { try pool.apply("faulty.fail", [3]) }
        #expect(error?.kind == .taskError)
        #expect(error?.message == "faulty.fail(3): refusing 3")
        #expect(try pool.apply("faulty.fail", [4]) == 4)
    }

    @Test func aCrashIsReportedAndTheWorkerReplaced() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        try warm(pool)
        let before = pool.directCalls
        let crashed = #expect(throws: TaskHostError.self) { try pool.apply("faulty.segv", [3]) }
        #expect(pool.directCalls == before + 1)
        #expect(crashed?.kind == .crashed)
        #expect(crashed?.signal == "SIGSEGV")
        #expect(crashed.map { TestSupport.matches($0.message,
            "worker [0-9]+ was killed by SIGSEGV \\(segmentation fault\\) while running faulty\\.segv\\(3\\)") } == true,
            "\(crashed?.message ?? "")")
        let exited = #expect(throws: TaskHostError.self) { try pool.apply("faulty.exit", [3]) }
        #expect(exited?.kind == .exited)
        #expect(exited?.code == 7)
        // A child that keeps the pipes open: no end of file, the fork server still reports the exit.
        let lingered = #expect(throws: TaskHostError.self) { try pool.apply("faulty.linger", [3]) }
        #expect(lingered?.kind == .exited)
        #expect(lingered?.code == 3)
        #expect(try pool.apply("square.square", [5]) == 25)
        #expect(TestSupport.eventually { Supervision.liveWorkers(of: Self.host).count >= 1 })
    }

    @Test func aSlowCallIsHandedToTheSupervisorAndTimedOut() throws {
        let pool = try Pool(host: Self.host, processes: 1, taskTimeout: 0.3)
        defer { pool.terminate() }
        try warm(pool)
        #expect(try pool.apply("faulty.sleepy", [100]) == 100) // longer than the caller waits, shorter than the timeout
        let start = Date()
        let error = #expect(throws: TaskHostError.self) { try pool.apply("faulty.hang", [3]) }
        #expect(error?.kind == .timedOut)
        #expect(error.map { TestSupport.matches($0.message,
            "worker [0-9]+ was killed after 0\\.3 s \\(the task timeout\\) while running faulty\\.hang\\(3\\)") } == true,
            "\(error?.message ?? "")")
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(try pool.apply("square.square", [6]) == 36)
    }

    @Test func retriesAndMaxTasksPerChildHold() throws {
        let retrying = try Pool(host: Self.host, processes: 1, retries: 1)
        defer { retrying.terminate() }
        try warm(retrying)
        let error = #expect(throws: TaskHostError.self) { try retrying.apply("faulty.segv", [3]) }
        #expect(error?.attempts == 2)

        let recycling = try Pool(host: Self.host, processes: 1, maxTasksPerChild: 1)
        defer { recycling.terminate() }
        var pids = Set<Value>()
        for _ in 0..<5 { pids.insert(try recycling.apply("faulty.pid", [0])) }
        #expect(pids.count == 5)
    }

    @Test func bigAnswersComeBackWhole() throws {
        let types = try TestSupport.buildTestPlugin("types/types.c", name: "types")
        let host = try PluginHost(pluginFiles: [types])
        let pool = try Pool(host: host, processes: 1)
        defer { pool.terminate() }
        try warm(pool)
        let before = pool.directCalls
        let data = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try pool.apply("types.reverse_bytes", [.bytes(data)]) == .bytes(data.reversed()))
        let text = String(repeating: "taskhost ", count: 200_000)
        #expect(try pool.apply("types.shout", [.string(text)]) == .string(text.uppercased() + "!"))
        #expect(pool.directCalls == before + 2)
    }

    @Test func terminateCancelsACallInFlight() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        try warm(pool)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { pool.terminate() }
        let error = #expect(throws: TaskHostError.self) { try pool.apply("faulty.sleepy", [5000]) }
        #expect(error?.kind == .cancelled)
        #expect(error?.message == "faulty.sleepy(5000) was cancelled: the pool was terminated")
    }

    @Test func callsFromManyThreadsAndAMapShareThePool() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        try warm(pool)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for thread in Int64(0)..<4 {
                group.addTask {
                    for x in Int64(0)..<200 {
                        let n = thread * 1000 + x
                        let square = try pool.apply("square.square", [.int64(n)])
                        #expect(square == .int64(n * n))
                    }
                }
            }
            group.addTask {
                let results = try pool.map("faulty.segv97", (1...400).map { .int64($0) }, chunksize: 16)
                for (i, result) in results.enumerated() where (i + 1) % 97 != 0 {
                    #expect(result == .success(.int64(Int64(i + 1))))
                }
            }
            try await group.waitForAll()
        }
    }
}
