#if canImport(Glibc)
import Glibc
#endif
import CTaskHost

/// What a worker's death means for the items of the chunk it was running:
/// a pure function of the facts (the chunk, the page's counters, why the
/// host killed it, its wait status) and the pool's settings, so every case
/// is unit-tested without a process.
///
/// The page's counters say which item was running: `started - finished`
/// items were in flight, the last started one is to blame. Items not
/// started go back to the queue without using an attempt; items that
/// finished but whose results died with the worker run once more.
enum DeathAttribution {
    /// The facts of one death.
    struct Facts {
        var pid: pid_t
        /// The wait status.
        var status: Int32
        var killReason: KillReason?
        /// The page's counters at the death (worker-written: untrusted).
        var started: UInt64
        var finished: UInt64
        var memoryExhausted: Bool
        /// The page's name of the call a sandbox stopped (worker-written: untrusted).
        var forbiddenCall: [UInt8] = []
        /// The page's `started` count when the chunk was sent.
        var chunkBase: UInt64
        /// The chunk's size, and how many of its results had arrived.
        var chunkCount: Int
        var received: Int
        /// Deaths in a row before this one that no item explained.
        var unexplainedDeathsBefore: Int
    }

    /// The pool settings that shape decisions and messages.
    struct Settings: Equatable {
        var retries: Int
        var taskTimeout: Double?
        var memoryLimit: UInt64?
        /// Whether the workers run in a sandbox (a SIGSYS is then its doing).
        var sandboxed: Bool

        init(retries: Int = 0, taskTimeout: Double? = nil, memoryLimit: UInt64? = nil, sandboxed: Bool = false) {
            self.retries = retries
            self.taskTimeout = taskTimeout
            self.memoryLimit = memoryLimit
            self.sandboxed = sandboxed
        }

        init(_ config: PoolConfig) {
            self.init(retries: config.retries, taskTimeout: config.taskTimeout, memoryLimit: config.memoryLimit,
                      sandboxed: config.sandbox != nil)
        }
    }

    /// What becomes of one item.
    enum Decision {
        /// It fails with this error.
        case failed(TaskHostError)
        /// It goes back to the queue as this run (attempts and `resultLost` updated).
        case requeued(ItemRun)
    }

    /// The verdict on a chunk: a decision per item not yet answered, in
    /// order, and whether no running item explained the death.
    struct Verdict {
        var decisions: [(position: Int, decision: Decision)]
        var unexplained: Bool
    }

    /// How a death reads: its kind, the words after "worker N", and the signal or exit code.
    struct Death: Equatable {
        var kind: TaskHostError.Kind
        var message: String
        var signal: String?
        var code: Int?

        /// Deaths that a retry may cure.
        var isRetriable: Bool { kind == .crashed || kind == .timedOut || kind == .exited || kind == .memoryLimit }
    }

