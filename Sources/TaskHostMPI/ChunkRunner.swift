#if MPI
import Foundation
import TaskHost

/// Runs chunks on this rank's own pool of forked workers — two at a time, so
/// the workers have the next chunk while a finished one travels back — and
/// hands each chunk's results to `done`. Every per-item guarantee of `Pool`
/// holds: a crash, exit, timeout or memory limit fails that item only, and
/// its error names this host and rank.
final class ChunkRunner: @unchecked Sendable { // mutable state guarded by `condition`
    private let pool: Pool
    private let placement: String
    private let done: @Sendable (ChunkResponse) -> Void
    private let condition = NSCondition()
    private var queue: [ChunkRequest] = []
    private var queueHead = 0
    private var streams: [UInt64: (job: UInt64, stream: ResultStream)] = [:]
    private var cancelledJobs: Set<UInt64> = []
    private var stopping = false
    private var lanesRunning = 0

    /// - Parameters:
    ///   - pool: this rank's pool.
    ///   - hostName: this rank's machine, named in the errors of items whose worker died.
    ///   - rank: this rank, named too.
    ///   - done: called on a runner thread with each chunk's results.
    init(pool: Pool, hostName: String, rank: Int, lanes: Int = 2, done: @escaping @Sendable (ChunkResponse) -> Void) {
        self.pool = pool
        self.placement = "on host \(hostName) (MPI rank \(rank))"
        self.done = done
        lanesRunning = lanes
        for _ in 0..<lanes {
            let thread = Thread { [self] in lane() }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Queues a chunk.
    func submit(_ request: ChunkRequest) {
        condition.lock()
        queue.append(request)
        condition.signal()
        condition.unlock()
    }

    /// Stops a job's chunks: queued ones fail as `cancelled` without running,
    /// running ones have their workers killed.
    func cancel(job: UInt64) {
        condition.lock()
        cancelledJobs.insert(job)
        let running = streams.values.filter { $0.job == job }.map(\.stream)
        condition.unlock()
        for stream in running { stream.cancel() }
    }

    /// Runs what is queued, then ends the lanes; returns when they have ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while lanesRunning > 0 { condition.wait() }
        condition.unlock()
    }

    private func lane() {
        while true {
            condition.lock()
            while queueHead == queue.count && !stopping { condition.wait() }
            if queueHead == queue.count {
                lanesRunning -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let request = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count { queue.removeAll(keepingCapacity: true); queueHead = 0 }
            let cancelled = cancelledJobs.contains(request.job)
            condition.unlock()
            done(run(request, cancelled: cancelled))
        }
    }

    private func run(_ request: ChunkRequest, cancelled: Bool) -> ChunkResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let payload: ChunkResponse.Payload
        switch request.payload {
        case .values(let items):
            payload = .values(runValues(request, items, cancelled: cancelled))
        case .packed(let argument, let result, let count, let bytes):
            payload = runPacked(request, argument: argument, result: result, count: count, bytes: bytes,
                                cancelled: cancelled)
        }
        return ChunkResponse(job: request.job, chunk: request.chunk,
                             elapsed: DispatchTime.now().uptimeNanoseconds - start, payload: payload)
    }

    private func runValues(_ request: ChunkRequest, _ items: [Result<[Value], TaskHostError>],
                           cancelled: Bool) -> [TaskResult] {
        var results = [TaskResult?](repeating: nil, count: items.count)
        var lists: [[Value]] = []
        var positions: [Int] = []
        for (offset, item) in items.enumerated() {
            switch item {
            case .success(let arguments): lists.append(arguments); positions.append(offset)
            case .failure(let error): results[offset] = .failure(error)
            }
        }
        if cancelled {
            let info = try? pool.host.task(named: request.task)
            for (list, offset) in zip(lists, positions) {
                let call = info?.describeCall(list) ?? request.task
                results[offset] = .failure(TaskHostError(.cancelled, "\(call): cancelled before it ran"))
            }
        } else if !lists.isEmpty {
            do {
                let stream = try pool.imap(request.task, lists,
                                           chunksize: request.localChunksize ?? pool.defaultChunksize(for: lists.count),
                                           deadline: request.deadline)
                condition.lock()
                streams[request.chunk] = (request.job, stream)
                let cancelledMeanwhile = cancelledJobs.contains(request.job)
                condition.unlock()
                if cancelledMeanwhile { stream.cancel() }
                for item in stream { results[positions[item.index]] = item.result.mapError(placed) }
                condition.lock()
                streams[request.chunk] = nil
                condition.unlock()
            } catch {
                let failure = error as? TaskHostError ?? TaskHostError(.systemError, "\(error)")
                for offset in positions { results[offset] = .failure(failure) }
            }
        }
        return results.map { $0 ?? .failure(TaskHostError(.cancelled, "\(request.task): not run")) }
    }

    private func runPacked(_ request: ChunkRequest, argument: ValueType, result: ValueType, count: Int,
                           bytes: [UInt8], cancelled: Bool) -> ChunkResponse.Payload {
        let width = result.open(ByteWidth()) ?? 0
        func failAll(_ error: TaskHostError) -> ChunkResponse.Payload {
            .packed(bytes: [UInt8](repeating: 0, count: count * width), failures: (0..<count).map { ($0, error) })
        }
        if cancelled { return failAll(TaskHostError(.cancelled, "\(request.task): cancelled before it ran")) }
        let run = PackedRun(pool: pool, task: request.task, result: result, bytes: bytes, count: count,
                            chunksize: request.localChunksize ?? min(65_536, pool.defaultChunksize(for: count)),
                            deadline: request.deadline)
        switch argument.open(run) ?? nil {
        case .success(.packed(let raw, let failures))?:
            return .packed(bytes: raw, failures: failures.map { ($0.0, placed($0.1)) })
        case .failure(let error)?:
            return failAll(error)
        default:
            return failAll(TaskHostError(.invalidArgument, "\(request.task): \(argument) -> \(result) does not travel packed"))
        }
    }

    /// Names this host and rank in the errors of items whose worker died: the pid and the signal belong to it.
    private func placed(_ error: TaskHostError) -> TaskHostError {
        switch error.kind {
        case .crashed, .exited, .timedOut, .memoryLimit:
            var placed = error
            placed.message += " " + placement
            return placed
        default:
            return error
        }
    }
}

/// The size of one value of a fixed-size type.
struct ByteWidth: ScalarTypeVisitor {
    func visit<T: PackedScalar>(_ type: T.Type) -> Int { MemoryLayout<T>.stride }
}
#endif
