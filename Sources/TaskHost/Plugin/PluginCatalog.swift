import CTaskHost

/// The plugins a host has loaded, and the lookup of tasks by name.
public struct PluginCatalog: Sendable {
    /// The plugins in effect, by name (one per name: the most explicit source won).
    public private(set) var plugins: [PluginInfo] = []
    /// Notes for `--verbose`: files skipped as not plugins (or broken ones) and shadowed plugins.
    public private(set) var notes: [String] = []

    /// Plugin files that misbehaved while loading (exited, crashed, hung,
    /// left a process or thread behind), each naming the file and what it
    /// did. They were refused and the rest loaded; tell the user.
    public private(set) var warnings: [String] = []

    /// Builds the catalog from each candidate's verdict. An explicit file
    /// that is not a valid plugin is an error naming it.
    /// `notes` starts the `--verbose` notes (e.g. search-path entries that gave no files).
    static func build(_ candidates: [PluginCandidate], verdicts: [LoadVerdict], notes: [String] = []) throws -> PluginCatalog {
        var catalog = PluginCatalog()
        catalog.notes = notes
        var byName: [String: PluginCandidate] = [:]
        for (candidate, verdict) in zip(candidates, verdicts) {
            let plugin: PluginInfo
            switch verdict {
            case .loaded(let info): plugin = info
            case .refused(let reason), .misbehaved(let reason):
                if candidate.source == .explicit {
                    throw TaskHostError(.pluginError, "cannot load plugin file '\(candidate.path)': \(reason)")
                }
                if case .misbehaved = verdict {
                    catalog.warnings.append("skipped plugin file '\(candidate.path)': \(reason)")
                } else {
                    catalog.notes.append("skipped \(candidate.path): \(reason)")
                }
                continue
            }
            if let winner = byName[plugin.name] {
                catalog.notes.append("plugin '\(plugin.name)' in \(candidate.path) (from \(candidate.source.userDescription))"
                                     + " is not used: the one in \(winner.path) (from \(winner.source.userDescription)) comes first")
                continue
            }
            byName[plugin.name] = candidate
            catalog.plugins.append(plugin)
        }
        catalog.plugins.sort { $0.name < $1.name }
        return catalog
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
        plugins.isEmpty ? Self.noPluginsLoaded : " (loaded plugins: \(plugins.map(\.name).joined(separator: ", ")))"
    }

    /// Where plugins come from, for a program that found none (often a dependent
    /// package that did not depend on the shipped plugins' products).
    static let noPluginsLoaded = """
         (no plugins are loaded: plugins are the lib*.so files beside the program, in TASKHOST_PLUGIN_PATH \
        or given as plugin files; the shipped ones are the TaskHost package's library products square, \
        print, text, ipc and imagefilter: add those you use to your executable target's dependencies)
        """

    private func suggestion(_ name: String, among candidates: [String], prefix: String = "") -> String {
        closestName(to: name, among: candidates).map { "; did you mean '\(prefix)\($0)'?" } ?? ""
    }
}

extension PluginInfo {
    /// Reads a descriptor (th__msg_descriptor_get and friends, th_protocol.h)
    /// of the plugin at `index` in the server's list; nil when malformed.
    static func read(_ reader: inout FrameReader, path: String, index: UInt32) -> PluginInfo? {
        var plugin = th__msg_descriptor()
        guard th__msg_descriptor_get(&reader.raw, &plugin) == 0 else { return nil }
        let name = String(cBytes: plugin.name, count: plugin.name_length)
        var tasks: [TaskInfo] = []
        tasks.reserveCapacity(Int(plugin.task_count))
        for t in 0..<plugin.task_count {
            var task = th__msg_task()
            guard th__msg_task_get(&reader.raw, &task) == 0 else { return nil }
            var params: [Parameter] = []
            for _ in 0..<task.param_count {
                var param = th__msg_param()
                guard th__msg_param_get(&reader.raw, &param) == 0, let type = ValueType(rawValue: param.type) else { return nil }
                params.append(Parameter(name: String(cBytes: param.name, count: param.name_length), type: type))
            }
            guard let result = ValueType(rawValue: task.result) else { return nil }
            tasks.append(TaskInfo(plugin: name, name: String(cBytes: task.name, count: task.name_length),
                                  summary: String(cBytes: task.summary, count: task.summary_length), parameters: params,
                                  result: result, pluginIndex: index, taskIndex: t))
        }
        return PluginInfo(name: name, version: String(cBytes: plugin.version, count: plugin.version_length),
                          summary: String(cBytes: plugin.summary, count: plugin.summary_length), path: path, tasks: tasks)
    }
}
