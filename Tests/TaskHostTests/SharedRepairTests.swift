import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost
import TestSupport

/// What the host repairs when a process dies, beyond a dead holder's locks
/// (SharedObjectTests): a barrier party killed before it arrived, with the
/// test-only `ipcfaults` plugin (Tests/Plugins), a fork server killed
/// after objects were shared, and semaphore units of many dying holders.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SharedRepairTests {
    func makeHost() throws -> PluginHost { try PluginHost(pluginFiles: [SharedObjectTests.faults]) }

    /// A party that found the barrier and naps, without arriving, until it is killed.
    func lateParty(_ host: PluginHost, barrier: String) throws -> WorkerProcess {
        let ready = try host.event("ready-\(barrier)")
        let late = try WorkerProcess(host: host, task: "ipcfaults.join_and_nap", arguments: [.string(barrier), .string(ready.name), 60.0])
        try late.start()
        #expect(ready.wait(timeout: 30), "the late party never found the barrier")
        #expect(TestSupport.eventually(within: 30) { late.pid != nil })  // the host learns it a little after the task began
        return late
    }

    @Test func aPartyKilledBeforeArrivingBreaksTheBarrierForEveryWaiter() throws {
        let host = try makeHost()
        let barrier = try host.barrier("b", parties: 3)
        let late = try lateParty(host, barrier: "b")
        let waiters = try (0..<2).map { _ in try WorkerProcess(host: host, task: "ipcfaults.barrier_wait", arguments: ["b", 60.0]) }
        for waiter in waiters { try waiter.start() }
        #expect(TestSupport.eventually(within: 30) { barrier.waiting == 2 })
        let pid = try #require(late.pid)
        kill(pid, SIGKILL)
        for waiter in waiters {
            waiter.join()
            #expect(try waiter.result?.get() == .int64(-2)) // TH_SHARED_BROKEN, well before their 60 s
        }
        late.join()
        #expect(barrier.brokenBy == pid)
        #expect(barrier.waiting == 0)
        #expect(throws: SharedObjectError.partyDiedBeforeArriving("b", party: pid)) { try barrier.wait(timeout: 1) }
        #expect("\(SharedObjectError.partyDiedBeforeArriving("b", party: 42))" == "barrier 'b' is broken: party 42 died before it arrived")
        barrier.reset()
        #expect(barrier.brokenBy == nil)
    }

    @Test func aPartyThatDiesWhileNoOneWaitsBreaksNothing() throws {
        let host = try makeHost()
        let barrier = try host.barrier("b", parties: 3)
        let late = try lateParty(host, barrier: "b")
        kill(try #require(late.pid), SIGKILL)
        late.join()
        #expect(barrier.brokenBy == nil)
        let waiters = try (0..<2).map { _ in try WorkerProcess(host: host, task: "ipcfaults.barrier_wait", arguments: ["b", 60.0]) }
        for waiter in waiters { try waiter.start() }
        let index = try barrier.wait(timeout: 60)
        for waiter in waiters { waiter.join() }
        let indices = try waiters.map { try $0.result!.get() } + [.int64(Int64(index))]
        #expect(Set(indices) == [0, 1, 2])
    }

    @Test func aForkServerThatReplacesAKilledOneGetsEveryObject() throws {
        let host = try makeHost()
        let counter = try host.value("counter")
        let big = try host.buffer("big", size: 1 << 16)
        big.withUnsafeMutableBytes { $0[4096] = 7 }
        let first = host.forkServerPID
        kill(first, SIGKILL)
        #expect(TestSupport.eventually(within: 30) { host.forkServerPID != first })
        let jobs = try host.queue("jobs", capacity: 64, itemSize: 8)  // created with the new server
        let pool = try Pool(host: host, processes: 2)
        #expect(try pool.map("ipc.count_up", [100, 100], chunksize: 1).map { try $0.get() } == [100, 100])
        #expect(counter.int64 == 200)
        #expect(try pool.apply("ipc.bytes_sum", [big.view()]) == .uint64(7))
        #expect(try pool.apply("ipc.put_range", ["jobs", 1, 3]) == 6)
        #expect(try jobs.get(timeout: 10) == 1)
    }

    @Test func aLockHeldByAWorkerLostWithItsForkServerIsHandedOnAsOwnerDied() throws {
        let host = try makeHost()
        let lock = try host.lock("door")
        let ready = try host.event("held")
        let holder = try WorkerProcess(host: host, task: "ipcfaults.hold_and_nap", arguments: ["door", "held", 60.0])
        try holder.start()
        #expect(ready.wait(timeout: 30))
        #expect(try lock.acquire(timeout: 0) == nil)
        kill(host.forkServerPID, SIGKILL)  // the worker dies with it, holding the lock
        #expect(try lock.acquire(timeout: 30) == .previousOwnerDied)
        try lock.release()
        #expect(try lock.acquire(timeout: 0) == .acquired)
        try lock.release()
        holder.join()
    }

    @Test func theUnitsOfEightyHoldersThatDieAllComeBack() throws {
        let host = try makeHost()
        let semaphore = try host.semaphore("s", value: 100)
        let go = try host.event("go")
        let holders = 80  // more than the 64 processes a semaphore used to book
        let pool = try Pool(host: host, processes: holders)
        defer { pool.terminate() }
        let dying = try (0..<holders).map { _ in try pool.applyAsync("ipcfaults.take_wait_die", ["s", "go"]) }
        #expect(TestSupport.eventually(within: 90) { semaphore.value == 100 - holders })
        go.set()
        for item in dying { #expect(throws: TaskHostError.self) { try item.get() } }
        #expect(semaphore.value == 100)
    }
}
