import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// Helpers of the CLI tests: the real `taskhost` binary, the plugins the tests build.
enum CLI {
    static func taskhost(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil) throws -> TestSupport.Output {
        try TestSupport.taskhost(arguments, input: input, environment: environment)
    }

    /// The mathx plugin from issue 2, built exactly as the issue says: `cc -shared -fPIC -I include`.
    static let mathxFolder: String = {
        let folder = TestSupport.temporaryFolder("mathx")
        let result = try! TestSupport.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-I", TestSupport.repositoryRoot + "/include",
                                                           TestSupport.repositoryRoot + "/Tests/Plugins/mathx/mathx.c",
                                                           "-o", folder + "/mathx.so"])
        precondition(result.status == 0, "cc failed: \(result.stderr)")
        return folder
    }()
    static var mathx: String { mathxFolder + "/mathx.so" }

    static var faulty: String { TestSupport.faultyPlugin }

    static func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLastIfEmpty() }

    /// The JSON array a map printed, parsed.
    static func array(_ text: String) throws -> [Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return try #require(parsed as? [Any], "not a JSON array: \(text)")
    }

    /// The `error` object of an item, if it is one.
    static func error(_ item: Any) -> [String: Any]? {
        (item as? [String: Any])?["error"] as? [String: Any]
    }

}

extension Array where Element == String {
    func dropLastIfEmpty() -> [String] { last == "" ? Array(dropLast()) : self }
}

/// The CLI surface of issue 2, item 8 and "Must show", through the real binary.
@Suite(.timeLimit(.minutes(3)))
struct CLITests {
    // MARK: map

    @Test func mapSquaresTheSeedNumbers() throws {
        let out = try CLI.taskhost(["map", "square", "1", "2", "3", "4", "5", "-p", "2"])
        #expect(out.stdout == "[1, 4, 9, 16, 25]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func negativeNumbersAreOrdinaryArguments() throws {
        let out = try CLI.taskhost(["map", "square", "-5", "3"])
        #expect(out.stdout == "[25, 9]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func anEmptyMapPrintsAnEmptyArray() throws {
        let out = try CLI.taskhost(["map", "square"])
        #expect(out.stdout == "[]\n")
        #expect(out.status == 0)
    }

