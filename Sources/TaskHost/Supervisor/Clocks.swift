/// The supervisor's thresholds, named. Times are in nanoseconds unless the
/// name says milliseconds.
enum SupervisorLimits {
    /// A worker that closed its result pipe but has not exited after this long is killed.
    static let exitGraceAfterEOF: UInt64 = 1_000_000_000
    /// A frame that stays incomplete this long with nothing more arriving is a
    /// lying length prefix (workers write each frame in one go).
    static let incompleteFrameTimeout: UInt64 = 2_000_000_000
    /// A worker told to quit has this long to run its plugins' fini hooks
    /// and exit; then it is killed, so `close`/`join` always end.
    static let finiGrace: UInt64 = 5_000_000_000
    /// How often poll() wakes while a grace above runs.
    static let graceCheckMilliseconds: Int32 = 100
    /// How long the host keeps a spare worker after the last single process
    /// ended (`SpareWorker`): a caller starting processes one after another
    /// finds the next one forked already; one that stops is left nothing.
    static let spareKeep: UInt64 = 100_000_000
    /// Spare workers parked or on their way, at most.
    static let spares = 2
    /// How often poll() wakes while a worker's pidfd says it ended but the
    /// kernel has not filled in its wait status yet (it does so right after).
    static let exitStatusRetryMilliseconds: Int32 = 1
    /// How often poll() wakes while a task timeout runs: a tenth of the
    /// timeout, within these bounds.
    static let timeoutCheckMilliseconds: ClosedRange<Int32> = 5...100
    /// The longest poll() sleeps while a deadline is pending.
    static let deadlineCheckMilliseconds: Int32 = 1000
    /// Worker deaths in a row that no running item explains (a crash in an
    /// init hook, say) before the next item in line is blamed.
    static let unexplainedDeathsBeforeBlame = 3
    /// Failed spawn requests in a row, with no worker alive, before a pool's jobs fail.
    static let spawnFailuresBeforeGivingUp = 3
    /// The most a spawn request carries as the worker's first requests: the
    /// fork server writes them into the worker's request pipe before the host
    /// reads anything, so they must fit with room; and the SPAWN frame must
    /// stay one socket message (`TH_PIECE_MAX`), sent whole or not at all.
    static let firstRequestsMaxBytes = 60 * 1024
    /// Spawn requests waiting for the fork server's answer, at most (a pool
    /// of hundreds starts in batches).
    static let spawnRequestsInFlight = 32
    /// Fork servers replaced in a row with no chunk finished in between;
    /// one more death and every job fails.
    static let serverRestartsWithoutProgress = 3
}

/// The clocks: task timeouts, deadlines, and workers gone silent or stalled.
extension Supervisor {
    /// How long poll may sleep: until the nearest timeout, deadline or grace check.
    func pollTimeout() -> Int32 {
        thread.assertConfined()
        if dispatchAgain { return 0 }
        var timeout: Int32 = -1
        func consider(_ ms: Int32) { timeout = timeout < 0 ? ms : min(timeout, ms) }
        let now = monotonicNanoseconds()
        for pool in pools {
            if let t = pool.config.taskTimeout, pool.workers.contains(where: { $0.chunk != nil }) {
                let bounds = SupervisorLimits.timeoutCheckMilliseconds
                consider(Int32(max(Double(bounds.lowerBound), min(Double(bounds.upperBound), t * 100))))
            }
            for job in pool.jobs {
                if let d = job.deadline {
                    consider(d > now ? Int32(min(UInt64(SupervisorLimits.deadlineCheckMilliseconds), (d - now) / 1_000_000 + 1)) : 0)
                }
            }
        }
        if workers.values.contains(where: \.exitPending) { consider(SupervisorLimits.exitStatusRetryMilliseconds) }
        if let ms = spareCheckMilliseconds(at: now) { consider(ms) }
        if workers.values.contains(where: {
            ($0.link.resultEOF && !$0.killRequested) || ($0.link.hasUnparsedInput && $0.chunk != nil)
                || ($0.quitAt != nil && !$0.killRequested)
        }) {
            consider(SupervisorLimits.graceCheckMilliseconds)
        }
        return timeout
    }

    func checkClocks() {
        thread.assertConfined()
        let now = monotonicNanoseconds()
        checkSpare(at: now)
        for worker in Array(workers.values) {
            if worker.link.resultEOF && !worker.killRequested && now - worker.link.eofAt > SupervisorLimits.exitGraceAfterEOF {
                // It closed its result pipe but didn't exit: finish it.
                kill(worker, .malformed("closed its result pipe"))
                continue
            }
            if let quitAt = worker.quitAt, worker.chunk == nil, !worker.killRequested,
               now - quitAt > SupervisorLimits.finiGrace {
                // Its fini hooks did not end in time.
                requestKill(worker)
                continue
            }
            guard let chunk = worker.chunk, worker.killReason == nil else { continue }
            let started = worker.page.started
            let finished = worker.page.finished
            if started != worker.observedStarted {
                worker.observedStarted = started
                worker.observedAt = now
            }
            if let timeout = worker.pool.config.taskTimeout, started > finished,
               Double(now - worker.observedAt) / 1e9 > timeout {
                let position = Int(min(UInt64(chunk.count), max(started, worker.chunkBase + 1) - worker.chunkBase)) - 1
                kill(worker, .timeout(item: max(0, position)))
                continue
            }
            if worker.link.hasUnparsedInput, now - worker.link.lastReadAt > SupervisorLimits.incompleteFrameTimeout {
                kill(worker, .malformed("sent an incomplete frame (a length prefix it never filled)"))
            }
        }
        for pool in pools {
            for job in pool.jobs where !job.isDone {
                guard let deadline = job.deadline, now >= deadline else { continue }
                job.failUnsent(TaskHostError(.cancelled, "not run before the deadline"))
                for worker in pool.workers where worker.chunk?.job === job { kill(worker, .deadline) }
            }
        }
    }
}
