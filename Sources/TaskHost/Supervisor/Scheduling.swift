/// Scheduling: which items a pool's idle worker gets next.
extension PoolCore {
    /// The next items for a worker that has run `tasksSent` items: retried
    /// and lost items first, one at a time (so a second crash is pinned
    /// exactly), then up to a chunk of the first job with work — packed rows
    /// or pulled items — never past the worker's `maxTasksPerChild`.
    func nextItems(tasksSent: UInt64) -> (Job, ChunkPlan)? {
        var allowance = Int.max
        if let limit = config.maxTasksPerChild { allowance = max(1, limit - Int(tasksSent)) }
        for job in jobs where !job.isDone {
            if !job.requeued.isEmpty {
                return (job, .items([job.requeued.removeFirst()]))
            }
            let limit = min(job.chunksize, allowance)
            if let rows = job.takePacked(limit) { return (job, .packed(rows)) }
            var items: [ItemRun] = []
            while items.count < limit, let item = job.pull() { items.append(item) }
            if !items.isEmpty { return (job, .items(items)) }
        }
        return nil
    }
}
