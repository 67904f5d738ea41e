import ArgumentParser
import TaskHost

struct MapCommand: TakesItems {
    static let configuration = CommandConfiguration(commandName: "map",
        abstract: "Run a one-parameter task over each argument in a pool; print a JSON array of results.",
        discussion: """
        Example: taskhost map square 1 2 3 4 5 -p 2   prints [1, 4, 9, 16, 25]

        With - as the only argument, reads one argument per line from stdin (seq 1 1000 | taskhost map square -); \
        every line is an item, a blank one too. Results stream out as they come, and memory stays flat however \
        long the input.
        """)

    @OptionGroup var host: HostOptions
    @OptionGroup var pool: PoolOptions
    @OptionGroup var output: StreamOptions

    @Argument(help: "The task, as PLUGIN.TASK or its bare name.")
    var task: String

    @Argument(help: ArgumentHelp("One argument per item (negative numbers are fine; other values that start with - go after --), or - for stdin.", valueName: "arguments"))
    var arguments: [String] = []
    var items: [String] { get { arguments } set { arguments = newValue } }

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            let task = try host.task(named: self.task)
            guard task.parameters.count == 1 else {
                throw CLIError.usage("map needs a task with one parameter; \(task.signature) has \(task.parameters.count) (use starmap)")
            }
            let pool = try self.pool.makePool(host)
            let stream: ResultStream
            var total: Int?
            if arguments == ["-"] {
                let channel = ChannelSource()
                stream = try pool.imap(task, channel: channel, ordered: !output.unordered,
                                       chunksize: self.pool.chunksize, deadline: self.pool.deadline)
                readLines(into: channel) { line, number in
                    task.parseArguments([line]).mapError { error in
                        TaskHostError(error.kind, "line \(number): \(error.message)", detail: error.message)
                    }
                }
            } else {
                // Command-line values are checked before any worker runs.
                let values = try arguments.map { try task.parseArguments([$0]).get()[0] }
                total = values.count
                let chunksize = self.pool.chunksize ?? pool.defaultChunksize(for: values.count)
                stream = try pool.imap(task, values: values, ordered: !output.unordered, chunksize: chunksize,
                                       deadline: self.pool.deadline)
            }
            try printStream(stream, total: total, jsonl: output.jsonl)
            pool.close()
        }
    }
}
