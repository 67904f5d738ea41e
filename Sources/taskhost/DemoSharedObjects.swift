import TaskHost

/// The demo's chapter on synchronization and IPC: a producer and a consumer
/// process talking through a queue, then workers adding to a shared counter
/// under its lock.
func sharedObjectsChapter(_ host: PluginHost) throws {
    guard (try? host.task(named: "ipc.producer")) != nil else {
        print("== synchronization chapter skipped: the ipc plugin is not loaded")
        return
    }
    print("== Queue(): Process(producer) puts 1..1000 then 0, Process(consumer) sums up to the 0")
    let jobs = try host.queue("jobs", capacity: 64, itemSize: 8)
    try runProcesses(host, ["ipc.producer", "ipc.consumer"])
    let left = try jobs.tryGet().map { "\($0)" } ?? "nothing"
    print("the host takes what is left in the queue: \(left) (the end marker, put back for any other consumer)")
    print()

    print("== Value('q', 0) with its lock: Pool(processes: 2).map(count_up, [25000] * 4)")
    let counter = try host.value("counter")
    let pool = try Pool(host: host, processes: 2)
    let added = try pool.map("ipc.count_up", Array(repeating: 25_000, count: 4))
    pool.close()
    let total = added.reduce(Int64(0)) { sum, result in
        if case .success(.int64(let n)) = result { return sum + n }
        return sum
    }
    print("workers added \(total); the counter reads \(counter.int64)")
    print()
}
