import Foundation
import Testing
import TaskHost
import TestSupport

@Suite struct PoolTests {
    static let host = TestHosts.withFaulty()

    @Test func mapKeepsInputOrderAcrossWorkers() throws {
        let pool = try Pool(host: Self.host, processes: 3)
        defer { pool.terminate() }
        // Later items finish first: results must still come back in input order.
        let delays: [Value] = (0..<12).map { .int64(Int64((12 - $0) * 5)) }
        let results = try pool.map("faulty.sleepy", delays, chunksize: 1)
        #expect(results.map { try? $0.get() } == delays)
    }

    @Test func mapSquaresTheSeedNumbers() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        #expect(try pool.map("square", [1, 2, 3, 4, 5]).map { try $0.get() } == [1, 4, 9, 16, 25])
    }

    @Test func largeMapWithEveryChunkSize() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let numbers = (1...20_000).map { Value.int64(Int64($0)) }
        for chunksize in [nil, 1, 7, 1000, 50_000] as [Int?] {
            let results = try pool.map("square", numbers, chunksize: chunksize)
            #expect(results.count == numbers.count)
            let expected: [TaskResult] = (1...20_000).map { .success(.int64(Int64($0 * $0))) }
            #expect(results == expected)
        }
    }

    @Test func defaultChunksizeIsPythons() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        #expect(pool.defaultChunksize(for: 5) == 1)
        #expect(pool.defaultChunksize(for: 100) == 13)
        #expect(pool.defaultChunksize(for: 80) == 10)
        #expect(pool.defaultChunksize(for: 0) == 1)
    }

    @Test func starmapAndApply() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        #expect(try pool.starmap("text.repeat", [["ab", 2], ["c", 3]]).map { try $0.get() } == ["abab", "ccc"])
        #expect(try pool.apply("text.upper", ["seed"]) == "SEED")
        #expect(try pool.apply("text.word_count", ["a b  c"]) == .int64(3))
    }

    @Test func emptyMap() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        #expect(try pool.map("square", []).isEmpty)
    }

    @Test func closeThenJoinEndsEveryWorker() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        _ = try pool.map("square", [1, 2, 3])
        pool.close()
        pool.join()
    }

    @Test func poolOptionsAreValidated() throws {
        #expect(throws: TaskHostError.self) { _ = try Pool(host: Self.host, processes: 0) }
        #expect(throws: TaskHostError.self) { _ = try Pool(host: Self.host, taskTimeout: 0) }
        #expect(throws: TaskHostError.self) { _ = try Pool(host: Self.host, maxTasksPerChild: 0) }
    }
}
