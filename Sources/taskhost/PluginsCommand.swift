import ArgumentParser
import TaskHost

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plugins",
        abstract: "List the plugins found, with each task's signature and summary.")

    @OptionGroup var host: HostOptions

    func run() throws {
        try runReportingErrors {
            let host = try self.host.makeHost()
            for plugin in host.plugins {
                print("\(plugin.name) \(plugin.version) — \(plugin.summary)")
                if self.host.verbose { print("  from \(plugin.path)") }
                for task in plugin.tasks {
                    print("  \(task.signature)" + (task.summary.isEmpty ? "" : "  — \(task.summary)"))
                }
            }
        }
    }
}
