#if canImport(Glibc)
import Glibc
#endif

/// What pools, processes, jobs and direct calls ask of the supervisor,
/// through `perform`: all of it on the supervisor thread.
extension Supervisor {
    func addPool(_ pool: PoolCore) {
        thread.assertConfined()
        pools.append(pool)
        fillPool(pool)
    }

    /// Starts a single process (a WorkerProcess) with its one job: the job
    /// travels with the spawn request, and the pool is closed from the start.
    func startProcess(_ pool: PoolCore, job: Job, whenDone: @escaping @Sendable () -> Void) {
        thread.assertConfined()
        pools.append(pool)
        pool.closed = true
        pool.joinWaiters.append(whenDone)
        submit(job, to: pool)
        checkJoined(pool)
    }

    func submit(_ job: Job, to pool: PoolCore) {
        thread.assertConfined()
        if let error = broken ?? (pool.terminated ? TaskHostError(.cancelled, "the pool was terminated") : nil) {
            job.failUnsent(error)
            return
        }
        pool.jobs.append(job)
        job.finishIfDone()
        fillPool(pool)
    }

    /// No more jobs: workers quit once the queued jobs are done.
    func close(_ pool: PoolCore, whenDone: @escaping @Sendable () -> Void) {
        thread.assertConfined()
        pool.closed = true
        pool.joinWaiters.append(whenDone)
        retireIdleWorkersIfClosed(pool)
        checkJoined(pool)
    }

    /// Cancels every job and kills every worker of the pool.
    func terminate(_ pool: PoolCore) {
        thread.assertConfined()
        pool.terminated = true
        pool.closed = true
        let error = TaskHostError(.cancelled, "the pool was terminated before this item finished")
        for job in pool.jobs { job.failUnsent(error) }
        for worker in pool.workers { kill(worker, .terminated) }
        pool.jobs.removeAll()
        checkJoined(pool)
    }

    /// Stops one job: nothing more of it starts; workers running it are killed.
    func cancel(_ job: Job) {
        thread.assertConfined()
        guard !job.isDone else { return }
        job.failUnsent(TaskHostError(.cancelled, "cancelled before it ran"))
        for pool in pools {
            for worker in pool.workers where worker.chunk?.job === job { kill(worker, .cancelled) }
        }
    }

    // MARK: Direct calls (see Lending and DirectCall)

    /// A borrower hands over its worker with the item it sent still in
    /// flight: from here on it is finished as if this thread had sent it.
    /// The worker's link holds what the borrower read and what the request
    /// pipe did not take yet.
    func adopt(_ worker: Worker, chunk: Chunk) {
        thread.assertConfined()
        let exitStatus = worker.pool.lending.endLoan(worker)
        worker.lent = false
        let pool = worker.pool
        pool.jobs.append(chunk.job)
        worker.chunk = chunk
        worker.link.lastReadAt = monotonicNanoseconds()
        worker.link.flush()
        if let exitStatus {
            workerDied(worker, status: exitStatus)
        } else if pool.terminated || broken != nil {
            kill(worker, .terminated)
        } else if worker.link.hasUnparsedInput {
            _ = parseFrames(worker)
        }
    }

    /// A borrower gives back a worker the supervisor asked for (or that
    /// died, or that reached maxTasksPerChild), with no item in flight.
    func takeBack(_ worker: Worker) {
        thread.assertConfined()
        let exitStatus = worker.pool.lending.endLoan(worker)
        worker.lent = false
        if let exitStatus {
            workerDied(worker, status: exitStatus)
        } else if worker.reachedTaskLimit {
            retire(worker)
        }
    }
}
