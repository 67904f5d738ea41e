import ArgumentParser
import TaskHost

/// Options of every subcommand that loads plugins.
struct HostOptions: ParsableArguments {
    @Option(name: .customLong("plugin"), help: ArgumentHelp("Load this plugin file too (repeatable).", valueName: "FILE"))
    var pluginFiles: [String] = []

    @Flag(name: .long, help: "Say which plugin-path entries and files gave no plugin, and why.")
    var verbose = false

    @Option(name: .customLong("load-timeout"),
            help: ArgumentHelp("Refuse a plugin file that takes longer than this to load (default: 10).", valueName: "SECONDS"))
    var loadTimeout: Double = PluginHost.defaultLoadTimeout

    @Option(name: .customLong("shared"),
            help: ArgumentHelp("Create a shared object for the tasks, e.g. jobs=queue:1024 (repeatable; see the README).", valueName: "NAME=SPEC"))
    var shared: [String] = []

    func validate() throws {
        guard loadTimeout > 0 else { throw ValidationError("--load-timeout must be a positive number of seconds, not '\(loadTimeout)'") }
    }

    func makeHost() throws -> PluginHost {
        let host = try PluginHost(pluginFiles: pluginFiles, loadTimeout: loadTimeout)
        try SharedForRun.create(shared, on: host)
        // Plugin files that misbehaved while loading are always worth a line.
        for warning in host.catalog.warnings { printError("taskhost: \(warning)") }
        if verbose { for note in host.catalog.notes { printError("taskhost: \(note)") } }
        return host
    }
}

/// Options of the subcommands that run a pool.
struct PoolOptions: ParsableArguments {
    @Option(name: [.customShort("p"), .customLong("processes")], help: ArgumentHelp("Worker processes (default: the number of cores).", valueName: "N"))
    var processes: Int?

    @Option(help: ArgumentHelp("Items sent to a worker at once (default: as Python's Pool computes it).", valueName: "K"))
    var chunksize: Int?

    @Option(name: .customLong("timeout"),
            help: ArgumentHelp("Fail an item that runs longer than this (its worker is killed); inf: none.", valueName: "SECONDS"))
    var timeoutOption: Double?

    @Option(name: .customLong("deadline"),
            help: ArgumentHelp("Cancel whatever is not finished this long after the start; inf: none.", valueName: "SECONDS"))
    var deadlineOption: Double?

    @Option(name: .customLong("memory-limit"), help: ArgumentHelp("Address space per worker, e.g. 512M (K, M, G, T: KiB, MiB, GiB, TiB).", valueName: "SIZE"))
    var memoryLimit: String?

    @Option(name: .customLong("max-tasks-per-child"), help: ArgumentHelp("Replace a worker after this many items.", valueName: "N"))
    var maxTasksPerChild: Int?

    @Option(help: ArgumentHelp("Extra attempts for an item whose worker crashed, exited or timed out (at most \(Self.maxRetries)).", valueName: "N"))
    var retries: Int = 0

    @Option(help: ArgumentHelp("A task run once in each new worker before any item.", valueName: "TASK"))
    var initializer: String?

    @Option(name: .customLong("initializer-arg"), help: ArgumentHelp("An argument of the initializer (repeatable).", valueName: "VALUE"))
    var initializerArguments: [String] = []

    @OptionGroup var sandbox: SandboxOptions

    @Flag(help: "Spread the items over the ranks of an MPI job (run under mpirun; -p is per rank). See README, Running on a cluster.")
    var mpi = false

    static let maxRetries = 1000

    /// The item timeout in seconds; nil for none (`inf`).
    var timeout: Double? { timeoutOption.flatMap { $0.isInfinite ? nil : $0 } }
    /// The deadline in seconds from the start; nil for none (`inf`).
    var deadline: Double? { deadlineOption.flatMap { $0.isInfinite ? nil : $0 } }

    func validate() throws {
        if let p = processes, p < 1 { throw ValidationError("-p must be at least 1, got \(p)") }
        if let c = chunksize, c < 1 { throw ValidationError("--chunksize must be at least 1, got \(c)") }
        try checkSeconds(timeoutOption, option: "--timeout")
        try checkSeconds(deadlineOption, option: "--deadline")
        if let m = maxTasksPerChild, m < 1 { throw ValidationError("--max-tasks-per-child must be at least 1, got \(m)") }
        guard (0...Self.maxRetries).contains(retries) else {
            throw ValidationError("--retries must be 0 to \(Self.maxRetries), got \(retries)")
        }
        if let text = memoryLimit, parseSize(text) == nil {
            throw ValidationError("--memory-limit: '\(text)' is not a size (examples: 512M, 2G, 65536K; at most 16383P)")
        }
    }

    func makePool(_ host: PluginHost, output: TaskOutput = .stderr) throws -> any TaskPool {
        try makePool(host, output: output, sandbox: try sandbox.requested())
    }

    func makePool(_ host: PluginHost, output: TaskOutput, sandbox: Sandbox?) throws -> any TaskPool {
        var initializerSpec: (task: String, arguments: [Value])?
        if let name = initializer {
            let task = try host.task(named: name)
            initializerSpec = (task.qualifiedName, try task.parseArguments(initializerArguments).get())
        }
        if mpi {
            return try makeClusterPool(host, processes: processes, taskTimeout: timeout,
                                       memoryLimit: memoryLimit.flatMap(parseSize), maxTasksPerChild: maxTasksPerChild,
                                       retries: retries, initializer: initializerSpec, taskOutput: output, sandbox: sandbox)
        }
        return try Pool(host: host, processes: processes, taskTimeout: timeout,
                        memoryLimit: memoryLimit.flatMap(parseSize), maxTasksPerChild: maxTasksPerChild,
                        retries: retries, initializer: initializerSpec, taskOutput: output, sandbox: sandbox)
    }
}

/// The longest timeout or deadline: about 31 years, far below where
/// nanoseconds overflow. `inf` means none.
let maxSeconds = 1e9

/// Checks a SECONDS option: positive, a number, at most `maxSeconds`, or `inf`.
func checkSeconds(_ value: Double?, option: String) throws {
    guard let value else { return }
    if value.isNaN { throw ValidationError("\(option) must be a number of seconds, got nan") }
    if !(value > 0) { throw ValidationError("\(option) must be positive, got \(formatNumber(value))") }
    if value.isFinite && value > maxSeconds {
        throw ValidationError("\(option) must be at most \(formatNumber(maxSeconds)) seconds, got \(formatNumber(value)) (inf: none)")
    }
}

/// A number as the user would write it: `1`, `2.5`, `1e+300`.
func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}

/// `512M` → bytes. K, M, G (optionally followed by B or iB) are powers of 1024.
func parseSize(_ text: String) -> UInt64? {
    var digits = text.trimmingCharacters(in: " ").uppercased()
    for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
        digits.removeLast(suffix.count)
    }
    var multiplier: UInt64 = 1
    if let last = digits.last, let shift = ["K": 10, "M": 20, "G": 30, "T": 40, "P": 50][String(last)] {
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
