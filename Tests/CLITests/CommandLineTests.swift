import Foundation
import Testing
import TestSupport

/// The command line itself (issue 12's CLI traps, issue 11's numeric options):
/// unknown names are usage errors, `--` is the one escape, numbers are checked
/// with a real message and never trap.
// Three minutes: each test starts real processes, and a loaded machine (many
// builds at once) slows them tenfold; a hang still fails.
@Suite(.timeLimit(.minutes(3)))
struct CommandLineTests {
    /// Runs the CLI and expects a usage error: nothing on stdout, exactly `line` on stderr, exit status 2.
    func expectUsageError(_ arguments: [String], _ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = try CLI.taskhost(arguments)
        #expect(out.status == 2, "\(arguments): \(out.stderr)", sourceLocation: sourceLocation)
        #expect(out.stdout == "", sourceLocation: sourceLocation)
        #expect(out.stderr == line + "\n", sourceLocation: sourceLocation)
    }

    // MARK: Unknown names

    @Test func aMistypedOptionIsAUsageErrorNotData() throws {
        try expectUsageError(["map", "text.upper", "hello", "--proceses", "2"],
            "taskhost: map: unknown option '--proceses'; did you mean '--processes'? (a value that starts with '-' goes after '--')")
    }

    @Test func anUnknownOptionWithAValueIsNamedWithoutTheValue() throws {
        try expectUsageError(["apply", "square", "--chunk=3", "2"],
            "taskhost: apply: unknown option '--chunk' (a value that starts with '-' goes after '--')")
    }

    @Test func anUnknownOptionOfASubcommandWithoutItemsSaysNothingAboutDashDash() throws {
        try expectUsageError(["plugins", "--verbse"], "taskhost: plugins: unknown option '--verbse'; did you mean '--verbose'?")
    }

    @Test func aMistypedSubcommandIsNamedWithASuggestion() throws {
        try expectUsageError(["mpa", "square", "1"],
            "taskhost: unknown subcommand 'mpa'; did you mean 'map'? (subcommands: demo, plugins, map, starmap, apply, run, filter, bench)")
    }

    @Test func anUnknownSubcommandFarFromAnyIsNamedAlone() throws {
        try expectUsageError(["frobnicate"],
            "taskhost: unknown subcommand 'frobnicate' (subcommands: demo, plugins, map, starmap, apply, run, filter, bench)")
    }

    // MARK: -- and dashes

    @Test func doubleDashPassesValuesThatStartWithADash() throws {
        let out = try CLI.taskhost(["map", "text.upper", "a", "-p", "1", "--", "-x", "--proceses", "--"])
        #expect(out.stdout == "[\"A\", \"-X\", \"--PROCESES\", \"--\"]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func doubleDashIsNeverAnItemItself() throws {
        let out = try CLI.taskhost(["map", "text.upper", "--", "b"])
        #expect(out.stdout == "[\"B\"]\n")
        #expect(out.status == 0)
    }

    @Test func negativeNumbersStillNeedNoDoubleDash() throws {
        let map = try CLI.taskhost(["map", "square", "-5", "3", "-p", "1"])
        #expect(map.stdout == "[25, 9]\n")
        #expect(map.status == 0)
        let apply = try CLI.taskhost(["apply", "square", "-4"])
        #expect(apply.stdout == "16\n")
        #expect(apply.status == 0)
        let scale = try CLI.taskhost(["apply", "mathx.scale", "-2.5", "-2", "--plugin", CLI.mathx])
        #expect(scale.stdout == "5.0\n")
        #expect(scale.status == 0)
    }

