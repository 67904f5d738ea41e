/// The one error type of TaskHost: what failed, named by kind, with the facts.
///
/// Per-item failures use the kinds `crashed`, `exited`, `timedOut`,
/// `memoryLimit`, `cancelled`, `taskError`, `invalidArgument` and
/// `sandboxViolation` — the same names the CLI prints and the C API
/// returns. Failures of the host itself (a plugin that won't load, a fork
/// server that can't start) use `pluginError` and `systemError`.
public struct TaskHostError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The worker was killed by a signal while running the item.
        case crashed
        /// The worker exited (for example the plugin called `exit`) while running the item.
        case exited
        /// The item ran past its timeout; its worker was killed.
        case timedOut
        /// The worker went past its memory limit.
        case memoryLimit
        /// The item was not run or not finished: a deadline passed, or the pool was terminated.
        case cancelled
        /// The plugin reported an error through its context.
        case taskError
        /// The worker made a system call its sandbox forbids (a network
        /// connection, a new process, a program, ptrace, ...); it was stopped.
        case sandboxViolation
        /// The arguments don't fit the task, or the task doesn't exist.
        case invalidArgument
        /// A plugin could not be loaded or is not a valid plugin.
        case pluginError
        /// The host could not do its own work (fork server, pipes, resources).
        case systemError
    }

    /// The facts live in one shared box, so a result that carries an error
    /// stays small and cheap to copy (copy-on-write keeps it a value).
    /// `@unchecked Sendable`: mutated only while uniquely referenced
    /// (copy-on-write), so no two threads ever share a mutable box.
    private final class Storage: @unchecked Sendable {
        var kind: Kind
        var message: String
        var signal: String?
        var code: Int?
        var attempts: Int?
        init(kind: Kind, message: String, signal: String?, code: Int?, attempts: Int?) {
            self.kind = kind
            self.message = message
            self.signal = signal
            self.code = code
            self.attempts = attempts
        }
        func copy() -> Storage { Storage(kind: kind, message: message, signal: signal, code: code, attempts: attempts) }
    }

    private var storage: Storage

    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// What kind of failure this is.
    public var kind: Kind {
        get { storage.kind }
        set { unique().kind = newValue }
    }
    /// A sentence that says what happened, naming the task and item where known.
    public var message: String {
        get { storage.message }
        set { unique().message = newValue }
    }
    /// The signal's name (`SIGSEGV`) when `kind` is `crashed`.
    public var signal: String? {
        get { storage.signal }
        set { unique().signal = newValue }
    }
    /// The exit code when `kind` is `exited`.
    public var code: Int? {
        get { storage.code }
        set { unique().code = newValue }
    }
    /// How many times the item was run, when it was retried.
    public var attempts: Int? {
        get { storage.attempts }
        set { unique().attempts = newValue }
    }

    /// Makes an error.
    public init(_ kind: Kind, _ message: String, signal: String? = nil, code: Int? = nil, attempts: Int? = nil) {
        storage = Storage(kind: kind, message: message, signal: signal, code: code, attempts: attempts)
    }

    public static func == (a: TaskHostError, b: TaskHostError) -> Bool {
        a.kind == b.kind && a.message == b.message && a.signal == b.signal && a.code == b.code && a.attempts == b.attempts
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(message)
        hasher.combine(signal)
        hasher.combine(code)
        hasher.combine(attempts)
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
