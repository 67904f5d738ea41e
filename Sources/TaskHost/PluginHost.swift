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
    /// The shared objects this host made (Shared/).
    let sharing: SharedObjects
    /// The process id of this host's fork server (the parent of every
    /// worker). A fork server that dies is replaced: this is the current one.
    public var forkServerPID: Int32 { supervisor.serverPID.load(ordering: .relaxed) }

    /// The load timeout when none is given: the longest one plugin file may
    /// take to load, in seconds.
    public static let defaultLoadTimeout: Double = 10

    /// Loads plugins from `pluginFiles` (each must be a valid plugin), the
    /// folders in `pluginPath` (default: `TASKHOST_PLUGIN_PATH`), and — when
    /// `includeBuiltin` — the shipped plugins: the folder of the binary that
    /// holds TaskHost (the executable, or libTaskHost.so), or in an installed
    /// layout its `taskhost/plugins/`. When two plugins share a name the more
    /// explicit source wins.
    ///
    /// No plugin file can break this: one that exits, crashes, hangs past
    /// `loadTimeout`, or leaves a process or thread behind while it loads is
    /// refused (an error naming it when it is in `pluginFiles`, else an entry
    /// of `catalog.warnings`), and the others load.
    ///
    /// - Parameters:
    ///   - pluginFiles: plugin files to load; each must be a valid plugin.
    ///   - pluginPath: colon-separated folders whose `*.so` files are loaded
    ///     (files that are not plugins are skipped); nil: `TASKHOST_PLUGIN_PATH`.
    ///   - includeBuiltin: also load the shipped plugins.
    ///   - loadTimeout: the longest one plugin file may take to load, in
    ///     seconds (positive; infinity for no limit).
    public convenience init(pluginFiles: [String] = [], pluginPath: String? = nil, includeBuiltin: Bool = true,
                            loadTimeout: Double = PluginHost.defaultLoadTimeout) throws {
        try self.init(pluginFiles: pluginFiles, pluginPath: pluginPath, includeBuiltin: includeBuiltin,
                      loadTimeout: loadTimeout, exitsByWaitpid: false)
    }

    /// As the public initializer; `exitsByWaitpid` makes the fork server
    /// reap workers and report their exits itself even where this kernel
    /// hands the host their statuses through pidfds — the path of kernels
    /// before 6.15, for the tests of that path.
    init(pluginFiles: [String], pluginPath: String?, includeBuiltin: Bool, loadTimeout: Double,
         exitsByWaitpid: Bool) throws {
        guard loadTimeout > 0 else {
            throw TaskHostError(.invalidArgument, "the load timeout must be a positive number of seconds, not \(loadTimeout)")
        }
        let searchPath = pluginPath ?? ProcessInfo.processInfo.environment["TASKHOST_PLUGIN_PATH"]
        let candidates = try PluginDiscovery.candidates(
            explicitFiles: pluginFiles, searchPath: searchPath,
            builtin: includeBuiltin ? PluginDiscovery.builtinFolders() : [])
        let (server, verdicts) = try PluginLoading(executable: try HostLocation.forkServerPath(), candidates: candidates,
                                                   timeout: loadTimeout, exitsByWaitpid: exitsByWaitpid).run()
        let catalog = try PluginCatalog.build(candidates, verdicts: verdicts,
                                              notes: PluginDiscovery.searchPathNotes(searchPath))
        self.catalog = catalog
        let executable = try HostLocation.forkServerPath()
        // A replacement server loads the same files and must offer the same tasks at the same places.
        supervisor = Supervisor(server: server, startServer: {
            let (server, verdicts) = try PluginLoading(executable: executable, candidates: candidates, timeout: loadTimeout,
                                                       exitsByWaitpid: exitsByWaitpid).run()
            guard try PluginCatalog.build(candidates, verdicts: verdicts).plugins == catalog.plugins else {
                throw TaskHostError(.systemError, "the plugin files changed since the host started")
            }
            return server
        })
        sharing = SharedObjects(supervisor: supervisor)
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
