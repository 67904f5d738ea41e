import Foundation

/// A result another thread delivers once; `value()` waits for it.
public final class Pending<T>: @unchecked Sendable { // guarded by `condition`
    private let condition = NSCondition()
    private var result: T?

    public init() {}

    /// Delivers the result and wakes every waiter.
    public func set(_ value: T) {
        condition.lock()
        result = value
        condition.broadcast()
        condition.unlock()
    }

    /// The result, once `set` has delivered it.
    public func value() -> T {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}
