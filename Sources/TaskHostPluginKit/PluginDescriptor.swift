@_exported import TaskHostPluginSupport
#if canImport(Glibc)
import Glibc
#endif

// Everything here is `@export(implementation)`: compiled into the plugin that uses
// it, as hidden code, and defined by no symbol of the kit. So a plugin built with
// the kit exports `taskhost_plugin_entry` and nothing else (`nm -D --defined-only`),
// as plugin.h asks, and two plugins built with different kits never meet.

/// One task of a plugin written in Swift: its name, signature and C function,
/// laid out as plugin.h's `th_task`.
public typealias TaskSpec = th_task

extension th_task {
    /// Describes a task. `function` is a `@convention(c)` closure whose C
    /// shape matches the types (see plugin.h), first taking the context when
    /// `usesContext` is true. The strings are copied, once, for the life of
    /// the process.
    @export(implementation)
    public init<F>(_ name: String, summary: String, parameters: [(name: String, type: th_type)] = [],
                   result: th_type, usesContext: Bool = false, function: F) {
        precondition(MemoryLayout<F>.size == MemoryLayout<th_function>.size, "pass a @convention(c) function")
        let params = UnsafeMutablePointer<th_param>.allocate(capacity: max(1, parameters.count))
        for (index, parameter) in parameters.enumerated() {
            params[index] = th_param(name: strdup(parameter.name), type: parameter.type)
        }
        self.init()
        self.name = UnsafePointer(strdup(name))
        self.summary = UnsafePointer(strdup(summary))
        self.function = unsafeBitCast(function, to: th_function.self)
        self.result = result
        self.params = UnsafePointer(params)
        self.param_count = UInt32(parameters.count)
        self.flags = usesContext ? TH_TASK_CONTEXT : 0
    }
}

/// A plugin descriptor built once from Swift values and kept for the life of
/// the process, as the ABI requires. Return its `pointer` from the entry:
///
/// ```swift
/// let plugin = PluginDescriptor(name: "text", version: "1.0.0", summary: "…", tasks: [...])
/// @c(taskhost_plugin_entry)
/// public func taskhostPluginEntry() -> UnsafePointer<th_plugin> { plugin.pointer }
/// ```
public typealias PluginDescriptor = th_kit_plugin_descriptor

extension th_kit_plugin_descriptor {
    /// Builds the descriptor: the plugin's name (`[A-Za-z_][A-Za-z0-9_]*`), a
    /// free-form version, a one-line summary and its tasks.
    @export(implementation)
    public init(name: String, version: String, summary: String, tasks: [TaskSpec]) {
        let table = UnsafeMutablePointer<th_task>.allocate(capacity: max(1, tasks.count))
        for (index, task) in tasks.enumerated() { table[index] = task }
        var plugin = th_plugin()
        plugin.abi_major = UInt32(TH_ABI_MAJOR)
        plugin.size = UInt32(MemoryLayout<th_plugin>.size)
        plugin.task_size = UInt32(MemoryLayout<th_task>.size)
        plugin.task_count = UInt32(tasks.count)
        plugin.name = UnsafePointer(strdup(name))
        plugin.version = UnsafePointer(strdup(version))
        plugin.summary = UnsafePointer(strdup(summary))
        plugin.tasks = UnsafePointer(table)
        let stored = UnsafeMutablePointer<th_plugin>.allocate(capacity: 1)
        stored.initialize(to: plugin)
        self.init(pointer: UnsafePointer(stored))
    }
}

/// Copies a Swift string into a malloc'd C string: what a TH_STRING result must be.
@export(implementation)
public func mallocString(_ s: String) -> UnsafeMutablePointer<CChar>? { strdup(s) }
