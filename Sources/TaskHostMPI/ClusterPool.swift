#if MPI
import Foundation
import TaskHost

/// A pool whose workers span the ranks of an MPI job: `map`, `starmap`,
/// `imap` and `apply` as `Pool`'s, for a program launched with `mpirun`.
///
/// Every rank runs the same program and creates the pool with the same
/// arguments. On rank 0 the initializer returns the pool: it reads the
/// input, hands chunks out on demand (a slow host gets fewer) and gathers
/// the results, in input order or as they finish. On every other rank the
/// initializer serves its share and returns nil once rank 0 closes the pool
/// (as mpi4py's `MPICommExecutor`):
///
/// ```swift
/// let host = try PluginHost()               // the fork server starts before MPI
/// guard let pool = try ClusterPool(host: host, processes: 2) else { return }   // worker ranks: done
/// let squares = try pool.map("square", (1...1000).map { .int64($0) })
/// pool.close()
/// ```
///
/// Each rank runs its own `Pool` of forked workers (`processes` per rank), so
/// every guarantee holds per item on every host: a crash, exit, timeout or
/// memory limit fails that item only, its error names the host and rank,
/// and the job goes on. Rank 0 works too: with one rank this is a `Pool`.
/// MPI is started once per process and finalized at exit. From C, the same
/// pool is `th_cluster_pool_new` (include/taskhost/cluster.h).
public final class ClusterPool: TaskPool, @unchecked Sendable { // its state lives in the coordinator
    /// The host whose plugins the pool runs (rank 0's; the other ranks load the same plugins).
    public let host: PluginHost
    /// Worker processes on all ranks together.
    public let processes: Int
    /// The ranks of the MPI job.
    public let ranks: Int
    /// The host name of each rank, by rank.
    public let hostNames: [String]
    private let local: Pool
    private let coordinator: Coordinator
    private let jobIDs = JobCounter()

    /// Starts MPI (once per process) and this rank's part of the pool.
    /// Returns nil on every rank but 0, after rank 0 has closed the pool.
    ///
    /// - Parameters:
    ///   - host: the plugins. On a rank whose tasks' stdout goes to
    ///     `.stdout`, a second fork server is started for them, so that what
    ///     they print reaches rank 0's stdout.
    ///   - processes: worker processes on each rank (default: its cores).
    ///   - taskTimeout, memoryLimit, maxTasksPerChild, retries, initializer,
    ///     taskOutput, sandbox: as `Pool`'s, for each rank's workers.
    public init?(host: PluginHost, processes: Int? = nil, taskTimeout: Double? = nil, memoryLimit: UInt64? = nil,
                 maxTasksPerChild: Int? = nil, retries: Int = 0, initializer: (task: String, arguments: [Value])? = nil,
                 taskOutput: TaskOutput = .stderr, sandbox: Sandbox? = nil) throws {
        let world = try MPIWorld.start()
        func makePool(_ host: PluginHost) throws -> Pool {
            try Pool(host: host, processes: processes, taskTimeout: taskTimeout, memoryLimit: memoryLimit,
                     maxTasksPerChild: maxTasksPerChild, retries: retries, initializer: initializer, taskOutput: taskOutput,
                     sandbox: sandbox)
        }
        guard world.rank == 0 else {
            var relay: OutputRelay?
            var pool: Pool?
            var failure: TaskHostError?
            do {
                var localHost = host
                if case .stdout = taskOutput { (relay, localHost) = try OutputRelay.start(like: host) }
                pool = try makePool(localHost)
            } catch {
                failure = error as? TaskHostError ?? TaskHostError(.systemError, "\(error)")
            }
            RankServer(world: world, relay: relay).serve(pool: pool, failure: failure)
            return nil
        }

        let mailbox = MPIMailbox()
        // Whatever happens from here, the other ranks are let go at exit.
        MPIWorld.beforeFinalize = { releaseRanks(world: world, mailbox: mailbox, alive: Array(1..<world.size)) }
        let local = try makePool(host)
        var nodes = [ClusterNode(rank: 0, hostName: world.hostName, processes: local.processes)]
        var refusals: [String] = []
        // Every rank says hello once its pool is up. One that never does (it died
        // starting, and mpirun runs with --enable-recovery) is left out.
        let helloDeadline = DispatchTime.now().uptimeNanoseconds + 3 * Heartbeat.lostAfter
        while nodes.count < world.size {
            guard let message = try mailbox.receive() else {
                if DispatchTime.now().uptimeNanoseconds > helloDeadline {
                    for rank in 1..<world.size where !nodes.contains(where: { $0.rank == rank }) {
                        var silent = ClusterNode(rank: rank, hostName: "?", processes: 0)
                        silent.lost = TaskHostError(.systemError, "MPI rank \(rank) never said it was ready")
                        refusals.append("MPI rank \(rank) never said it was ready")
                        nodes.append(silent)
                    }
                    break
                }
                usleep(100)
                continue
            }
            guard message.tag == .hello else { continue }
            var reader = WireReader(message.bytes)
            let processes = try reader.int()
            let node = ClusterNode(rank: message.source, hostName: try reader.string(), processes: processes)
            let failure = try reader.string()
            if !failure.isEmpty { refusals.append("MPI rank \(node.rank) on host \(node.hostName): \(failure)") }
            nodes.append(node)
        }
        nodes.sort { $0.rank < $1.rank }
        for refusal in refusals { FileHandle.standardError.write(Data("taskhost: \(refusal); its items go to the other ranks\n".utf8)) }
        self.host = host
        self.local = local
        self.processes = nodes.reduce(0) { $0 + $1.processes }
        self.ranks = world.size
        self.hostNames = nodes.map(\.hostName)
        let coordinator = Coordinator(world: world, mailbox: mailbox, localPool: local, nodes: nodes)
        self.coordinator = coordinator
        MPIWorld.beforeFinalize = {
            coordinator.close()
            coordinator.waitUntilEnded()
        }
    }

