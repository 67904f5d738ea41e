import Foundation

/// The results of `Pool.imap` / `imapUnordered`, as they arrive. Iterate it
/// with `for await` (an `AsyncSequence`) or with a plain `for` loop (it is
/// also a blocking `Sequence`). Cancelling the consuming task, calling
/// `cancel()` or dropping the stream stops dispatch, kills workers still
/// running its items, and ends the stream.
// @unchecked Sendable: `cancelled` is guarded by `lock`; `buffer` guards itself.
public final class ResultStream: AsyncSequence, Sequence, @unchecked Sendable {
    public typealias Element = IndexedResult
    let buffer: ResultBuffer
    private let cancelAction: @Sendable () -> Void
    private let lock = NSLock()
    private var cancelled = false

    init(buffer: ResultBuffer, cancel: @escaping @Sendable () -> Void) {
        self.buffer = buffer
        self.cancelAction = cancel
    }

    deinit { cancel() }

    /// Stops the stream: no new items start; running ones are killed and,
    /// like every item never run, end as `cancelled`.
    public func cancel() {
        lock.lock()
        let first = !cancelled
        cancelled = true
        lock.unlock()
        if first { cancelAction() }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ResultStream
        public mutating func next() async -> IndexedResult? {
            let stream = self.stream
            return await withTaskCancellationHandler {
                await stream.buffer.nextAsync()
            } onCancel: {
                stream.cancel()
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    public struct Iterator: IteratorProtocol {
        let stream: ResultStream
        private var batch: [IndexedResult] = []
        private var position = 0
        init(stream: ResultStream) { self.stream = stream }

        /// Takes whatever is ready in one go, so a fast stream costs one lock per batch.
        public mutating func next() -> IndexedResult? {
            if position == batch.count {
                batch = stream.buffer.nextBatch()
                position = 0
                if batch.isEmpty { return nil }
            }
            position += 1
            return batch[position - 1]
        }
    }

    public func makeIterator() -> Iterator { Iterator(stream: self) }

    /// Every result ready now (waiting for at least one), or an empty array
    /// at the end. Don't mix with an iterator of the same stream.
    public func nextBatch() -> [IndexedResult] { buffer.nextBatch() }
}

/// The handle `Pool.applyAsync` returns: one call's result, when it is ready.
// @unchecked Sendable: `cached` is guarded by `lock`.
public final class AsyncResult: @unchecked Sendable {
    private let stream: ResultStream
    private let lock = NSLock()
    private var cached: TaskResult?

    init(stream: ResultStream) { self.stream = stream }

    private func store(_ item: IndexedResult?) -> TaskResult {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let result = item?.result ?? .failure(TaskHostError(.cancelled, "the call was cancelled"))
        cached = result
        return result
    }

    private var stored: TaskResult? { lock.lock(); defer { lock.unlock() }; return cached }

    /// Waits for the result (blocking the calling thread).
    public func get() throws -> Value {
        if let stored { return try stored.get() }
        return try store(stream.buffer.next()).get()
    }

    /// Waits for the result without blocking a thread.
    public func value() async throws -> Value {
        if let stored { return try stored.get() }
        return try store(await stream.buffer.nextAsync()).get()
    }

    /// Cancels the call if it has not finished.
    public func cancel() { stream.cancel() }
}
