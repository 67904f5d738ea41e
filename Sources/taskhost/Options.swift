import ArgumentParser
import TaskHost

/// Options of every subcommand that loads plugins.
struct HostOptions: ParsableArguments {
    @Option(name: .customLong("plugin"), help: ArgumentHelp("Load this plugin file too (repeatable).", valueName: "FILE"))
    var pluginFiles: [String] = []

    @Flag(name: .long, help: "Say which plugin files were skipped or shadowed.")
    var verbose = false

    func makeHost() throws -> PluginHost {
        let host = try PluginHost(pluginFiles: pluginFiles)
        if verbose { for note in host.catalog.notes { printError("taskhost: \(note)") } }
        return host
    }
}

/// Options of the subcommands that run a pool.
struct PoolOptions: ParsableArguments {
    @Option(name: [.customShort("p"), .customLong("processes")], help: "Worker processes (default: the number of cores).")
    var processes: Int?

    @Option(help: "Items sent to a worker at once (default: as Python's Pool computes it).")
    var chunksize: Int?

    @Option(help: ArgumentHelp("Fail an item that runs longer than this (its worker is killed).", valueName: "SECONDS"))
    var timeout: Double?

    @Option(help: ArgumentHelp("Cancel whatever is not finished this long after the start.", valueName: "SECONDS"))
    var deadline: Double?

    @Option(name: .customLong("memory-limit"), help: ArgumentHelp("Address space per worker, e.g. 512M (K, M, G: KiB, MiB, GiB).", valueName: "SIZE"))
    var memoryLimit: String?

    @Option(name: .customLong("max-tasks-per-child"), help: "Replace a worker after this many items.")
    var maxTasksPerChild: Int?

    @Option(help: "Extra attempts for an item whose worker crashed, exited or timed out.")
    var retries: Int = 0

    @Option(help: ArgumentHelp("A task run once in each new worker before any item.", valueName: "TASK"))
    var initializer: String?

    @Option(name: .customLong("initializer-arg"), help: ArgumentHelp("An argument of the initializer (repeatable).", valueName: "VALUE"))
    var initializerArguments: [String] = []

    func validate() throws {
        if let p = processes, p < 1 { throw ValidationError("-p must be at least 1, got \(p)") }
        if let c = chunksize, c < 1 { throw ValidationError("--chunksize must be at least 1, got \(c)") }
        if let t = timeout, !(t > 0) { throw ValidationError("--timeout must be positive, got \(t)") }
        if let d = deadline, !(d > 0) { throw ValidationError("--deadline must be positive, got \(d)") }
        if let m = maxTasksPerChild, m < 1 { throw ValidationError("--max-tasks-per-child must be at least 1, got \(m)") }
        if retries < 0 { throw ValidationError("--retries must be 0 or more, got \(retries)") }
        if let text = memoryLimit, parseSize(text) == nil {
            throw ValidationError("--memory-limit: '\(text)' is not a size (examples: 512M, 2G, 65536K)")
        }
    }

    func makePool(_ host: PluginHost, output: TaskOutput = .stderr) throws -> Pool {
        var initializerSpec: (task: String, arguments: [Value])?
        if let name = initializer {
            let task = try host.task(named: name)
            initializerSpec = (name, try parseArguments(initializerArguments, for: task))
        }
        return try Pool(host: host, processes: processes, taskTimeout: timeout,
                        memoryLimit: memoryLimit.flatMap(parseSize), maxTasksPerChild: maxTasksPerChild,
                        retries: retries, initializer: initializerSpec, taskOutput: output)
    }
}

/// `512M` → bytes. K, M, G (optionally followed by B or iB) are powers of 1024.
func parseSize(_ text: String) -> UInt64? {
    var digits = text.trimmingCharacters(in: " ").uppercased()
    for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
        digits.removeLast(suffix.count)
    }
    var multiplier: UInt64 = 1
    if let last = digits.last, let shift = ["K": 10, "M": 20, "G": 30, "T": 40][String(last)] {
        multiplier = 1 << UInt64(shift)
        digits.removeLast()
    }
    guard let value = UInt64(digits), value > 0 else { return nil }
    let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : bytes
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// Parses command-line words as a task's arguments; the error names the task,
/// the parameter, its type and the word.
func parseArguments(_ words: [String], for task: TaskInfo) throws -> [Value] {
    guard words.count == task.parameters.count else {
        throw CLIError.usage("\(task.qualifiedName) takes \(task.parameters.count) argument\(task.parameters.count == 1 ? "" : "s") (\(task.signature)), got \(words.count)")
    }
    return try zip(words, task.parameters).map { word, parameter in
        guard let value = Value.parse(word, as: parameter.type) else {
            throw CLIError.usage("\(task.qualifiedName): parameter '\(parameter.name)' expects \(parameter.type), got '\(word)'")
        }
        return value
    }
}
