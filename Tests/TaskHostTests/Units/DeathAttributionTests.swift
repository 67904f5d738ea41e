#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost

/// Death attribution as a table: the facts of a death in, one decision per
/// item out. No process is started.
@Suite struct DeathAttributionTests {
    static let task = TaskInfo(plugin: "p", name: "t", summary: "", parameters: [Parameter(name: "x", type: .int64)],
                               result: .int64, pluginIndex: 0, taskIndex: 0)

    /// A wait status: killed by `signal`, or exited with `code`.
    static func killed(by signal: Int32) -> Int32 { signal }
    static func exited(_ code: Int32) -> Int32 { code << 8 }

    /// One decision, written short: "fail crashed SIGSEGV attempts=nil: message", "requeue attempts=0 lost=false".
    static func summary(_ decision: DeathAttribution.Decision) -> String {
        switch decision {
        case .failed(let e): return "fail \(e.kind) \(e.signal ?? "-") \(e.code.map(String.init) ?? "-"): \(e.message)"
        case .requeued(let item): return "requeue \(item.index) attempts=\(item.attempts) lost=\(item.resultLost)"
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var status: Int32
        var killReason: KillReason?
        var started: UInt64
        var finished: UInt64
        var memoryExhausted = false
        var chunkBase: UInt64 = 0
        var count = 3
        var received = 0
        var unexplainedBefore = 0
        var retries = 0
        var memoryLimit: UInt64?
        var lostItems: Set<Int> = []
        var expected: [String]
        var unexplained = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a crash blames the item running, requeues the unstarted ones",
             status: killed(by: SIGSEGV), started: 2, finished: 1,
             expected: ["fail crashed SIGSEGV -: worker 42 was killed by SIGSEGV (segmentation fault) while running p.t(11)",
                        "requeue 12 attempts=0 lost=false"], unexplained: false).with(received: 1),
        Case(name: "an exit names its code",
             status: exited(3), started: 1, finished: 0, count: 1,
             expected: ["fail exited - 3: worker 42 exited with code 3 while running p.t(10)"]),
        Case(name: "the page's counters are clamped to the chunk",
             status: killed(by: SIGABRT), started: 1000, finished: 5, chunkBase: 5, count: 2,
             expected: ["requeue 10 attempts=1 lost=true",
                        "fail crashed SIGABRT -: worker 42 was killed by SIGABRT (aborted) while running p.t(11)"]),
        Case(name: "counters below the chunk's base mean nothing started: all requeued, the death unexplained",
             status: killed(by: SIGKILL), started: 3, finished: 3, chunkBase: 7, count: 2,
             expected: ["requeue 10 attempts=0 lost=false", "requeue 11 attempts=0 lost=false"], unexplained: true),
        Case(name: "the third unexplained death in a row blames the next item",
             status: exited(1), started: 0, finished: 0, count: 2, unexplainedBefore: 2,
             expected: ["fail exited - 1: worker 42 exited with code 1 while running p.t(10)", "requeue 11 attempts=0 lost=false"],
             unexplained: true),
        Case(name: "a timeout blames the item the clock saw, whatever the counters say",
             status: killed(by: SIGKILL), killReason: .timeout(item: 1), started: 3, finished: 3,
             expected: ["requeue 10 attempts=1 lost=true",
                        "fail timedOut - -: worker 42 was killed after 2 s (the task timeout) while running p.t(11)",
                        "requeue 12 attempts=1 lost=true"]),
        Case(name: "terminated, cancelled, deadline: every item left is cancelled",
             status: killed(by: SIGKILL), killReason: .terminated, started: 1, finished: 0, count: 2,
             expected: ["fail cancelled - -: p.t(10) was cancelled: the pool was terminated",
                        "fail cancelled - -: p.t(11) was cancelled: the pool was terminated"]),
        Case(name: "a deadline kill", status: killed(by: SIGKILL), killReason: .deadline, started: 1, finished: 0, count: 1,
             expected: ["fail cancelled - -: p.t(10) did not finish before the deadline"]),
        Case(name: "a cancel kill", status: killed(by: SIGKILL), killReason: .cancelled, started: 1, finished: 0, count: 1,
             expected: ["fail cancelled - -: p.t(10) was cancelled while running"]),
        Case(name: "a malformed frame reads as a crash by SIGKILL",
             status: killed(by: SIGKILL), killReason: .malformed("sent a frame of unknown type 9"), started: 1, finished: 0, count: 1,
             expected: ["fail crashed SIGKILL -: worker 42 sent a frame of unknown type 9 and was killed while running p.t(10)"]),
        Case(name: "the memory flag wins over the signal",
             status: killed(by: SIGSEGV), started: 1, finished: 0, memoryExhausted: true, count: 1, memoryLimit: 64 << 20,
             expected: ["fail memoryLimit - -: worker 42 went past its memory limit of 64 MiB while running p.t(10)"]),
        Case(name: "SIGKILL under a memory limit suggests the OOM killer",
             status: killed(by: SIGKILL), started: 1, finished: 0, count: 1, memoryLimit: 1 << 30,
             expected: ["fail crashed SIGKILL -: worker 42 was killed by SIGKILL (killed; perhaps by the kernel's out-of-memory killer) while running p.t(10)"]),
        Case(name: "a retriable death with retries left requeues the blamed item",
             status: killed(by: SIGSEGV), started: 1, finished: 0, count: 1, retries: 1,
             expected: ["requeue 10 attempts=1 lost=false"]),
        Case(name: "a finished item whose result was lost a second time fails",
             status: killed(by: SIGSEGV), started: 2, finished: 2, count: 2, lostItems: [0],
             expected: ["fail crashed SIGSEGV -: worker 42 was killed by SIGSEGV (segmentation fault) while running p.t(10)",
                        "requeue 11 attempts=1 lost=true"], unexplained: true),
    ]

