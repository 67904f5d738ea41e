import Foundation

/// The entry point of TaskHost: finds and loads plugins (in a fork server,
/// so a plugin that crashes while loading can't take this process down) and
/// runs their tasks in pools and processes.
///
/// ```swift
/// let host = try PluginHost()
/// let pool = try Pool(host: host, processes: 2)
/// let squares = try pool.map("square", [1, 2, 3, 4, 5])   // [1, 4, 9, 16, 25]
/// ```
// @unchecked Sendable: immutable after init; `supervisor` is itself thread-safe (its state is confined to its thread).
public final class PluginHost: @unchecked Sendable {
    /// The loaded plugins and the task lookup.
    public let catalog: PluginCatalog
    let supervisor: Supervisor
    /// The process id of this host's fork server (the parent of every worker).
    public let forkServerPID: Int32

    /// Loads plugins from `pluginFiles` (each must be a valid plugin), the
    /// folders in `pluginPath` (default: `TASKHOST_PLUGIN_PATH`), and — when
    /// `includeBuiltin` — the shipped plugins: the folder of the binary that
    /// holds TaskHost (the executable, or libTaskHost.so), or in an installed
    /// layout its `taskhost/plugins/`. When two plugins share a name the more
    /// explicit source wins.
    public init(pluginFiles: [String] = [], pluginPath: String? = nil, includeBuiltin: Bool = true) throws {
        let server = try ForkServer(executable: try HostLocation.forkServerPath())
        let searchPath = pluginPath ?? ProcessInfo.processInfo.environment["TASKHOST_PLUGIN_PATH"]
        let candidates = try PluginDiscovery.candidates(
            explicitFiles: pluginFiles, searchPath: searchPath,
            builtin: includeBuiltin ? PluginDiscovery.builtinFolders() : [])
        catalog = try PluginCatalog.load(candidates, server: server)
        forkServerPID = server.pid
        supervisor = Supervisor(server: server)
    }

    deinit { supervisor.shutdown() }

    /// The loaded plugins, by name.
    public var plugins: [PluginInfo] { catalog.plugins }

    /// A task by `PLUGIN.TASK` or unambiguous bare name; `invalidArgument`,
    /// with the closest name, when there is none.
    public func task(named name: String) throws -> TaskInfo { try catalog.task(named: name) }
}

/// A task as `Pool` and `WorkerProcess` take it: its name (`"square"`,
/// `"text.upper"`), or the `TaskInfo` that `host.task(named:)` returned —
/// resolved once, then passed down without another lookup.
public protocol TaskReference: Sendable {
    /// The task this names, among `host`'s.
    func resolve(in host: PluginHost) throws -> TaskInfo
}

extension String: TaskReference {
    public func resolve(in host: PluginHost) throws -> TaskInfo { try host.task(named: self) }
}

extension TaskInfo: TaskReference {
    /// Itself: a `TaskInfo` must come from this host (its plugin list).
    public func resolve(in host: PluginHost) throws -> TaskInfo { self }
}
