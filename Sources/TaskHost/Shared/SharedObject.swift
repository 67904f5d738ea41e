#if canImport(Glibc)
import Glibc
#endif
import CTaskHostShared

/// An object in memory the host shares with its workers (a lock, a queue, a
/// counter …), created with a name by a `PluginHost` (see `PluginHost.share`).
/// Tasks find it by that name (`th_shared_find` in `plugin.h`); the host uses
/// it through the subclass's methods while work runs.
///
/// Workers started after the object was created see it (as Python's objects
/// are shared by inheritance): create objects before the pools and processes
/// that use them. The object lives while this reference does (it keeps its
/// host alive); its memory goes with the last process that maps it, and no
/// name is ever left in `/dev/shm`.
public class SharedObject: @unchecked Sendable { // the C object synchronizes itself; `handle` never changes
    /// The kinds of shared objects.
    public enum Kind: UInt32, Sendable, CaseIterable {
        case lock = 1, rlock, semaphore, boundedSemaphore, event, condition, barrier, queue, pipe, value, array, buffer
    }

    /// The name tasks find it by.
    public let name: String
    /// What it is.
    public let kind: Kind
    /// Its spec in canonical form, e.g. `queue:1024:256`.
    public let spec: String
    let handle: UnsafeMutablePointer<th_shared>
    let host: PluginHost
    let id: UInt32

    required init(host: PluginHost, id: UInt32, name: String, spec: String, handle: UnsafeMutablePointer<th_shared>) {
        self.host = host
        self.id = id
        self.name = name
        self.spec = spec
        self.handle = handle
        kind = Kind(rawValue: th_shared_kind_of(handle).rawValue)!
    }

    deinit { host.sharing.release(self) }

    /// Turns a status the C core returned into an error, or nil for success.
    func failure(_ status: Int32) -> SharedObjectError? {
        switch status {
        case TH_SHARED_OK.rawValue, TH_SHARED_OWNER_DIED.rawValue: nil
        case TH_SHARED_TIMEOUT.rawValue: .timedOut(name)
        case TH_SHARED_BROKEN.rawValue:
            brokenBarrier()
        case TH_SHARED_NOT_OWNER.rawValue: .notOwner(name)
        case TH_SHARED_WOULD_DEADLOCK.rawValue: .wouldDeadlock(name)
        case TH_SHARED_OVERFLOW.rawValue: .overflow(name)
        default: .unexpected(name, status)
        }
    }

    /// How a barrier broke: a party died waiting, died before it arrived, or neither.
    private func brokenBarrier() -> SharedObjectError {
        let pid = th_barrier_broken_by(handle)
        guard pid > 0 else { return .broken(name, deadParty: nil) }
        return th__barrier_died_waiting(handle) != 0 ? .broken(name, deadParty: pid) : .partyDiedBeforeArriving(name, party: pid)
    }

    func check(_ status: Int32) throws {
        if let error = failure(status) { throw error }
    }
}

/// Why a call on a shared object failed.
public enum SharedObjectError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The timeout passed before the call could go on.
    case timedOut(String)
    /// The barrier is broken: `deadParty` is the pid of the party whose death
    /// while waiting broke it, nil when a party timed out or it was reset.
    case broken(String, deadParty: Int32?)
    /// The barrier is broken: `party` (a pid) had found it or waited at it
    /// and died before it arrived while others waited.
    case partyDiedBeforeArriving(String, party: Int32)
    /// Released by a thread that does not hold it.
    case notOwner(String)
    /// A `lock` taken again by the thread that holds it.
    case wouldDeadlock(String)
    /// A bounded semaphore released more often than acquired.
    case overflow(String)
    /// An item larger than the queue's item size.
    case tooBig(String, size: Int, limit: Int)
    /// A status this version does not know.
    case unexpected(String, Int32)

    public var description: String {
        switch self {
        case .timedOut(let n): "shared object '\(n)': timed out"
        case .broken(let n, let pid?): "barrier '\(n)' is broken: party \(pid) died while waiting"
        case .broken(let n, nil): "barrier '\(n)' is broken"
        case .partyDiedBeforeArriving(let n, let pid): "barrier '\(n)' is broken: party \(pid) died before it arrived"
        case .notOwner(let n): "shared object '\(n)': released by a thread that does not hold it"
        case .wouldDeadlock(let n): "lock '\(n)' is already held by this thread"
        case .overflow(let n): "semaphore '\(n)' released too many times"
        case .tooBig(let n, let size, let limit): "queue '\(n)': an item of \(size) bytes is over its item size of \(limit)"
        case .unexpected(let n, let status): "shared object '\(n)': unexpected status \(status)"
        }
    }
}

/// A C timeout from a Swift one: nil waits forever.
func cTimeout(_ seconds: Double?) -> Double {
    guard let seconds else { return -1 }
    return max(0, seconds)
}
