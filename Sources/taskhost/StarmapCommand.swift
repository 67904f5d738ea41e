import ArgumentParser
import Foundation
import TaskHost

struct StarmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "starmap",
        abstract: "Run a task once per line of JSON arguments (from --args FILE or stdin); print a JSON array of results.",
        discussion: "Each line is a JSON array of the task's arguments, e.g. [1.5, 2]. A bad line fails only its own item.")

    @OptionGroup var host: HostOptions
    @OptionGroup var pool: PoolOptions

    @Argument(help: "The task, as PLUGIN.TASK or its bare name.")
    var task: String

    @Option(name: .customLong("args"), help: ArgumentHelp("Read the argument lines from FILE instead of stdin.", valueName: "FILE"))
    var argsFile: String?

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            let task = try host.task(named: self.task)
            let text: String
            if let path = argsFile {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CLIError.usage("cannot read --args file '\(path)'")
                }
                text = String(decoding: data, as: UTF8.self)
            } else {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { String($0) }.filter { !$0.trimmingCharacters(in: " \t\r").isEmpty }
            // A line that isn't valid JSON fails its item; it never stops the others.
            var badLines: [Int: TaskHostError] = [:]
            var argumentLists: [[Value]] = []
            for (index, line) in lines.enumerated() {
                do {
                    argumentLists.append(try JSON.parseArgumentLine(line))
                } catch let error as JSON.ParseError {
                    badLines[index] = TaskHostError(.invalidArgument, "item \(index): line \(index + 1) is not a JSON array of arguments: \(error.message)")
                    argumentLists.append([])
                }
            }
            let pool = try self.pool.makePool(host)
            let good = argumentLists.indices.filter { badLines[$0] == nil }
            let results = try pool.starmap(task.qualifiedName, good.map { argumentLists[$0] },
                                           chunksize: self.pool.chunksize, deadline: self.pool.deadline)
            pool.close()
            var all: [TaskResult] = Array(repeating: .success(.void), count: lines.count)
            for (k, index) in good.enumerated() { all[index] = renumber(results[k], from: k, to: index) }
            for (index, error) in badLines { all[index] = .failure(error) }
            try reportResults(all)
        }
    }

    /// Item messages name the item's position; keep it the line's position.
    private func renumber(_ result: TaskResult, from: Int, to: Int) -> TaskResult {
        guard from != to, case .failure(var error) = result, error.message.hasPrefix("item \(from):") else { return result }
        error.message = "item \(to):" + error.message.dropFirst("item \(from):".count)
        return .failure(error)
    }
}
