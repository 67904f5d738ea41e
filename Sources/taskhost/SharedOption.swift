import TaskHost

/// `--shared NAME=SPEC`: shared objects created for one run, before any
/// worker starts, so every task of the run finds them by name.
enum SharedForRun {
    /// Kept for the whole run (the command ends with the process).
    nonisolated(unsafe) static var objects: [SharedObject] = []

    /// Creates each `NAME=SPEC` on `host`; a malformed one is a usage error.
    static func create(_ definitions: [String], on host: PluginHost) throws {
        for definition in definitions {
            guard let equals = definition.firstIndex(of: "="), equals != definition.startIndex else {
                throw CLIError.usage("--shared expects NAME=SPEC (e.g. jobs=queue:1024), got '\(definition)'")
            }
            let name = String(definition[..<equals]), spec = String(definition[definition.index(after: equals)...])
            objects.append(try host.share(name, spec))
        }
    }
}