    @Test func aValueThatDoesNotParseIsOneLineNamingTaskParameterTypeAndValue() throws {
        let out = try CLI.taskhost(["map", "square", "abc"])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        let lines = CLI.lines(out.stderr)
        #expect(lines.count == 1, "\(lines)")
        for word in ["square", "x", "int64", "abc"] { #expect(out.stderr.contains(word), "no \(word) in \(out.stderr)") }
    }

    @Test func nothingRunsWhenALaterArgumentIsBad() throws {
        // shout prints as it runs: a bad third word must stop everything before any worker starts.
        let out = try CLI.taskhost(["map", "faulty.shout", "1", "2", "x3", "--plugin", CLI.faulty])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(!out.stderr.contains("shout 1"), "\(out.stderr)")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
    }

    @Test func theTasksOwnOutputGoesToStderrNotStdout() throws {
        let out = try CLI.taskhost(["map", "faulty.shout", "1", "2", "3", "-p", "2", "--plugin", CLI.faulty])
        #expect(out.stdout == "[1, 2, 3]\n")
        #expect(out.status == 0)
        for x in 1...3 { #expect(out.stderr.contains("shout \(x)\n"), "\(out.stderr)") }
    }

    // MARK: Usage errors

    @Test func anUnknownTaskSuggestsTheClosestOne() throws {
        let out = try CLI.taskhost(["map", "squar", "1"])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
        #expect(out.stderr.contains("squar"))
        #expect(out.stderr.contains("did you mean 'square'"), "\(out.stderr)")
    }

    @Test func anUnknownTaskOfAKnownPluginSuggestsToo() throws {
        let out = try CLI.taskhost(["apply", "square.squre", "1"])
        #expect(out.status != 0)
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
        #expect(out.stderr.contains("did you mean 'square.square'"), "\(out.stderr)")
    }

    @Test func anUnknownPluginIsNamed() throws {
        let out = try CLI.taskhost(["map", "nosuch.square", "1"])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
        #expect(out.stderr.contains("unknown plugin 'nosuch'"), "\(out.stderr)")
    }

    @Test(arguments: [["apply", "square", "1", "2"], ["apply", "square"], ["apply", "text.repeat", "a"]])
    func theWrongNumberOfArgumentsIsOneLine(arguments: [String]) throws {
        let out = try CLI.taskhost(arguments)
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
        #expect(out.stderr.contains("argument"), "\(out.stderr)")
    }

    @Test func mapRefusesATaskWithTwoParameters() throws {
        let out = try CLI.taskhost(["map", "text.repeat", "a"])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(out.stderr.contains("starmap"), "\(out.stderr)")
    }

    /// Bad option values fail before anything runs (shout would print), in one line, status 2.
    @Test(arguments: [
        (["-p", "0"], "-p must be at least 1"),
        (["--memory-limit", "12Q"], "'12Q' is not a size"),
        (["--chunksize", "0"], "--chunksize must be at least 1"),
        (["--timeout=-1"], "--timeout must be positive"),
        (["--retries=-1"], "--retries must be 0 to 1000"),
        (["--max-tasks-per-child", "0"], "--max-tasks-per-child must be at least 1"),
        (["--deadline", "0"], "--deadline must be positive"),
        (["--no-such-option"], "--no-such-option"),
    ])
    func badOptionValuesFailBeforeAnythingRuns(options: [String], message: String) throws {
        let out = try CLI.taskhost(["map", "faulty.shout", "1", "2", "--plugin", CLI.faulty] + options)
        #expect(out.status == 2)
        #expect(out.stdout == "")
        #expect(!out.stderr.contains("shout 1"), "\(out.stderr)")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
        #expect(CLI.lines(out.stderr).first?.contains(message) == true, "\(out.stderr)")
    }

    // MARK: run, apply, starmap, plugins

    @Test func runPrintsBothProgramsThenProcessesFinished() throws {
        let out = try CLI.taskhost(["run", "print_numbers", "print_letters"])
        #expect(out.status == 0)
        #expect(out.stderr == "")
        let lines = CLI.lines(out.stdout)
        let numbers = (1...5).map { "Number \($0)" }, letters = ["a", "b", "c", "d", "e"].map { "Letter \($0)" }
        #expect(lines.count == 11, "\(lines)")
        #expect(lines.last == "Processes finished")
        // Any interleaving, each stream in order.
        #expect(lines.filter { $0.hasPrefix("Number ") } == numbers)
        #expect(lines.filter { $0.hasPrefix("Letter ") } == letters)
        #expect(Set(lines.dropLast()) == Set(numbers + letters))
    }

    @Test func runRefusesATaskWithParameters() throws {
        let out = try CLI.taskhost(["run", "square"])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
    }

    @Test func applyPrintsOneJSONResult() throws {
        var out = try CLI.taskhost(["apply", "square", "-7"])
        #expect(out.stdout == "49\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
        out = try CLI.taskhost(["apply", "text.upper", "seed \"quoted\""])
        #expect(out.stdout == "\"SEED \\\"QUOTED\\\"\"\n")
        #expect(out.status == 0)
    }

    @Test func applyOfACrashingTaskPrintsTheErrorObject() throws {
        let out = try CLI.taskhost(["apply", "faulty.segv", "3", "--plugin", CLI.faulty])
        #expect(out.status == 1)
        #expect(TestSupport.matches(out.stdout, #"\{"error": \{"kind": "crashed", "signal": "SIGSEGV", "message": "worker [0-9]+ was killed by SIGSEGV \(segmentation fault\) while running faulty\.segv\(3\)"\}\}\n"#),
                "\(out.stdout)")
        #expect(out.stderr.contains("1 of 1 item failed"), "\(out.stderr)")
    }

    @Test func starmapReadsArgumentLinesFromStdin() throws {
        let out = try CLI.taskhost(["starmap", "text.repeat", "-p", "2"], input: "[\"ab\", 2]\n[\"c\", 3]\n[\"\", 1]\n")
        #expect(out.stdout == "[\"abab\", \"ccc\", \"\"]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func aBlankStarmapLineIsAnItemThatFails() throws {
        // Indices never shift: the blank third line is item 2.
        let out = try CLI.taskhost(["starmap", "text.repeat", "-p", "2"], input: "[\"ab\", 2]\n[\"c\", 3]\n\n[\"\", 1]\n")
        let items = try CLI.array(out.stdout)
        #expect(items.count == 4)
        #expect(items[1] as? String == "ccc")
        #expect(CLI.error(items[2])?["kind"] as? String == "invalidArgument", "\(out.stdout)")
        #expect(items[3] as? String == "")
        #expect(out.status == 1)
    }

    @Test func starmapReadsArgumentLinesFromAFile() throws {
        let file = TestSupport.temporaryFolder("args") + "/args.jsonl"
        try "[1.5, 2]\n[-2, 3]\n[0.25, 4]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let out = try CLI.taskhost(["starmap", "mathx.scale", "--args", file, "--plugin", CLI.mathx])
        #expect(out.stdout == "[3.0, -6.0, 1.0]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func aBadStarmapLineFailsOnlyItsItem() throws {
        let input = "[1.5, 2]\n[1, \"x\"]\nnot json\n[2.5, 4]\n[1, 2, 3]\n"
        let out = try CLI.taskhost(["starmap", "mathx.scale", "--plugin", CLI.mathx], input: input)
        #expect(out.status == 1)
        let items = try CLI.array(out.stdout)
        #expect(items.count == 5)
        #expect(items[0] as? Double == 3.0)
        #expect(items[3] as? Double == 10.0)
        for i in [1, 2, 4] {
            #expect(CLI.error(items[i])?["kind"] as? String == "invalidArgument", "item \(i): \(items[i])")
        }
        #expect(out.stdout.hasPrefix("[3.0, {\"error\": {\"kind\": \"invalidArgument\", \"message\": "), "\(out.stdout)")
        #expect(out.stderr.contains("3 of 5 items failed"), "\(out.stderr)")
    }

    @Test func aMissingArgsFileIsOneLine() throws {
        let out = try CLI.taskhost(["starmap", "square", "--args", "/nonexistent/args"])
        #expect(out.status != 0)
        #expect(out.stdout == "")
        #expect(CLI.lines(out.stderr).count == 1, "\(out.stderr)")
        #expect(out.stderr.contains("/nonexistent/args"))
    }

    @Test func pluginsListsEachPluginWithVersionAndEachTaskWithSignatureAndSummary() throws {
        let out = try CLI.taskhost(["plugins", "--plugin", CLI.mathx])
        #expect(out.status == 0)
        #expect(out.stderr == "")
        let lines = CLI.lines(out.stdout)
        #expect(lines.contains { $0.hasPrefix("square 1.0.0") })
        #expect(lines.contains { $0.hasPrefix("print 1.0.0") })
        #expect(lines.contains { $0.hasPrefix("mathx 1.0.0") && $0.contains("Small math tasks") })
        #expect(lines.contains { $0.contains("square.square(x: int64) -> int64") && $0.contains("x squared") })
        #expect(lines.contains { $0.contains("print.print_numbers() -> void") })
        #expect(lines.contains { $0.contains("mathx.cube(x: int64) -> int64") && $0.contains("x cubed") })
        #expect(lines.contains { $0.contains("mathx.scale(x: double, k: int64) -> double") && $0.contains("x times k") })
    }

    // MARK: The mathx plugin of issue 2

    @Test func mathxThroughPluginOption() throws {
        let out = try CLI.taskhost(["map", "mathx.cube", "1", "2", "3", "--plugin", CLI.mathx])
        #expect(out.stdout == "[1, 8, 27]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
        let scaled = try CLI.taskhost(["starmap", "scale", "--plugin", CLI.mathx], input: "[1.5, 2]\n")
        #expect(scaled.stdout == "[3.0]\n")
        #expect(scaled.stderr == "")
        #expect(scaled.status == 0)
    }

    @Test func mathxThroughThePluginPath() throws {
        let environment = ["TASKHOST_PLUGIN_PATH": "/nonexistent-folder:" + CLI.mathxFolder]
        let out = try CLI.taskhost(["map", "mathx.cube", "1", "2", "3"], environment: environment)
        #expect(out.stdout == "[1, 8, 27]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
        let scaled = try CLI.taskhost(["starmap", "scale"], input: "[1.5, 2]\n", environment: environment)
        #expect(scaled.stdout == "[3.0]\n")
        #expect(scaled.status == 0)
        let listed = try CLI.taskhost(["plugins"], environment: environment)
        #expect(listed.stdout.contains("mathx 1.0.0"))
    }

    // MARK: Plugins that are not plugins

    @Test(arguments: [("no_entry", "it has no entry symbol 'taskhost_plugin_entry', so it is not a TaskHost plugin"),
                      ("wrong_abi", "it was built for plugin ABI version 2, but this host speaks version 1")])
    func anExplicitNonPluginIsRefused(source: String, reason: String) throws {
        let path = try TestSupport.buildTestPlugin("bad/\(source).c", name: source)
        let out = try CLI.taskhost(["map", "square", "1", "--plugin", path])
        #expect(out.status == 2)
        #expect(out.stdout == "")
        #expect(CLI.lines(out.stderr) == ["taskhost: cannot load plugin file '\(path)': \(reason)"])
    }

    @Test func aNonPluginInThePluginPathIsSkippedSilently() throws {
        let path = try TestSupport.buildTestPlugin("bad/no_entry.c", name: "no_entry")
        let folder = (path as NSString).deletingLastPathComponent
        let out = try CLI.taskhost(["map", "square", "1", "2"], environment: ["TASKHOST_PLUGIN_PATH": folder])
        #expect(out.stdout == "[1, 4]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }
}
