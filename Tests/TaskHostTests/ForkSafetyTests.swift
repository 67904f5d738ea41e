import Foundation
import Testing
import TaskHost
import TestSupport

/// Workers come from the single-threaded fork server, so starting them while
/// this process runs busy, allocating threads can't deadlock (ARCHITECTURE.md, "Processes").
@Suite(.serialized) struct ForkSafetyTests {
    @Test(.timeLimit(.minutes(2)))
    func twoHundredWorkerStartsWhileFourThreadsAllocate() throws {
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let stop = StopFlag()
        var threads: [Thread] = []
        for _ in 0..<4 {
            let thread = Thread {
                var keep: [[UInt8]] = []
                while !stop.isSet {
                    keep.append([UInt8](repeating: 1, count: Int.random(in: 16...65536)))
                    if keep.count > 64 { keep.removeFirst(32) }
                }
            }
            thread.start()
            threads.append(thread)
        }
        defer { stop.set() }
        // maxTasksPerChild 1: every item needs a fresh worker — 200 starts.
        let pool = try Pool(host: host, processes: 2, maxTasksPerChild: 1)
        let results = try pool.map("square", (1...200).map { .int64(Int64($0)) }, chunksize: 1)
        let expected: [TaskResult] = (1...200).map { .success(.int64(Int64($0 * $0))) }
        #expect(results == expected)
        // And 100 respawns after crashes.
        let crashes = try pool.map("faulty.segv", Array(repeating: .int64(3), count: 100), chunksize: 1)
        #expect(crashes.allSatisfy { if case .failure(let e) = $0 { e.signal == "SIGSEGV" } else { false } })
        pool.close()
        pool.join()
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
