import Foundation

/// A pool of worker processes, as Python's `multiprocessing.Pool`:
/// `map`, `starmap` and `apply` run tasks in the workers and return each
/// item's result in input order. A worker that crashes, exits, hangs or runs
/// out of memory fails only the item it was running; the pool replaces it.
///
/// A task is a `TaskReference`: its name (`"square"`, `"text.upper"`), or a
/// `TaskInfo` from `host.task(named:)` to look it up once for many calls.
/// Every error TaskHost throws is a `TaskHostError`; catch it by type to
/// read its fields:
///
///     do {
///         _ = try pool.apply("faulty.segv", [3])
///     } catch let error as TaskHostError {
///         print(error.kind, error.signal ?? "", error.detail)   // crashed SIGSEGV was killed by …
///     }
///
/// (Typed throws would let `catch { error.kind }` compile, but Swift 6.3's
/// compiler crashes on `catch let e as T` and `catch where` clauses over a
/// typed error, the patterns most code has; so the API throws untyped.)
/// A failed *item* of `map` is not thrown: it stands at its position as
/// `.failure(TaskHostError)`, and `try result.get()` throws it typed.
// @unchecked Sendable: immutable after init; `core` is confined to the supervisor thread (reached through `perform`).
public final class Pool: @unchecked Sendable {
    /// The host whose plugins this pool runs.
    public let host: PluginHost
    /// The number of worker processes.
    public let processes: Int
    /// The shared objects made for this pool (`shared:`), by name.
    public let shared: [String: SharedObject]
    let core: PoolCore

