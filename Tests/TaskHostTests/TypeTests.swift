import Testing
import TaskHost
import TestSupport

/// Every type crosses libffi and the pipes intact.
@Suite struct TypeTests {
    static let host: PluginHost = {
        let types = try! TestSupport.buildTestPlugin("types/types.c", name: "types")
        return try! PluginHost(pluginFiles: [types])
    }()

    func apply(_ task: String, _ arguments: [Value]) throws -> Value {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        return try pool.apply("types." + task, arguments)
    }

    @Test func bool() throws {
        #expect(try apply("not_bool", [.bool(true)]) == .bool(false))
        #expect(try apply("not_bool", [.bool(false)]) == .bool(true))
        #expect(try apply("yes", []) == .bool(true))
    }

    @Test func integers() throws {
        #expect(try apply("negate32", [.int32(Int32.max)]) == .int32(-Int32.max))
        #expect(try apply("negate32", [5]) == .int32(-5))  // an int64 literal converts to int32
        #expect(try apply("small_negative", []) == .int32(-7))  // sign kept through ffi_arg widening
        #expect(try apply("negate64", [.int64(Int64.min + 1)]) == .int64(Int64.max))
        #expect(try apply("halve64", [.uint64(UInt64.max)]) == .uint64(UInt64.max / 2))
    }

    @Test func double() throws {
        #expect(try apply("half", [.double(3.0)]) == .double(1.5))
        #expect(try apply("half", [7]) == .double(3.5))
    }

    @Test func strings() throws {
        #expect(try apply("shout", ["héllo"]) == .string("HéLLO!"))
        #expect(try apply("shout", [""]) == .string("!"))
    }

    @Test func bytes() throws {
        #expect(try apply("reverse_bytes", [.bytes([1, 2, 3, 0, 255])]) == .bytes([255, 0, 3, 2, 1]))
        #expect(try apply("reverse_bytes", [.bytes([])]) == .bytes([]))
        #expect(try apply("byte_sum", [.bytes([10, 20, 30])]) == .int64(60))
    }

    @Test func manyMixedArgumentsIncludingStackPassedOnes() throws {
        let result = try apply("mixed", [.int32(1), 2, .double(3.5), .bool(true), .uint64(4), "abc", .int32(5), 6, .double(0.25)])
        #expect(result == .double(1 + 2 + 3.5 + 1000 + 4 + 3 + 5 + 6 + 0.25))
    }

    @Test func voidAndNullResults() throws {
        #expect(try apply("nothing", []) == .void)
        #expect(throws: TaskHostError(.taskError, "types.null_string(): the task returned a NULL string")) {
            _ = try apply("null_string", [])
        }
    }

    @Test func wrongArgumentsAreInvalidArgument() throws {
        let pool = try Pool(host: Self.host, processes: 1)
        defer { pool.terminate() }
        let results = try pool.starmap("types.negate32", [[.int64(Int64(Int32.max) + 1)], ["text"], [], [1]])
        #expect(results[3] == .success(.int32(-1)))
        for bad in results.prefix(3) {
            guard case .failure(let error) = bad else { Issue.record("expected a failure"); continue }
            #expect(error.kind == .invalidArgument)
        }
        #expect(results[2] == .failure(TaskHostError(.invalidArgument, "types.negate32 takes 1 argument (x: int32), got 0")))
    }
}
