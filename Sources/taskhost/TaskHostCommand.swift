import ArgumentParser
import TaskHost

@main
struct TaskHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskhost",
        abstract: "Run task plugins in isolated, crash-safe worker processes.",
        discussion: """
        A task is named PLUGIN.TASK, or by its bare name when only one plugin has it.
        Shell completions: taskhost --generate-completion-script bash (or zsh, fish).
        """,
        version: taskHostVersion,
        subcommands: [DemoCommand.self, PluginsCommand.self, MapCommand.self, StarmapCommand.self,
                      ApplyCommand.self, RunCommand.self, FilterCommand.self, BenchCommand.self])

    /// Bad usage — an unknown subcommand or option (see `CommandLineScan`),
    /// or what ArgumentParser catches (`-p 0`, `--memory-limit 12Q`) — is one
    /// line on stderr and exit status 2, as the CLI's own usage errors;
    /// ArgumentParser alone would add the usage and exit 64. Under mpirun with
    /// `--mpi`, rank 0 alone prints it (`ClusterUsageError`).
    static func main() {
        do {
            let scan = try CommandLineScan.scan(Array(CommandLine.arguments.dropFirst()), root: self)
            var command = try parseAsRoot(scan.arguments)
            if let items = scan.items, var takesItems = command as? any TakesItems {
                takesItems.items = items
                command = takesItems
            }
            try command.run()
        } catch CLIError.usage(let message) {
            ClusterUsageError.exit("taskhost: " + message)
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            ClusterUsageError.exit("taskhost: " + message(for: error).split(separator: "\n").joined(separator: " "))
        }
    }
}