    /// Starts `processes` workers (default: the number of cores).
    ///
    /// - Parameters:
    ///   - taskTimeout: seconds one item may run; past it its worker is
    ///     killed and the item fails with `timedOut` (infinity: no limit).
    ///   - memoryLimit: bytes of address space per worker (`RLIMIT_AS`).
    ///   - maxTasksPerChild: items a worker runs before it is replaced.
    ///   - retries: extra attempts for an item whose worker died or timed out.
    ///   - initializer: a task and arguments run once in each new worker.
    ///   - taskOutput: where the tasks' own stdout goes.
    ///   - sandbox: the sandbox each worker enters before its first task
    ///     (nil: none); throws `systemError` at once if this kernel can't.
    ///   - shared: shared objects made for this pool, name to spec
    ///     (`["jobs": "queue:1024"]`, as `PluginHost.share`): created before
    ///     its workers start, they live as long as the pool (then their
    ///     names are free again). Names are the host's: another pool started
    ///     later sees them too while they live.
    public init(host: PluginHost, processes: Int? = nil, taskTimeout: Double? = nil, memoryLimit: UInt64? = nil,
                maxTasksPerChild: Int? = nil, retries: Int = 0, initializer: (task: String, arguments: [Value])? = nil,
                taskOutput: TaskOutput = .stderr, sandbox: Sandbox? = nil, shared: [String: String] = [:]) throws {
        let count = processes ?? ProcessInfo.processInfo.activeProcessorCount
        guard count >= 1 else { throw TaskHostError(.invalidArgument, "a pool needs at least 1 process, got \(count)") }
        let taskTimeout = try OptionChecks.timeout(taskTimeout, "the task timeout")
        let maxTasksPerChild = try OptionChecks.positiveCount(maxTasksPerChild, "maxTasksPerChild")
        let retries = try OptionChecks.retries(retries)
        try ProcessCapacity.reserve(processes: count)
        let sandbox = try Sandbox.checked(sandbox)
        self.shared = try host.share(scoped: shared)
        var initializerConfig: (task: TaskInfo, arguments: [Value])?
        if let initializer {
            let task = try host.task(named: initializer.task)
            initializerConfig = (task, try task.checkArguments(initializer.arguments).get())
        }
        self.host = host
        self.processes = count
        core = PoolCore(config: PoolConfig(processes: count, taskTimeout: taskTimeout, memoryLimit: memoryLimit,
                                           maxTasksPerChild: maxTasksPerChild, retries: retries,
                                           initializer: initializerConfig, taskOutput: taskOutput,
                                           sandbox: sandbox, respawn: true))
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.addPool(core) }
    }

    deinit { terminate() }

    /// Python's default chunk size: items / (4 × processes), rounded up.
    public func defaultChunksize(for count: Int) -> Int {
        let (quotient, remainder) = count.quotientAndRemainder(dividingBy: processes * 4)
        return max(1, quotient + (remainder > 0 ? 1 : 0))
    }

    /// Runs `task` once per argument; results in input order.
    /// When the task's signature is fixed-size, the values travel packed
    /// (see `map(_:_:as:)`): read once, converted as needed, results written
    /// straight into the returned array — the same results, faster.
    ///
    /// - Parameters:
    ///   - task: the task's name or `TaskInfo`; it must take one parameter.
    ///   - arguments: one value per item (`[Value]`, or `[Int]`, `[Double]`,
    ///     `[String]`, … — see `ValueConvertible`).
    ///   - chunksize: items per message to a worker (default: Python's rule).
    ///   - deadline: seconds from now after which unfinished items fail with `cancelled`.
    /// - Throws: `invalidArgument` for an unknown task or a bad chunksize;
    ///   a bad argument fails only its own item.
    public func map(_ task: some TaskReference, _ arguments: [Value], chunksize: Int? = nil,
                    deadline: Double? = nil) throws -> [TaskResult] {
        let info = try task.resolve(in: host)
        if info.parameters.count == 1,
           let results = try arguments.withUnsafeBufferPointer({
               try packedValues(info, rows: .values($0), count: arguments.count, chunksize: chunksize, deadline: deadline)
           }) {
            return results
        }
        var position = 0
        let source = SingleValueSource {
            guard position < arguments.count else { return nil }
            position += 1
            return arguments[position - 1]
        }
        return try collect(info, source, count: arguments.count, chunksize: chunksize, deadline: deadline)
    }

    /// `map` over Swift values: `pool.map("square", Array(1...10))`.
    public func map<T: ValueConvertible>(_ task: some TaskReference, _ arguments: [T], chunksize: Int? = nil,
                                         deadline: Double? = nil) throws -> [TaskResult] {
        try map(task, arguments.map(\.taskHostValue), chunksize: chunksize, deadline: deadline)
    }

    /// Runs `task` once per argument list; results in input order.
    /// Options and errors as `map`.
    public func starmap(_ task: some TaskReference, _ argumentLists: [[Value]], chunksize: Int? = nil,
                        deadline: Double? = nil) throws -> [TaskResult] {
        let info = try task.resolve(in: host)
        if let results = try argumentLists.withUnsafeBufferPointer({
               try packedValues(info, rows: .lists($0), count: argumentLists.count, chunksize: chunksize, deadline: deadline)
           }) {
            return results
        }
        return try collect(info, SequenceSource(AnyIterator(argumentLists.makeIterator())), count: argumentLists.count,
                           chunksize: chunksize, deadline: deadline)
    }

    /// Runs a known number of items and gathers their results in input order.
    private func collect(_ info: TaskInfo, _ source: JobSource, count: Int, chunksize: Int?,
                         deadline: Double?) throws -> [TaskResult] {
        let size = chunksize ?? defaultChunksize(for: count)
        guard size >= 1 else { throw TaskHostError(.invalidArgument, "chunksize must be at least 1, got \(size)") }
        return gather(info, source, count: count, chunksize: size, deadline: absoluteDeadline(deadline))
    }

    /// Runs a job of `count` items to its end; results in input order.
    private func gather(_ info: TaskInfo, _ source: JobSource, count: Int, chunksize: Int, deadline: UInt64?) -> [TaskResult] {
        let collector = ResultCollector(count: count)
        let done = DispatchSemaphore(value: 0)
        let job = Job(task: info, chunksize: chunksize, source: source, deadline: deadline,
                      deliver: { index, result in collector.results[index] = result }, finished: { done.signal() })
        job.deliverBatch = { batch in for r in batch { collector.results[r.index] = r.result } }
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.submit(job, to: core) }
        done.wait()
        return collector.results.map { $0 ?? .failure(TaskHostError(.cancelled, "not run")) }
    }

    /// Runs one call in a worker and returns its value, or throws its error
    /// (the item's failure too: `crashed`, `taskError`, …).
    /// When a worker is idle, the calling thread talks to it directly.
    public func apply(_ task: some TaskReference, _ arguments: [Value] = []) throws -> Value {
        try applyResult(try task.resolve(in: host), arguments, deadline: nil).get()
    }

    /// `apply` with Swift values: `pool.apply("square", [n])` for an `n: Int`.
    public func apply<T: ValueConvertible>(_ task: some TaskReference, _ arguments: [T]) throws -> Value {
        try apply(task, arguments.map(\.taskHostValue))
    }

    /// One call's outcome, a bad argument included, as a result.
    func applyResult(_ info: TaskInfo, _ arguments: [Value], deadline: Double?) -> TaskResult {
        let checked: [Value]
        switch info.checkArguments(arguments) {
        case .success(let values): checked = values
        case .failure(let error): return .failure(error)
        }
        let item = ItemRun(index: 0, arguments: Arguments(checked), attempts: 1)
        let absolute: UInt64?
        absolute = absoluteDeadline(deadline)
        if absolute == nil, let result = DirectCall(pool: core, supervisor: host.supervisor, task: info, item: item).run() {
            if case .failure(let error) = result { return .failure(error.located(task: info.qualifiedName, item: 0)) }
            return result
        }
        // Chunks of 2 for one item: the source's end is seen with it.
        return gather(info, SequenceSource(AnyIterator([checked].makeIterator())), count: 1, chunksize: 2, deadline: absolute)[0]
    }

    /// Calls that went straight to an idle worker (for tests).
    var directCalls: Int { core.lending.loanCount }

    /// The monotonic instant of a call's deadline `seconds` from now; nil (no
    /// deadline) for nil, infinity, NaN or a time past what the clock can
    /// count — never a trap (the C API's `deadline = INFINITY` came here).
    /// Negative: now. (See `OptionChecks.deadline`.)
    func absoluteDeadline(_ seconds: Double?) -> UInt64? {
        ((try? OptionChecks.deadline(seconds)) ?? nil).map { OptionChecks.absoluteTime(after: $0) }
    }

    // MARK: Streaming

    /// Streams `task` over argument lists, in input order, as results arrive
    /// (Python's `imap`). The sequence is read lazily on the pool's supervisor
    /// thread, never materialised — hence `Sendable`. (A `lazy.map` with a
    /// closure is not `Sendable`: Swift picks the eager `map` for it and passes
    /// an array, materialised. Pass a range or a `Sendable` sequence of your
    /// own to stream.) At most `backlog` results wait for you
    /// before the pool pauses. With no `chunksize`, chunks adapt: they grow
    /// while items are quick and shrink when they are slow.
    @inlinable
    public func imap<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int? = nil,
                                             deadline: Double? = nil, backlog: Int? = nil) throws -> ResultStream
        where S.Element == [Value]
    {
        // The closure is compiled where the sequence's type is known: no generic dispatch per item.
        var iterator = argumentLists.makeIterator()
        return try streamLists(try task.resolve(in: host), next: { iterator.next() }, ordered: true, chunksize: chunksize,
                               deadline: deadline, backlog: backlog)
    }

    /// Streams a one-parameter task over single values (`Value`s, or Swift
    /// values such as `1...1_000_000`), in input order: the cheapest way to
    /// stream a large map. Read as `imap(_:_:)` reads its sequence.
    @inlinable
    public func imap<S: Sequence & Sendable>(_ task: some TaskReference, values: S, ordered: Bool = true,
                                             chunksize: Int? = nil, deadline: Double? = nil,
                                             backlog: Int? = nil) throws -> ResultStream
        where S.Element: ValueConvertible
    {
        var iterator = values.makeIterator()
        return try streamValues(try task.resolve(in: host), next: { iterator.next()?.taskHostValue }, ordered: ordered,
                                chunksize: chunksize, deadline: deadline, backlog: backlog)
    }

    @usableFromInline
    func streamLists(_ info: TaskInfo, next: @escaping () -> [Value]?, ordered: Bool, chunksize: Int?, deadline: Double?,
                     backlog: Int?) throws -> ResultStream {
        try stream(info, SequenceSource(next: next), ordered: ordered, chunksize: chunksize, deadline: deadline, backlog: backlog)
    }

    @usableFromInline
    func streamValues(_ info: TaskInfo, next: @escaping () -> Value?, ordered: Bool, chunksize: Int?, deadline: Double?,
                      backlog: Int?) throws -> ResultStream {
        try stream(info, SingleValueSource(next: next), ordered: ordered, chunksize: chunksize, deadline: deadline, backlog: backlog)
    }

    /// As `imap`, but results come as they finish (Python's `imap_unordered`).
    @inlinable
    public func imapUnordered<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int? = nil,
                                                      deadline: Double? = nil, backlog: Int? = nil) throws
        -> ResultStream where S.Element == [Value]
    {
        var iterator = argumentLists.makeIterator()
        return try streamLists(try task.resolve(in: host), next: { iterator.next() }, ordered: false, chunksize: chunksize,
                               deadline: deadline, backlog: backlog)
    }

    /// Streams `task` over an asynchronous sequence of argument lists, read as
    /// the pool needs them. An error thrown by the sequence ends the input.
    public func imap<S: AsyncSequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, ordered: Bool = true,
                                                  chunksize: Int? = nil, deadline: Double? = nil,
                                                  backlog: Int? = nil) throws -> ResultStream
        where S.Element == [Value]
    {
        let channel = ChannelSource(capacity: 4096)
        let stream = try self.stream(try task.resolve(in: host), channel, ordered: ordered, chunksize: chunksize, deadline: deadline, backlog: backlog)
        Task.detached {
            do {
                for try await arguments in argumentLists {
                    if await !channel.pushAsync(arguments) { break }
                }
            } catch {}
            channel.close()
        }
        return stream
    }

    /// Streams `task` over argument lists that a producer pushes into
    /// `channel` from any thread (the CLI reads stdin this way); call
    /// `channel.close()` after the last one.
    public func imap(_ task: some TaskReference, channel: ChannelSource, ordered: Bool = true, chunksize: Int? = nil,
                     deadline: Double? = nil, backlog: Int? = nil) throws -> ResultStream {
        try stream(try task.resolve(in: host), channel, ordered: ordered, chunksize: chunksize, deadline: deadline, backlog: backlog)
    }

    private func stream(_ info: TaskInfo, _ source: JobSource, ordered: Bool, chunksize: Int?, deadline: Double?,
                        backlog: Int?) throws -> ResultStream {
        if let chunksize, chunksize < 1 { throw TaskHostError(.invalidArgument, "chunksize must be at least 1, got \(chunksize)") }
        let backlog = try OptionChecks.positiveCount(backlog, "backlog")
        let deadline = absoluteDeadline(deadline)
        let capacity = backlog ?? max(4096, processes * 1024)
        let buffer = ResultBuffer(ordered: ordered, capacity: capacity)
        let supervisor = host.supervisor
        buffer.onRoom = { supervisor.perform {} }
        let job = Job(task: info, chunksize: chunksize, source: source, deadline: deadline,
                      window: capacity, consumerReady: { buffer.hasRoom() },
                      deliver: { buffer.deliver($0, $1) }, finished: { buffer.finish() })
        job.deliverBatch = { buffer.deliverBatch($0) }
        if let channel = source as? ChannelSource { channel.onAvailable = { supervisor.perform {} } }
        let core = self.core
        supervisor.perform { supervisor.submit(job, to: core) }
        return ResultStream(buffer: buffer) {
            (source as? ChannelSource)?.cancel()
            supervisor.perform { supervisor.cancel(job) }
        }
    }

    /// Starts one call and returns at once (Python's `apply_async`).
    public func applyAsync(_ task: some TaskReference, _ arguments: [Value] = []) throws -> AsyncResult {
        AsyncResult(stream: try imap(task, [arguments], chunksize: 1))
    }

    /// `map` without blocking a thread.
    public func mapAsync<T: ValueConvertible>(_ task: some TaskReference, _ arguments: [T], chunksize: Int? = nil,
                                              deadline: Double? = nil) async throws -> [TaskResult] {
        let arguments = arguments.map(\.taskHostValue)
        let stream = try imap(task, arguments.lazy.map { [$0] }, chunksize: chunksize ?? defaultChunksize(for: arguments.count),
                              deadline: deadline, backlog: max(1, arguments.count))
        var results = [TaskResult?](repeating: nil, count: arguments.count)
        for await item in stream { results[item.index] = item.result }
        return results.map { $0 ?? .failure(TaskHostError(.cancelled, "the call was cancelled")) }
    }

    /// No more work will be submitted; workers exit once the queued work is done.
    public func close() {
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.close(core, whenDone: {}) }
    }

    /// Waits for every worker to exit (call `close()` or `terminate()` first).
    public func join() {
        let done = DispatchSemaphore(value: 0)
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.close(core, whenDone: { done.signal() }) }
        done.wait()
    }

    /// Stops now: kills every worker; unfinished items fail with `cancelled`.
    public func terminate() {
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.terminate(core) }
    }
}

/// Holds a call's results while they arrive (written on the supervisor thread,
/// read after the call's semaphore).
// @unchecked Sendable: written on the supervisor thread only, read after the call's semaphore (which orders the two).
final class ResultCollector: @unchecked Sendable {
    var results: [TaskResult?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
}
