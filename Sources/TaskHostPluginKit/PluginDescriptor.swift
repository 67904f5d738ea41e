@_exported import TaskHostPluginSupport
#if canImport(Glibc)
import Glibc
#endif

/// One task of a plugin written in Swift: its signature and a C function.
public struct TaskSpec {
    public var name: String
    public var summary: String
    public var parameters: [(name: String, type: th_type)]
    public var result: th_type
    public var usesContext: Bool
    public var function: th_function

    /// Describes a task. `function` is a `@convention(c)` closure whose C
    /// shape matches the types (see plugin.h), first taking the context when
    /// `usesContext` is true.
    public init<F>(_ name: String, summary: String, parameters: [(name: String, type: th_type)] = [],
                   result: th_type, usesContext: Bool = false, function: F) {
        precondition(MemoryLayout<F>.size == MemoryLayout<th_function>.size, "pass a @convention(c) function")
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.result = result
        self.usesContext = usesContext
        self.function = unsafeBitCast(function, to: th_function.self)
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
public final class PluginDescriptor: @unchecked Sendable {
    /// The descriptor, valid forever.
    public let pointer: UnsafePointer<th_plugin>

    public init(name: String, version: String, summary: String, tasks: [TaskSpec]) {
        let table = UnsafeMutablePointer<th_task>.allocate(capacity: max(1, tasks.count))
        for (i, spec) in tasks.enumerated() {
            let params = UnsafeMutablePointer<th_param>.allocate(capacity: max(1, spec.parameters.count))
            for (j, p) in spec.parameters.enumerated() {
                params[j] = th_param(name: strdup(p.name), type: p.type)
            }
            table[i] = th_task(name: strdup(spec.name), summary: strdup(spec.summary), function: spec.function,
                               result: spec.result, params: params, param_count: UInt32(spec.parameters.count),
                               flags: spec.usesContext ? TH_TASK_CONTEXT : 0)
        }
        let plugin = UnsafeMutablePointer<th_plugin>.allocate(capacity: 1)
        plugin.initialize(to: th_plugin(abi_major: UInt32(TH_ABI_MAJOR), size: UInt32(MemoryLayout<th_plugin>.size),
                                        task_size: UInt32(MemoryLayout<th_task>.size), task_count: UInt32(tasks.count),
                                        name: strdup(name), version: strdup(version), summary: strdup(summary),
                                        tasks: table, init: nil, fini: nil))
        pointer = UnsafePointer(plugin)
    }
}

/// Copies a Swift string into a malloc'd C string: what a TH_STRING result must be.
public func mallocString(_ s: String) -> UnsafeMutablePointer<CChar>? { strdup(s) }
