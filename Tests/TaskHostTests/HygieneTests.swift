import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TaskHost
import TestSupport

/// Hygiene after many crashes (issue 3): no zombie, no leaked descriptor, no
/// memory growth. Descriptor and memory counts of this process are disturbed
/// by every test running beside them, so each check runs in a child process
/// of its own (an exit test): the child does the work and checks itself;
/// Swift Testing forwards the child's issues here, and a failed check also
/// ends the child with a failure status.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct HygieneTests {
    @Test func aThousandCrashesInARowLeaveNoTrace() async {
        await #expect(processExitsWith: .success) { try Hygiene.thousandCrashes() }
    }

    @Test func aHugeLengthPrefixIsNeverAllocated() async {
        await #expect(processExitsWith: .success) { try Hygiene.hugePrefixes() }
    }
}

/// The bodies of the exit tests above, run in a child process.
enum Hygiene {
    /// Records failed checks as issues; the child exits with 1 at the end if any failed.
    final class Checks {
        var failed = false
        func check(_ condition: Bool, _ message: @autoclosure () -> String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
            guard !condition else { return }
            Issue.record(Comment(rawValue: message()), sourceLocation: sourceLocation)
            failed = true
        }
        func finish() { if failed { exit(1) } }
    }

    static func zombies(of host: PluginHost) -> [pid_t] {
        TestSupport.children(of: host.forkServerPID).filter { !TestSupport.isRunning($0) }
    }

    /// This process's descriptors and what they point to.
    static func descriptorTable() -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        var table: [String: String] = [:]
        for name in names { table[name] = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name)) ?? "?" }
        return table
    }

    static func difference(_ before: [String: String], _ after: [String: String]) -> String {
        let keys = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        return keys.map { "fd \($0): \(before[$0] ?? "-") -> \(after[$0] ?? "-")" }.joined(separator: ", ")
    }

    /// The descriptor count once it is the same 100 ms apart.
    static func settledDescriptorCount() -> Int {
        var count = TestSupport.openDescriptorCount()
        for _ in 0..<50 {
            usleep(100_000)
            let again = TestSupport.openDescriptorCount()
            if again == count { break }
            count = again
        }
        return count
    }

    static func thousandCrashes() throws {
        let checks = Checks()
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let pool = try Pool(host: host, processes: 2)
        // Warm up: workers started, every lazy allocation of the engine made.
        _ = try pool.map("faulty.segv", Array(repeating: 3, count: 50) + Supervision.values(1...100), chunksize: 1)
        _ = TestSupport.eventually { zombies(of: host).isEmpty && Supervision.liveWorkers(of: host).count == 2 }
        // A worker is alive a moment before its pipes reach this process (the
        // fork server's reply), so count once the number holds still.
        let descriptors = settledDescriptorCount()
        let table = descriptorTable()
        let resident = TestSupport.residentBytes()

        let crashes = try pool.map("faulty.segv", Array(repeating: 3, count: 1000), chunksize: 1)
        checks.check(crashes.count == 1000, "\(crashes.count) results for 1000 items")
        checks.check(crashes.allSatisfy { Supervision.failure($0)?.signal == "SIGSEGV" },
                     "not every crash was reported as SIGSEGV")
        let normal = try pool.map("square", Supervision.values(1...1000))
        checks.check(normal == (1...1000).map { .success(.int64(Int64($0 * $0))) }, "the normal map after the crashes failed")

        checks.check(TestSupport.eventually { zombies(of: host).isEmpty }, "zombies left: \(zombies(of: host))")
        checks.check(Supervision.liveWorkers(of: host).count == 2,
                     "the pool has \(Supervision.liveWorkers(of: host).count) workers, not 2")
        var descriptorsAfter = 0
        checks.check(TestSupport.eventually(within: 2) {
                         descriptorsAfter = TestSupport.openDescriptorCount()
                         return descriptorsAfter == descriptors
                     },
                     "descriptors went from \(descriptors) to \(descriptorsAfter): \(difference(table, descriptorTable()))")
        let growth = TestSupport.residentBytes() - resident
        checks.check(growth < 10 << 20, "RSS grew by \(growth >> 10) KiB")
        pool.terminate()
        checks.check(TestSupport.eventually { TestSupport.children(of: host.forkServerPID).isEmpty },
                     "the fork server still has children after terminate: \(TestSupport.children(of: host.forkServerPID))")
        checks.finish()
    }

    static func hugePrefixes() throws {
        let checks = Checks()
        let host = try PluginHost(pluginFiles: [TestSupport.faultyPlugin])
        let pool = try Pool(host: host, processes: 2)
        _ = try pool.map("square", Supervision.values(1...100))
        let resident = TestSupport.residentBytes()
        // 3 claims a 4 GiB body, 4 a 100 MiB one it never sends.
        let results = try pool.map("faulty.huge_prefix", Array(repeating: 3, count: 5) + [4, 4], chunksize: 1)
        checks.check(results.allSatisfy { Supervision.failure($0)?.kind == .crashed }, "\(results)")
        let growth = TestSupport.residentBytes() - resident
        checks.check(growth < 10 << 20, "RSS grew by \(growth >> 10) KiB")
        pool.terminate()
        checks.finish()
    }
}
