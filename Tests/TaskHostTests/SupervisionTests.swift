import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TaskHost
import TestSupport

// Crash-safe supervision (issue 3), through the Swift API: every row of the
// matrix — a crash, an exit, a hang, a memory blow-up or a hostile worker
// fails exactly its own item, never the pool.

/// Shared helpers of the supervision tests.
enum Supervision {
    static func values(_ range: ClosedRange<Int>) -> [Value] { range.map { .int64(Int64($0)) } }

    static func failure(_ result: TaskResult) -> TaskHostError? {
        if case .failure(let error) = result { return error }
        return nil
    }


    static func escaped(_ text: String) -> String { NSRegularExpression.escapedPattern(for: text) }

    /// How often each x was logged in DIR/runs by the faulty *_logged and crash_once tasks.
    static func runs(in folder: String) -> [Int64: Int] {
        let text = (try? String(contentsOfFile: folder + "/runs", encoding: .utf8)) ?? ""
        var counts: [Int64: Int] = [:]
        for line in text.split(separator: "\n") { counts[Int64(line)!, default: 0] += 1 }
        return counts
    }


    /// The worker processes of a host: its fork server's children that are not zombies.
    static func liveWorkers(of host: PluginHost) -> [pid_t] {
        TestSupport.children(of: host.forkServerPID).filter(TestSupport.isRunning)
    }

