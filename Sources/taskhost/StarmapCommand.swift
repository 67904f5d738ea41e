import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

struct StarmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "starmap",
        abstract: "Run a task once per line of JSON arguments (from --args FILE or stdin); print a JSON array of results.",
        discussion: "Each line is a JSON array of the task's arguments, e.g. [1.5, 2]. A bad line fails only its own item. Results stream out as they come.")

    @OptionGroup var host: HostOptions
    @OptionGroup var pool: PoolOptions
    @OptionGroup var output: StreamOptions

    @Argument(help: "The task, as PLUGIN.TASK or its bare name.")
    var task: String

    @Option(name: .customLong("args"), help: ArgumentHelp("Read the argument lines from FILE instead of stdin.", valueName: "FILE"))
    var argsFile: String?

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            let task = try host.task(named: self.task)
            var fd: Int32 = 0
            if let path = argsFile {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw CLIError.usage("cannot read --args file '\(path)': \(String(cString: strerror(errno)))") }
            }
            let pool = try self.pool.makePool(host)
            let channel = ChannelSource()
            let stream = try pool.imap(task, channel: channel, ordered: !output.unordered,
                                       chunksize: self.pool.chunksize, deadline: self.pool.deadline)
            readLines(from: fd, into: channel) { line, number in
                do {
                    return .success(try JSON.parseArgumentLine(line))
                } catch let error as JSON.ParseError {
                    return .failure(TaskHostError(.invalidArgument, "line \(number) is not a JSON array of arguments: \(error.message)"))
                } catch {
                    return .failure(TaskHostError(.invalidArgument, "line \(number): \(error)"))
                }
            }
            try printStream(stream, total: nil, jsonl: output.jsonl)
            pool.close()
        }
    }
}