    @Test func anOptionValueMayBeNegativeAndIsThenRefusedWithARealMessage() throws {
        try expectUsageError(["map", "square", "1", "-p", "-1"], "taskhost: -p must be at least 1, got -1")
        try expectUsageError(["map", "square", "1", "--processes", "-1"], "taskhost: -p must be at least 1, got -1")
        try expectUsageError(["map", "square", "1", "--chunksize", "-3"], "taskhost: --chunksize must be at least 1, got -3")
        try expectUsageError(["map", "square", "1", "--max-tasks-per-child", "-1"],
                             "taskhost: --max-tasks-per-child must be at least 1, got -1")
        try expectUsageError(["map", "square", "1", "--retries", "-1"], "taskhost: --retries must be 0 to 1000, got -1")
        try expectUsageError(["filter", "BLUR", "a.png", "--quality", "-5"], "taskhost: --quality must be 1 to 95, got -5")
    }

    @Test func anAttachedShortOptionValueWorks() throws {
        let out = try CLI.taskhost(["map", "square", "2", "-p1"])
        #expect(out.stdout == "[4]\n")
        #expect(out.status == 0)
    }

    // MARK: Numbers at the edges

    @Test(arguments: ["--timeout", "--deadline"])
    func secondsAreCheckedNeverTrapped(option: String) throws {
        try expectUsageError(["map", "square", "1", option, "1e300"],
                             "taskhost: \(option) must be at most 1000000000 seconds, got 1e+300 (inf: none)")
        try expectUsageError(["map", "square", "1", option, "nan"], "taskhost: \(option) must be a number of seconds, got nan")
        try expectUsageError(["map", "square", "1", option, "-2"], "taskhost: \(option) must be positive, got -2")
        try expectUsageError(["map", "square", "1", option, "-inf"], "taskhost: \(option) must be positive, got -inf")
        try expectUsageError(["map", "square", "1", option, "0"], "taskhost: \(option) must be positive, got 0")
        try expectUsageError(["map", "square", "1", option, "abc"], "taskhost: The value 'abc' is invalid for '\(option) <SECONDS>'")
    }

    @Test(arguments: ["--timeout", "--deadline"])
    func infinityMeansNone(option: String) throws {
        let out = try CLI.taskhost(["map", "square", "1", "2", option, "inf"])
        #expect(out.stdout == "[1, 4]\n")
        #expect(out.stderr == "")
        #expect(out.status == 0)
    }

    @Test func runChecksItsTimeoutToo() throws {
        try expectUsageError(["run", "print_numbers", "--timeout", "1e300"],
                             "taskhost: --timeout must be at most 1000000000 seconds, got 1e+300 (inf: none)")
        let out = try CLI.taskhost(["run", "print_numbers", "--timeout", "inf"])
        #expect(out.status == 0)
        #expect(out.stdout.hasSuffix("Processes finished\n"))
    }

    @Test func hugeCountsAreUsageErrors() throws {
        try expectUsageError(["map", "square", "1", "--retries", "99999999999"], "taskhost: --retries must be 0 to 1000, got 99999999999")
        try expectUsageError(["map", "square", "1", "-p", "99999999999999999999"],
                             "taskhost: The value '99999999999999999999' is invalid for '-p <N>'")
        try expectUsageError(["map", "square", "1", "--memory-limit", "99999999P"],
                             "taskhost: --memory-limit: '99999999P' is not a size (examples: 512M, 2G, 65536K; at most 16383P)")
        try expectUsageError(["map", "square", "1", "--memory-limit", "-1"],
                             "taskhost: --memory-limit: '-1' is not a size (examples: 512M, 2G, 65536K; at most 16383P)")
    }

    // MARK: Version and help

    @Test func versionIsTheLibrarysVersion() throws {
        let header = try String(contentsOfFile: TestSupport.repositoryRoot + "/include/taskhost/taskhost.h", encoding: .utf8)
        let line = try #require(header.split(separator: "\n").first { $0.hasPrefix("#define TH_VERSION_STRING") })
        let version = String(line.split(separator: "\"")[1])
        for arguments in [["--version"], ["map", "--version"]] {
            let out = try CLI.taskhost(arguments)
            #expect(out.stdout == version + "\n")
            #expect(out.status == 0)
        }
    }

