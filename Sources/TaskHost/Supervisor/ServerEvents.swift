#if canImport(Glibc)
import Glibc
#endif

/// The fork server's events as the supervisor handles them, and its death.
extension Supervisor {
    func readServer() {
        thread.assertConfined()
        while true {
            let event: ForkServer.Event?
            do {
                event = try server.nextEvent()
            } catch {
                serverDied(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)"))
                return
            }
            switch event {
            case nil:
                return
            case .spawned(let request, let pid, let error, let descriptors)?:
                spawned(request: request, pid: pid, error: error, descriptors: descriptors)
            case .exited(let pid, let status)?:
                SharedObjects.repair(afterDeathOf: pid)
                if let worker = workers[pid] { workerDied(worker, status: status) }
            }
        }
    }

    /// The fork server is gone: every worker with it, and every job fails with `error`.
    func serverDied(_ error: TaskHostError) {
        thread.assertConfined()
        guard broken == nil else { return }
        broken = error
        for worker in Array(workers.values) { workerDied(worker, status: Int32(SIGKILL)) }
        // Work that went with spawn requests no one will answer now: failed with the rest below.
        for first in firstChunks.values { requeueUnstarted(first.chunk) }
        firstChunks.removeAll()
        spawns.removeAll()
        for pool in pools {
            for job in pool.jobs { job.failUnsent(error) }
            pool.jobs.removeAll()
            pool.starting = 0
            checkJoined(pool)
        }
    }
}
