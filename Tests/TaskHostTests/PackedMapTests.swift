import Foundation
import Testing
import TaskHost
import TestSupport

/// Typed arrays travel packed (raw bytes per chunk) and keep every guarantee
/// of the Value path: exact results, per-item failures, retries, cancellation.
@Suite(.timeLimit(.minutes(3)))
struct PackedMapTests {
    static let host: PluginHost = {
        let root = TestSupport.repositoryRoot + "/Tests/Plugins/"
        return try! PluginHost(pluginFiles: [
            TestSupport.faultyPlugin,
            try! TestSupport.buildPlugin(root + "types/types.c", name: "types"),
            try! TestSupport.buildPlugin(root + "mathx/mathx.c", name: "mathx"),
        ])
    }()

    @Test func squaresComeBackInOrderAcrossManyChunks() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let input = Array(Int64(-50_000)...50_000)
        let results = try pool.map("square.square", input, as: Int64.self, chunksize: 3_001)
        #expect(results.failures.isEmpty)
        #expect(try results.get() == input.map { $0 * $0 })
        // Any chunk size is fine: a request never outgrows the frame limit.
        #expect(try pool.map("square.square", input, as: Int64.self, chunksize: .max).get() == input.map { $0 * $0 })
        // Int stands for int64, and the default chunk size works too.
        #expect(try pool.map("square.square", [1, 2, 3], as: Int.self).get() == [1, 4, 9])
        #expect(try pool.map("square.square", [Int64](), as: Int64.self).isEmpty)
    }

    @Test func everyFixedSizeTypeCrossesIntact() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        #expect(try pool.map("types.not_bool", [true, false, true], as: Bool.self).get() == [false, true, false])
        #expect(try pool.map("types.negate32", [Int32.max, -5, 0], as: Int32.self).get() == [-Int32.max, 5, 0])
        #expect(try pool.map("types.halve64", [UInt64.max, 9], as: UInt64.self).get() == [UInt64.max / 2, 4])
        #expect(try pool.map("types.half", [3.0, -1.5, .infinity], as: Double.self).get() == [1.5, -0.75, .infinity])
    }

    @Test func columnsMakeAStarmapThroughLibffi() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let xs = (0..<1000).map { Double($0) / 4 }
        let ks = (0..<1000).map { Int64($0 % 7) }
        let scaled = try pool.starmap("mathx.scale", xs, ks, as: Double.self, chunksize: 64).get()
        #expect(scaled == zip(xs, ks).map { $0 * Double($1) })
        let error = #expect(throws: TaskHostError.self) {
            try pool.starmap("mathx.scale", [1.0, 2.0], [Int64(1)], as: Double.self)
        }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message == "mathx.scale: the argument columns differ in length (2, 1)")
    }

    @Test func aSignatureMismatchIsRefusedWithItsReason() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let wrongArgument = #expect(throws: TaskHostError.self) { try pool.map("square.square", [1.0], as: Int64.self) }
        #expect(wrongArgument?.kind == .invalidArgument)
        #expect(wrongArgument?.message == "square.square takes (int64), not (double)")
        let wrongResult = #expect(throws: TaskHostError.self) { try pool.map("square.square", [Int64(1)], as: Double.self) }
        #expect(wrongResult?.message == "square.square returns int64, not double")
        let unpackable = #expect(throws: TaskHostError.self) { try pool.map("types.shout", [Int64(1)], as: Int64.self) }
        #expect(unpackable?.message == "types.shout takes (string), not (int64)")
        let unknown = #expect(throws: TaskHostError.self) { try pool.map("square.cube", [Int64(1)], as: Int64.self) }
        #expect(unknown?.kind == .invalidArgument)
        let chunk = #expect(throws: TaskHostError.self) { try pool.map("square.square", [Int64(1)], as: Int64.self, chunksize: 0) }
        #expect(chunk?.message == "chunksize must be at least 1, got 0")
    }

    @Test func aCrashMidChunkFailsOnlyItsItemAndTheRestRunElsewhere() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        // segv97 crashes on every multiple of 97: ten crashes inside big chunks.
        let input = Array(Int64(1)...1000)
        let results = try pool.map("faulty.segv97", input, as: Int64.self, chunksize: 250)
        #expect(results.failures.keys.sorted() == (1...10).map { $0 * 97 - 1 })
        for (position, result) in results.enumerated() {
            switch result {
            case .success(let value): #expect(value == input[position])
            case .failure(let error):
                #expect(error.kind == .crashed)
                #expect(error.signal == "SIGSEGV")
                #expect(error.message.hasSuffix("was killed by SIGSEGV (segmentation fault) while running faulty.segv97(\(input[position]))"),
                        "\(error.message)")
                #expect(results.values[position] == 0)
            }
        }
        let thrown = #expect(throws: TaskHostError.self) { try results.get() }
        #expect(thrown?.message.hasSuffix("faulty.segv97(97)") == true)
        // The pool kept its size.
        #expect(try pool.map("square.square", [Int64(6), 7], as: Int64.self).get() == [36, 49])
    }

    @Test func taskErrorsStayPerItemWithTheirMessage() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let results = try pool.map("faulty.fail", Array(Int64(1)...5), as: Int64.self)
        #expect(results.failures.count == 1)
        #expect(results[2] == .failure(try #require(results.failures[2])))
        #expect(results.failures[2]?.kind == .taskError)
        #expect(results.failures[2]?.message == "faulty.fail(3): refusing 3")
        #expect(results.values == [1, 2, 0, 4, 5])
    }

    @Test func aCheckedTaskFailsOnlyItsOverflowingItemsInsideItsTightLoop() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        // square fails an item whose square overflows int64 (|x| > 3_037_000_499): here the first
        // item, two in a row, one each side of a results frame's 8192-item edge, and the last.
        let big: Int64 = 3_037_000_500
        var input = Array(Int64(1)...20_000)
        let failing = [0, 99, 100, 8191, 8192, 12_345, 19_999]
        for (n, position) in failing.enumerated() { input[position] = n % 2 == 0 ? big + Int64(n) : -big - Int64(n) }
        let typed = try pool.map("square.square", input, as: Int64.self, chunksize: 20_000)
        #expect(typed.failures.keys.sorted() == failing)
        for position in failing {
            #expect(typed.failures[position]?.kind == .taskError)
            #expect(typed.failures[position]?.message == "square.square(\(input[position])): \(input[position]) squared overflows int64")
            #expect(typed.values[position] == 0)
        }
        #expect(typed.values.enumerated().allSatisfy { failing.contains($0.offset) || $0.element == input[$0.offset] * input[$0.offset] })
        // The same as [Value], and as the one-by-one path.
        let values = try pool.map("square.square", input.map(Value.int64), chunksize: 20_000)
        #expect(values.enumerated().allSatisfy { position, result in
            if let error = typed.failures[position] { return result == .failure(error) }
            return result == .success(.int64(typed.values[position]))
        })
        var oneByOne: [TaskResult] = []
        for item in try pool.imap("square.square", values: Array(input[8180..<8200].map(Value.int64)), chunksize: 1) {
            oneByOne.append(item.result)
        }
        #expect(oneByOne.map(\.failureKind) == values[8180..<8200].map(\.failureKind))
        #expect(oneByOne.map { try? $0.get() } == values[8180..<8200].map { try? $0.get() })
    }

    @Test func aRetriedItemGetsItsValue() throws {
        let pool = try Pool(host: Self.host, processes: 1, retries: 1)
        defer { pool.terminate() }
        // segv crashes on 3 every time: two attempts, then the error says so.
        let results = try pool.map("faulty.segv", Array(Int64(1)...6), as: Int64.self)
        #expect(results.failures[2]?.attempts == 2)
        #expect(results.values == [1, 2, 0, 4, 5, 6])
    }

    @Test func valuesOfTheRightTypeTakeThePackedPathWithTheSameResults() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        let inputs: [Value] = (1...300).map { .int64(Int64($0)) }
        let results = try pool.map("faulty.segv97", inputs, chunksize: 50)
        for (i, result) in results.enumerated() {
            if (i + 1) % 97 == 0 {
                #expect(result.failureKind == .crashed)
                #expect((try? result.get()) == nil)
            } else {
                #expect(result == .success(.int64(Int64(i + 1))))
            }
        }
        // Mixed types (an int32 for an int64) go one by one, converted: same results.
        #expect(try pool.map("square.square", [.int32(3), .int64(4)]).map { try $0.get() } == [9, 16])
        // A starmap of values, column by column, as the typed one.
        let rows: [[Value]] = (0..<100).map { [.double(Double($0) / 2), .int64(Int64($0 % 5))] }
        let scaled: [Value] = try pool.starmap("mathx.scale", rows).map { try $0.get() }
        let expected: [Value] = (0..<100).map { (i: Int) -> Value in .double(Double(i) / 2 * Double(i % 5)) }
        #expect(scaled == expected)
        // No parameters and a void result: rows of nothing, void back.
        let empty: [[Value]] = [[], [], []]
        let voids: [TaskResult] = try pool.starmap("types.nothing", empty)
        #expect(voids == [TaskResult](repeating: .success(.void), count: 3))
    }

    @Test func mixedValuesPackWhatTheyCanAndFailTheRestAtTheirPositions() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        // An int64 task given int64s, strings, an int32 (converts) and a double (does not).
        let mixed: [Value] = [.int64(3), .string("x"), .int64(4), .int32(5), .string("y"), .double(2.5), .int64(6)]
        let results = try pool.map("square.square", mixed, chunksize: 2)
        #expect(results.count == mixed.count)
        #expect(try results[0].get() == .int64(9))
        #expect(try results[2].get() == .int64(16))
        #expect(try results[3].get() == .int64(25))
        #expect(try results[6].get() == .int64(36))
        for (position, got) in [(1, "string \"x\""), (4, "string \"y\""), (5, "double 2.5")] {
            guard case .failure(let error) = results[position] else {
                Issue.record("item \(position) should have failed: \(results[position])")
                continue
            }
            #expect(error.kind == .invalidArgument)
            #expect(error.message == "square.square: parameter 'x' expects int64, got \(got)")
            #expect(error.item == position)
            #expect(error.task == "square.square")
        }
        // The same as the one-by-one path (a stream of the same values).
        var oneByOne: [TaskResult] = []
        for item in try pool.imap("square.square", values: mixed, chunksize: 1) { oneByOne.append(item.result) }
        #expect(results == oneByOne)
        // Crashes among invalid rows are still pinned to their own item.
        let inputs: [Value] = (1...300).map { $0 % 10 == 0 ? .string("s\($0)") : .int64(Int64($0)) }
        let crashed = try pool.map("faulty.segv97", inputs, chunksize: 40)
        for (i, result) in crashed.enumerated() {
            let n = i + 1
            if n % 10 == 0 {
                #expect(result.failureKind == .invalidArgument)
            } else if n % 97 == 0 {
                #expect(result.failureKind == .crashed)
                if case .failure(let error) = result { #expect(error.message.hasSuffix("while running faulty.segv97(\(n))")) }
            } else {
                #expect(result == .success(.int64(Int64(n))))
            }
        }
        // A starmap: short rows, wrong types and exact conversions, row by row.
        let rows: [[Value]] = [[.double(1.5), .int64(2)], [.double(1)], [.int64(3), .int32(2)], [.string("a"), .int64(1)],
                               [.double(0.5), .int64(4)]]
        let scaled = try pool.starmap("mathx.scale", rows)
        #expect(scaled.count == 5)
        #expect(try scaled[0].get() == .double(3))
        #expect(scaled[1].failureKind == .invalidArgument)
        if case .failure(let error) = scaled[1] { #expect(error.message == "mathx.scale takes 2 arguments (x: double, k: int64), got 1") }
        #expect(try scaled[2].get() == .double(6))
        #expect(scaled[3].failureKind == .invalidArgument)
        if case .failure(let error) = scaled[3] { #expect(error.message == "mathx.scale: parameter 'x' expects double, got string \"a\"") }
        #expect(try scaled[4].get() == .double(2))
        var rowByRow: [TaskResult] = []
        for item in try pool.imap("mathx.scale", rows, chunksize: 1) { rowByRow.append(item.result) }
        #expect(scaled == rowByRow)
    }

    @Test func starmapRowsPackInPlaceUntilOneDoesNotFitAndThatOneFailsAlone() throws {
        let pool = try Pool(host: Self.host, processes: 2)
        defer { pool.terminate() }
        // Exact rows around a long row, a row whose first value fits and second doesn't,
        // and one whose second value converts (int32 -> int64): each decided on its own.
        var rows: [[Value]] = (0..<40).map { [.double(Double($0)), .int64(2)] }
        rows[7] = [.double(1), .int64(2), .int64(3)]
        rows[8] = [.double(2), .string("k")]
        rows[9] = [.double(3), .int32(5)]
        let scaled = try pool.starmap("mathx.scale", rows, chunksize: 16)
        #expect(scaled.count == 40)
        if case .failure(let error) = scaled[7] {
            #expect(error.kind == .invalidArgument)
            #expect(error.message == "mathx.scale takes 2 arguments (x: double, k: int64), got 3")
        } else {
            Issue.record("row 7 should have failed: \(scaled[7])")
        }
        if case .failure(let error) = scaled[8] {
            #expect(error.message == "mathx.scale: parameter 'k' expects int64, got string \"k\"")
            #expect(error.item == 8)
        } else {
            Issue.record("row 8 should have failed: \(scaled[8])")
        }
        #expect(try scaled[9].get() == .double(15))
        for i in (0..<40) where ![7, 8, 9].contains(i) { #expect(try scaled[i].get() == .double(Double(i) * 2)) }
    }

    @Test func aDeadlineCancelsWhatHasNotRun() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        // sleepy(x) sleeps x ms: 40 items of 50 ms cannot finish in 0.3 s.
        let results = try pool.map("faulty.sleepy", [Int64](repeating: 50, count: 40), as: Int64.self, chunksize: 4,
                                   deadline: 0.3)
        #expect(results.failures.count > 20)
        #expect(results.failures.values.allSatisfy { $0.kind == .cancelled })
        #expect(results.enumerated().allSatisfy { position, result in
            if case .success(let value) = result { return value == 50 && results.failures[position] == nil }
            return results.values[position] == 0
        })
    }
}

extension Result where Failure == TaskHostError {
    /// The error's kind, if this is a failure.
    var failureKind: TaskHostError.Kind? {
        if case .failure(let error) = self { return error.kind }
        return nil
    }
}
