import ArgumentParser
import TaskHost

struct ApplyCommand: TakesItems {
    static let configuration = CommandConfiguration(commandName: "apply",
        abstract: "Run one call of a task in a worker; print its JSON result.")

    @OptionGroup var host: HostOptions
    @OptionGroup var pool: PoolOptions

    @Argument(help: "The task, as PLUGIN.TASK or its bare name.")
    var task: String

    @Argument(help: "The task's arguments (negative numbers are fine; other values that start with - go after --).")
    var arguments: [String] = []
    var items: [String] { get { arguments } set { arguments = newValue } }

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            let task = try host.task(named: self.task)
            let values = try task.parseArguments(arguments).get()
            var options = self.pool
            if options.processes == nil { options.processes = 1 }
            let pool = try options.makePool(host)
            let result = try pool.starmap(task, [values], chunksize: 1, deadline: options.deadline)[0]
            pool.close()
            var out = OutputWriter()
            out.appendJSON(result)
            out.append("\n")
            out.flush()
            var failures = FailureSummary()
            if case .failure(let error) = result { failures.add(error, at: 0) }
            try failures.report(total: 1)
        }
    }
}
