import Foundation
import Testing
import TaskHost
import TestSupport

/// A sequence that counts how many items have been generated.
final class CountingSequence: Sequence, @unchecked Sendable {
    private let lock = NSLock()
    private var _generated = 0
    let limit: Int
    init(limit: Int) { self.limit = limit }
    var generated: Int { lock.lock(); defer { lock.unlock() }; return _generated }

    func makeIterator() -> AnyIterator<[Value]> {
        AnyIterator { [self] in
            lock.lock()
            defer { lock.unlock() }
            guard _generated < limit else { return nil }
            _generated += 1
            return [.int64(Int64(_generated))]
        }
    }
}

@Suite struct StreamingTests {
    static let host = TestHosts.withFaulty()

    @Test func unorderedYieldsAFastItemBeforeASlowOneSubmittedEarlier() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let stream = try pool.imapUnordered("faulty.sleepy", [[.int64(800)], [.int64(1)]], chunksize: 1)
        var order: [Int] = []
        for await item in stream { order.append(item.index) }
        #expect(order == [1, 0])
    }

    @Test func orderedStreamKeepsInputOrder() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let delays: [[Value]] = [[.int64(300)], [.int64(1)], [.int64(100)], [.int64(1)]]
        var seen: [IndexedResult] = []
        for await item in try pool.imap("faulty.sleepy", delays, chunksize: 1) { seen.append(item) }
        #expect(seen.map(\.index) == [0, 1, 2, 3])
        #expect(seen.map(\.result) == delays.map { .success($0[0]) })
    }

    @Test func lazyInputIsNeverMaterialisedAndBacklogIsBounded() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let input = CountingSequence(limit: 200_000)
        let stream = try pool.imap("square", input, backlog: 1000)
        var iterator = stream.makeIterator()
        // Take a few results, then stop consuming for a while.
        for expected in 1...10 { #expect(iterator.next()?.result == .success(.int64(Int64(expected * expected)))) }
        Thread.sleep(forTimeInterval: 0.3)
        // The pool stopped pulling: at most backlog + window + a chunk in flight.
        #expect(input.generated < 10_000)
        var count = 10
        var sum: Int64 = 0
        while let item = iterator.next() {
            count += 1
            if case .success(.int64(let v)) = item.result { sum &+= v }
        }
        #expect(count == 200_000)
        #expect(input.generated == 200_000)
        _ = sum
    }

    @Test func blockingIterationAndAdaptiveChunks() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let results = Array(try pool.imap("square", (1...50_000).lazy.map { [Value.int64(Int64($0))] }))
        #expect(results.count == 50_000)
        #expect(results.enumerated().allSatisfy { $0.offset == $0.element.index })
        #expect(results.last?.result == .success(.int64(2_500_000_000)))
    }

    @Test func asyncSequenceInput() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let input = AsyncStream<[Value]> { continuation in
            for i in 1...100 { continuation.yield([.int64(Int64(i))]) }
            continuation.finish()
        }
        var total: Int64 = 0
        for await item in try pool.imap("square", input) {
            if case .success(.int64(let v)) = item.result { total += v }
        }
        #expect(total == (1...100).reduce(0) { $0 + Int64($1 * $1) })
    }

    @Test func applyAsyncAndMapAsync() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let handle = try pool.applyAsync("square", [12])
        #expect(try await handle.value() == .int64(144))
        #expect(try handle.get() == .int64(144))
        let results = try await pool.mapAsync("square", [1, 2, 3])
        #expect(results == [.success(.int64(1)), .success(.int64(4)), .success(.int64(9))])
        let failing = try pool.applyAsync("faulty.segv", [3])
        await #expect(throws: TaskHostError.self) { try await failing.value() }
    }

    @Test(.timeLimit(.minutes(3)))
    func cancellingTheConsumingTaskLeavesNoWorkerBusy() async throws {
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let pool = try Pool(host: host, processes: 2)
        defer { pool.terminate() }
        // Item 0 is quick; the rest spin forever.
        let items: [[Value]] = [[.int64(1)]] + Array(repeating: [.int64(3)], count: 50)
        let stream = try pool.imap("faulty.hang", items, chunksize: 1)
        let consumer = Task {
            var seen: [IndexedResult] = []
            for await item in stream { seen.append(item) }
            return seen
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(busyWorkers(of: host.forkServerPID) == 2)
        consumer.cancel()
        let seen = await consumer.value
        #expect(seen.first?.result == .success(.int64(1)))
        #expect(seen.count == 51)
        #expect(seen.dropFirst().allSatisfy { if case .failure(let e) = $0.result { e.kind == .cancelled } else { false } })
        // The spinning workers were killed; replacements sit idle.
        var busy = -1
        for _ in 0..<50 {
            busy = busyWorkers(of: host.forkServerPID)
            if busy == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(busy == 0)
        #expect(try pool.map("square", [4]) == [.success(.int64(16))])
    }

    /// Children of the fork server that are running (state R) rather than waiting.
    func busyWorkers(of server: Int32) -> Int {
        TestSupport.children(of: server).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(close, offsetBy: 2)] == "R"
        }.count
    }
}
