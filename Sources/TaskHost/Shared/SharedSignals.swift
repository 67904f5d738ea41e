import CTaskHostShared

/// A flag processes wait for, as Python's `Event`.
public final class SharedEvent: SharedObject, @unchecked Sendable {
    /// Sets the flag and wakes every waiter.
    public func set() { _ = th_event_set(handle) }
    /// Clears the flag.
    public func clear() { _ = th_event_clear(handle) }
    /// Whether the flag is set.
    public var isSet: Bool { th_event_is_set(handle) == 1 }
    /// Waits until the flag is set; false when the timeout passed first.
    public func wait(timeout: Double? = nil) -> Bool {
        th_event_wait(handle, cTimeout(timeout)) == TH_SHARED_OK.rawValue
    }
}

/// A barrier for a fixed number of parties, as Python's `Barrier` — except
/// that a party dying while others wait, whether it waited too or had not
/// arrived yet, breaks the barrier for everyone instead of leaving them
/// waiting forever. A process is a party once it found the barrier
/// (`th_shared_find`) or waited at it.
public final class SharedBarrier: SharedObject, @unchecked Sendable {
    /// Waits until every party arrived; returns this party's arrival index
    /// (0 ..< parties). A timeout breaks the barrier for the others.
    /// - Throws: `SharedObjectError.broken` (with the pid of the party whose
    ///   death while waiting broke it), `.partyDiedBeforeArriving`, or `.timedOut`.
    public func wait(timeout: Double? = nil) throws -> Int {
        let status = th_barrier_wait(handle, cTimeout(timeout))
        if status >= 0 { return Int(status) }
        try check(status)
        return Int(status)
    }

    /// Repairs a broken barrier; parties waiting now get `broken`.
    public func reset() { _ = th_barrier_reset(handle) }

    /// The pid of the party whose death broke the barrier, if one did.
    public var brokenBy: Int32? {
        let pid = th_barrier_broken_by(handle)
        return pid > 0 ? pid : nil
    }

    /// The parties waiting now (Python's `n_waiting`); 0 when broken.
    public var waiting: Int { Int(th_barrier_waiting(handle)) }
}
