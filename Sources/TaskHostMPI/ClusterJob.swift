#if MPI
import Foundation
import TaskHost

/// Rank 0's view of one call spread over the ranks: where its items come
/// from, which chunks are out, where its results go. Used on the
/// coordinator thread only.
final class ClusterJob {
    let id: UInt64
    let task: TaskInfo
    /// Absolute deadline (`DispatchTime` nanoseconds).
    let deadline: UInt64?
    let input: Input
    let output: Output
    /// Items per chunk; adapts to the measured item time when `adaptive`.
    private(set) var chunksize: Int
    private let adaptive: Bool
    /// Items per message to a worker on the rank that runs a chunk (nil: its default).
    let localChunksize: Int?
    private(set) var nextIndex = 0
    private(set) var inputEnded = false
    private(set) var cancelled = false
    /// Chunks out, by id: which node has it, and its items.
    var outstanding: [UInt64: (node: Int, first: Int, count: Int)] = [:]

    /// Where the items come from.
    enum Input {
        /// Argument lists pulled one by one (a sequence or a channel).
        case values(next: () -> ChannelSource.Taken)
        /// One raw column of fixed-size arguments (the caller keeps it alive until the job ends).
        case packed(base: UnsafeRawPointer, count: Int, argument: ValueType, result: ValueType, width: Int)
    }

    /// Where the results go.
    enum Output {
        /// A stream (imap) or a collector (map, starmap, apply) through a `ResultFeed`.
        case feed(ResultFeed)
        /// A packed map's result column and failures; `finished` is signalled at the end.
        case packed(PackedSink)
    }

    init(id: UInt64, task: TaskInfo, input: Input, output: Output, chunksize: Int?, localChunksize: Int?, deadline: UInt64?) {
        self.id = id
        self.task = task
        self.input = input
        self.output = output
        self.chunksize = max(1, chunksize ?? 1)
        adaptive = chunksize == nil
        self.localChunksize = localChunksize
        self.deadline = deadline
    }

    /// Has every item been handed out and answered?
    var isDone: Bool { inputEnded && outstanding.isEmpty }

    /// May more results be produced now (the stream's consumer keeps up)?
    var hasRoom: Bool {
        if case .feed(let feed) = output { return feed.hasRoom() }
        return true
    }

    /// The next chunk's items, or nil when none are available now.
    func makeChunk(id chunk: UInt64, now: UInt64) -> ChunkRequest? {
        guard !inputEnded && !cancelled else { return nil }
        let remaining = deadline.map { Double(Int64($0) - Int64(now)) / 1e9 }
        switch input {
        case .values(let next):
            var items: [Result<[Value], TaskHostError>] = []
            pulling: while items.count < chunksize {
                switch next() {
                case .item(let item): items.append(checked(item))
                case .pending: break pulling
                case .end: inputEnded = true; break pulling
                }
            }
            guard !items.isEmpty else { return nil }
            defer { nextIndex += items.count }
            return ChunkRequest(job: id, chunk: chunk, first: nextIndex, task: task.qualifiedName, deadline: remaining,
                                localChunksize: localChunksize, payload: .values(items))
        case .packed(let base, let count, let argument, let result, let width):
            let n = min(chunksize, count - nextIndex)
            guard n > 0 else { inputEnded = true; return nil }
            let bytes = Array(UnsafeRawBufferPointer(start: base + nextIndex * width, count: n * width))
            defer {
                nextIndex += n
                if nextIndex == count { inputEnded = true }
            }
            return ChunkRequest(job: id, chunk: chunk, first: nextIndex, task: task.qualifiedName, deadline: remaining,
                                localChunksize: localChunksize,
                                payload: .packed(argument: argument, result: result, count: n, bytes: bytes))
        }
    }

    /// An item's arguments checked (and converted) against the task here,
    /// as `Pool` does: a bad one fails with the same error as on one machine.
    private func checked(_ item: Result<[Value], TaskHostError>) -> Result<[Value], TaskHostError> {
        item.flatMap { task.checkArguments($0) }
    }

    /// A chunk's results arrived.
    func receive(_ response: ChunkResponse, first: Int, count: Int) {
        switch (response.payload, output) {
        case (.values(let results), .feed(let feed)):
            feed.deliver(results.enumerated().map { IndexedResult(index: first + $0.offset, result: $0.element) })
        case (.packed(let bytes, let failures), .packed(let sink)):
            sink.store(bytes, failures: failures, first: first)
        default:
            fail(first: first, count: count, TaskHostError(.systemError, "a rank answered a chunk of \(task.qualifiedName) in the wrong form"))
        }
        if adaptive && count > 0 {
            // As on one machine: aim at chunks of about 20 ms, moving at most 4x per step.
            let perItem = max(1, response.elapsed / UInt64(count))
            let target = Int(min(65_536, max(1, 20_000_000 / perItem)))
            chunksize = min(max(target, chunksize / 4, 1), chunksize * 4)
        }
    }

    /// Items `first..<first+count` failed together (their rank was lost, or a chunk could not be sent).
    func fail(first: Int, count: Int, _ error: TaskHostError) {
        switch output {
        case .feed(let feed):
            feed.deliver((first..<first + count).map { IndexedResult(index: $0, result: .failure(error)) })
        case .packed(let sink):
            sink.store(nil, failures: (0..<count).map { ($0, error) }, first: first)
        }
    }

    /// Stops handing out items: those available now fail with `error`, prefixed by their call.
    func stop(_ error: TaskHostError) {
        guard !inputEnded else { return }
        cancelled = true
        switch input {
        case .values(let next):
            var results: [IndexedResult] = []
            draining: while true {
                switch next() {
                case .item(.success(let arguments)):
                    results.append(IndexedResult(index: nextIndex, result: .failure(
                        TaskHostError(error.kind, "\(task.describeCall(arguments)): \(error.message)"))))
                case .item(.failure(let failure)):
                    results.append(IndexedResult(index: nextIndex, result: .failure(failure)))
                case .pending, .end:
                    break draining
                }
                nextIndex += 1
            }
            if case .feed(let feed) = output, !results.isEmpty { feed.deliver(results) }
        case .packed(_, let count, _, _, _):
            if nextIndex < count {
                fail(first: nextIndex, count: count - nextIndex, TaskHostError(error.kind, "\(task.qualifiedName): \(error.message)"))
            }
            nextIndex = count
        }
        inputEnded = true
    }

    /// Every result is in.
    func finish() {
        switch output {
        case .feed(let feed): feed.finish()
        case .packed(let sink): sink.finished.signal()
        }
    }
}

/// Where a packed map's results land, written by the coordinator thread and
/// read by the caller after `finished`.
final class PackedSink: @unchecked Sendable { // written on the coordinator thread, read after `finished`
    let base: UnsafeMutableRawPointer
    let width: Int
    var failures: [Int: TaskHostError] = [:]
    let finished = DispatchSemaphore(value: 0)

    init(base: UnsafeMutableRawPointer, width: Int) {
        self.base = base
        self.width = width
    }

    func store(_ bytes: [UInt8]?, failures: [(Int, TaskHostError)], first: Int) {
        if let bytes {
            bytes.withUnsafeBytes { (base + first * width).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        for (offset, error) in failures { self.failures[first + offset] = error }
    }
}
#endif
