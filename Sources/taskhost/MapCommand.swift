import ArgumentParser
import TaskHost

struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "map",
        abstract: "Run a one-parameter task over each ARG in a pool; print a JSON array of results.",
        discussion: "Example: taskhost map square 1 2 3 4 5 -p 2   prints [1, 4, 9, 16, 25]")

    @OptionGroup var host: HostOptions
    @OptionGroup var pool: PoolOptions

    @Argument(help: "The task, as PLUGIN.TASK or its bare name.")
    var task: String

    @Argument(parsing: .allUnrecognized, help: "One argument per item (negative numbers are fine).")
    var arguments: [String] = []

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            let task = try host.task(named: self.task)
            guard task.parameters.count == 1 else {
                throw CLIError.usage("map needs a task with one parameter; \(task.signature) has \(task.parameters.count) (use starmap)")
            }
            let values = try arguments.map { try parseArguments([$0], for: task)[0] }
            let pool = try self.pool.makePool(host)
            let results = try pool.map(task.qualifiedName, values, chunksize: self.pool.chunksize, deadline: self.pool.deadline)
            pool.close()
            try reportResults(results)
        }
    }
}
