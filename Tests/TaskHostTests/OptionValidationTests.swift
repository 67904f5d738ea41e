import Foundation
import Testing
import TaskHost
import TestSupport

/// Every numeric option of `Pool` and `WorkerProcess`: NaN, infinities,
/// negatives and huge values are `invalidArgument` with one clear line (or,
/// for timeouts and deadlines, infinity is "none"), never a trap.
@Suite(.timeLimit(.minutes(2)))
struct OptionValidationTests {
    static let host = TestHosts.withFaulty()

    static func invalid(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as TaskHostError {
            return error.kind == .invalidArgument ? error.message : "\(error.kind): \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    @Test func badTaskTimeoutsAreRefused() {
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 1, taskTimeout: .nan) }
                == "the task timeout must be a number of seconds, got nan")
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 1, taskTimeout: -1) }
                == "the task timeout must be positive, got -1")
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 1, taskTimeout: -.infinity) }
                == "the task timeout must be positive, got -inf")
        #expect(Self.invalid { _ = try WorkerProcess(host: Self.host, task: "square", arguments: [2], timeout: .nan) }
                == "the timeout must be a number of seconds, got nan")
    }

    @Test func anInfiniteOrHugeTimeoutIsNoLimit() throws {
        for timeout in [Double.infinity, 1e300] {
            let pool = try Pool(host: Self.host, processes: 1, taskTimeout: timeout)
            defer { pool.terminate() }
            #expect(try pool.map("square", [2, 3]).map { try $0.get() } == [4, 9])
        }
    }

    @Test func anInfiniteOrHugeDeadlineIsNone() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        for deadline in [Double.infinity, 1e300] {
            #expect(try pool.map("square", [2, 3], deadline: deadline).map { try $0.get() } == [4, 9])
            #expect(try pool.starmap("square", [[.int64(5)]], deadline: deadline).map { try $0.get() } == [25])
        }
    }

    @Test func badCountsAreRefused() {
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 0) } == "a pool needs at least 1 process, got 0")
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 1, retries: -1) } == "retries must be 0 or more, got -1")
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 1, retries: .max) }
                == "retries must be at most 1000000, got \(Int.max)")
        #expect(Self.invalid { _ = try Pool(host: Self.host, processes: 1, maxTasksPerChild: 0) }
                == "maxTasksPerChild must be at least 1, got 0")
        let pool = try? Pool(host: Self.host, processes: 1)
        defer { pool?.terminate() }
        #expect(Self.invalid { _ = try pool?.imap("faulty.sleepy", [[.int64(1)]], backlog: 0) } == "backlog must be at least 1, got 0")
    }

    /// An impossible number of processes is one clear error before any worker starts.
    @Test func anImpossibleProcessCountFailsBeforeAnyWorkerStarts() throws {
        for count in [100_000_000, Int.max] {
            let message = try #require(Self.invalid { _ = try Pool(host: Self.host, processes: count) })
            #expect(message.hasPrefix("\(count) processes"), "\(message)")
            #expect(message.contains("threads-max") || message.contains("RLIMIT") || message.contains("more than this system"),
                    "\(message)")
        }
    }

    @Test func joinWithStrangeTimeoutsNeverTraps() throws {
        let process = try WorkerProcess(host: Self.host, task: "faulty.sleepy", arguments: [200], taskOutput: .stderr)
        try process.start()
        #expect(process.join(timeout: .nan) == false)
        #expect(process.join(timeout: -1) == false)
        #expect(process.join(timeout: 1e300) == true)
        #expect(process.join(timeout: .infinity) == true)
    }
}
