import Foundation

/// Idle workers a calling thread may borrow for one quick `apply`, talking
/// to the worker's pipes itself instead of through the supervisor thread:
/// two thread wake-ups per call instead of four.
///
/// The supervisor offers a worker when it has nothing for it to do, and
/// reclaims it before using, retiring or burying it. A borrowed worker
/// belongs to its borrower until it is given back (the call went well) or
/// handed over to the supervisor with its item in flight (anything else:
/// a crash, a slow task, a malformed answer), which then finishes the item
/// exactly as if it had sent it. While a worker is lent the supervisor does
/// not read its pipes; its death still arrives from the fork server.
// @unchecked Sendable: `idle`, `borrowed` and `loans` are guarded by `lock`.
final class Lending: @unchecked Sendable {
    private let lock = NSLock()
    /// Offered and not borrowed.
    private var idle: [Worker] = []
    /// Borrowed workers (by pid) and what the supervisor saw of them meanwhile.
    private var borrowed: [pid_t: Borrowed] = [:]
    /// Loans so far (tests check that calls took this path).
    private var loans = 0

    private struct Borrowed {
        /// Its wait status, when the fork server reported its death during the loan.
        var exitStatus: Int32?
        /// The supervisor wants it back (work is queued, or the pool is closing).
        var wanted = false
    }

    // MARK: Borrower side

    /// Takes an offered worker, or nil when none is idle.
    func borrow() -> Worker? {
        lock.lock()
        defer { lock.unlock() }
        guard let worker = idle.popLast() else { return nil }
        borrowed[worker.pid] = Borrowed()
        loans += 1
        return worker
    }

    /// Gives back a worker whose call went well. False when the supervisor
    /// needs it (it died meanwhile, or work is waiting): then hand it to the
    /// supervisor's `takeBack` instead.
    func giveBack(_ worker: Worker) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let loan = borrowed[worker.pid], loan.exitStatus == nil, !loan.wanted else { return false }
        borrowed.removeValue(forKey: worker.pid)
        idle.append(worker)
        return true
    }

    /// Loans so far.
    var loanCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return loans
    }

    // MARK: Supervisor side

    /// Offers an idle worker (once; the supervisor marks it `lent`).
    func offer(_ worker: Worker) {
        lock.lock()
        idle.append(worker)
        lock.unlock()
    }

    /// Takes a lent worker back; false when it is borrowed right now. Then
    /// its borrower hands it to the supervisor when done, and `exitStatus`
    /// (its death, if that is why) is kept for then.
    func reclaim(_ worker: Worker, exitStatus: Int32? = nil) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if var loan = borrowed[worker.pid] {
            loan.wanted = true
            if let exitStatus { loan.exitStatus = exitStatus }
            borrowed[worker.pid] = loan
            return false
        }
        idle.removeAll { $0 === worker }
        return true
    }

    /// Ends a loan whose borrower handed the worker to the supervisor;
    /// returns the exit status reported during the loan, if any.
    func endLoan(_ worker: Worker) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        return borrowed.removeValue(forKey: worker.pid)?.exitStatus
    }
}
