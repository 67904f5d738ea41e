/// What a job's input gives when asked for the next item.
enum SourceStep {
    case item([Value])
    /// An item of a one-parameter task: its single argument.
    case single(Value)
    /// An input that could not even be read as arguments: it fails its own item.
    case invalid(TaskHostError)
    /// Nothing yet (a stream still being read); the supervisor is woken when more arrives.
    case pending
    case end
}

/// The input of a job, read on the supervisor thread only.
protocol JobSource: AnyObject, Sendable {
    func next() -> SourceStep
}

/// A source over a Swift sequence, iterated on the supervisor thread.
// @unchecked Sendable: iterated on the supervisor thread only.
final class SequenceSource: JobSource, @unchecked Sendable {
    private let nextItem: () -> [Value]?
    init(_ iterator: AnyIterator<[Value]>) { nextItem = iterator.next }
    init(next: @escaping () -> [Value]?) { nextItem = next }
    func next() -> SourceStep { nextItem().map(SourceStep.item) ?? .end }
}

/// A source of single arguments (a map), with no array per item.
// @unchecked Sendable: iterated on the supervisor thread only.
final class SingleValueSource: JobSource, @unchecked Sendable {
    private let nextValue: () -> Value?
    init(next: @escaping () -> Value?) { nextValue = next }
    func next() -> SourceStep { nextValue().map(SourceStep.single) ?? .end }
}

/// One call (a map, a starmap, an apply, a stream) the supervisor works through.
/// Touched only on the supervisor thread; other threads only hand it over.
// @unchecked Sendable: confined to the supervisor thread after it is handed over with `perform`.
final class Job: @unchecked Sendable {
    let task: TaskInfo
    /// Items per chunk; grows and shrinks by itself when `adaptive`.
    var chunksize: Int
    let adaptive: Bool
    /// The items not yet pulled; nil when exhausted.
    var source: JobSource?
    /// The items of a packed job (columns of fixed-size values), in place of a source.
    let packed: PackedInput?
    var nextIndex = 0
    /// Items to run before pulling more: retries and runs lost with a worker.
    var requeued: [ItemRun] = []
    /// Items pulled whose result is not delivered yet.
    var outstanding = 0
    /// At most this many items pulled and not yet delivered (back-pressure).
    let window: Int
    /// Tells whether the consumer can take more results now (back-pressure).
    let consumerReady: () -> Bool
    /// Absolute deadline (monotonic ns) for the whole call.
    let deadline: UInt64?
    let deliver: (Int, TaskResult) -> Void
    /// Takes a whole frame's results at once when set (one lock, not one per item).
    var deliverBatch: (([IndexedResult]) -> Void)?
    let finished: () -> Void
    var isDone = false

    init(task: TaskInfo, chunksize: Int?, source: JobSource?, packed: PackedInput? = nil, deadline: UInt64?, window: Int = .max,
         consumerReady: @escaping () -> Bool = { true },
         deliver: @escaping (Int, TaskResult) -> Void, finished: @escaping () -> Void) {
        self.task = task
        self.chunksize = max(1, chunksize ?? 1)
        self.adaptive = chunksize == nil
        self.source = source
        self.packed = packed
        self.deadline = deadline
        self.window = max(1, window)
        self.consumerReady = consumerReady
        self.deliver = deliver
        self.finished = finished
    }

    /// Delivers a result and ends the job when nothing is left.
    func resolve(_ index: Int, _ result: TaskResult) {
        outstanding -= 1
        deliver(index, located(result, index))
        finishIfDone()
    }

    /// A failure marked with its task and item (`TaskHostError.task`, `.item`).
    private func located(_ result: TaskResult, _ index: Int) -> TaskResult {
        guard case .failure(let error) = result else { return result }
        return .failure(error.located(task: task.qualifiedName, item: index))
    }

    /// Delivers several results at once.
    func resolveBatch(_ results: [IndexedResult]) {
        guard !results.isEmpty else { return }
        outstanding -= results.count
        var results = results
        for i in results.indices { results[i].result = located(results[i].result, results[i].index) }
        if let deliverBatch {
            deliverBatch(results)
        } else {
            for r in results { deliver(r.index, r.result) }
        }
        finishIfDone()
    }

