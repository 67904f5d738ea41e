import CTaskHostAPI

/// What a `th_host *` points at: a PluginHost and its plugin and task
/// listing as C structures.
final class HostBox {
    let host: PluginHost
    private let arena = CArena()
    let plugins: UnsafeMutablePointer<th_plugin_info>
    let pluginCount: Int
    /// Each plugin's tasks.
    let tasks: [UnsafeMutablePointer<th_task_info>]
    /// The C task structure of each task, by qualified name.
    let taskByName: [String: UnsafePointer<th_task_info>]

    init(_ host: PluginHost) {
        self.host = host
        let infos = host.plugins
        pluginCount = infos.count
        plugins = arena.array(of: th_plugin_info.self, infos.count)
        var tasks: [UnsafeMutablePointer<th_task_info>] = []
        var byName: [String: UnsafePointer<th_task_info>] = [:]
        for (p, plugin) in infos.enumerated() {
            plugins[p] = th_plugin_info(name: arena.string(plugin.name), version: arena.string(plugin.version),
                                        summary: arena.string(plugin.summary), path: arena.string(plugin.path),
                                        task_count: plugin.tasks.count)
            let table = arena.array(of: th_task_info.self, plugin.tasks.count)
            for (t, task) in plugin.tasks.enumerated() {
                let names = arena.array(of: UnsafePointer<CChar>?.self, task.parameters.count)
                let types = arena.array(of: th_type.self, task.parameters.count)
                for (i, parameter) in task.parameters.enumerated() {
                    names[i] = arena.string(parameter.name)
                    types[i] = th_type(rawValue: UInt32(parameter.type.rawValue))
                }
                table[t] = th_task_info(name: arena.string(task.name), qualified_name: arena.string(task.qualifiedName),
                                        summary: arena.string(task.summary), signature: arena.string(task.signature),
                                        result: th_type(rawValue: UInt32(task.result.rawValue)),
                                        param_count: task.parameters.count, param_names: UnsafePointer(names),
                                        param_types: UnsafePointer(types))
                byName[task.qualifiedName] = UnsafePointer(table + t)
            }
            tasks.append(table)
        }
        self.tasks = tasks
        taskByName = byName
    }
}

@c(th_host_new) @usableFromInline
func th_host_new_(_ options: UnsafePointer<th_host_options>?, _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    catching(error, failure: nil) {
        var defaults = th_host_options()
        th_host_options_init(&defaults)
        let o = try readOptions(options, defaults: defaults, name: "th_host_options")
        var files: [String] = []
        if o.plugin_file_count > 0 {
            guard let list = o.plugin_files else { throw nullArgument("plugin_files (with \(o.plugin_file_count) files)") }
            for i in 0..<o.plugin_file_count {
                guard let file = list[i] else { throw nullArgument("plugin_files[\(i)]") }
                files.append(String(cString: file))
            }
        }
        guard o.load_timeout > 0 else {  // NaN fails this too
            throw TaskHostError(.invalidArgument, "th_host_options.load_timeout must be a positive number of seconds, not \(o.load_timeout)")
        }
        let host = try PluginHost(pluginFiles: files, pluginPath: o.plugin_path.map { String(cString: $0) },
                                  includeBuiltin: o.include_builtin, loadTimeout: o.load_timeout)
        return retainedHandle(HostBox(host))
    }
}

@c(th_host_free) @usableFromInline
func th_host_free_(_ host: OpaquePointer?) {
    release(host, as: HostBox.self)
}

@c(th_host_plugin_count) @usableFromInline
func th_host_plugin_count_(_ host: OpaquePointer?) -> Int {
    box(host, as: HostBox.self)?.pluginCount ?? 0
}

@c(th_host_plugin) @usableFromInline
func th_host_plugin_(_ host: OpaquePointer?, _ index: Int) -> UnsafePointer<th_plugin_info>? {
    guard let host = box(host, as: HostBox.self), index >= 0, index < host.pluginCount else { return nil }
    return UnsafePointer(host.plugins + index)
}

@c(th_host_task) @usableFromInline
func th_host_task_(_ host: OpaquePointer?, _ plugin: Int, _ task: Int) -> UnsafePointer<th_task_info>? {
    guard let host = box(host, as: HostBox.self), plugin >= 0, plugin < host.pluginCount,
          task >= 0, task < host.plugins[plugin].task_count else { return nil }
    return UnsafePointer(host.tasks[plugin] + task)
}

@c(th_host_find_task) @usableFromInline
func th_host_find_task_(_ host: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                        _ error: UnsafeMutablePointer<OpaquePointer?>?) -> UnsafePointer<th_task_info>? {
    catching(error, failure: nil) {
        guard let host = box(host, as: HostBox.self) else { throw nullArgument("host") }
        guard let name else { throw nullArgument("the task name") }
        let task = try host.host.task(named: String(cString: name))
        return host.taskByName[task.qualifiedName]
    }
}
