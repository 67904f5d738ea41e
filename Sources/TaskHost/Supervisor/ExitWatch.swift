import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// Workers' ends read from their pidfds, where the fork server reports exits
/// that way (th_pidfd.h, Linux 6.15 and later): the kernel reaps each worker
/// as it dies and keeps its wait status for the holders of its pidfd, so the
/// supervisor learns of the death, and how it ended, with no message from the
/// server — one wake-up less between a worker's exit and its joiner, and none
/// that waits for a server busy forking. Elsewhere the status comes in
/// TH_MSG_EXITED (`ServerEvents`); either way it ends in `workerDied`.
extension Supervisor {
    /// `worker`'s pidfd is readable: it has ended. Buries it with its status,
    /// or marks it pending when the kernel has not filled the status in yet.
    func exitSeen(_ worker: Worker) {
        thread.assertConfined()
        guard let status = exitStatus(of: worker) else {
            worker.exitPending = true
            return
        }
        worker.exitPending = false
        worker.exitTaken = true
        SharedObjects.repair(afterDeathOf: worker.pid)
        workerDied(worker, status: status)
    }

    /// Tries again for the workers whose status was not there yet.
    func checkPendingExits() {
        thread.assertConfined()
        for worker in workers.values where worker.exitPending { exitSeen(worker) }
    }

    /// The wait status from `worker`'s pidfd; nil while the kernel has not
    /// filled it in. The pidfd turns readable as the process exits and the
    /// status follows within microseconds, as the kernel reaps it: a few
    /// yields cover that, a 1 ms poll the rest.
    private func exitStatus(of worker: Worker) -> Int32? {
        for _ in 0..<16 {
            var status: Int32 = 0
            switch th__pidfd_exit_status(worker.exitDescriptor, &status) {
            case 1: return status
            // The fork server chose pidfds after checking this kernel keeps
            // statuses there; were the ioctl to fail all the same, the worker
            // is gone and the kernel won't say how: SIGKILL is the status then.
            case -1: return SIGKILL
            default: sched_yield()
            }
        }
        return nil
    }
}
