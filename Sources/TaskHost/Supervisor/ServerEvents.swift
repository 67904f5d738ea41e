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
                refillPools()
                return
            case .spawned(let request, let pid, let error, let descriptors)?:
                spawned(request: request, pid: pid, error: error, descriptors: descriptors)
            case .exited(let pid, let status)?:
                SharedObjects.repair(afterDeathOf: pid)
                // A worker with a pidfd has its end read from it (never reported here).
                if let worker = workers[pid], worker.exitDescriptor < 0 { workerDied(worker, status: status) }
            }
        }
    }

    /// The fork server is gone (`error` says how the host noticed). Every
    /// worker went with it: the items they were running fail with how the
    /// server ended, the others go back to the queue. Then a new server is
    /// started and the work goes on; when that fails, or servers keep dying
    /// with no chunk finished in between, every job fails instead.
    func serverDied(_ error: TaskHostError) {
        thread.assertConfined()
        guard broken == nil, !serverDown else { return }
        serverDown = true
        let cause = server.reapAfterDeath(error.message)
        forgetSpare()
        SharedObjects.repair(afterLossOf: Array(workers.keys))
        for worker in Array(workers.values) {
            worker.killRequested = true  // no KILL for it goes to the next server
            if worker.killReason == nil { worker.killReason = .forkServerDied(cause: cause) }
            workerDied(worker, status: Int32(SIGKILL))
        }
        // Work that went with spawn requests no one will answer now.
        for first in firstChunks.values { requeueUnstarted(first.chunk) }
        firstChunks.removeAll()
        spawns.removeAll()
        for pool in pools { pool.starting = 0 }

        serverDeathsWithoutProgress += 1
        var failure = TaskHostError(.systemError, cause)
        if serverDeathsWithoutProgress > SupervisorLimits.serverRestartsWithoutProgress {
            failure.message = "\(cause), again: the fork server keeps dying"
        } else {
            do {
                let fresh = try startServer()
                fresh.setNonBlocking()
                server = fresh
                serverPID.store(fresh.pid, ordering: .relaxed)
                newServerReady?(fresh)
                serverDown = false
                for pool in pools { fillPool(pool) }
                return
            } catch {
                failure.message = "\(cause), and a new one could not start: \((error as? TaskHostError)?.message ?? "\(error)")"
            }
        }
        broken = failure
        for pool in pools {
            for job in pool.jobs { job.failUnsent(failure) }
            pool.jobs.removeAll()
            checkJoined(pool)
        }
    }

    /// Starts spawn requests for pools short of workers, as far as the
    /// requests in flight allow (after a SPAWNED frees a slot).
    func refillPools() {
        thread.assertConfined()
        for pool in pools where spawns.count < SupervisorLimits.spawnRequestsInFlight { fillPool(pool) }
    }
}
