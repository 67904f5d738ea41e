import Foundation
import Testing
import TaskHost
import TestSupport

/// The Swift API as a user writes it (issue 12): streaming from the main
/// actor, an async context and an actor; values from Swift arrays; errors
/// caught by type; readable descriptions; structured error fields; exact int64 → double.
@Suite(.timeLimit(.minutes(3)))
struct SwiftAPIFitTests {
    static let host: PluginHost = {
        let types = try! TestSupport.buildPlugin(TestSupport.repositoryRoot + "/Tests/Plugins/types/types.c", name: "types")
        return try! PluginHost(pluginFiles: [types, TestSupport.faultyPlugin])
    }()

    /// The sum of the squares of 1...n.
    static func squareSum(_ n: Int64) -> Int64 { n * (n + 1) * (2 * n + 1) / 6 }

    // MARK: Streaming a lazy sequence, as the README does

    /// The README's `imap(values: (1...N).lazy.map { … })` on the main actor: the
    /// closure is read on the supervisor thread. Before `Sendable` inputs this
    /// was a SIGILL (`_dispatch_assert_queue_fail`) that took the test process down.
    @MainActor @Test func imapOfALazyMapOnTheMainActor() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        var sum: Int64 = 0
        for await item in try pool.imap("square", values: (1...2_000).lazy.map { Value.int64(Int64($0)) }) {
            if case .success(.int64(let v)) = item.result { sum += v }
        }
        #expect(sum == Self.squareSum(2_000))
    }

    @Test func imapOfALazyMapInAnAsyncFunction() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        var sum: Int64 = 0
        for await item in try pool.imap("square", values: (1...2_000).lazy.map { Value.int64(Int64($0)) }) {
            if case .success(.int64(let v)) = item.result { sum += v }
        }
        #expect(sum == Self.squareSum(2_000))
    }

    actor Summer {
        let pool: Pool
        var offset: Int64 = 0
        init(pool: Pool) { self.pool = pool }
        func sum(upTo n: Int) async throws -> Int64 {
            var sum = offset
            for await item in try pool.imap("square", values: (1...n).lazy.map { Value.int64(Int64($0)) }) {
                if case .success(.int64(let v)) = item.result { sum += v }
            }
            return sum
        }
    }

    @Test func imapOfALazyMapInsideAnActor() async throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        #expect(try await Summer(pool: pool).sum(upTo: 2_000) == Self.squareSum(2_000))
    }

    @Test func imapTakesARangeOfSwiftValues() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let items = Array(try pool.imap("square", values: 1...100))
        #expect(items.map(\.index) == Array(0..<100))
        #expect(items.map(\.result) == (1...100).map { .success(.int64(Int64($0 * $0))) })
    }

    // MARK: Values from Swift

    @Test func mapTakesSwiftArrays() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map("square", Array(1...10)) == (1...10).map { .success(.int64(Int64($0 * $0))) })
        #expect(try pool.map("types.half", [3.0, 5.0]) == [.success(.double(1.5)), .success(.double(2.5))])
        #expect(try pool.map("types.shout", ["a", "b"]) == [.success("A!"), .success("B!")])
        let n = 12
        #expect(try pool.apply("square", [n]) == .int64(144))
        #expect(Value(7) == .int64(7))
        #expect(Value(Int32(7)) == .int32(7))
        #expect(Value([0xAB] as [UInt8]) == .bytes([0xAB]))
        #expect(Value("x") == .string("x"))
    }

    @Test func aTaskInfoIsResolvedOnceAndTakenEverywhere() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let square = try Self.host.task(named: "square")
        #expect(try pool.apply(square, [5]) == .int64(25))
        #expect(try pool.map(square, [2, 3]) == [.success(.int64(4)), .success(.int64(9))])
        #expect(try pool.map(square, [Int64(4)], as: Int64.self).get() == [16])
    }

    // MARK: int64 → double only when exact

    @Test func anInt64BecomesADoubleOnlyWhenExact() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let exact: Int64 = 1 << 53
        #expect(try pool.apply("types.half", [.int64(exact)]) == .double(Double(exact) / 2))
        #expect(throws: TaskHostError(.invalidArgument,
                                      "types.half: parameter 'x' expects double, got int64 9007199254740993")) {
            try pool.apply("types.half", [.int64(exact + 1)])
        }
        #expect(Value.int64(exact + 1).converted(to: .double) == nil)
        #expect(Value.int64(-exact).converted(to: .double) == .double(-Double(exact)))
        #expect(Value.uint64(UInt64.max).converted(to: .double) == nil)
        #expect(Value.parse("9007199254740993", as: .double) == nil)
        #expect(Value.parse("9007199254740992", as: .double) == .double(9007199254740992))
        #expect(Value.parse("2.5", as: .double) == .double(2.5))
    }

    @Test func aHexStringBecomesItsBytes() throws {
        #expect(Value.string("hex:00ff").converted(to: .bytes) == .bytes([0x00, 0xFF]))
        #expect(Value.string("plain").converted(to: .bytes) == .bytes(Array("plain".utf8)))
        #expect(Value.string("hex:0").converted(to: .bytes) == nil)
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        #expect(try pool.apply("types.byte_sum", ["hex:0102ff"]) == .int64(0x01 + 0x02 + 0xFF))
    }

    // MARK: Errors: typed, structured, readable

    @Test func errorsAreTypedAndCarryTheirItem() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        do {
            _ = try pool.apply("faulty.segv", [3])
            Issue.record("no error")
        } catch let error as TaskHostError {
            #expect(error.kind == .crashed)
            #expect(error.signal == "SIGSEGV")
            #expect(error.task == "faulty.segv")
            #expect(error.item == 0)
            #expect(error.detail == "was killed by SIGSEGV (segmentation fault)")
            #expect(error.message.hasSuffix("was killed by SIGSEGV (segmentation fault) while running faulty.segv(3)"))
        }
        let results = try pool.map("faulty.fail", [1, 2, 3, 4])
        guard case .failure(let failure) = results[2] else {
            Issue.record("item 2 did not fail: \(results)")
            return
        }
        #expect(failure.kind == .taskError)
        #expect(failure.task == "faulty.fail")
        #expect(failure.item == 2)
        #expect(failure.detail == "refusing 3")
        #expect(failure.message == "faulty.fail(3): refusing 3")
    }

    @Test func aBadArgumentOfAStreamIsItsOwnItemWithoutAPrefix() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let items = Array(try pool.imap("square", [[1], ["x"], [3]]))
        guard case .failure(let error) = items[1].result else {
            Issue.record("item 1 did not fail")
            return
        }
        #expect(error.kind == .invalidArgument)
        #expect(error.item == 1)
        #expect(error.task == "square.square")
        #expect(error.message == "square.square: parameter 'x' expects int64, got string \"x\"")
    }

    @Test func descriptionsAreReadable() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let results = try pool.map("square", [1, 2, 3])
        #expect("\(results)" == "[1, 4, 9]")
        #expect("\(results[0])" == "1")
        let strings: [TaskResult] = [.success("a"), .success(.bytes([0, 255]))]
        #expect("\(strings)" == "[\"a\", hex:00ff]")
        let error = TaskHostError(.taskError, "square.square(1): boom", detail: "boom")
        let failed: TaskResult = .failure(error)
        #expect("\(failed)" == "taskError: square.square(1): boom")
        #expect(error.localizedDescription == "taskError: square.square(1): boom")
        #expect("\([failed])" == "[<taskError: square.square(1): boom>]")
    }

    @Test func anInfiniteOrHugeDeadlineIsNoDeadlineNotATrap() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        for deadline in [Double.infinity, 1e300, Double.nan] {
            #expect(try pool.map("square", [2, 3], deadline: deadline) == [.success(.int64(4)), .success(.int64(9))])
        }
    }
}