    /// Decides the fate of each item of the chunk from `facts.received` on.
    /// `item(position)` gives the chunk's item at a position; `task` names them in messages.
    static func verdict(_ facts: Facts, settings: Settings, task: TaskInfo, item: (Int) -> ItemRun) -> Verdict {
        let n = facts.chunkCount
        // The page is worker-written: clamp everything to the chunk.
        func inChunk(_ count: UInt64) -> Int {
            count <= facts.chunkBase ? 0 : Int(min(UInt64(n), count - facts.chunkBase))
        }
        let startedInChunk = inChunk(facts.started), finishedInChunk = inChunk(facts.finished)
        var blamed: Int?
        if case .timeout(let item)? = facts.killReason { blamed = item }
        else if startedInChunk > finishedInChunk { blamed = startedInChunk - 1 }
        if let b = blamed, b < facts.received { blamed = nil }

        var serverCause: String?
        if case .forkServerDied(let cause)? = facts.killReason { serverCause = cause }
        // A death with its fork server is explained by the server.
        let unexplained = blamed == nil && serverCause == nil
        // A worker that keeps dying with no item running (a crash in a
        // plugin's init hook, say) would otherwise loop forever.
        if unexplained && facts.unexplainedDeathsBefore + 1 >= SupervisorLimits.unexplainedDeathsBeforeBlame {
            blamed = facts.received
        }
        let death = describe(facts, settings: settings)
        var decisions: [(position: Int, decision: Decision)] = []
        decisions.reserveCapacity(max(0, n - facts.received))
        for position in facts.received..<max(facts.received, n) {
            let item = item(position)
            let decision: Decision
            switch facts.killReason {
            case .terminated?:
                decision = .failed(TaskHostError(.cancelled, "\(TaskHost.describe(task, item)) was cancelled: the pool was terminated"))
            case .cancelled?:
                decision = .failed(TaskHostError(.cancelled, "\(TaskHost.describe(task, item)) was cancelled while running"))
            case .deadline?:
                decision = .failed(TaskHostError(.cancelled, "\(TaskHost.describe(task, item)) did not finish before the deadline"))
            default:
                if let serverCause, position == blamed {
                    // It was running when the server went: not its fault, but it cannot be known finished.
                    decision = .failed(TaskHostError(.systemError,
                        "\(TaskHost.describe(task, item)) was running in worker \(facts.pid) when \(serverCause)"))
                } else if position == blamed || (position < finishedInChunk && item.resultLost) {
                    // The item it was running; or one whose result died with its worker a second time.
                    if death.isRetriable && item.attempts <= settings.retries {
                        decision = .requeued(item)
                    } else {
                        var error = TaskHostError(death.kind, "worker \(facts.pid) \(death.message) while running \(TaskHost.describe(task, item))",
                                                  signal: death.signal, code: death.code, detail: death.message)
                        if settings.retries > 0 {
                            error.attempts = item.attempts
                            error.message += " (attempt \(item.attempts) of \(settings.retries + 1))"
                        }
                        decision = .failed(error)
                    }
                } else if position >= startedInChunk {
                    // Not started: it used no attempt; run it on another worker.
                    var fresh = item
                    fresh.attempts -= 1
                    decision = .requeued(fresh)
                } else {
                    // Finished with its result lost: run it again, once, on another worker.
                    var again = item
                    again.resultLost = true
                    decision = .requeued(again)
                }
            }
            decisions.append((position, decision))
        }
        return Verdict(decisions: decisions, unexplained: unexplained)
    }

    /// How the death reads in messages.
    static func describe(_ facts: Facts, settings: Settings) -> Death {
        describe(status: facts.status, killReason: facts.killReason, memoryExhausted: facts.memoryExhausted,
                 forbiddenCall: facts.forbiddenCall, settings: settings)
    }

    /// How a death reads in messages, from its wait status and what the host knows of it.
    static func describe(status: Int32, killReason: KillReason?, memoryExhausted: Bool, forbiddenCall: [UInt8] = [],
                         settings: Settings) -> Death {
        switch killReason {
        case .timeout?:
            let seconds = settings.taskTimeout ?? 0
            return Death(kind: .timedOut, message: "was killed after \(formatSeconds(seconds)) s (the task timeout)")
        case .malformed(let why)?:
            return Death(kind: .crashed, message: "\(why) and was killed", signal: "SIGKILL")
        case .forkServerDied(let cause)?:
            return Death(kind: .systemError, message: "went down when \(cause)")
        default: break
        }
        if memoryExhausted {
            let limit = settings.memoryLimit ?? 0
            return Death(kind: .memoryLimit, message: "went past its memory limit of \(formatBytes(limit))")
        }
        if th__wait_signaled(status) != 0 {
            let signal = th__wait_signal(status)
            let name = signalName(signal)
            if signal == SIGSYS && settings.sandboxed {
                // The sandbox's trap (th_sandbox.h): its handler named the call in the page.
                let call = Sandbox.callName(forbiddenCall).map { "it called \($0)" } ?? "it made a forbidden system call"
                return Death(kind: .sandboxViolation, message: "was stopped by the sandbox: \(call)", signal: name)
            }
            if signal == SIGKILL, let limit = settings.memoryLimit, limit > 0 {
                return Death(kind: .crashed, message: "was killed by SIGKILL (killed; perhaps by the kernel's out-of-memory killer)",
                             signal: name)
            }
            return Death(kind: .crashed, message: "was killed by \(name) (\(signalDescription(signal)))", signal: name)
        }
        let code = th__wait_exit_code(status)
        return Death(kind: .exited, message: "exited with code \(code)", code: Int(code))
    }
}

/// `2`, `0.5`: seconds as a person writes them (whole numbers without `.0`).
func formatSeconds(_ s: Double) -> String {
    s == s.rounded() && abs(s) < 1e15 ? String(Int(s)) : String(s)
}

func formatBytes(_ bytes: UInt64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) bytes"
}
