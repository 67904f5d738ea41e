import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

struct RunCommand: TakesItems {
    static let configuration = CommandConfiguration(commandName: "run",
        abstract: "Start one process per zero-argument task, join them all, then print 'Processes finished'.",
        discussion: "The seed's first program: taskhost run print_numbers print_letters")

    @OptionGroup var host: HostOptions

    @Argument(help: "Zero-argument tasks, each run in its own process.")
    var tasks: [String]
    var items: [String] { get { tasks } set { tasks = newValue } }

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Kill a process that runs longer than this; inf: none.", valueName: "SECONDS"))
    var timeoutOption: Double?

    func validate() throws { try checkSeconds(timeoutOption, option: "--timeout") }

    @OptionGroup var sandbox: SandboxOptions

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            try runProcesses(host, tasks, timeout: timeoutOption.flatMap { $0.isInfinite ? nil : $0 },
                             sandbox: try sandbox.requested())
        }
    }
}

/// Starts every task in its own process, joins them, prints "Processes finished".
func runProcesses(_ host: PluginHost, _ names: [String], timeout: Double? = nil, sandbox: Sandbox? = nil) throws {
    var processes: [WorkerProcess] = []
    for name in names {
        let task = try host.task(named: name)
        guard task.parameters.isEmpty else {
            throw CLIError.usage("run needs tasks without parameters; \(task.signature) has \(task.parameters.count)")
        }
        processes.append(try WorkerProcess(host: host, task: task, timeout: timeout, sandbox: sandbox))
    }
    fflush(nil)
    for process in processes { try process.start() }
    for process in processes { process.join() }
    print("Processes finished")
    var failures = FailureSummary(noun: "process")
    for (position, (name, process)) in zip(names, processes).enumerated() {
        if case .failure(let error) = process.result ?? .failure(TaskHostError(.cancelled, "no result")) {
            failures.add(error, at: position, label: name)
        }
    }
    try failures.report(total: processes.count)
}