    static func pid(inFile path: String) -> pid_t? {
        guard TestSupport.eventually(within: 5, { FileManager.default.fileExists(atPath: path) }) else { return nil }
        var text = ""
        _ = TestSupport.eventually(within: 5) {
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return text.hasSuffix("\n")
        }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

@Suite(.timeLimit(.minutes(3)))
struct SupervisionTests {
    static let host = TestHosts.withFaulty()

    // MARK: Crash attribution

    static let signals: [(task: String, signal: String, description: String)] = [
        ("faulty.segv", "SIGSEGV", "segmentation fault"),
        ("faulty.abort", "SIGABRT", "aborted"),
        ("faulty.bus", "SIGBUS", "bus error"),
        ("faulty.fpe", "SIGFPE", "floating point exception"),
        ("faulty.ill", "SIGILL", "illegal instruction"),
    ]

    @Test(arguments: signals)
    func aSignalFailsExactlyTheItemItHit(task: String, signal: String, description: String) throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let results = try pool.map(task, Supervision.values(1...5))
        for (i, result) in results.enumerated() where i != 2 {
            #expect(result == .success(.int64(Int64(i + 1))))
        }
        let error = try #require(Supervision.failure(results[2]))
        #expect(error.kind == .crashed)
        #expect(error.signal == signal)
        #expect(error.code == nil)
        #expect(error.attempts == nil)
        #expect(TestSupport.matches(error.message,
            "worker [0-9]+ " + Supervision.escaped("was killed by \(signal) (\(description)) while running \(task)(3)")),
            "\(error.message)")
        // The pool keeps its size and goes on.
        #expect(try pool.map("square", [6, 7]).map { try $0.get() } == [36, 49])
    }

    @Test func aWorkerKilledFromOutsideIsCrashedBySIGKILL() throws {
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let pool = try Pool(host: host, processes: 1)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("sigkill")
        // linger_pid(…, 4) writes its child's pid and hangs: then we know the worker is inside the item.
        DispatchQueue.global().async {
            guard let child = Supervision.pid(inFile: folder + "/child"),
                  let worker = Supervision.liveWorkers(of: host).first(where: { $0 != child }) else { return }
            kill(worker, SIGKILL)
        }
        let results = try pool.starmap("faulty.linger_pid", [[.string(folder + "/child"), 4], [.string(folder + "/x"), 5]])
        let error = try #require(Supervision.failure(results[0]))
        #expect(error.kind == .crashed)
        #expect(error.signal == "SIGKILL")
        #expect(TestSupport.matches(error.message,
            "worker [0-9]+ was killed by SIGKILL \\(killed\\) while running " + Supervision.escaped("faulty.linger_pid(\"\(folder)/child\", 4)")),
            "\(error.message)")
        #expect(results[1] == .success(5))
    }

    @Test func exitingWorkersAreExitedWithTheirCode() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let results = try pool.map("faulty.exit", Supervision.values(1...5))
        #expect(results[0] == .success(1))
        #expect(results[1] == .success(2))
        #expect(results[4] == .success(5))
        let seven = try #require(Supervision.failure(results[2]))
        #expect(seven.kind == .exited)
        #expect(seven.code == 7)
        #expect(seven.signal == nil)
        #expect(TestSupport.matches(seven.message, "worker [0-9]+ exited with code 7 while running faulty\\.exit\\(3\\)"), "\(seven.message)")
        // exit(0) from a plugin is a death too, not a success.
        let zero = try #require(Supervision.failure(results[3]))
        #expect(zero.kind == .exited)
        #expect(zero.code == 0)
        #expect(TestSupport.matches(zero.message, "worker [0-9]+ exited with code 0 while running faulty\\.exit\\(4\\)"), "\(zero.message)")
    }

    @Test func aCrashInTheMiddleOfAChunkFailsOnlyThatItem() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let results = try pool.map("faulty.segv97", Supervision.values(1...1000), chunksize: 100)
        #expect(results.count == 1000)
        var failed: [Int] = []
        for (i, result) in results.enumerated() {
            let x = i + 1
            switch result {
            case .success(let value): #expect(value == .int64(Int64(x)))
            case .failure(let error):
                failed.append(x)
                #expect(error.kind == .crashed && error.signal == "SIGSEGV")
                #expect(error.message.hasSuffix("while running faulty.segv97(\(x))"))
            }
        }
        #expect(failed == Array(stride(from: 97, through: 1000, by: 97)))
        #expect(failed.count == 10)
    }

    /// Which items can run twice: only those that finished in the same chunk
    /// before a crash (their results were still in the dying worker's buffer).
    /// The crashing item runs once; items after it run once, elsewhere.
    @Test func onlyFinishedItemsOfACrashedChunkRunAgain() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("rerun")
        let results = try pool.starmap("faulty.segv_logged", (1...6).map { [.string(folder), .int64(Int64($0))] }, chunksize: 6)
        #expect(Supervision.failure(results[2])?.signal == "SIGSEGV")
        #expect(results.enumerated().filter { $0.offset != 2 }.allSatisfy { (try? $0.element.get()) == .int64(Int64($0.offset + 1)) })
        #expect(Supervision.runs(in: folder) == [1: 2, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1])
    }

    /// …and with chunksize 1 nothing ever runs twice.
    @Test func withChunksizeOneNoItemRunsTwice() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("once")
        let results = try pool.starmap("faulty.segv_logged", (1...10).map { [.string(folder), .int64(Int64($0))] }, chunksize: 1)
        #expect(results.compactMap(Supervision.failure).count == 1)
        #expect(Supervision.runs(in: folder) == Dictionary(uniqueKeysWithValues: (1...10).map { (Int64($0), 1) }))
    }

    // MARK: Timeouts and deadlines

    @Test func aHangingItemTimesOutAndTheRestSucceed() throws {
        let pool = try Pool(host: Self.host, processes: 2, taskTimeout: 1)
        defer { pool.terminate() }
        let start = Date()
        let results = try pool.map("faulty.hang", Supervision.values(1...5))
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 4, "took \(elapsed) s")
        #expect(elapsed >= 1)
        for (i, result) in results.enumerated() where i != 2 { #expect(result == .success(.int64(Int64(i + 1)))) }
        let error = try #require(Supervision.failure(results[2]))
        #expect(error.kind == .timedOut)
        #expect(error.signal == nil)
        #expect(TestSupport.matches(error.message,
            "worker [0-9]+ was killed after 1 s \\(the task timeout\\) while running faulty\\.hang\\(3\\)"), "\(error.message)")
    }

    @Test func theTimeoutCountsFromEachItemsStartNotTheChunks() throws {
        // Five items of 0.3 s in one chunk: 1.5 s in all, but none past 1 s.
        let pool = try Pool(host: Self.host, processes: 1, taskTimeout: 1)
        defer { pool.terminate() }
        let results = try pool.map("faulty.sleepy", Array(repeating: .int64(300), count: 5), chunksize: 5)
        #expect(results == Array(repeating: .success(.int64(300)), count: 5))
    }

    @Test func aDeadlineCancelsWhatIsNotFinished() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let start = Date()
        let results = try pool.map("faulty.hang", Supervision.values(1...5), chunksize: 1, deadline: 1)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 4, "took \(elapsed) s")
        #expect(results[0] == .success(1))
        #expect(results[1] == .success(2))
        for i in 2..<5 {
            let error = try #require(Supervision.failure(results[i]))
            #expect(error.kind == .cancelled, "\(error)")
            #expect(error.message.contains("faulty.hang(\(i + 1))"), "\(error.message)")
            #expect(error.message.contains("deadline"), "\(error.message)")
        }
        // The pool survives its deadline.
        #expect(try pool.map("square", [3]).map { try $0.get() } == [9])
    }

    // MARK: Memory

    @Test func goingPastTheMemoryLimitFailsThatItemWithMemoryLimit() throws {
        let pool = try Pool(host: Self.host, processes: 2, memoryLimit: 256 << 20)
        defer { pool.terminate() }
        let start = Date()
        let results = try pool.map("faulty.eat", Supervision.values(1...5))
        #expect(Date().timeIntervalSince(start) < 20)
        for (i, result) in results.enumerated() where i != 2 { #expect(result == .success(.int64(Int64(i + 1)))) }
        let error = try #require(Supervision.failure(results[2]))
        #expect(error.kind == .memoryLimit, "\(error)")
        #expect(TestSupport.matches(error.message,
            "worker [0-9]+ went past its memory limit of 256 MiB while running faulty\\.eat\\(3\\)"), "\(error.message)")
    }

    // MARK: maxTasksPerChild and initializer

    @Test(arguments: [1, 4])
    func maxTasksPerChildReplacesWorkers(chunksize: Int) throws {
        let pool = try Pool(host: Self.host, processes: 1, maxTasksPerChild: 2)
        defer { pool.terminate() }
        let pids = try pool.map("faulty.pid", Supervision.values(1...6), chunksize: chunksize).map { try $0.get() }
        // One worker at a time, two items each: three workers, in order.
        #expect(Set(pids).count == 3, "\(pids)")
        #expect(pids[0] == pids[1] && pids[2] == pids[3] && pids[4] == pids[5], "\(pids)")
    }

    @Test func theInitializerRunsInEveryNewWorker() throws {
        let plain = try Pool(host: Self.host, processes: 2)
        defer { plain.terminate() }
        #expect(try plain.map("faulty.get_global", Supervision.values(1...4)).map { try $0.get() } == [0, 0, 0, 0])

        let pool = try Pool(host: Self.host, processes: 2, maxTasksPerChild: 1, initializer: ("faulty.set_global", [42]))
        defer { pool.terminate() }
        // maxTasksPerChild 1: each item has a fresh worker, each initialised.
        #expect(try pool.map("faulty.get_global", Supervision.values(1...6), chunksize: 1).map { try $0.get() }
                == Array(repeating: 42, count: 6))
    }

    @Test func theInitializerDoesNotCountAsATaskOfTheChild() throws {
        let pool = try Pool(host: Self.host, processes: 1, maxTasksPerChild: 2, initializer: ("faulty.set_global", [7]))
        defer { pool.terminate() }
        let pids = try pool.map("faulty.pid", Supervision.values(1...6), chunksize: 1).map { try $0.get() }
        #expect(Set(pids).count == 3, "\(pids)")
        #expect(try pool.map("faulty.get_global", [1, 2]).map { try $0.get() } == [7, 7])
    }

    @Test func aFailingInitializerFailsTheItemsWithTaskError() throws {
        let pool = try Pool(host: Self.host, processes: 1, initializer: ("faulty.fail", [3]))
        defer { pool.terminate() }
        let results = try pool.map("square", [1, 2])
        for result in results {
            let error = try #require(Supervision.failure(result))
            #expect(error.kind == .taskError)
            #expect(error.message.contains("faulty.fail"), "\(error.message)")
            #expect(error.message.contains("refusing 3"), "\(error.message)")
        }
    }

    // MARK: Retries

    @Test func retriesAreReportedInTheError() throws {
        let pool = try Pool(host: Self.host, processes: 2, retries: 2)
        defer { pool.terminate() }
        let results = try pool.map("faulty.segv", Supervision.values(1...5))
        let error = try #require(Supervision.failure(results[2]))
        #expect(error.kind == .crashed)
        #expect(error.signal == "SIGSEGV")
        #expect(error.attempts == 3)
        #expect(error.message.hasSuffix("while running faulty.segv(3) (attempt 3 of 3)"), "\(error.message)")
        #expect(results.enumerated().filter { $0.offset != 2 }.allSatisfy { (try? $0.element.get()) == .int64(Int64($0.offset + 1)) })
    }

    @Test func anItemThatCrashesOnlyOnceSucceedsOnRetry() throws {
        let pool = try Pool(host: Self.host, processes: 2, retries: 1)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("retry")
        let results = try pool.starmap("faulty.crash_once", (1...5).map { [.string(folder), .int64(Int64($0))] }, chunksize: 1)
        #expect(results == (1...5).map { .success(.int64(Int64($0))) })
        #expect(Supervision.runs(in: folder) == [1: 1, 2: 1, 3: 2, 4: 1, 5: 1])
    }

    @Test func withoutRetriesTheCrashingItemRunsOnce() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("noretry")
        let results = try pool.starmap("faulty.crash_once", (1...5).map { [.string(folder), .int64(Int64($0))] }, chunksize: 1)
        let error = try #require(Supervision.failure(results[2]))
        #expect(error.kind == .crashed)
        #expect(error.attempts == nil)
        #expect(Supervision.runs(in: folder)[3] == 1)
    }

    /// Items that were sent in a chunk but never started before another item
    /// crashed have not used an attempt: they still get all their retries.
    @Test func itemsThatNeverStartedKeepTheirRetries() throws {
        let pool = try Pool(host: Self.host, processes: 1, retries: 1)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("attempts")
        // 3 and 97 crash, in the same chunk of 100: 97 had not started when 3 crashed.
        let results = try pool.starmap("faulty.segv_logged", (1...100).map { [.string(folder), .int64(Int64($0))] }, chunksize: 100)
        let runs = Supervision.runs(in: folder)
        for x in [3, 97] {
            let error = try #require(Supervision.failure(results[x - 1]))
            #expect(error.attempts == 2, "\(error)")
            #expect(runs[Int64(x)] == 2, "item \(x) ran \(runs[Int64(x)] ?? 0) times")
        }
        #expect(results.compactMap(Supervision.failure).count == 2)
    }

    @Test func timedOutItemsAreRetriedToo() throws {
        let pool = try Pool(host: Self.host, processes: 1, taskTimeout: 0.5, retries: 1)
        defer { pool.terminate() }
        let results = try pool.map("faulty.hang", [3, 4])
        let error = try #require(Supervision.failure(results[0]))
        #expect(error.kind == .timedOut)
        #expect(error.attempts == 2)
        #expect(results[1] == .success(4))
    }

    // MARK: Untrusted workers

    static let hostile: [(task: String, failing: Set<Int>)] = [
        ("faulty.garbage", [3]),
        ("faulty.close_all", [3]),
        ("faulty.linger", [3]),
        ("faulty.huge_prefix", [3, 4]),
    ]

    @Test(arguments: hostile)
    func aHostileWorkerFailsOnlyItsItem(task: String, failing: Set<Int>) throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let start = Date()
        let results = try pool.map(task, Supervision.values(1...6), chunksize: 1)
        #expect(Date().timeIntervalSince(start) < 10)
        for (i, result) in results.enumerated() {
            if failing.contains(i + 1) {
                let error = try #require(Supervision.failure(result))
                #expect(error.kind == .crashed || error.kind == .exited, "\(error)")
                #expect(error.message.contains("while running \(task)(\(i + 1))"), "\(error.message)")
            } else {
                #expect(result == .success(.int64(Int64(i + 1))))
            }
        }
        // The host is alive and the same pool still serves.
        #expect(try pool.map("square", Supervision.values(1...4)).map { try $0.get() } == [1, 4, 9, 16])
    }

    /// An item that finished but whose result died with its worker runs again
    /// once — not more, even while other items keep succeeding around it.
    @Test func anItemWhoseResultKeepsDyingRunsAtMostTwice() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let folder = TestSupport.temporaryFolder("lost")
        let results = try pool.starmap("faulty.close_all_logged", (1...40).map { [.string(folder), .int64(Int64($0))] }, chunksize: 1)
        #expect(Supervision.failure(results[2]) != nil)
        #expect(results.compactMap(Supervision.failure).count == 1)
        let runs = Supervision.runs(in: folder)[3] ?? 0
        #expect(runs >= 1 && runs <= 2, "close_all(3) ran \(runs) times")
    }

    // MARK: The worker's environment

    /// A worker holds exactly five descriptors: 0 (/dev/null), 1 and 2
    /// (stdout is a copy of stderr for pools), the read end of its request
    /// pipe and the write end of its result pipe. The shared progress page is
    /// a MAP_SHARED mapping whose memfd was closed after the fork, so it takes
    /// no descriptor; the fork server's socket and signalfd are closed too.
    @Test func aWorkerHoldsOnlyStdioAndItsTwoPipes() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map("faulty.fds", [1, 2, 3, 4], chunksize: 1).map { try $0.get() } == [5, 5, 5, 5])
        let process = try WorkerProcess(host: Self.host, task: "faulty.fds", arguments: [1], taskOutput: .stdout)
        try process.start()
        #expect(process.join(timeout: 10))
        #expect(process.result == .success(5))
    }

    @Test func aWorkerReadsStdinFromDevNull() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        #expect(try pool.apply("faulty.stdin_null", [1]) == 1)
    }

    @Test func workersWriteNoCoreFiles() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        #expect(try pool.apply("faulty.core_limit", [1]) == 0)
    }

    @Test func theChildOfAWorkerThatExitedIsKilled() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let path = TestSupport.temporaryFolder("linger") + "/child"
        let results = try pool.starmap("faulty.linger_pid", [[.string(path), 3], [.string(path + "-unused"), 5]])
        #expect(Supervision.failure(results[0])?.code == 3)
        #expect(results[1] == .success(5))
        let child = try #require(Supervision.pid(inFile: path))
        #expect(TestSupport.eventually { !TestSupport.isRunning(child) }, "the worker's child \(child) still runs")
    }

    @Test func theChildOfAWorkerKilledForItsTimeoutIsKilled() throws {
        let pool = try Pool(host: Self.host, processes: 1, taskTimeout: 0.5)
        defer { pool.terminate() }
        let path = TestSupport.temporaryFolder("linger") + "/child"
        let results = try pool.starmap("faulty.linger_pid", [[.string(path), 4]])
        #expect(Supervision.failure(results[0])?.kind == .timedOut)
        let child = try #require(Supervision.pid(inFile: path))
        #expect(TestSupport.eventually { !TestSupport.isRunning(child) }, "the worker's child \(child) still runs")
    }

    // MARK: Endings

    @Test func terminateMidMapCancelsTheRestAndEndsEveryWorker() throws {
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let pool = try Pool(host: host, processes: 2)
        #expect(TestSupport.eventually { Supervision.liveWorkers(of: host).count == 2 })
        let workers = Supervision.liveWorkers(of: host)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.7) { pool.terminate() }
        let start = Date()
        let results = try pool.map("faulty.sleepy", [10, 10, 20_000, 20_000, 20_000, 20_000], chunksize: 1)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(results[0] == .success(10))
        #expect(results[1] == .success(10))
        for result in results[2...] {
            #expect(Supervision.failure(result)?.kind == .cancelled, "\(result)")
        }
        #expect(TestSupport.eventually { Supervision.liveWorkers(of: host).isEmpty },
                "workers left: \(Supervision.liveWorkers(of: host))")
        for pid in workers { #expect(!TestSupport.isRunning(pid)) }
        // A terminated pool refuses new work with cancelled, without hanging.
        #expect(Supervision.failure(try pool.map("square", [1])[0])?.kind == .cancelled)
    }
}
