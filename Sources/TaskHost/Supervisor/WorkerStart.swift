import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// Starting workers: spawn requests to keep each pool at its size, and the
/// fork server's answers turned into `Worker`s.
extension Supervisor {
    func fillPool(_ pool: PoolCore) {
        thread.assertConfined()
        guard broken == nil, !serverDown, !pool.terminated, !(pool.closed && pool.jobs.allSatisfy(\.isDone)) else { return }
        // A single process (respawn off) gets exactly one worker in its life;
        // once it is gone, whatever is left can never run.
        if !pool.config.respawn && pool.spawnRequests > 0 {
            if pool.workers.isEmpty && pool.starting == 0 {
                for job in pool.jobs { job.failUnsent(TaskHostError(.cancelled, "its process had already ended")) }
            }
            return
        }
        // A single process starts in the host's spare when there is one.
        if !pool.config.respawn && fitsSpare(pool) {
            keepSpareWanted()
            if startInSpare(pool) { return }
        }
        // In batches: a few hundred requests at once would only wait in the socket.
        while pool.activeWorkerCount < pool.config.processes && spawns.count < SupervisorLimits.spawnRequestsInFlight {
            let request = nextSpawnRequest
            nextSpawnRequest &+= 1
            let first = firstRequests(for: pool)
            if let first { firstChunks[request] = first }
            do {
                try server.spawn(request: request, memoryLimit: pool.config.memoryLimit, taskOutput: pool.config.taskOutput,
                                 sandbox: pool.config.sandbox, firstRequests: first == nil ? nil : requestBuilder.bytes)
            } catch {
                serverDied(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)"))
                return
            }
            spawns[request] = pool
            pool.starting += 1
            pool.spawnRequests += 1
            if !pool.config.respawn { break }
        }
    }

    /// A single process gets its work with the spawn request: it starts on
    /// it at once, and quits after it when nothing else can come. The
    /// requests are left in `requestBuilder`.
    func firstRequests(for pool: PoolCore) -> (chunk: Chunk, quits: Bool)? {
        guard !pool.config.respawn, pool.config.initializer == nil,
              let (job, plan) = pool.nextItems(tasksSent: 0), let chunk = encode(plan, of: job) else { return nil }
        // The fork server writes these into the new worker's request pipe before
        // the host holds its result pipe: they must fit the pipe (1 MiB) with room.
        guard requestBuilder.bytes.count <= SupervisorLimits.firstRequestsMaxBytes else {
            requeueUnstarted(chunk)
            return nil
        }
        let quits = pool.closed && !pool.jobs.contains { $0.hasWorkToSend }
        if quits {
            requestBuilder.begin(TH_MSG_QUIT)
            requestBuilder.end()
        }
        return (chunk, quits)
    }

    func spawned(request: UInt32, pid: pid_t, error: String, descriptors fds: [Int32]) {
        thread.assertConfined()
        if spareSpawned(request: request, pid: pid, descriptors: fds) { return }
        guard let pool = spawns.removeValue(forKey: request) else {
            for fd in fds { Glibc.close(fd) }
            return
        }
        pool.starting -= 1
        let first = firstChunks.removeValue(forKey: request)
        // A pidfd comes fourth where the server reports exits through pidfds.
        guard pid > 0, fds.count == 3 || fds.count == 4 else {
            for fd in fds { Glibc.close(fd) }
            if let first { requeueUnstarted(first.chunk) }
            spawnFailed(pool, error.isEmpty ? "the fork server could not start a worker" : error)
            return
        }
        pool.spawnFailures = 0
        let page = WorkerPage(memfd: fds[2])
        Glibc.close(fds[2])
        guard let page else {
            Glibc.close(fds[0]); Glibc.close(fds[1])
            if fds.count == 4 { Glibc.close(fds[3]) }
            server.kill(pid)
            if let first { requeueUnstarted(first.chunk) }
            return
        }
        let worker = Worker(pid: pid, link: WorkerLink(requestFD: fds[0], resultFD: fds[1]), page: page,
                            exitDescriptor: fds.count == 4 ? fds[3] : -1, pool: pool)
        workers[pid] = worker
        pool.workers.append(worker)
        if fds.count == 4 { exitsByPidfd = true }
        if let first {
            attach(first.chunk, to: worker)
            worker.retiring = first.quits
        }
        pool.onWorkerStart?(pid)
        if pool.terminated || broken != nil {
            kill(worker, .terminated)
            return
        }
        if let initializer = pool.config.initializer {
            let frame = FrameBuilder()
            frame.beginChunk(TH_MSG_RUN, of: initializer.task, count: 1)
            frame.put(.many(initializer.arguments))
            frame.end()
            worker.initializing = true
            worker.itemsSent += 1
            worker.link.send(frame.bytes)
        }
        if pool.closed && pool.jobs.isEmpty { retire(worker) }
        // Last: a fork server found dead by this request buries every worker, this one too.
        if fitsSpare(pool) { requestSpare() }
    }

    /// A spawn request failed: try again, unless it keeps failing with no
    /// worker alive; then the pool's jobs fail with the reason.
    private func spawnFailed(_ pool: PoolCore, _ reason: String) {
        pool.spawnFailures += 1
        pool.lastSpawnError = reason
        if pool.spawnFailures >= SupervisorLimits.spawnFailuresBeforeGivingUp && pool.workers.isEmpty {
            let failure = TaskHostError(.systemError, pool.lastSpawnError)
            for job in pool.jobs { job.failUnsent(failure) }
            pool.jobs.removeAll()
            checkJoined(pool)
        } else {
            fillPool(pool)
        }
    }

    /// Puts back the items of a chunk that never reached a worker.
    func requeueUnstarted(_ chunk: Chunk) {
        thread.assertConfined()
        for position in 0..<chunk.count {
            var item = chunk.item(at: position)
            item.attempts -= 1
            chunk.job.requeued.append(item)
        }
    }
}
