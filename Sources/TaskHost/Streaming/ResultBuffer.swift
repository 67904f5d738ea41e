import Foundation

/// One item's result with its position in the input.
public struct IndexedResult: Sendable, Equatable {
    /// The item's position in the input (0-based).
    public var index: Int
    public var result: TaskResult

    /// An item's result at its position in the input.
    public init(index: Int, result: TaskResult) {
        self.index = index
        self.result = result
    }
}

/// Results on their way from the supervisor thread to one consumer, in input
/// order or as they finish, with a bounded backlog: while the consumer lags
/// `capacity` results behind, the supervisor stops pulling new items.
// @unchecked Sendable: every mutable field is guarded by `condition` (an NSCondition's lock).
final class ResultBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private let ordered: Bool
    private let capacity: Int
    private var ready: [IndexedResult] = []
    private var readyHead = 0
    /// Ordered mode: runs of results that arrived before their turn, by first index.
    private var early: [Int: ArraySlice<IndexedResult>] = [:]
    private var earlyCount = 0
    private var nextIndex = 0
    private var finished = false
    private var waiter: CheckedContinuation<IndexedResult?, Never>?
    private var stalled = false
    /// Wakes the supervisor when the consumer has made room again.
    var onRoom: (@Sendable () -> Void)?

    init(ordered: Bool, capacity: Int) {
        self.ordered = ordered
        self.capacity = max(1, capacity)
    }

    private var backlog: Int { ready.count - readyHead + earlyCount }

    /// Supervisor side: can the consumer take more?
    func hasRoom() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let room = backlog < capacity
        if !room { stalled = true }
        return room
    }

    /// Supervisor side: a result arrived.
    func deliver(_ index: Int, _ result: TaskResult) {
        deliverBatch([IndexedResult(index: index, result: result)])
    }

    /// Supervisor side: several results arrived (a worker's frame: usually
    /// consecutive indices, kept together as runs while they wait their turn).
    func deliverBatch(_ results: [IndexedResult]) {
        condition.lock()
        if !ordered {
            ready.append(contentsOf: results)
        } else {
            var start = 0
            while start < results.count {
                var end = start + 1
                while end < results.count && results[end].index == results[end - 1].index + 1 { end += 1 }
                let run = results[start..<end]
                if run.first!.index == nextIndex {
                    ready.append(contentsOf: run)
                    nextIndex += run.count
                    while let next = early.removeValue(forKey: nextIndex) {
                        earlyCount -= next.count
                        ready.append(contentsOf: next)
                        nextIndex += next.count
                    }
                } else {
                    early[run.first!.index] = run
                    earlyCount += run.count
                }
                start = end
            }
        }
        resumeWaiter()
        condition.unlock()
    }

    /// Consumer side, blocking: every result ready now (at least one), or
    /// an empty array at the end.
    func nextBatch() -> [IndexedResult] {
        condition.lock()
        while readyHead == ready.count && !finished { condition.wait() }
        let batch = Array(ready[readyHead...])
        ready.removeAll(keepingCapacity: true)
        readyHead = 0
        condition.unlock()
        if !batch.isEmpty { afterTake() }
        return batch
    }

    /// Supervisor side: no more results will come.
    func finish() {
        condition.lock()
        finished = true
        resumeWaiter()
        condition.unlock()
    }

    private func resumeWaiter() {
        condition.broadcast()
        guard let waiter else { return }
        if let item = popLocked() {
            self.waiter = nil
            waiter.resume(returning: item)
        } else if finished {
            self.waiter = nil
            waiter.resume(returning: nil)
        }
    }

    private func popLocked() -> IndexedResult? {
        guard readyHead < ready.count else { return nil }
        let item = ready[readyHead]
        readyHead += 1
        if readyHead > 4096 && readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
        return item
    }

    private func afterTake() {
        // Called without the lock held: wake the supervisor if it had stopped for us.
        condition.lock()
        let wake = stalled && backlog < capacity / 2 + 1
        if wake { stalled = false }
        condition.unlock()
        if wake { onRoom?() }
    }

    /// Consumer side, blocking: the next result, or nil at the end.
    func next() -> IndexedResult? {
        condition.lock()
        while true {
            if let item = popLocked() {
                condition.unlock()
                afterTake()
                return item
            }
            if finished {
                condition.unlock()
                return nil
            }
            condition.wait()
        }
    }

    /// Consumer side: a result if one is ready now.
    func tryNext() -> IndexedResult? {
        condition.lock()
        let item = popLocked()
        condition.unlock()
        if item != nil { afterTake() }
        return item
    }

    /// Consumer side, async: the next result, or nil at the end.
    func nextAsync() async -> IndexedResult? {
        let item: IndexedResult? = await withCheckedContinuation { continuation in
            condition.lock()
            if let item = popLocked() {
                condition.unlock()
                continuation.resume(returning: item)
            } else if finished {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                waiter = continuation
                condition.unlock()
            }
        }
        if item != nil { afterTake() }
        return item
    }
}
