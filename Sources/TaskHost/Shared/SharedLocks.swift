import CTaskHostShared

/// How an acquire went: the lock is held either way.
public enum LockAcquisition: Sendable, Hashable {
    /// Taken normally.
    case acquired
    /// Taken from a holder that died holding it: what it guarded may be half
    /// updated; repair it before relying on it.
    case previousOwnerDied
}

/// A lock (`lock`: owned, not re-entrant) or re-entrant lock (`rlock`) shared
/// with the workers, as Python's `Lock` and `RLock` — except that a holder
/// that dies releases it, and the next acquire says so.
public final class SharedLock: SharedObject, @unchecked Sendable {
    /// Takes the lock, waiting at most `timeout` seconds (nil: forever; 0:
    /// only try). nil when it timed out.
    /// - Throws: `SharedObjectError.wouldDeadlock` for a `lock` this thread already holds.
    public func acquire(timeout: Double? = nil) throws -> LockAcquisition? {
        try acquireLock(self, timeout)
    }

    /// Releases the lock. - Throws: `SharedObjectError.notOwner` if this thread doesn't hold it.
    public func release() throws { try check(th_lock_release(handle)) }

    /// Runs `body` holding the lock; it learns whether the previous owner died.
    public func withLock<T>(_ body: (LockAcquisition) throws -> T) throws -> T {
        try withObjectLock(self, body)
    }
}

/// A condition variable with its own lock, as Python's `Condition`.
public final class SharedCondition: SharedObject, @unchecked Sendable {
    /// How a wait ended; the lock is held again in every case.
    public enum Wake: Sendable, Hashable {
        case notified, timedOut, previousOwnerDied
    }

    /// Takes the condition's lock (see `SharedLock.acquire`).
    public func acquire(timeout: Double? = nil) throws -> LockAcquisition? { try acquireLock(self, timeout) }
    /// Releases the condition's lock.
    public func release() throws { try check(th_lock_release(handle)) }
    /// Runs `body` holding the condition's lock.
    public func withLock<T>(_ body: (LockAcquisition) throws -> T) throws -> T { try withObjectLock(self, body) }

    /// With the lock held: releases it, waits for a notify or the timeout,
    /// takes it again. Wake-ups can be spurious: wait in a loop.
    public func wait(timeout: Double? = nil) throws -> Wake {
        let status = th_condition_wait(handle, cTimeout(timeout))
        switch status {
        case TH_SHARED_OK.rawValue: return .notified
        case TH_SHARED_TIMEOUT.rawValue: return .timedOut
        case TH_SHARED_OWNER_DIED.rawValue: return .previousOwnerDied
        default: try check(status); return .notified
        }
    }

    /// Wakes one waiter (or `count`).
    public func notify(_ count: Int = 1) { _ = th_condition_notify(handle, Int32(clamping: count)) }
    /// Wakes every waiter.
    public func notifyAll() { _ = th_condition_notify(handle, -1) }
}

/// A semaphore (or bounded semaphore) shared with the workers, as Python's.
/// Units a process holds when it dies come back.
public final class SharedSemaphore: SharedObject, @unchecked Sendable {
    /// Takes one unit; false when the timeout passed first.
    public func acquire(timeout: Double? = nil) -> Bool {
        th_semaphore_acquire(handle, cTimeout(timeout)) == TH_SHARED_OK.rawValue
    }

    /// Gives one unit back. - Throws: `SharedObjectError.overflow` for a
    /// bounded semaphore already at its initial value.
    public func release() throws { try check(th_semaphore_release(handle)) }

    /// The units free now.
    public var value: Int { Int(th_semaphore_value(handle)) }
}

func acquireLock(_ object: SharedObject, _ timeout: Double?) throws -> LockAcquisition? {
    let status = th_lock_acquire(object.handle, cTimeout(timeout))
    switch status {
    case TH_SHARED_OK.rawValue: return .acquired
    case TH_SHARED_OWNER_DIED.rawValue: return .previousOwnerDied
    case TH_SHARED_TIMEOUT.rawValue: return nil
    default: try object.check(status); return nil
    }
}

func withObjectLock<T>(_ object: SharedObject, _ body: (LockAcquisition) throws -> T) throws -> T {
    let how = try acquireLock(object, nil)!
    defer { _ = th_lock_release(object.handle) }
    return try body(how)
}
