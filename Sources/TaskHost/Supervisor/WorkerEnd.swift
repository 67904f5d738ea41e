import CTaskHost

/// Ending workers: retiring them (QUIT), killing them (through the fork
/// server), and burying them when their exit is reported — their chunk
/// settled by `DeathAttribution`, a replacement started.
extension Supervisor {
    func retire(_ worker: Worker) {
        thread.assertConfined()
        guard !worker.retiring, reclaim(worker) else { return }
        worker.retiring = true
        let frame = FrameBuilder()
        frame.begin(TH_MSG_QUIT)
        frame.end()
        worker.link.send(frame.bytes)
        if worker.chunk == nil { worker.quitAt = monotonicNanoseconds() }
        fillPool(worker.pool)
    }

    func retireIdleWorkersIfClosed(_ pool: PoolCore) {
        thread.assertConfined()
        guard pool.closed, pool.jobs.allSatisfy(\.isDone) else { return }
        for worker in pool.workers where worker.isIdle { retire(worker) }
    }

    /// Tells a closed pool's joiners once its work is done and its workers are gone.
    func checkJoined(_ pool: PoolCore) {
        thread.assertConfined()
        guard pool.closed, pool.workers.isEmpty, pool.starting == 0 || broken != nil,
              pool.jobs.allSatisfy(\.isDone) else { return }
        let waiters = pool.joinWaiters
        pool.joinWaiters.removeAll()
        pools.removeAll { $0 === pool }
        for waiter in waiters { waiter() }
    }

    func kill(_ worker: Worker, _ reason: KillReason) {
        thread.assertConfined()
        // A borrowed worker's borrower sees it die and hands it over then.
        _ = reclaim(worker)
        if worker.killReason == nil { worker.killReason = reason }
        requestKill(worker)
        fillPool(worker.pool)
    }

    func requestKill(_ worker: Worker) {
        thread.assertConfined()
        guard !worker.killRequested else { return }
        worker.killRequested = true
        server.kill(worker.pid)
    }

    /// A worker is gone: read what it left, settle the chunk it was running,
    /// and start a replacement.
    func workerDied(_ worker: Worker, status: Int32) {
        thread.assertConfined()
        // A borrowed worker is buried once its borrower hands it over.
        guard reclaim(worker, exitStatus: status) else { return }
        if !worker.link.resultEOF && (worker.killReason?.keepsResults ?? true) { readResults(worker) }
        workers.removeValue(forKey: worker.pid)
        let pool = worker.pool
        pool.workers.removeAll { $0 === worker }
        let started = worker.page.started
        let finished = worker.page.finished
        let memoryExhausted = worker.page.memoryExhausted
        let settings = DeathAttribution.Settings(pool.config)

        if let chunk = worker.chunk {
            let facts = DeathAttribution.Facts(
                pid: worker.pid, status: status, killReason: worker.killReason, started: started, finished: finished,
                memoryExhausted: memoryExhausted, forbiddenCall: worker.page.forbiddenCall, chunkBase: worker.chunkBase, chunkCount: chunk.count,
                received: chunk.received, unexplainedDeathsBefore: pool.unexplainedDeaths)
            let verdict = DeathAttribution.verdict(facts, settings: settings, task: chunk.job.task, item: chunk.item(at:))
            if verdict.unexplained { pool.unexplainedDeaths += 1 }
            let job = chunk.job
            for (position, decision) in verdict.decisions {
                switch decision {
                case .failed(let error): job.resolve(chunk.index(at: position), .failure(error))
                case .requeued(let item): job.requeued.append(item)
                }
            }
            job.finishIfDone()
        } else if worker.initializing {
            pool.unexplainedDeaths += 1
            let death = DeathAttribution.describe(status: status, killReason: worker.killReason,
                                                  memoryExhausted: memoryExhausted,
                                                  forbiddenCall: worker.page.forbiddenCall, settings: settings)
            let failure = "worker \(worker.pid) \(death.message) while running the initializer"
            worker.initializerFailure = failure
            if pool.unexplainedDeaths >= SupervisorLimits.unexplainedDeathsBeforeBlame {
                let error = TaskHostError(death.kind, "the initializer keeps killing workers: \(failure)",
                                          signal: death.signal, code: death.code)
                for job in pool.jobs { job.failUnsent(error) }
            }
        }
        if fitsSpare(pool) { keepSpareWanted() }
        pool.onWorkerExit?(worker.pid, status)
        fillPool(pool)
        checkJoined(pool)
        // Released last: whoever waits for this death need not wait for the unmapping too.
        worker.release()
    }
}