    /// Takes the next rows of a packed job for one chunk; nil when none are left.
    /// Rows whose values don't fit the task fail here, as `pull` fails them.
    func takePacked(_ limit: Int) -> Range<Int>? {
        while let packed, packed.remaining > 0 {
            switch packed.take(limit) {
            case .rows(let rows):
                outstanding += rows.count
                return rows
            case .invalid(let index, let error):
                outstanding += 1
                resolve(index, .failure(error))
            }
        }
        return nil
    }

    /// Delivers a packed frame's results: `payloads` for the rows from `start`,
    /// of which those in `failures` failed.
    func resolvePacked(from start: Int, payloads: UnsafeRawBufferPointer, count: Int, failures: [IndexedResult]) {
        packed?.store(payloads, from: start, count: count, failed: failures)
        outstanding -= count - failures.count
        for failure in failures { resolve(failure.index, failure.result) }
        finishIfDone()
    }

    /// Whether items wait to be sent: retries, rows or an open source.
    var hasWorkToSend: Bool {
        !isDone && (!requeued.isEmpty || source != nil || (packed?.remaining ?? 0) > 0)
    }

    func finishIfDone() {
        if !isDone && outstanding == 0 && requeued.isEmpty && source == nil && (packed?.remaining ?? 0) == 0 {
            isDone = true
            finished()
        }
    }

    /// Pulls the next item, checking its arguments; a bad item is failed at once.
    /// nil when the source is exhausted, has nothing yet, or the window is full.
    func pull(ignoringWindow: Bool = false) -> ItemRun? {
        while let source, ignoringWindow || (outstanding < window && consumerReady()) {
            switch source.next() {
            case .end:
                self.source = nil
                finishIfDone()
                return nil
            case .pending:
                return nil
            case .invalid(let error):
                let index = nextIndex
                nextIndex += 1
                outstanding += 1
                resolve(index, .failure(error))
            case .single(let value):
                let index = nextIndex
                nextIndex += 1
                outstanding += 1
                if task.parameters.count == 1 && task.parameters[0].type == value.type {
                    return ItemRun(index: index, arguments: .one(value))
                }
                switch task.checkArguments([value]) {
                case .success(let checked): return ItemRun(index: index, arguments: .one(checked[0]))
                case .failure(let error):
                    resolve(index, .failure(error))
                }
            case .item(let arguments):
                let index = nextIndex
                nextIndex += 1
                outstanding += 1
                switch task.checkArguments(arguments) {
                case .success(let checked): return ItemRun(index: index, arguments: .many(checked))
                case .failure(let error):
                    resolve(index, .failure(error))
                }
            }
        }
        return nil
    }

    /// Adaptive chunking for inputs of unknown length: aim at chunks that take
    /// about 20 ms, so tiny tasks travel in big batches and slow ones alone.
    func chunkFinished(items: Int, nanoseconds: UInt64) {
        guard adaptive, items > 0 else { return }
        let perItem = max(1, nanoseconds / UInt64(items))
        let target = Int(min(65_536, max(1, 20_000_000 / perItem)))
        // Move at most 4x per step, so one odd chunk can't swing it wildly.
        chunksize = min(max(target, chunksize / 4, 1), chunksize * 4)
    }
}

extension Job {
    /// Fails every item not sent yet — requeued ones, the rest of the
    /// source, the packed rows left — with `error`, each named after its item.
    func failUnsent(_ error: TaskHostError) {
        func fail(_ item: ItemRun) {
            resolve(item.index, .failure(TaskHostError(error.kind, "\(describe(task, item)): \(error.message)", detail: error.detail)))
        }
        while let item = requeued.first {
            requeued.removeFirst()
            fail(item)
        }
        while source != nil {
            guard let item = pull(ignoringWindow: true) else {
                // A stream with nothing more yet: stop reading it.
                source = nil
                break
            }
            fail(item)
        }
        while let packed, let rows = takePacked(packed.remaining) {
            for index in rows { fail(ItemRun(index: index, arguments: packed.arguments(at: index))) }
        }
        finishIfDone()
    }
}
