import Testing
@testable import TaskHost
import TestSupport

/// Shared objects made for one pool or one process (`shared:`): their
/// workers see them, and they go with the pool or process.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SharedScopeTests {
    @Test func aPoolsObjectsLiveAsLongAsThePool() throws {
        let host = try PluginHost()
        do {
            let pool = try Pool(host: host, processes: 2, shared: ["counter": "value", "gate": "lock"])
            #expect(pool.shared.keys.sorted() == ["counter", "gate"])
            #expect(pool.shared["gate"]?.kind == .lock)
            #expect(try pool.map("ipc.count_up", [500, 700], chunksize: 1).map { try $0.get() } == [500, 700])
            let counter = try #require(pool.shared["counter"] as? SharedValue)
            #expect(counter.int64 == 1200)
            #expect(throws: TaskHostError(.invalidArgument, "a shared object named 'counter' already exists")) {
                try host.value("counter")
            }
        }
        // The pool is gone, and its objects with it: the names are free.
        let counter = try host.value("counter", Int64(5))
        #expect(counter.int64 == 5)
    }

    @Test func aProcesssObjectsReachItsTaskAndGoWithIt() throws {
        let host = try PluginHost()
        do {
            let producer = try WorkerProcess(host: host, task: "ipc.producer", shared: ["jobs": "queue:2048:8"])
            let jobs = try #require(producer.shared["jobs"] as? SharedQueue)
            try producer.start()
            producer.join()
            #expect(try producer.result?.get() == 1000)
            var sum: Int64 = 0
            while let item = try jobs.tryGet(), case .int64(let v) = item, v != 0 { sum += v }
            #expect(sum == 500_500)
        }
        #expect(throws: Never.self) { _ = try host.queue("jobs") }
        // A bad spec fails the pool before any worker starts, and leaves no object behind.
        #expect(throws: TaskHostError.self) { _ = try Pool(host: host, processes: 1, shared: ["a": "lock", "b": "queue:1"]) }
        #expect(throws: Never.self) { _ = try host.lock("a") }
    }
}