    @Test func helpTextsSayEachDefaultOnce() throws {
        let out = try CLI.taskhost(["filter", "--help"])
        #expect(out.status == 0)
        for option in ["--output", "--format", "--quality", "--max-pixels", "--retries"] {
            let text = out.stdout.components(separatedBy: option).dropFirst().first ?? ""
            let entry = text.components(separatedBy: "\n  -").first ?? ""
            #expect(entry.components(separatedBy: "default").count <= 2, "\(option): \(entry)")
        }
        let text = out.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("(default: 75)"))
        #expect(text.contains("(default: output)"))
    }

    @Test func completionScriptsComeFromTheParser() throws {
        for shell in ["bash", "zsh", "fish"] {
            let out = try CLI.taskhost(["--generate-completion-script", shell])
            #expect(out.status == 0)
            #expect(out.stdout.contains("max-tasks-per-child"), "\(shell)")
        }
    }

    // MARK: Items

    @Test func blankStdinLinesAreItems() throws {
        let numbers = try CLI.taskhost(["map", "square", "-"], input: "1\n\n3\n")
        let items = try CLI.array(numbers.stdout)
        #expect(items.count == 3)
        #expect(items.first as? Int == 1)
        #expect(CLI.error(items[1])?["kind"] as? String == "invalidArgument", "\(numbers.stdout)")
        #expect((CLI.error(items[1])?["message"] as? String)?.contains("got ''") == true, "\(numbers.stdout)")
        #expect(items.last as? Int == 9)
        #expect(numbers.status == 1)
        let texts = try CLI.taskhost(["map", "text.upper", "-"], input: "a\n\n  \nb")
        #expect(texts.stdout == "[\"A\", \"\", \"  \", \"B\"]\n")
        #expect(texts.status == 0)
    }

    @Test func twentyThousandArgumentsMapInOrder() throws {
        let count = 20_000
        let out = try CLI.taskhost(["map", "square", "-p", "2"] + (1...count).map(String.init))
        #expect(out.status == 0)
        #expect(out.stdout == "[" + (1...count).map { String($0 * $0) }.joined(separator: ", ") + "]\n")
    }

    // MARK: Bytes and the failure summary

    static let types: String = {
        try! TestSupport.buildPlugin(TestSupport.repositoryRoot + "/Tests/Plugins/types/types.c", name: "types")
    }()

    @Test func hexDecodesInStarmapJSONAndRoundTrips() throws {
        let first = try CLI.taskhost(["starmap", "types.reverse_bytes", "--plugin", Self.types], input: "[\"hex:0102ff\"]\n[\"ab\"]\n")
        #expect(first.stdout == "[\"hex:ff0201\", \"hex:6261\"]\n")
        #expect(first.status == 0)
        // The output, fed back in, gives the input again.
        let lines = try CLI.array(first.stdout).map { "[\"\($0)\"]" }.joined(separator: "\n") + "\n"
        let second = try CLI.taskhost(["starmap", "types.reverse_bytes", "--plugin", Self.types], input: lines)
        #expect(second.stdout == "[\"hex:0102ff\", \"hex:6162\"]\n")
        let bad = try CLI.taskhost(["starmap", "types.reverse_bytes", "--plugin", Self.types], input: "[\"hex:0\"]\n")
        #expect(CLI.error(try CLI.array(bad.stdout)[0])?["message"] as? String
                == "types.reverse_bytes: parameter 'data' expects bytes, got string \"hex:0\"", "\(bad.stdout)")
    }

    @Test func anIntegerForADoubleMustBeExactOnTheCommandLine() throws {
        let out = try CLI.taskhost(["apply", "mathx.scale", "9007199254740993", "1", "--plugin", CLI.mathx])
        #expect(out.status == 2)
        #expect(out.stderr == "taskhost: mathx.scale: parameter 'x' expects double, got '9007199254740993'\n")
        let exact = try CLI.taskhost(["apply", "mathx.scale", "9007199254740992", "1", "--plugin", CLI.mathx])
        #expect(exact.stdout == "9007199254740992.0\n")
        let json = try CLI.taskhost(["starmap", "mathx.scale", "--plugin", CLI.mathx], input: "[9007199254740993, 1]\n[3, 2]\n")
        let items = try CLI.array(json.stdout)
        #expect(CLI.error(items[0])?["message"] as? String == "mathx.scale: parameter 'x' expects double, got int64 9007199254740993")
        #expect(items[1] as? Double == 6.0)
    }

    @Test func theFailureSummaryNamesTheItemOnce() throws {
        let out = try CLI.taskhost(["map", "square", "-"], input: "1\nx\n")
        #expect(out.stderr == """
            taskhost: item 1 failed (invalidArgument): line 2: square.square: parameter 'x' expects int64, got 'x'
            taskhost: 1 of 2 items failed

            """)
        #expect(out.status == 1)
        let apply = try CLI.taskhost(["apply", "faulty.fail", "3", "--plugin", CLI.faulty])
        #expect(apply.stderr == "taskhost: item 0 failed (taskError): faulty.fail(3): refusing 3\ntaskhost: 1 of 1 item failed\n")
        #expect(apply.status == 1)
    }

    // MARK: --verbose

    @Test func verboseSaysWhyEachPathEntryAndFileGaveNothing() throws {
        let folder = TestSupport.temporaryFolder("verbose")
        try "int x;\n".write(toFile: folder + "/notes.so", atomically: true, encoding: .utf8)
        try "".write(toFile: folder + "/plain-file", atomically: true, encoding: .utf8)
        let path = "\(folder)/missing:\(folder):\(folder)/plain-file"
        let out = try CLI.taskhost(["map", "square", "2", "--verbose"], environment: ["TASKHOST_PLUGIN_PATH": path])
        #expect(out.stdout == "[4]\n")
        #expect(out.status == 0)
        let lines = CLI.lines(out.stderr)
        #expect(lines.contains("taskhost: TASKHOST_PLUGIN_PATH entry '\(folder)/missing' does not exist"), "\(lines)")
        #expect(lines.contains("taskhost: TASKHOST_PLUGIN_PATH entry '\(folder)/plain-file' is not a folder"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("taskhost: skipped ") && $0.hasSuffix("/notes.so: it is not an ELF shared library, so it is not a TaskHost plugin") },
                "\(lines)")
        for line in lines { #expect(!line.contains("(explicit)") && !line.contains("(searchPath)") && !line.contains("(builtin)")) }
        // Without --verbose, nothing.
        let quiet = try CLI.taskhost(["map", "square", "2"], environment: ["TASKHOST_PLUGIN_PATH": path])
        #expect(quiet.stderr == "")
    }

    @Test func aSourceFileGivenAsAPluginIsNotASharedLibrary() throws {
        let folder = TestSupport.temporaryFolder("stats")
        try "int x;\n".write(toFile: folder + "/stats.c", atomically: true, encoding: .utf8)
        let out = try CLI.taskhost(["plugins", "--plugin", folder + "/stats.c"])
        #expect(out.status == 2)
        #expect(out.stderr.hasSuffix("/stats.c': it is not an ELF shared library, so it is not a TaskHost plugin\n"), "\(out.stderr)")
    }

    // MARK: Big bytes results

    @Test func aBigBytesResultStreamsOutAsExactHex() throws {
        let count = 3 << 20 + 5   // several output slices and a ragged end
        let apply = try CLI.taskhost(["apply", "types.filled", String(count), "171", "--plugin", Self.types])
        #expect(apply.status == 0)
        #expect(apply.stdout.count == count * 2 + 7)
        #expect(apply.stdout == "\"hex:" + String(repeating: "ab", count: count) + "\"\n")
        let stream = try CLI.taskhost(["starmap", "types.filled", "--plugin", Self.types, "--jsonl"],
                                      input: "[\(count), 1]\n[2, 255]\n")
        #expect(stream.stdout == "{\"index\": 0, \"result\": \"hex:" + String(repeating: "01", count: count)
                + "\"}\n{\"index\": 1, \"result\": \"hex:ffff\"}\n")
    }
}
