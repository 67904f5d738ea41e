import Foundation
import Testing
import TestSupport

/// `map … -`, `--jsonl`, `--unordered`: streaming through the real binary.
@Suite struct StreamingCLITests {
    @Test func mapReadsOneArgumentPerLineFromStdin() throws {
        let run = try TestSupport.taskhost(["map", "square", "-", "-p", "2"], input: "1\n2\n3\n-4\n")
        #expect(run.status == 0)
        #expect(run.stdout == "[1, 4, 9, 16]\n")
        #expect(run.stderr == "")
    }

    @Test func jsonlPrintsOneLinePerItemAndABadLineFailsOnlyItsItem() throws {
        let run = try TestSupport.taskhost(["map", "square", "-", "--jsonl", "-p", "2"], input: "1\n2\nabc\n4\n")
        #expect(run.status == 1)
        #expect(run.stdout == """
            {"index": 0, "result": 1}
            {"index": 1, "result": 4}
            {"index": 2, "error": {"kind": "invalidArgument", "message": "line 3: square.square: parameter 'x' expects int64, got 'abc'"}}
            {"index": 3, "result": 16}

            """)
        #expect(run.stderr.contains("taskhost: 1 of 4 items failed"))
    }

    @Test func unorderedLetsAFastItemOvertakeASlowOne() throws {
        let run = try TestSupport.taskhost(["map", "faulty.sleepy", "600", "1", "--jsonl", "--unordered", "-p", "2",
                                            "--chunksize", "1", "--plugin", TestSupport.faultyPlugin])
        #expect(run.status == 0)
        #expect(run.stdout == "{\"index\": 1, \"result\": 1}\n{\"index\": 0, \"result\": 600}\n")
    }

    @Test func aLongStdinStreamKeepsMemoryFlat() throws {
        let count = 200_000
        let input = (1...count).map(String.init).joined(separator: "\n") + "\n"
        let run = try TestSupport.taskhost(["map", "square", "-", "--jsonl", "-p", "2"], input: input)
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == count)
        #expect(lines.last == "{\"index\": \(count - 1), \"result\": \(Int64(count) * Int64(count))}")
    }

    @Test func starmapStreamsJSONLinesFromStdin() throws {
        let run = try TestSupport.taskhost(["starmap", "text.repeat", "--jsonl"], input: "[\"ab\", 2]\n[\"c\", 3]\n")
        #expect(run.status == 0)
        #expect(run.stdout == "{\"index\": 0, \"result\": \"abab\"}\n{\"index\": 1, \"result\": \"ccc\"}\n")
    }
}
