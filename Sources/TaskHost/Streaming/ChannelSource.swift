import Foundation

/// A job input fed from another thread or task (stdin, an AsyncSequence):
/// the producer pushes items, blocking when `capacity` are waiting; the
/// supervisor takes them and is woken when items arrive after a dry spell.
// @unchecked Sendable: every mutable field is guarded by `condition` (an NSCondition's lock).
public final class ChannelSource: JobSource, @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Result<[Value], TaskHostError>] = []
    private var head = 0
    private var closed = false
    private var cancelled = false
    private var starved = false
    private let capacity: Int
    private var spaceWaiters: [CheckedContinuation<Void, Never>] = []
    /// Wakes the supervisor.
    var onAvailable: (@Sendable () -> Void)?

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    private var count: Int { items.count - head }

    /// Producer: adds an item, waiting while the channel is full. False once
    /// the consumer has stopped (the job was cancelled): stop producing.
    @discardableResult
    public func push(_ item: [Value]) -> Bool { push(.success(item)) }

    /// Producer: an input that could not be read; it fails its own item.
    @discardableResult
    public func push(_ item: Result<[Value], TaskHostError>) -> Bool {
        condition.lock()
        while count >= capacity && !cancelled { condition.wait() }
        let accepted = appendLocked(item)
        condition.unlock()
        if accepted.wake { onAvailable?() }
        return accepted.ok
    }

    /// Producer, async: as `push`, suspending instead of blocking.
    public func pushAsync(_ item: [Value]) async -> Bool {
        while true {
            if let accepted = tryPush(.success(item)) { return accepted }
            await withCheckedContinuation { continuation in
                if !parkUntilSpace(continuation) { continuation.resume() }
            }
        }
    }

    /// Adds the item unless the channel is full (nil then).
    private func tryPush(_ item: Result<[Value], TaskHostError>) -> Bool? {
        condition.lock()
        guard count < capacity || cancelled else {
            condition.unlock()
            return nil
        }
        let accepted = appendLocked(item)
        condition.unlock()
        if accepted.wake { onAvailable?() }
        return accepted.ok
    }

    /// Parks a producer until an item is taken; false if there is room already.
    private func parkUntilSpace(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard count >= capacity && !cancelled else { return false }
        spaceWaiters.append(continuation)
        return true
    }

    private func appendLocked(_ item: Result<[Value], TaskHostError>) -> (ok: Bool, wake: Bool) {
        guard !cancelled else { return (false, false) }
        items.append(item)
        let wake = starved
        starved = false
        return (true, wake)
    }

    /// Producer: no more items.
    public func close() {
        condition.lock()
        closed = true
        let wake = starved
        starved = false
        condition.unlock()
        if wake { onAvailable?() }
    }

    /// Consumer gave up: unblock the producer for good.
    public func cancel() {
        condition.lock()
        cancelled = true
        let waiters = spaceWaiters
        spaceWaiters.removeAll()
        condition.broadcast()
        condition.unlock()
        for w in waiters { w.resume() }
    }

    func next() -> SourceStep {
        condition.lock()
        if head < items.count {
            let item = items[head]
            head += 1
            if head > 1024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            let waiters = spaceWaiters
            spaceWaiters.removeAll()
            condition.signal()
            condition.unlock()
            for w in waiters { w.resume() }
            switch item {
            case .success(let arguments): return .item(arguments)
            case .failure(let error): return .invalid(error)
            }
        }
        if closed || cancelled {
            condition.unlock()
            return .end
        }
        starved = true
        condition.unlock()
        return .pending
    }
}
