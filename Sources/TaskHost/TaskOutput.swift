/// Where the tasks' own stdout goes.
public enum TaskOutput: Sendable {
    /// To the host's stderr (map, starmap, apply: stdout stays the caller's).
    case stderr
    /// To the host's stdout (run, filter: the seed's programs print).
    case stdout
}
