import Foundation
import Testing
import TestSupport

/// Crash-safe supervision (issue 3) through the CLI: error objects at the
/// item's position, exit status 1, a summary on stderr, and every option.
@Suite(.timeLimit(.minutes(3)))
struct CLISupervisionTests {
    func map(_ task: String, _ arguments: [String], _ options: [String] = []) throws -> TestSupport.Output {
        try CLI.taskhost(["map", task] + arguments + ["--plugin", CLI.faulty] + options)
    }

    @Test func aSegfaultIsACrashedErrorAtItsPosition() throws {
        let out = try map("faulty.segv", ["1", "2", "3", "4", "5"], ["-p", "2"])
        #expect(out.status == 1)
        #expect(TestSupport.matches(out.stdout, #"\[1, 2, \{"error": \{"kind": "crashed", "signal": "SIGSEGV", "message": "worker [0-9]+ was killed by SIGSEGV \(segmentation fault\) while running faulty\.segv\(3\)"\}\}, 4, 5\]\n"#),
                "\(out.stdout)")
        let lines = CLI.lines(out.stderr)
        #expect(lines.contains { $0.contains("crashed") && $0.contains("faulty.segv(3)") }, "\(out.stderr)")
        #expect(lines.last == "taskhost: 1 of 5 items failed", "\(out.stderr)")
    }

    @Test(arguments: [("faulty.abort", "SIGABRT"), ("faulty.bus", "SIGBUS"), ("faulty.fpe", "SIGFPE"), ("faulty.ill", "SIGILL")])
    func everySignalIsNamed(task: String, signal: String) throws {
        let out = try map(task, ["2", "3"], ["-p", "2"])
        #expect(out.status == 1)
        let items = try CLI.array(out.stdout)
        #expect(items[0] as? Int == 2)
        #expect(CLI.error(items[1])?["kind"] as? String == "crashed")
        #expect(CLI.error(items[1])?["signal"] as? String == signal)
    }

    @Test func anExitIsExitedWithItsCode() throws {
        let out = try map("faulty.exit", ["2", "3", "4"], ["-p", "2"])
        #expect(out.status == 1)
        #expect(TestSupport.matches(out.stdout, #"\[2, \{"error": \{"kind": "exited", "code": 7, "message": "worker [0-9]+ exited with code 7 while running faulty\.exit\(3\)"\}\}, \{"error": \{"kind": "exited", "code": 0, "message": "worker [0-9]+ exited with code 0 while running faulty\.exit\(4\)"\}\}\]\n"#),
                "\(out.stdout)")
    }

    @Test func aTaskErrorIsTaskError() throws {
        let out = try map("faulty.fail", ["2", "3"])
        #expect(out.status == 1)
        let items = try CLI.array(out.stdout)
        #expect(CLI.error(items[1])?["kind"] as? String == "taskError")
        #expect((CLI.error(items[1])?["message"] as? String)?.contains("refusing 3") == true, "\(out.stdout)")
    }

    @Test func chunksOfAHundredOverAThousandWithACrashEveryNinetySevenFailExactlyThoseTen() throws {
        let out = try map("faulty.segv97", (1...1000).map(String.init), ["--chunksize", "100", "-p", "2"])
        #expect(out.status == 1)
        let items = try CLI.array(out.stdout)
        #expect(items.count == 1000)
        var failed: [Int] = []
        for (i, item) in items.enumerated() {
            if let error = CLI.error(item) {
                failed.append(i + 1)
                #expect(error["signal"] as? String == "SIGSEGV")
            } else {
                #expect(item as? Int == i + 1)
            }
        }
        #expect(failed == Array(stride(from: 97, through: 1000, by: 97)))
        #expect(out.stderr.contains("10 of 1000 items failed"), "\(out.stderr)")
    }

    @Test func timeoutFailsTheHangingItemAndTheCallEndsInAFewSeconds() throws {
        let start = Date()
        let out = try map("faulty.hang", ["1", "2", "3", "4", "5"], ["-p", "2", "--timeout", "1"])
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(out.status == 1)
        #expect(TestSupport.matches(out.stdout, #"\[1, 2, \{"error": \{"kind": "timedOut", "message": "worker [0-9]+ was killed after 1 s \(the task timeout\) while running faulty\.hang\(3\)"\}\}, 4, 5\]\n"#),
                "\(out.stdout)")
    }

    @Test func deadlineCancelsWhatIsNotFinished() throws {
        let start = Date()
        let out = try map("faulty.hang", ["1", "2", "3", "4", "5"], ["-p", "1", "--chunksize", "1", "--deadline", "1"])
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(out.status == 1)
        let items = try CLI.array(out.stdout)
        #expect(items[0] as? Int == 1)
        #expect(items[1] as? Int == 2)
        for item in items[2...] { #expect(CLI.error(item)?["kind"] as? String == "cancelled", "\(item)") }
    }

    @Test func memoryLimitFailsTheGreedyItem() throws {
        let out = try map("faulty.eat", ["1", "2", "3", "4"], ["-p", "2", "--memory-limit", "256M"])
        #expect(out.status == 1)
        #expect(TestSupport.matches(out.stdout, #"\[1, 2, \{"error": \{"kind": "memoryLimit", "message": "worker [0-9]+ went past its memory limit of 256 MiB while running faulty\.eat\(3\)"\}\}, 4\]\n"#),
                "\(out.stdout)")
    }

    @Test func retriesAreCountedInTheErrorObject() throws {
        let out = try map("faulty.segv", ["2", "3"], ["-p", "2", "--retries", "2"])
        #expect(out.status == 1)
        #expect(TestSupport.matches(out.stdout, #"\[2, \{"error": \{"kind": "crashed", "signal": "SIGSEGV", "attempts": 3, "message": "worker [0-9]+ was killed by SIGSEGV \(segmentation fault\) while running faulty\.segv\(3\) \(attempt 3 of 3\)"\}\}\]\n"#),
                "\(out.stdout)")
    }

    @Test func aRetryCanSucceed() throws {
        let folder = TestSupport.temporaryFolder("cli-retry")
        let input = (1...4).map { "[\"\(folder)\", \($0)]" }.joined(separator: "\n") + "\n"
        let out = try CLI.taskhost(["starmap", "faulty.crash_once", "--retries", "1", "--chunksize", "1", "--plugin", CLI.faulty], input: input)
        #expect(out.stdout == "[1, 2, 3, 4]\n")
        #expect(out.status == 0)
    }

    @Test func maxTasksPerChildReplacesWorkers() throws {
        let out = try map("faulty.pid", (1...6).map(String.init), ["-p", "1", "--chunksize", "1", "--max-tasks-per-child", "2"])
        #expect(out.status == 0)
        let pids = try CLI.array(out.stdout).compactMap { $0 as? Int }
        #expect(pids.count == 6)
        #expect(Set(pids).count == 3, "\(pids)")
    }

    @Test func initializerRunsInEachWorkerWithItsArguments() throws {
        let out = try map("faulty.get_global", ["1", "2", "3", "4"],
                          ["-p", "2", "--initializer", "faulty.set_global", "--initializer-arg", "42"])
        #expect(out.stdout == "[42, 42, 42, 42]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func aBadInitializerIsAUsageError() throws {
        var out = try map("faulty.get_global", ["1"], ["--initializer", "faulty.nosuch"])
        #expect(out.status == 2)
        #expect(out.stdout == "")
        out = try map("faulty.get_global", ["1"], ["--initializer", "faulty.set_global", "--initializer-arg", "x"])
        #expect(out.status == 2)
        #expect(out.stdout == "")
        #expect(out.stderr.contains("'x'"), "\(out.stderr)")
    }

    @Test(arguments: [("faulty.garbage", [3]), ("faulty.close_all", [3]), ("faulty.linger", [3]), ("faulty.huge_prefix", [3, 4])])
    func aHostileWorkerFailsOnlyItsItem(task: String, failing: [Int]) throws {
        let start = Date()
        let out = try map(task, (1...5).map(String.init), ["-p", "2", "--chunksize", "1"])
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(out.status == 1)
        let items = try CLI.array(out.stdout)
        #expect(items.count == 5)
        for (i, item) in items.enumerated() {
            if failing.contains(i + 1) {
                #expect(CLI.error(item) != nil, "item \(i + 1): \(item)")
            } else {
                #expect(item as? Int == i + 1)
            }
        }
        #expect(out.stderr.contains("\(failing.count) of 5 items failed"), "\(out.stderr)")
    }
}
