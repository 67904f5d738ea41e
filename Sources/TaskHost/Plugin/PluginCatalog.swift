import CTaskHost

/// The plugins a host has loaded, and the lookup of tasks by name.
public struct PluginCatalog: Sendable {
    /// The plugins in effect, by name (one per name: the most explicit source won).
    public private(set) var plugins: [PluginInfo] = []
    /// Notes for `--verbose`: skipped files and shadowed plugins.
    public private(set) var notes: [String] = []

    /// Loads `candidates` in the fork server and keeps the valid ones.
    /// An explicit file that is not a valid plugin is an error naming it.
    static func load(_ candidates: [PluginCandidate], server: ForkServer) throws -> PluginCatalog {
        let frame = FrameBuilder()
        frame.begin(TH_MSG_LOAD)
        frame.putU32(UInt32(candidates.count))
        for c in candidates { frame.putString(c.path) }
        frame.end()
        try server.send(frame)
        let reply = try server.receiveBlocking()
        guard Int(reply.type) == TH_MSG_PLUGINS else {
            throw TaskHostError(.systemError, "the fork server answered the plugin list with message \(reply.type)")
        }
        var reader = FrameReader(reply.body)
        let count = Int(reader.u32())
        guard count == candidates.count else { throw TaskHostError(.systemError, "the fork server lost plugin files") }

        var catalog = PluginCatalog()
        var byName: [String: PluginSource] = [:]
        for (index, candidate) in candidates.enumerated() {
            let loaded = reader.u8() == 1
            if !loaded {
                let reason = reader.string()
                if candidate.source == .explicit {
                    throw TaskHostError(.pluginError, "cannot load plugin file '\(candidate.path)': \(reason)")
                }
                catalog.notes.append("skipped \(candidate.path): \(reason)")
                continue
            }
            let plugin = readPlugin(&reader, path: candidate.path, index: UInt32(index))
            if let winner = byName[plugin.name] {
                catalog.notes.append("plugin '\(plugin.name)' at \(candidate.path) is shadowed by one from a more explicit source (\(winner))")
                continue
            }
            byName[plugin.name] = candidate.source
            catalog.plugins.append(plugin)
        }
        guard !reader.failed else { throw TaskHostError(.systemError, "the fork server sent a malformed plugin list") }
        catalog.plugins.sort { $0.name < $1.name }
        return catalog
    }

    private static func readPlugin(_ r: inout FrameReader, path: String, index: UInt32) -> PluginInfo {
        let name = r.string(), version = r.string(), summary = r.string()
        let taskCount = Int(r.u32())
        var tasks: [TaskInfo] = []
        for t in 0..<taskCount where !r.failed {
            let taskName = r.string(), taskSummary = r.string()
            let result = ValueType(rawValue: r.u8()) ?? .void
            _ = r.u32() // flags: the worker's business
            let paramCount = Int(r.u32())
            var params: [Parameter] = []
            for _ in 0..<paramCount where !r.failed {
                let pname = r.string()
                params.append(Parameter(name: pname, type: ValueType(rawValue: r.u8()) ?? .void))
            }
            tasks.append(TaskInfo(plugin: name, name: taskName, summary: taskSummary, parameters: params,
                                  result: result, pluginIndex: index, taskIndex: UInt32(t)))
        }
        return PluginInfo(name: name, version: version, summary: summary, path: path, tasks: tasks)
    }

    /// Finds a task by `PLUGIN.TASK`, or by its bare name when exactly one
    /// plugin has a task of that name. The error says what is wrong, with a
    /// "did you mean" where a name is close.
    public func task(named name: String) throws -> TaskInfo {
        let allTasks = plugins.flatMap(\.tasks)
        if let dot = name.firstIndex(of: ".") {
            let pluginName = String(name[..<dot]), taskName = String(name[name.index(after: dot)...])
            guard let plugin = plugins.first(where: { $0.name == pluginName }) else {
                throw TaskHostError(.invalidArgument,
                    "unknown plugin '\(pluginName)'" + suggestion(pluginName, among: plugins.map(\.name)) + loadedList)
            }
            guard let task = plugin.tasks.first(where: { $0.name == taskName }) else {
                throw TaskHostError(.invalidArgument,
                    "plugin '\(pluginName)' has no task '\(taskName)'" + suggestion(taskName, among: plugin.tasks.map(\.name), prefix: pluginName + ".")
                    + " (its tasks: \(plugin.tasks.map(\.name).joined(separator: ", ")))")
            }
            return task
        }
        let matches = allTasks.filter { $0.name == name }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            throw TaskHostError(.invalidArgument,
                "task name '\(name)' is ambiguous: \(matches.map(\.qualifiedName).joined(separator: ", ")); say which with PLUGIN.TASK")
        }
        let names = allTasks.map(\.name) + allTasks.map(\.qualifiedName)
        throw TaskHostError(.invalidArgument, "unknown task '\(name)'" + suggestion(name, among: names) + loadedList)
    }

    private var loadedList: String {
        plugins.isEmpty ? " (no plugins are loaded)" : " (loaded plugins: \(plugins.map(\.name).joined(separator: ", ")))"
    }

    private func suggestion(_ name: String, among candidates: [String], prefix: String = "") -> String {
        closestName(to: name, among: candidates).map { "; did you mean '\(prefix)\($0)'?" } ?? ""
    }
}
