import CTaskHost

/// Dispatch: idle workers get the next items of their pool's jobs, encoded
/// into one request each; what stays idle may serve a caller's direct call.
extension Supervisor {
    func dispatch(_ pool: PoolCore) {
        thread.assertConfined()
        guard !pool.terminated else { return }
        let workWaiting = pool.jobs.contains { $0.hasWorkToSend }
        for worker in pool.workers where worker.isIdle {
            if worker.lent {
                guard workWaiting, reclaim(worker) else { continue }
            }
            guard let (job, plan) = pool.nextItems(tasksSent: worker.tasksSent) else { break }
            send(plan, of: job, to: worker)
        }
        pool.jobs.removeAll { $0.isDone }
        retireIdleWorkersIfClosed(pool)
        checkJoined(pool)
        // What is still idle with nothing to do may serve a caller's apply directly.
        if pool.config.respawn && !pool.closed && !pool.jobs.contains(where: { $0.hasWorkToSend }) {
            for worker in pool.workers where worker.isIdle && !worker.lent && worker.initializerFailure == nil {
                worker.lent = true
                pool.lending.offer(worker)
            }
        }
    }

    /// Takes a lent worker back from `pool.lending`; false while a caller has it.
    func reclaim(_ worker: Worker, exitStatus: Int32? = nil) -> Bool {
        thread.assertConfined()
        guard worker.lent else { return true }
        guard worker.pool.lending.reclaim(worker, exitStatus: exitStatus) else { return false }
        worker.lent = false
        return true
    }

    private func send(_ plan: ChunkPlan, of job: Job, to worker: Worker) {
        thread.assertConfined()
        if let failure = worker.initializerFailure {
            let error = TaskHostError(.taskError, failure)
            switch plan {
            case .items(let items): for item in items { job.resolve(item.index, .failure(error)) }
            case .packed(let rows): for index in rows { job.resolve(index, .failure(error)) }
            }
            // The worker is still idle and nothing will wake the loop for it: come back at once.
            dispatchAgain = true
            return
        }
        guard let chunk = encode(plan, of: job) else { return }
        attach(chunk, to: worker)
        worker.link.send(requestBuilder.bytes)
    }

    /// Encodes a chunk's request into `requestBuilder`. Nil, with the items
    /// failed, when memory runs out.
    func encode(_ plan: ChunkPlan, of job: Job) -> Chunk? {
        thread.assertConfined()
        let frame = requestBuilder
        frame.clear()
        let chunk: Chunk
        switch plan {
        case .items(let items):
            frame.beginChunk(TH_MSG_RUN, of: job.task, count: items.count)
            for item in items { frame.put(item.arguments) }
            var sent = items
            for i in sent.indices { sent[i].attempts += 1 }
            chunk = Chunk(job: job, items: sent, sentAt: monotonicNanoseconds())
        case .packed(let rows):
            guard let packed = job.packed else { return nil }
            // Each column's bytes as they are.
            frame.beginChunk(TH_MSG_RUN_PACKED, of: job.task, count: rows.count)
            for column in packed.types.indices { frame.putBytes(packed.bytes(of: column, rows: rows)) }
            chunk = Chunk(job: job, packed: rows, sentAt: monotonicNanoseconds())
        }
        frame.end()
        guard !frame.failed else {
            for position in 0..<chunk.count {
                job.resolve(chunk.index(at: position), .failure(TaskHostError(.systemError, "out of memory encoding item \(chunk.index(at: position))")))
            }
            return nil
        }
        return chunk
    }

    /// Makes `chunk`, whose request is on its way, the worker's current one.
    func attach(_ chunk: Chunk, to worker: Worker) {
        thread.assertConfined()
        worker.chunk = chunk
        worker.beginItems(chunk.count, at: monotonicNanoseconds())
    }
}
