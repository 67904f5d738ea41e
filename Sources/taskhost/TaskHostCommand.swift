import ArgumentParser

@main
struct TaskHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskhost",
        abstract: "Run task plugins in isolated, crash-safe worker processes.",
        discussion: "A task is named PLUGIN.TASK, or by its bare name when only one plugin has it.",
        subcommands: [DemoCommand.self, PluginsCommand.self, MapCommand.self, StarmapCommand.self,
                      ApplyCommand.self, RunCommand.self, FilterCommand.self, BenchCommand.self])
}
