import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// `--shared NAME=SPEC`: objects created for one run, what bad ones say, and
/// what is left behind when the host is killed with kill -9 (nothing).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SharedCLITests {
    @Test func aProducerAndAConsumerTalkThroughAQueue() throws {
        let result = try TestSupport.run(TestSupport.taskhost, ["run", "ipc.producer", "ipc.consumer", "--shared", "jobs=queue:1024"])
        #expect(result.stdout == "producer: put 1000 items into 'jobs'\nconsumer: got 1000 items from 'jobs', sum 500500\nProcesses finished\n")
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func workersAddToASharedCounterUnderItsLock() throws {
        let result = try TestSupport.run(TestSupport.taskhost, ["map", "ipc.count_up", "1000", "2000", "3000", "-p", "3",
                                                                "--shared", "counter=value"])
        #expect(result.stdout == "[1000, 2000, 3000]\n")
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Views of a buffer made for the run, as `shared_bytes` arguments.
    @Test func aBuffersViewsAreTaskArguments() throws {
        let sums = try TestSupport.run(TestSupport.taskhost, ["map", "ipc.bytes_sum", "big:0:32M", "big:32M", "-p", "2",
                                                              "--shared", "big=buffer:64M"])
        #expect(sums.stdout == "[0, 0]\n")
        #expect(sums.status == 0, "\(sums.stderr)")
        let outside = try TestSupport.run(TestSupport.taskhost, ["map", "ipc.bytes_sum", "big:0:65M", "--shared", "big=buffer:64M"])
        #expect(outside.stderr.contains(
            "taskhost: item 0 failed (invalidArgument): ipc.bytes_sum: parameter 'data': view 'big:0:65M' is outside shared buffer 'big' of 67108864 bytes\n"))
        #expect(outside.status == 1)
    }

    @Test func aBadSharedOptionIsOneLineAndExitStatus2() throws {
        let noSpec = try TestSupport.run(TestSupport.taskhost, ["run", "ipc.consumer", "--shared", "jobs"])
        #expect(noSpec.stderr == "taskhost: --shared expects NAME=SPEC (e.g. jobs=queue:1024), got 'jobs'\n")
        #expect(noSpec.status == 2)
        let badSpec = try TestSupport.run(TestSupport.taskhost, ["run", "ipc.consumer", "--shared", "jobs=barrier"])
        #expect(badSpec.stderr == "taskhost: bad shared object spec 'barrier': barrier :PARTIES (1 to 4096)\n")
        #expect(badSpec.status == 2)
        let twice = try TestSupport.run(TestSupport.taskhost, ["run", "ipc.consumer", "--shared", "a=lock", "--shared", "a=event"])
        #expect(twice.stderr == "taskhost: a shared object named 'a' already exists\n")
        #expect(twice.status == 2)
        let badName = try TestSupport.run(TestSupport.taskhost, ["run", "ipc.consumer", "--shared", "a/b=lock"])
        #expect(badName.stderr == "taskhost: bad shared object name 'a/b': 1 to 63 of A-Z a-z 0-9 _ - .\n")
        #expect(badName.status == 2)
    }

    /// The host killed with kill -9 while a worker waits on its queue: the fork
    /// server and the worker go, and nothing is left in /dev/shm.
    @Test func killingTheHostLeavesNothingBehind() throws {
        let before = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm")
        let host = Process()
        host.executableURL = URL(fileURLWithPath: TestSupport.taskhost)
        host.arguments = ["run", "ipc.consumer", "--shared", "jobs=queue:1024", "--shared", "big=buffer:64M"]
        host.standardOutput = FileHandle.nullDevice
        try host.run()
        // Wait until the fork server and the worker map the objects: from
        // anonymous memfds, never from /dev/shm.
        var descendants: [pid_t] = []
        var mapping: [pid_t] = []
        for _ in 0..<300 {
            descendants = Self.descendants(of: host.processIdentifier)
            mapping = descendants.filter { Self.maps($0).contains("/memfd:taskhost-shared") }
            if mapping.count >= 2 { break }
            usleep(20_000)
        }
        try #require(mapping.count >= 2, "the fork server and its worker do not map the objects")
        #expect(descendants.allSatisfy { !Self.maps($0).contains("/dev/shm") })
        kill(host.processIdentifier, SIGKILL)
        host.waitUntilExit()
        var alive = descendants
        for _ in 0..<250 where !alive.isEmpty {
            usleep(20_000)
            alive = alive.filter { kill($0, 0) == 0 && !Self.isZombie($0) }
        }
        #expect(alive.isEmpty, "still running: \(alive)")
        let after = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm")
        // (Python's own names, from benchmarks that may run beside this test, aside.)
        #expect(Set(after).subtracting(before).filter { !$0.hasPrefix("sem.") && !$0.hasPrefix("psm_") }.isEmpty)
    }

    /// Every process below `pid` (children first, then theirs).
    static func descendants(of pid: pid_t) -> [pid_t] {
        var found: [pid_t] = []
        var frontier = [pid]
        while let parent = frontier.popLast() {
            let children = (try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8)) ?? ""
            let pids = children.split(separator: " ").compactMap { pid_t($0) }
            found += pids
            frontier += pids
        }
        return found
    }

    static func maps(_ pid: pid_t) -> String {
        (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }
}