    deinit {
        coordinator.close()
    }

    /// Python's default chunk size over all ranks' processes: items / (4 × processes), rounded up.
    public func defaultChunksize(for count: Int) -> Int {
        let (quotient, remainder) = count.quotientAndRemainder(dividingBy: max(1, processes) * 4)
        return max(1, quotient + (remainder > 0 ? 1 : 0))
    }

    // MARK: Blocking calls

    /// Runs `task` once per argument; results in input order.
    public func map(_ task: some TaskReference, _ arguments: [Value], chunksize: Int? = nil, deadline: Double? = nil) throws -> [TaskResult] {
        try starmap(task, arguments.map { [$0] }, chunksize: chunksize, deadline: deadline)
    }

    /// Runs `task` once per argument list; results in input order.
    public func starmap(_ task: some TaskReference, _ argumentLists: [[Value]], chunksize: Int? = nil, deadline: Double? = nil) throws -> [TaskResult] {
        let stream = try imap(task, argumentLists, chunksize: chunksize ?? defaultChunksize(for: argumentLists.count),
                              deadline: deadline, backlog: max(1, argumentLists.count))
        var results = [TaskResult?](repeating: nil, count: argumentLists.count)
        for item in stream { results[item.index] = item.result }
        return results.map { $0 ?? .failure(TaskHostError(.cancelled, "not run")) }
    }

    /// Runs one call on some rank and returns its value, or throws its error.
    public func apply(_ task: some TaskReference, _ arguments: [Value] = []) throws -> Value {
        try applyResult(task.resolve(in: host), arguments, deadline: nil).get()
    }

    /// One call's outcome, a bad argument included, as a result (`th_pool_apply`'s).
    func applyResult(_ task: TaskInfo, _ arguments: [Value], deadline: Double?) -> TaskResult {
        do {
            var results = try imap(task, [arguments], chunksize: 1, deadline: deadline, backlog: 1).makeIterator()
            return results.next()?.result ?? .failure(TaskHostError(.cancelled, "the call was cancelled"))
        } catch {
            return .failure(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)"))
        }
    }

    /// Runs a one-parameter task over a typed array, packed end to end: each
    /// chunk travels between ranks as raw bytes, as `Pool.map(_:_:as:)`.
    public func map<Argument: PackedScalar, Output: PackedScalar>(
        _ task: some TaskReference, _ arguments: [Argument], as output: Output.Type, chunksize: Int? = nil, deadline: Double? = nil
    ) throws -> PackedResults<Output> {
        let info = try task.resolve(in: host)
        guard info.parameters.map(\.type) == [Argument.valueType], info.result == Output.valueType else {
            throw TaskHostError(.invalidArgument,
                "\(info.signature) can't be run packed as (\(Argument.valueType)) -> \(Output.valueType)")
        }
        if let chunksize, chunksize < 1 { throw TaskHostError(.invalidArgument, "chunksize must be at least 1, got \(chunksize)") }
        var values = [Output](repeating: zero(Output.self), count: arguments.count)
        let failures: [Int: TaskHostError] = arguments.withUnsafeBytes { column in
            values.withUnsafeMutableBytes { results in
                let sink = PackedSink(base: results.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!,
                                      width: MemoryLayout<Output>.stride)
                let job = ClusterJob(id: jobIDs.next(), task: info,
                                     input: .packed(base: column.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!,
                                                    count: arguments.count, argument: Argument.valueType,
                                                    result: Output.valueType, width: MemoryLayout<Argument>.stride),
                                     output: .packed(sink),
                                     chunksize: chunksize ?? min(65_536, defaultChunksize(for: arguments.count)),
                                     localChunksize: nil, deadline: absoluteDeadline(deadline))
                if arguments.isEmpty { return [:] }
                coordinator.submit(job)
                sink.finished.wait()
                return sink.failures
            }
        }
        return PackedResults(values: values, failures: failures)
    }

