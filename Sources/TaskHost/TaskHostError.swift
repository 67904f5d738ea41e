import Foundation

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
    // @unchecked Sendable: never mutated once shared (`unique()` copies first).
    private final class Storage: @unchecked Sendable {
        var kind: Kind
        var message: String
        var signal: String?
        var code: Int?
        var attempts: Int?
        var task: String?
        var item: Int?
        var detail: String?
        init(kind: Kind, message: String, signal: String?, code: Int?, attempts: Int?) {
            self.kind = kind
            self.message = message
            self.signal = signal
            self.code = code
            self.attempts = attempts
        }
        func copy() -> Storage {
            let copy = Storage(kind: kind, message: message, signal: signal, code: code, attempts: attempts)
            copy.task = task
            copy.item = item
            copy.detail = detail
            return copy
        }
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
    /// The task the failed item ran (`PLUGIN.TASK`), for a per-item failure.
    public var task: String? {
        get { storage.task }
        set { unique().task = newValue }
    }
    /// The failed item's position in its call (0-based), for a per-item failure.
    public var item: Int? {
        get { storage.item }
        set { unique().item = newValue }
    }
    /// What went wrong, without the context `message` adds: the plugin's own
    /// words for `taskError` (`cannot identify image file 'x.jpg'`), the
    /// death for `crashed` (`was killed by SIGSEGV (segmentation fault)`).
    /// The message itself when there is no context to take away.
    public var detail: String {
        get { storage.detail ?? storage.message }
        set { unique().detail = newValue }
    }

    /// Makes an error.
    ///
    /// - Parameters:
    ///   - kind: what kind of failure this is.
    ///   - message: the whole sentence, context included.
    ///   - detail: the failure without its context (default: `message`).
    ///   - task: the task of the failed item (`PLUGIN.TASK`).
    ///   - item: the failed item's position in its call.
    public init(_ kind: Kind, _ message: String, signal: String? = nil, code: Int? = nil, attempts: Int? = nil,
                detail: String? = nil, task: String? = nil, item: Int? = nil) {
        storage = Storage(kind: kind, message: message, signal: signal, code: code, attempts: attempts)
        storage.detail = detail
        storage.task = task
        storage.item = item
    }

    /// This error, marked as the failure of `item` of `task` (fields already set are kept).
    func located(task: String, item: Int) -> TaskHostError {
        if self.item == item && self.task == task { return self }
        var copy = self
        if copy.task == nil { copy.task = task }
        if copy.item == nil { copy.item = item }
        return copy
    }

    /// Equal when kind, message, signal, code and attempts are: `task`,
    /// `item` and `detail` are parts of what the message already says.
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

    /// `crashed: worker 4242 was killed by SIGSEGV (segmentation fault) while running faulty.segv(3)`.
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// `error.localizedDescription` is the description, not Foundation's
/// "The operation could not be completed".
extension TaskHostError: LocalizedError {
    public var errorDescription: String? { description }
}
