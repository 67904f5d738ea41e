import ArgumentParser

@main
struct TaskHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskhost",
        abstract: "Run task plugins in isolated, crash-safe worker processes.",
        discussion: "A task is named PLUGIN.TASK, or by its bare name when only one plugin has it.",
        subcommands: [DemoCommand.self, PluginsCommand.self, MapCommand.self, StarmapCommand.self,
                      ApplyCommand.self, RunCommand.self, FilterCommand.self, BenchCommand.self])

    /// Bad usage that ArgumentParser catches (`-p 0`, `--memory-limit 12Q`, an
    /// unknown option) is one line on stderr and exit status 2, as the CLI's
    /// own usage errors; ArgumentParser alone would add the usage and exit 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            printError("taskhost: " + message(for: error).split(separator: "\n").joined(separator: " "))
            exit(withError: ExitCode(2))
        }
    }
}
