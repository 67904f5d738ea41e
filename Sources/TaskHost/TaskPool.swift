/// What every pool does, whatever runs its workers: a `Pool` on this machine,
/// or a pool whose workers span the ranks of an MPI job (`ClusterPool` in the
/// TaskHostMPI library). Code written against `TaskPool` — the `taskhost`
/// CLI's commands are — runs unchanged on either. Each requirement means what
/// `Pool`'s method of the same name documents.
public protocol TaskPool: AnyObject, Sendable {
    /// The host whose plugins this pool runs (and whose catalog names its tasks).
    var host: PluginHost { get }
    /// The number of worker processes, on every machine together.
    var processes: Int { get }
    /// Python's default chunk size for `count` items: items / (4 × processes), rounded up.
    func defaultChunksize(for count: Int) -> Int
    /// Runs `task` once per argument; results in input order.
    func map(_ task: some TaskReference, _ arguments: [Value], chunksize: Int?, deadline: Double?) throws -> [TaskResult]
    /// Runs `task` once per argument list; results in input order.
    func starmap(_ task: some TaskReference, _ argumentLists: [[Value]], chunksize: Int?, deadline: Double?) throws -> [TaskResult]
    /// Runs one call and returns its value, or throws its error.
    func apply(_ task: some TaskReference, _ arguments: [Value]) throws -> Value
    /// Streams `task` over argument lists, in input order, as results arrive.
    func imap<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int?, deadline: Double?,
                           backlog: Int?) throws -> ResultStream where S.Element == [Value]
    /// Streams a one-parameter task over single values, in input order (or as they finish).
    func imap<S: Sequence & Sendable>(_ task: some TaskReference, values: S, ordered: Bool, chunksize: Int?,
                                      deadline: Double?, backlog: Int?) throws -> ResultStream
        where S.Element: ValueConvertible
    /// As `imap`, results in the order they finish.
    func imapUnordered<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int?, deadline: Double?,
                                    backlog: Int?) throws -> ResultStream where S.Element == [Value]
    /// Streams `task` over argument lists a producer pushes into `channel`.
    func imap(_ task: some TaskReference, channel: ChannelSource, ordered: Bool, chunksize: Int?, deadline: Double?,
              backlog: Int?) throws -> ResultStream
    /// No more work will be submitted; workers exit once the queued work is done.
    func close()
    /// Waits for every worker to exit (call `close()` or `terminate()` first).
    func join()
    /// Stops now: unfinished items fail with `cancelled`.
    func terminate()
}

extension Pool: TaskPool {}

extension TaskPool {
    /// `map` with Python's default chunk size and no deadline.
    public func map(_ task: some TaskReference, _ arguments: [Value]) throws -> [TaskResult] {
        try map(task, arguments, chunksize: nil, deadline: nil)
    }

    /// `starmap` with Python's default chunk size and no deadline.
    public func starmap(_ task: some TaskReference, _ argumentLists: [[Value]]) throws -> [TaskResult] {
        try starmap(task, argumentLists, chunksize: nil, deadline: nil)
    }

    /// `imap` with the default backlog.
    public func imap<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int? = nil,
                                  deadline: Double? = nil) throws -> ResultStream where S.Element == [Value] {
        try imap(task, argumentLists, chunksize: chunksize, deadline: deadline, backlog: nil)
    }

    /// `imap` over single values with the default backlog.
    public func imap<S: Sequence & Sendable>(_ task: some TaskReference, values: S, ordered: Bool = true,
                                             chunksize: Int? = nil, deadline: Double? = nil) throws -> ResultStream
        where S.Element: ValueConvertible
    {
        try imap(task, values: values, ordered: ordered, chunksize: chunksize, deadline: deadline, backlog: nil)
    }

    /// `imapUnordered` with the default backlog.
    public func imapUnordered<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int? = nil,
                                           deadline: Double? = nil) throws -> ResultStream where S.Element == [Value] {
        try imapUnordered(task, argumentLists, chunksize: chunksize, deadline: deadline, backlog: nil)
    }

    /// `imap` over a channel with the default backlog.
    public func imap(_ task: some TaskReference, channel: ChannelSource, ordered: Bool = true, chunksize: Int? = nil,
                     deadline: Double? = nil) throws -> ResultStream {
        try imap(task, channel: channel, ordered: ordered, chunksize: chunksize, deadline: deadline, backlog: nil)
    }
}
