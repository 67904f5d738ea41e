/// A parameter of a task: its name and type.
public struct Parameter: Sendable, Hashable {
    public var name: String
    public var type: ValueType
}

/// A task a loaded plugin offers, with its signature.
public struct TaskInfo: Sendable, Hashable {
    /// The plugin's name (from its descriptor, not its file name).
    public var plugin: String
    /// The task's name within the plugin.
    public var name: String
    /// One line that says what it does (may be empty).
    public var summary: String
    /// The declared parameters, in order.
    public var parameters: [Parameter]
    /// The declared result type.
    public var result: ValueType
    /// Where the fork server keeps it: the plugin file's index and the task's index.
    let pluginIndex: UInt32
    let taskIndex: UInt32

    /// `PLUGIN.TASK`.
    public var qualifiedName: String { "\(plugin).\(name)" }

    /// `square.square(x: int64) -> int64`.
    public var signature: String {
        let params = parameters.map { "\($0.name): \($0.type)" }.joined(separator: ", ")
        return "\(qualifiedName)(\(params)) -> \(result)"
    }

    /// Checks and converts arguments for one call: right count, and each value
    /// convertible to its parameter's type.
    public func checkArguments(_ arguments: [Value]) -> Result<[Value], TaskHostError> {
        guard arguments.count == parameters.count else {
            return .failure(TaskHostError(.invalidArgument,
                "\(qualifiedName) takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s") (\(parameters.map { "\($0.name): \($0.type)" }.joined(separator: ", "))), got \(arguments.count)"))
        }
        var converted = arguments
        for (i, parameter) in parameters.enumerated() {
            guard let value = arguments[i].converted(to: parameter.type) else {
                return .failure(TaskHostError(.invalidArgument,
                    "\(qualifiedName): parameter '\(parameter.name)' expects \(parameter.type), got \(arguments[i].type) \(arguments[i])"))
            }
            converted[i] = value
        }
        return .success(converted)
    }
}

/// A loaded plugin.
public struct PluginInfo: Sendable, Hashable {
    public var name: String
    public var version: String
    public var summary: String
    /// The file it was loaded from (its real path).
    public var path: String
    public var tasks: [TaskInfo]
}
