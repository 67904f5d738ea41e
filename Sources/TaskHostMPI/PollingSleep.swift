#if MPI
import Foundation

/// How the one thread that talks MPI on a rank (rank 0's coordinator, a
/// worker rank's server) sleeps when a round of polling found nothing to do.
/// MPI can only be polled, so it waits for a local event (`wake`) or for a
/// backoff that starts at 20 µs and doubles up to 1 ms, back to nothing as
/// soon as a round makes progress: an idle rank leaves its cores to the
/// workers, a busy one never sleeps.
///
/// `condition` also guards the owner's state that other threads change:
/// change it inside `wake` (or under `condition`'s lock).
final class PollingSleep: @unchecked Sendable { // `woken` under `condition`; `backoff` is the polling thread's
    /// The lock (and condition) of the owner's cross-thread state.
    let condition = NSCondition()
    private var woken = false
    private var backoff: UInt64 = 0

    /// The longest idle wait, and the first.
    static let longest: UInt64 = 1_000_000
    static let shortest: UInt64 = 20_000

    /// Runs `change` under the lock, then ends the polling thread's wait now
    /// (or spares it the next one).
    func wake(_ change: () -> Void = {}) {
        condition.lock()
        change()
        woken = true
        condition.broadcast() // the owner may have other waiters on `condition`
        condition.unlock()
    }

    /// Called by the polling thread after each round: if the round made no
    /// progress, waits for `wake` or the next backoff, whichever comes first.
    func roundEnded(progressed: Bool) {
        guard !progressed else {
            backoff = 0
            return
        }
        backoff = min(Self.longest, max(Self.shortest, backoff * 2))
        condition.lock()
        if !woken { _ = condition.wait(until: Date(timeIntervalSinceNow: Double(backoff) / 1e9)) }
        woken = false
        condition.unlock()
    }
}
#endif
