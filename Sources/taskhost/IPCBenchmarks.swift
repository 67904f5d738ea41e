import Foundation
import TaskHost

/// The `ipc_*` rows: TaskHost's shared objects against Python's
/// (bench/python_ipc.py measures the same things the same way).
struct IPCBenchmarks {
    let host: PluginHost
    let quick: Bool

    func run() throws -> [BenchRow] {
        [try queue(), try pipe(), try lock(), try lockedIncrements(), try event()] + (try sharedBuffer())
    }

    /// One producer process puts small values; the host gets them.
    func queue() throws -> BenchRow {
        let items = quick ? 200_000 : 2_000_000
        let queue = try host.queue("bench_queue", capacity: 4096, itemSize: 8)
        let producer = try WorkerProcess(host: host, task: "ipc.put_range", arguments: ["bench_queue", 0, .int64(Int64(items))])
        var sum: Int64 = 0
        let seconds = try measure {
            try producer.start()
            for _ in 0..<items { if case .int64(let v) = try queue.get(timeout: 60) { sum &+= v } }
            producer.join()
        }
        guard sum == Int64(items) * Int64(items - 1) / 2 else { throw TaskHostError(.systemError, "ipc_queue lost items") }
        return BenchRow(key: "ipc_queue", workload: "queue: one producer process -> host", value: Double(items) / seconds,
                        unit: "items/s")
    }

    /// The host sends at a pipe's end 0; a worker echoes at end 1.
    func pipe() throws -> BenchRow {
        let rounds = quick ? 2_000 : 20_000
        let pipe = try host.pipe("bench_pipe", capacity: 16, itemSize: 8)
        let echo = try WorkerProcess(host: host, task: "ipc.echo", arguments: ["bench_pipe", .int64(Int64(rounds))])
        try echo.start()
        try pipe.send(0, from: 0, timeout: 60)
        _ = try pipe.receive(at: 0, timeout: 60)
        let seconds = try measure {
            for i in 1..<rounds {
                try pipe.send(.int64(Int64(i)), from: 0, timeout: 60)
                _ = try pipe.receive(at: 0, timeout: 60)
            }
        }
        echo.join()
        return BenchRow(key: "ipc_pipe_rtt", workload: "pipe round trip, host <-> worker",
                        value: seconds / Double(rounds - 1) * 1e6, unit: "us")
    }

    /// Uncontended acquire + release by the host.
    func lock() throws -> BenchRow {
        let count = quick ? 1_000_000 : 10_000_000
        let lock = try host.lock("bench_lock")
        let seconds = try measure {
            for _ in 0..<count {
                _ = try lock.acquire()
                try lock.release()
            }
        }
        return BenchRow(key: "ipc_lock", workload: "lock acquire + release, uncontended", value: seconds / Double(count) * 1e9,
                        unit: "ns")
    }

    /// Two workers add 1 to one value under its lock.
    func lockedIncrements() throws -> BenchRow {
        let times = quick ? 500_000 : 5_000_000
        let value = try host.value("bench_counter")
        let pool = try Pool(host: host, processes: 2)
        defer { pool.terminate() }
        _ = try pool.starmap("ipc.locked_add", [["bench_counter", 1], ["bench_counter", 1]], chunksize: 1)
        value.int64 = 0
        let seconds = try measure {
            _ = try pool.starmap("ipc.locked_add", [["bench_counter", .int64(Int64(times))], ["bench_counter", .int64(Int64(times))]],
                                 chunksize: 1)
        }
        guard value.int64 == Int64(2 * times) else { throw TaskHostError(.systemError, "ipc_locked_increments lost increments") }
        return BenchRow(key: "ipc_locked_increments", workload: "value += 1 under its lock, 2 workers",
                        value: Double(2 * times) / seconds, unit: "increments/s")
    }

    /// The host sets ping and waits for pong; a worker answers.
    func event() throws -> BenchRow {
        let rounds = quick ? 1_000 : 5_000
        let ping = try host.event("bench_ping"), pong = try host.event("bench_pong")
        let worker = try WorkerProcess(host: host, task: "ipc.pong", arguments: ["bench_ping", "bench_pong", .int64(Int64(rounds))])
        try worker.start()
        let seconds = measure {
            for _ in 0..<rounds {
                ping.set()
                _ = pong.wait(timeout: 60)
                pong.clear()
            }
        }
        worker.join()
        return BenchRow(key: "ipc_event_rtt", workload: "event ping-pong, host <-> worker",
                        value: seconds / Double(rounds) * 1e6, unit: "us")
    }

    /// A pool of 2 maps a task over 8 views of one 64 MiB buffer: each view
    /// arrives as a `shared_bytes` argument, a pointer into the worker's
    /// mapping (no copy).
    func sharedBuffer() throws -> [BenchRow] {
        let size = 64 << 20
        let buffer = try host.buffer("bench_buffer", size: size)
        buffer.withUnsafeMutableBytes { bytes in for page in stride(from: 0, to: size, by: 4096) { bytes[page] = 3 } }
        let pool = try Pool(host: host, processes: 2)
        defer { pool.terminate() }
        let views = buffer.views(8)
        _ = try pool.map("ipc.bytes_sum", Array(views[0..<2]), chunksize: 1)
        var results: [TaskResult] = []
        let seconds = try measure {
            results = try pool.map("ipc.bytes_sum", views, chunksize: 1)
        }
        guard try results.allSatisfy({ try $0.get() == .uint64(3 * 2048) }) else {
            throw TaskHostError(.systemError, "ipc_shared_64MiB_x8 read wrong bytes")
        }
        return [BenchRow(key: "ipc_shared_64MiB_x8", workload: "8 views of a 64 MiB shared buffer, pool of 2",
                         value: seconds, unit: "s")]
    }
}
