import CTaskHost
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A worker forked ahead and kept by the host for its next single process
/// (`WorkerProcess`): the fork server forks it bare (no settings) while the
/// last process runs, and hands it over with its pipes, page and pidfd. The
/// next unsandboxed process starts in it at once: the supervisor writes the
/// worker's settings and the process's RUN and QUIT into its request pipe,
/// with no round trip through the fork server, which forks the next spare
/// meanwhile. Only where exits come through pidfds (`ExitWatch`): elsewhere
/// the server must reap each process itself and a fork beside it would delay
/// that, so the server keeps its own spare (spare.c).
struct ParkedSpare: Sendable {
    let pid: pid_t
    let requestFD: Int32
    let resultFD: Int32
    let pageFD: Int32
    let exitFD: Int32

    func close() {
        for fd in [requestFD, resultFD, pageFD, exitFD] { Glibc.close(fd) }
    }
}

/// The parked spares, oldest first: the supervisor parks them, and a
/// caller starting a `WorkerProcess` takes one itself (`WorkerProcess.start`
/// writes the process's requests into it and hands it to the supervisor),
/// so that the process starts without waiting for the supervisor's thread.
final class SpareShelf: Sendable {
    private let spares = Mutex<[ParkedSpare]>([])

    var count: Int { spares.withLock { $0.count } }

    func park(_ spare: ParkedSpare) { spares.withLock { $0.append(spare) } }

    /// Puts back one taken but not used, as the oldest.
    func putBack(_ spare: ParkedSpare) { spares.withLock { $0.insert(spare, at: 0) } }

    /// The oldest spare still alive; the dead ones before it are closed.
    func take() -> ParkedSpare? {
        while let spare = spares.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            if th__pidfd_exited(spare.exitFD) == 0 { return spare }
            spare.close()  // died while parked
        }
        return nil
    }

    func takeAll() -> [ParkedSpare] { spares.withLock { all in defer { all.removeAll() }; return all } }
}

extension Supervisor {
    /// Whether `pool` (a single process) may start in the spare: no sandbox
    /// (the spare is forked outside any) and no initializer.
    func fitsSpare(_ pool: PoolCore) -> Bool {
        !pool.config.respawn && pool.config.sandbox == nil && pool.config.initializer == nil
    }

    /// Starts `pool`'s process in a parked spare: true when it did (the
    /// worker is `pool`'s with its first requests written) or when the
    /// process waits for a spare on its way (a spawn request of its own would
    /// only be forked after it); false when it must be spawned.
    func startInSpare(_ pool: PoolCore) -> Bool {
        thread.assertConfined()
        guard fitsSpare(pool), !pool.terminated else { return false }
        if let spare = spareShelf.take() {
            if start(pool, in: spare) { return true }
            spareShelf.putBack(spare)
            return false
        }
        guard !spareRequests.isEmpty else { return false }
        if !spareWaiters.contains(where: { $0 === pool }) { spareWaiters.append(pool) }
        return true
    }

    /// Makes `spare` the worker of `pool`'s process; false when there is
    /// nothing to run (the spare is left as it was).
    private func start(_ pool: PoolCore, in spare: ParkedSpare) -> Bool {
        guard let page = WorkerPage(memfd: spare.pageFD) else { return false }
        guard let first = firstRequests(for: pool) else {
            page.release()
            return false
        }
        Glibc.close(spare.pageFD)
        let settings = FrameBuilder()
        settings.putSettings(of: pool.config)
        let worker = Worker(pid: spare.pid, link: WorkerLink(requestFD: spare.requestFD, resultFD: spare.resultFD),
                            page: page, exitDescriptor: spare.exitFD, pool: pool)
        worker.link.send(settings.bytes)
        worker.link.send(requestBuilder.bytes)
        workers[spare.pid] = worker
        pool.workers.append(worker)
        pool.spawnRequests += 1
        attach(first.chunk, to: worker)
        worker.retiring = first.quits
        pool.onWorkerStart?(spare.pid)
        keepSpareWanted()
        requestSpare()  // last: a fork server found dead by it buries every worker, this one too
        return true
    }