    @Test(arguments: cases)
    func verdict(_ c: Case) {
        let facts = DeathAttribution.Facts(
            pid: 42, status: c.status, killReason: c.killReason, started: c.started, finished: c.finished,
            memoryExhausted: c.memoryExhausted, chunkBase: c.chunkBase, chunkCount: c.count, received: c.received,
            unexplainedDeathsBefore: c.unexplainedBefore)
        let settings = DeathAttribution.Settings(retries: c.retries, taskTimeout: 2, memoryLimit: c.memoryLimit)
        let verdict = DeathAttribution.verdict(facts, settings: settings, task: Self.task) { position in
            ItemRun(index: 10 + position, arguments: .one(.int64(Int64(10 + position))), attempts: 1,
                    resultLost: c.lostItems.contains(position))
        }
        #expect(verdict.decisions.map { Self.summary($0.decision) } == c.expected)
        #expect(verdict.decisions.map(\.position) == Array(c.received..<c.count))
        #expect(verdict.unexplained == c.unexplained)
    }

    @Test func retriesCountTheAttemptInTheMessage() {
        let facts = DeathAttribution.Facts(pid: 7, status: Self.exited(2), killReason: nil, started: 1, finished: 0,
                                           memoryExhausted: false, chunkBase: 0, chunkCount: 1, received: 0,
                                           unexplainedDeathsBefore: 0)
        let verdict = DeathAttribution.verdict(facts, settings: .init(retries: 2), task: Self.task) { _ in
            ItemRun(index: 0, arguments: .one(.int64(5)), attempts: 3)
        }
        guard case .failed(let error)? = verdict.decisions.first?.decision else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.message == "worker 7 exited with code 2 while running p.t(5) (attempt 3 of 3)")
        #expect(error.attempts == 3)
    }
}

extension DeathAttributionTests.Case {
    func with(received: Int) -> Self {
        var c = self
        c.received = received
        return c
    }
}
