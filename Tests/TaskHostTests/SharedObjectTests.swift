import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost
import TestSupport

/// Shared objects between the host and real worker processes, with the
/// shipped `ipc` plugin and the test-only `ipcfaults` (Tests/Plugins): items
/// cross exactly once, and a worker killed at the worst moment leaves
/// nothing wedged — the others go on and are told what happened.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SharedObjectTests {
    static let faults: String = try! TestSupport.buildPlugin(
        TestSupport.repositoryRoot + "/Tests/Plugins/ipcfaults/ipcfaults.c", name: "ipcfaults")

    func makeHost() throws -> PluginHost { try PluginHost(pluginFiles: [Self.faults]) }

    /// Runs `task` in its own process to its end.
    func run(_ host: PluginHost, _ task: String, _ arguments: [Value], timeout: Double? = nil) throws -> (TaskResult, pid_t?) {
        let process = try WorkerProcess(host: host, task: task, arguments: arguments, timeout: timeout)
        try process.start()
        process.join()
        return (process.result!, process.pid)
    }

    @Test func aMillionItemsCrossFromOneProcessToAnother() throws {
        let host = try makeHost()
        let queue = try host.queue("numbers", capacity: 4096, itemSize: 8)
        let n: Int64 = 1_000_000
        let consumer = try WorkerProcess(host: host, task: "ipc.take_sum", arguments: ["numbers", .int64(n)])
        let producer = try WorkerProcess(host: host, task: "ipc.put_range", arguments: ["numbers", 0, .int64(n)])
        try consumer.start()
        try producer.start()
        producer.join()
        consumer.join()
        #expect(try producer.result?.get() == .int64(n * (n - 1) / 2))
        #expect(try consumer.result?.get() == .int64(n * (n - 1) / 2))
        #expect(queue.count == 0)
    }

    @Test func everyItemReachesTheHostExactlyOnce() throws {
        let host = try makeHost()
        let queue = try host.queue("numbers", capacity: 1024, itemSize: 8)
        let n = 200_000
        let producers = try Pool(host: host, processes: 2)
        let putting = try producers.applyAsync("ipc.put_range", ["numbers", 0, .int64(Int64(n / 2))])
        let puttingMore = try producers.applyAsync("ipc.put_range", ["numbers", .int64(Int64(n / 2)), .int64(Int64(n / 2))])
        var seen = [Bool](repeating: false, count: n)
        for _ in 0..<n {
            guard case .int64(let v) = try queue.get(timeout: 60) else { Issue.record("not an int64"); return }
            #expect(!seen[Int(v)], "\(v) came twice")
            seen[Int(v)] = true
        }
        _ = try putting.get()
        _ = try puttingMore.get()
        #expect(seen.allSatisfy { $0 })
        #expect(try queue.tryGet() == nil)
    }

    @Test func aMillionItemsCrossAPoolOfProducersToAPoolOfConsumers() throws {
        let host = try makeHost()
        let queue = try host.queue("work", capacity: 1024, itemSize: 8) // lives as long as this reference
        defer { withExtendedLifetime(queue) {} }
        let producers = try Pool(host: host, processes: 2)
        let consumers = try Pool(host: host, processes: 2)
        let quarter = 250_000
        let taking = Pending<[TaskResult]>()
        Thread.detachNewThread {
            taking.set((try? consumers.starmap("ipc.take_sum", [["work", .int64(Int64(2 * quarter))],
                                                                ["work", .int64(Int64(2 * quarter))]], chunksize: 1)) ?? [])
        }
        let put = try producers.starmap("ipc.put_range", (0..<4).map { ["work", .int64(Int64($0 * quarter)), .int64(Int64(quarter))] },
                                        chunksize: 1)
        let n = Int64(4 * quarter)
        #expect(try put.map { try $0.get().int64 ?? 0 }.reduce(0, +) == n * (n - 1) / 2)
        let taken = taking.value()
        #expect(taken.count == 2)
        // Every item taken once: the consumers' sums add up to the producers'.
        #expect(try taken.map { try $0.get().int64 ?? 0 }.reduce(0, +) == n * (n - 1) / 2)
    }

    @Test func aWorkerThatDiesHoldingAnyKindOfLockHandsItOnAsOwnerDied() throws {
        let host = try makeHost()
        let lock = try host.lock("l")
        let rlock = try host.lock("r", reentrant: true)
        let condition = try host.condition("c")
        let value = try host.value("v")
        let array = try host.array("a", of: .double, count: 4)
        for name in ["l", "r", "c", "v", "a"] {
            let (died, _) = try run(host, "ipcfaults.hold_and_die", [.string(name)])
            #expect(throws: TaskHostError.self) { try died.get() }
            // The next owner, in another worker, is told; the one after it is not.
            let (next, _) = try run(host, "ipcfaults.acquire_status", [.string(name), 5.0])
            #expect(try next.get() == 1, "\(name)")
            #expect(try run(host, "ipcfaults.acquire_status", [.string(name), 5.0]).0.get() == 0, "\(name)")
        }
        // And the host, when it is the next owner.
        _ = try run(host, "ipcfaults.hold_and_die", ["l"])
        #expect(try lock.acquire(timeout: 5) == .previousOwnerDied)
        try lock.release()
        _ = try run(host, "ipcfaults.hold_and_die", ["r"])
        #expect(try rlock.withLock { $0 } == .previousOwnerDied)
        _ = try run(host, "ipcfaults.hold_and_die", ["c"])
        #expect(try condition.withLock { $0 } == .previousOwnerDied)
        _ = try run(host, "ipcfaults.hold_and_die", ["v"])
        #expect(try value.withLock { $0 } == .previousOwnerDied)
        _ = try run(host, "ipcfaults.hold_and_die", ["a"])
        #expect(try array.withLock { $0 } == .previousOwnerDied)
        #expect(try lock.withLock { $0 } == .acquired)
    }

    @Test func aDeadWorkersSemaphoreUnitsComeBack() throws {
        let host = try makeHost()
        let semaphore = try host.semaphore("s", value: 3)
        let (died, _) = try run(host, "ipcfaults.take_and_die", ["s", 2])
        if case .failure(let error) = died { #expect(error.kind == .crashed) } else { Issue.record("it did not die") }
        #expect(semaphore.value == 3)
        #expect(semaphore.acquire(timeout: 0) && semaphore.acquire(timeout: 0) && semaphore.acquire(timeout: 0))
        #expect(!semaphore.acquire(timeout: 0))
    }

    @Test func aWorkerKilledInsidePutLeavesNoHalfItemAndNoWedge() throws {
        let host = try makeHost()
        let queue = try host.queue("q", capacity: 4, itemSize: 8)
        try queue.put(1)
        let (died, _) = try run(host, "ipcfaults.die_in_put", ["q"])
        #expect(throws: TaskHostError.self) { try died.get() }
        try queue.put(3)
        #expect(try queue.get(timeout: 5) == 1)
        #expect(try queue.get(timeout: 5) == 3) // the dead put is dropped, never seen
        #expect(try queue.tryGet() == nil)
        // The dropped slot is free again: the queue still holds 4.
        for v in Int64(0)..<4 { #expect(try queue.tryPut(.int64(v))) }
        #expect(try !queue.tryPut(9))
    }

    @Test func aWorkerKilledInsideGetLosesOnlyTheItemInItsHands() throws {
        let host = try makeHost()
        let queue = try host.queue("q", capacity: 2, itemSize: 8)
        try queue.put(1)
        try queue.put(2)
        let (died, _) = try run(host, "ipcfaults.die_in_get", ["q"])
        #expect(throws: TaskHostError.self) { try died.get() }
        #expect(try queue.get(timeout: 5) == 2)
        #expect(try queue.tryGet() == nil)
        // Its slot was freed: the queue holds 2 again.
        #expect(try queue.tryPut(3) && queue.tryPut(4))
        #expect(try !queue.tryPut(5))
    }

    @Test func aPartyKilledWhileWaitingBreaksTheBarrierForTheOthers() throws {
        let host = try makeHost()
        let barrier = try host.barrier("b", parties: 3)
        let patient = try WorkerProcess(host: host, task: "ipcfaults.barrier_wait", arguments: ["b", 60.0])
        try patient.start()
        // The supervisor kills this one at its task timeout, while it waits.
        let (killed, killedPID) = try run(host, "ipcfaults.barrier_wait", ["b", 60.0], timeout: 1)
        if case .failure(let error) = killed { #expect(error.kind == .timedOut) } else { Issue.record("it passed") }
        patient.join()
        #expect(try patient.result?.get() == .int64(-2)) // TH_SHARED_BROKEN
        #expect(barrier.brokenBy == killedPID)
        #expect(throws: SharedObjectError.broken("b", deadParty: killedPID)) { try barrier.wait(timeout: 1) }
        #expect("\(SharedObjectError.broken("b", deadParty: 42))" == "barrier 'b' is broken: party 42 died while waiting")
        barrier.reset()
        #expect(barrier.brokenBy == nil)
    }

    /// plugin.h's example, compiled from the header's own text with nothing
    /// but the public headers, used from several workers: exact totals.
    @Test func thePluginOfPluginHsExampleGetsExactTotals() throws {
        let header = try String(contentsOfFile: TestSupport.repositoryRoot + "/include/taskhost/plugin.h", encoding: .utf8)
        let lines = header.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.contains("static int64_t produce(") }) - 2
        let end = try #require(lines.firstIndex { $0.contains("TH_EXPORT_PLUGIN(\"pc\"") })
        let source = lines[start...end].map { $0.hasPrefix(" *     ") ? String($0.dropFirst(7)) : "" }.joined(separator: "\n")
        #expect(source.hasPrefix("#include <taskhost/plugin.h>"))
        let folder = TestSupport.temporaryFolder("pc")
        try (source + "\n").write(toFile: folder + "/pc.c", atomically: true, encoding: .utf8)
        let plugin = try TestSupport.buildPlugin(folder + "/pc.c", name: "pc", extraFlags: ["-Werror"])
        let host = try PluginHost(pluginFiles: [plugin])
        let jobs = try host.queue("jobs", capacity: 256, itemSize: 8)
        let counter = try host.value("counter")
        let pool = try Pool(host: host, processes: 3)
        let consumed = try pool.applyAsync("pc.consume")
        let produced = try pool.applyAsync("pc.produce", [20_000])
        #expect(try produced.get() == 20_000)
        #expect(try consumed.get() == .int64(20_000 * 20_001 / 2))
        #expect(jobs.count == 0)
        let added = try pool.map("pc.add", Array(repeating: 5_000, count: 6), chunksize: 1)
        #expect(added.count == 6)
        #expect(counter.int64 == 30_000)
    }

    /// The C API: th_host_share, then shared.h's functions on the handle.
    @Test func aCProgramSharesAQueueWithItsWorkers() throws {
        let source = #"""
            #include <taskhost/taskhost.h>
            #include <stdio.h>
            int main(void) {
                th_error *error = NULL;
                th_host *host = th_host_new(NULL, &error);
                if (!host) { fprintf(stderr, "%s\n", th_error_message(error)); return 1; }
                th_shared *jobs = th_host_share(host, "jobs", "queue:64:8", &error);
                if (!jobs) { fprintf(stderr, "%s\n", th_error_message(error)); return 1; }
                if (!th_host_share(host, "jobs", "queue", &error)) printf("%s\n", th_error_message(error));
                th_error_free(error);
                error = NULL;
                if (!th_host_share(host, "x", "queue:0", &error)) printf("%s\n", th_error_message(error));
                th_error_free(error);
                error = NULL;
                th_pool_options options;
                th_pool_options_init(&options);
                options.processes = 1;
                th_pool *pool = th_pool_new(host, &options, &error);
                for (int64_t i = 1; i <= 50; i++) th_queue_put_int64(jobs, i, -1);
                th_value args[2] = {th_string("jobs"), th_int64(50)};
                th_results *results = NULL;
                if (th_pool_apply(pool, "ipc.take_sum", args, 2, &results, &error) != 0) return 1;
                const th_value *sum = th_results_value(results, 0);
                printf("sum %lld, left %lld, kind %d\n", sum ? (long long)sum->as.i64 : -1LL,
                       (long long)th_queue_count(jobs), (int)th_shared_kind_of(jobs));
                th_results_free(results);
                th_pool_free(pool);
                th_shared_free(jobs);
                th_host_free(host);
                return 0;
            }
            """#
        let folder = TestSupport.temporaryFolder("share-c")
        try source.write(toFile: folder + "/share.c", atomically: true, encoding: .utf8)
        let products = TestSupport.productsFolder
        let cc = try TestSupport.run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I",
                                                      TestSupport.repositoryRoot + "/include", folder + "/share.c", "-o",
                                                      folder + "/share", "-L", products, "-Wl,-rpath," + products, "-lTaskHost"])
        try #require(cc.status == 0, "\(cc.stderr)")
        let run = try TestSupport.run(folder + "/share", [])
        #expect(run.stdout == """
            a shared object named 'jobs' already exists
            bad shared object spec 'queue:0': queue [:CAPACITY[:ITEM_SIZE]] (2 to 16777216 items, default 1024 for a queue and 64 for a pipe; 8 bytes to 64M each, default 256)
            sum 1275, left 0, kind 8

            """)
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func theHostUsesEveryObjectWhileWorkRuns() throws {
        let host = try makeHost()
        let counter = try host.value("counter")
        let pipe = try host.pipe("p")
        let ping = try host.event("ping"), pong = try host.event("pong")
        let buffer = try host.buffer("big", size: 1 << 20)
        let pool = try Pool(host: host, processes: 2)
        #expect(try pool.starmap("ipc.count_up", [[10_000], [10_000], [10_000]]).map { try $0.get() } == [10_000, 10_000, 10_000])
        #expect(counter.int64 == 30_000)
        let echo = try pool.applyAsync("ipc.echo", ["p", 3])
        for v: Value in [7, "seven", .bytes([7, 7])] {
            try pipe.send(v, from: 0, timeout: 10)
            #expect(try pipe.receive(at: 0, timeout: 10) == v)
        }
        #expect(try echo.get() == 3)
        let pinged = try pool.applyAsync("ipc.pong", ["ping", "pong", 2])
        for _ in 0..<2 {
            ping.set()
            #expect(pong.wait(timeout: 10))
            pong.clear()
        }
        #expect(try pinged.get() == 2)
        buffer.withUnsafeMutableBytes { bytes in for page in stride(from: 0, to: bytes.count, by: 4096) { bytes[page] = 3 } }
        #expect(try pool.apply("ipc.view_sum", ["big", 1, 4]) == .uint64(3 * 64))
        #expect(throws: TaskHostError(.invalidArgument, "a shared object named 'counter' already exists")) {
            try host.value("counter")
        }
        let missing = try pool.starmap("ipc.take_sum", [["nothing", 1]])
        #expect(throws: TaskHostError.self) { try missing[0].get() }
        if case .failure(let e) = missing[0] {
            #expect(e.message == "ipc.take_sum(\"nothing\", 1): no shared object named 'nothing' (create it before the workers start)")
        }
    }
}

extension Value {
    var int64: Int64? { if case .int64(let v) = self { v } else { nil } }
}