    // MARK: Streaming

    /// Streams `task` over argument lists, in input order, as results arrive.
    /// The sequence is read lazily on rank 0's coordinator thread; at most
    /// `backlog` results wait for you before the ranks are sent no more.
    /// With no `chunksize`, chunks are sized from the measured item time.
    public func imap<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int? = nil, deadline: Double? = nil,
                                  backlog: Int? = nil) throws -> ResultStream where S.Element == [Value] {
        try stream(task, SequenceInput(argumentLists).next, ordered: true, chunksize: chunksize, deadline: deadline,
                   backlog: backlog)
    }

    /// Streams a one-parameter task over single values (`Value`s, or Swift
    /// values such as `1...1_000_000`), read as `imap(_:_:)` reads its sequence.
    public func imap<S: Sequence & Sendable>(_ task: some TaskReference, values: S, ordered: Bool = true,
                                             chunksize: Int? = nil, deadline: Double? = nil,
                                             backlog: Int? = nil) throws -> ResultStream where S.Element: ValueConvertible {
        try stream(task, SequenceInput(values.lazy.map { [$0.taskHostValue] }).next, ordered: ordered,
                   chunksize: chunksize, deadline: deadline, backlog: backlog)
    }

    /// As `imap`, results in the order they finish.
    public func imapUnordered<S: Sequence & Sendable>(_ task: some TaskReference, _ argumentLists: S, chunksize: Int? = nil,
                                           deadline: Double? = nil, backlog: Int? = nil) throws -> ResultStream
        where S.Element == [Value]
    {
        try stream(task, SequenceInput(argumentLists).next, ordered: false, chunksize: chunksize, deadline: deadline,
                   backlog: backlog)
    }

    /// Streams `task` over argument lists a producer pushes into `channel`
    /// (the CLI reads stdin this way); call `channel.close()` after the last.
    public func imap(_ task: some TaskReference, channel: ChannelSource, ordered: Bool = true, chunksize: Int? = nil,
                     deadline: Double? = nil, backlog: Int? = nil) throws -> ResultStream {
        let coordinator = self.coordinator
        channel.whenAvailable { coordinator.wake() }
        return try stream(task, { channel.take() }, ordered: ordered, chunksize: chunksize, deadline: deadline,
                          backlog: backlog, onCancel: { channel.cancel() })
    }

    private func stream(_ task: some TaskReference, _ next: @escaping () -> ChannelSource.Taken, ordered: Bool, chunksize: Int?,
                        deadline: Double?, backlog: Int?, onCancel: @escaping @Sendable () -> Void = {}) throws -> ResultStream {
        if let chunksize, chunksize < 1 { throw TaskHostError(.invalidArgument, "chunksize must be at least 1, got \(chunksize)") }
        let info = try task.resolve(in: host)
        let id = jobIDs.next()
        let coordinator = self.coordinator
        let feed = ResultFeed(ordered: ordered, capacity: backlog ?? max(4096, processes * 1024),
                              onRoom: { coordinator.wake() },
                              onCancel: { onCancel(); coordinator.cancel(id) })
        coordinator.submit(ClusterJob(id: id, task: info, input: .values(next: next), output: .feed(feed),
                                      chunksize: chunksize, localChunksize: nil, deadline: absoluteDeadline(deadline)))
        return feed.stream
    }

    // MARK: Ending

    /// No more work will be submitted; once the work under way is done every
    /// rank closes its part (the other ranks' initializers return nil).
    public func close() { coordinator.close() }

    /// Waits until every rank has closed its part (call `close()` or `terminate()` first).
    public func join() {
        coordinator.waitUntilEnded()
        local.close()
        local.join()
    }

    /// Stops now: this rank's workers are killed, unfinished items fail with `cancelled`, and the pool closes.
    public func terminate() {
        local.terminate()
        coordinator.close()
    }

    private func absoluteDeadline(_ seconds: Double?) -> UInt64? {
        seconds.map { DispatchTime.now().uptimeNanoseconds + UInt64(max(0, $0) * 1e9) }
    }
}

/// Job ids, unique in this process.
final class JobCounter: @unchecked Sendable { // guarded by `lock`
    private let lock = NSLock()
    private var last: UInt64 = 0
    func next() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        last += 1
        return last
    }
}

/// A sequence read on the coordinator thread only, one item at a time.
final class SequenceInput<S: Sequence & Sendable>: @unchecked Sendable where S.Element == [Value] { // iterated on the coordinator thread only
    private var iterator: S.Iterator
    init(_ sequence: S) { iterator = sequence.makeIterator() }
    func next() -> ChannelSource.Taken {
        iterator.next().map { .item(.success($0)) } ?? .end
    }
}

/// The all-zero value of a fixed-size type.
func zero<T: PackedScalar>(_ type: T.Type) -> T {
    withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer in
        UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
        return buffer[0]
    }
}
#endif
