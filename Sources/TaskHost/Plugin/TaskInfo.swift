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

    /// Checks and converts arguments for one call: the right count, and
    /// each value convertible to its parameter's type (`Value.converted(to:)`);
    /// a `sharedBytes` argument must name bytes of a shared buffer of this
    /// process (`SharedBuffer.view`). The one conversion path of the Swift
    /// API, the C API and the CLI.
    public func checkArguments(_ arguments: [Value]) -> Result<[Value], TaskHostError> {
        guard arguments.count == parameters.count else { return .failure(argumentCountError(got: "\(arguments.count)")) }
        var converted = arguments
        for (i, parameter) in parameters.enumerated() {
            guard let value = arguments[i].converted(to: parameter.type) else {
                return .failure(argumentTypeError(parameter, got: "\(arguments[i].type) \(arguments[i].debugDescription)"))
            }
            if parameter.type == .sharedBytes, case .string(let view) = value, let problem = SharedBuffer.viewProblem(view) {
                return .failure(TaskHostError(.invalidArgument, "\(qualifiedName): parameter '\(parameter.name)': \(problem)"))
            }
            converted[i] = value
        }
        return .success(converted)
    }

    /// Parses words (command-line arguments, lines of text) as the
    /// arguments of one call, each by its parameter's type (`Value.parse`).
    public func parseArguments(_ words: [String]) -> Result<[Value], TaskHostError> {
        guard words.count == parameters.count else { return .failure(argumentCountError(got: "\(words.count)")) }
        var values: [Value] = []
        values.reserveCapacity(words.count)
        for (word, parameter) in zip(words, parameters) {
            guard let value = Value.parse(word, as: parameter.type) else {
                return .failure(argumentTypeError(parameter, got: "'\(word)'"))
            }
            values.append(value)
        }
        return .success(values)
    }

    /// `square.square takes 1 argument (x: int64), got 2`.
    func argumentCountError(got: String) -> TaskHostError {
        TaskHostError(.invalidArgument, "\(qualifiedName) takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s")"
                      + " (\(parameters.map { "\($0.name): \($0.type)" }.joined(separator: ", "))), got \(got)")
    }

    /// `square.square: parameter 'x' expects int64, got 'abc'`.
    func argumentTypeError(_ parameter: Parameter, got: String) -> TaskHostError {
        TaskHostError(.invalidArgument, "\(qualifiedName): parameter '\(parameter.name)' expects \(parameter.type), got \(got)")
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