    /// A caller started `pool`'s process in a spare it took from the shelf
    /// (`WorkerProcess.start`: the worker's settings, RUN and QUIT are in its
    /// pipe): the worker becomes the pool's, with `chunk` in flight, as if
    /// this thread had started it.
    func adoptStarted(_ pool: PoolCore, job: Job, chunk: Chunk, spare: ParkedSpare,
                      whenDone: @escaping @Sendable () -> Void) {
        thread.assertConfined()
        pools.append(pool)
        pool.closed = true
        pool.joinWaiters.append(whenDone)
        pool.jobs.append(job)
        pool.spawnRequests += 1
        let page = WorkerPage(memfd: spare.pageFD)
        Glibc.close(spare.pageFD)
        guard let page else {
            server.kill(spare.pid)
            for fd in [spare.requestFD, spare.resultFD, spare.exitFD] { Glibc.close(fd) }
            job.resolve(chunk.index(at: 0), .failure(TaskHostError(.systemError, "cannot map a worker's counters page")))
            checkJoined(pool)
            return
        }
        let worker = Worker(pid: spare.pid, link: WorkerLink(requestFD: spare.requestFD, resultFD: spare.resultFD),
                            page: page, exitDescriptor: spare.exitFD, pool: pool)
        workers[spare.pid] = worker
        pool.workers.append(worker)
        worker.chunk = chunk
        worker.beginItems(chunk.count, at: chunk.sentAt)
        worker.retiring = true
        pool.onWorkerStart?(spare.pid)
        keepSpareWanted()
        if pool.terminated || broken != nil {
            kill(worker, .terminated)
            return
        }
        // Last: a fork server found dead by this request buries every worker, this one too.
        requestSpare()
    }

    /// A single process started or ended: a spare is kept from now on, until
    /// `SupervisorLimits.spareKeep` after the last one.
    func keepSpareWanted() {
        spareWantedUntil = monotonicNanoseconds() + SupervisorLimits.spareKeep
    }

    /// Asks the fork server for spares until `SupervisorLimits.spares` are
    /// parked or on their way, unless none is wanted or exits don't come
    /// through pidfds here. Two: a process started in one while the next is
    /// still being forked would otherwise wait for it.
    func requestSpare() {
        thread.assertConfined()
        while exitsByPidfd, spareShelf.count + spareRequests.count < SupervisorLimits.spares, broken == nil, !serverDown,
              monotonicNanoseconds() < spareWantedUntil {
            let request = nextSpawnRequest
            nextSpawnRequest &+= 1
            do {
                try server.spawn(request: request, memoryLimit: nil, taskOutput: .stdout, sandbox: nil, firstRequests: nil,
                                 bare: true)
            } catch {
                serverDied(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)"))
                return
            }
            spareRequests[request] = false
        }
    }

    /// The answer to a spare's spawn request: parks the worker (or lets it go
    /// when it is no longer wanted or was forked before a shared object came
    /// or went). False when `request` was not the spare's.
    func spareSpawned(request: UInt32, pid: pid_t, descriptors fds: [Int32]) -> Bool {
        thread.assertConfined()
        guard let stale = spareRequests.removeValue(forKey: request) else { return false }
        let wanted = !stale && (monotonicNanoseconds() < spareWantedUntil || !spareWaiters.isEmpty)
        if pid > 0, fds.count == 4, wanted {
            spareShelf.park(ParkedSpare(pid: pid, requestFD: fds[0], resultFD: fds[1], pageFD: fds[2], exitFD: fds[3]))
        } else {
            if pid > 0 { server.kill(pid) }
            for fd in fds { Glibc.close(fd) }
        }
        // Processes waiting for a spare take this one, or spawn their own when none is coming.
        let waiting = spareWaiters
        spareWaiters.removeAll()
        for pool in waiting where pool.workers.isEmpty && pool.starting == 0 && pool.spawnRequests == 0 {
            fillPool(pool)
        }
        return true
    }

    /// Kills the parked spare, and lets the one on its way go when it comes
    /// (a shared object came or went: a spare forked before would not match).
    func discardSpare() {
        thread.assertConfined()
        for spare in spareShelf.takeAll() {
            server.kill(spare.pid)
            spare.close()
        }
        for request in spareRequests.keys { spareRequests[request] = true }
    }

    /// The fork server died: its spares with it (processes waiting for one
    /// are spawned anew with the others).
    func forgetSpare() {
        thread.assertConfined()
        for spare in spareShelf.takeAll() { spare.close() }
        spareRequests.removeAll()
        spareWaiters.removeAll()
    }

    /// Whether a single process runs (its spare is then kept however long it runs).
    private var singleProcessRuns: Bool {
        pools.contains { !$0.config.respawn && !$0.workers.isEmpty }
    }

    /// Kills the spare once none is wanted: `spareKeep` after the last single process.
    func checkSpare(at now: UInt64) {
        thread.assertConfined()
        guard spareShelf.count > 0, now >= spareWantedUntil, !singleProcessRuns else { return }
        discardSpare()
    }

    /// Milliseconds until `checkSpare` may have work; nil when never.
    func spareCheckMilliseconds(at now: UInt64) -> Int32? {
        guard spareShelf.count > 0, !singleProcessRuns else { return nil }
        return spareWantedUntil > now ? Int32(min(1000, (spareWantedUntil - now) / 1_000_000 + 1)) : 0
    }
}

extension FrameBuilder {
    /// A spare worker's first message: the settings the fork server gives a
    /// worker it forks for a pool (a spare is forked bare, without them).
    func putSettings(of config: PoolConfig) {
        var message = th__msg_settings(memory_limit: config.memoryLimit ?? 0, task_output: config.taskOutput.wireCode)
        withBuffer { th__msg_settings_put($0, &message) }
    }
}
