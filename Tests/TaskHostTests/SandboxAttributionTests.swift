#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TaskHost

/// The sandbox's case of death attribution, without a process: a sandboxed
/// worker that died of SIGSYS names the call its handler wrote in the page.
@Suite struct SandboxAttributionTests {
    static func page(_ name: String) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.replaceSubrange(0..<name.utf8.count, with: name.utf8)
        return bytes
    }

    static let sigsys = Int32(SIGSYS) // a wait status: killed by SIGSYS, no core

    @Test func aSandboxedSIGSYSIsASandboxViolationNamingTheCall() {
        let death = DeathAttribution.describe(status: Self.sigsys, killReason: nil, memoryExhausted: false,
                                              forbiddenCall: Self.page("connect"),
                                              settings: .init(sandboxed: true))
        #expect(death == .init(kind: .sandboxViolation, message: "was stopped by the sandbox: it called connect",
                               signal: "SIGSYS"))
        #expect(!death.isRetriable)
    }

    @Test func anUnbelievableNameIsNotRepeated() {
        for bytes in [Self.page(""), Self.page("rm -rf /"), Self.page("Connect"), [UInt8](repeating: 0x61, count: 32)] {
            let death = DeathAttribution.describe(status: Self.sigsys, killReason: nil, memoryExhausted: false,
                                                  forbiddenCall: bytes, settings: .init(sandboxed: true))
            #expect(death.message == "was stopped by the sandbox: it made a forbidden system call")
        }
    }

    @Test func unsandboxedASIGSYSIsACrash() {
        let death = DeathAttribution.describe(status: Self.sigsys, killReason: nil, memoryExhausted: false,
                                              forbiddenCall: Self.page("connect"), settings: .init())
        #expect(death.kind == .crashed && death.signal == "SIGSYS")
    }

    @Test func theItemRunningIsBlamedAndNotRetried() {
        let facts = DeathAttribution.Facts(pid: 4242, status: Self.sigsys, killReason: nil, started: 12, finished: 11,
                                           memoryExhausted: false, forbiddenCall: Self.page("ptrace"), chunkBase: 10,
                                           chunkCount: 3, received: 1, unexplainedDeathsBefore: 0)
        let task = TaskInfo(plugin: "evil", name: "phone_home", summary: "", parameters: [Parameter(name: "x", type: .int64)],
                            result: .int64, pluginIndex: 0, taskIndex: 0)
        let verdict = DeathAttribution.verdict(facts, settings: .init(retries: 2, sandboxed: true), task: task) {
            ItemRun(index: $0, arguments: .one(.int64(Int64($0 + 2))), attempts: 1)
        }
        #expect(verdict.decisions.count == 2)
        guard case .failed(let error) = verdict.decisions[0].decision else {
            Issue.record("the running item was not failed")
            return
        }
        #expect(error.kind == .sandboxViolation)
        #expect(error.message == "worker 4242 was stopped by the sandbox: it called ptrace while running evil.phone_home(3) (attempt 1 of 3)")
        guard case .requeued = verdict.decisions[1].decision else {
            Issue.record("the item not started was not requeued")
            return
        }
    }
}
