import CTaskHost
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One task in its own process, as Python's `multiprocessing.Process`:
/// `start()`, then `join()`, then read `exitCode` and `result`.
///
/// ```swift
/// let p = try WorkerProcess(host: host, task: "print_numbers")
/// try p.start(); p.join()
/// ```
// @unchecked Sendable: the mutable state (`started`, `done`, `_pid`, `_status`, `_result`) is guarded by `lock`.
public final class WorkerProcess: @unchecked Sendable {
    /// The task this process runs.
    public let task: TaskInfo
    private let arguments: [Value]
    private let host: PluginHost
    private let core: PoolCore
    /// The shared objects made for this process (`shared:`), by name.
    public let shared: [String: SharedObject]
    private let lock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    private var started = false
    private var done = false
    private var _pid: pid_t?
    private var _status: Int32?
    private var _result: TaskResult?

    /// Prepares a process that will run `task` with `arguments`; its stdout
    /// goes where `taskOutput` says (the host's stdout by default).
    ///
    /// - Parameters:
    ///   - timeout: seconds the task may run; past it the process is killed (`timedOut`).
    ///   - memoryLimit: bytes of address space (`RLIMIT_AS`).
    ///   - sandbox: the sandbox the process enters before the task (nil:
    ///     none); throws `systemError` at once if this kernel can't.
    ///   - shared: shared objects made for this process, name to spec (as
    ///     `PluginHost.share`): they live as long as this `WorkerProcess`.
    public init(host: PluginHost, task: some TaskReference, arguments: [Value] = [], taskOutput: TaskOutput = .stdout,
                timeout: Double? = nil, memoryLimit: UInt64? = nil, sandbox: Sandbox? = nil,
                shared: [String: String] = [:]) throws {
        let sandbox = try Sandbox.checked(sandbox)
        self.shared = try host.share(scoped: shared)
        self.task = try task.resolve(in: host)
        self.arguments = try self.task.checkArguments(arguments).get()
        self.host = host
        core = PoolCore(config: PoolConfig(processes: 1, taskTimeout: try OptionChecks.timeout(timeout, "the timeout"),
                                           memoryLimit: memoryLimit,
                                           maxTasksPerChild: nil, retries: 0, initializer: nil,
                                           taskOutput: taskOutput, sandbox: sandbox, respawn: false))
    }

    /// Starts the process. Calling it twice is an error.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { throw TaskHostError(.invalidArgument, "process \(task.qualifiedName) was already started") }
        started = true
        let core = self.core, task = self.task, arguments = self.arguments, finished = self.finished
        core.onWorkerStart = { [weak self] pid in self?.set { $0._pid = pid } }
        core.onWorkerExit = { [weak self] _, status in self?.set { $0._status = status } }
        // Chunks of 2 for one item: the source's end is seen with it, so the
        // worker is told to quit right after it, in the same spawn request.
        let deliver: (Int, TaskResult) -> Void = { [weak self] _, result in self?.set { $0._result = result } }
        if startInSpare(deliver: deliver) { return }
        let job = Job(task: task, chunksize: 2, source: SequenceSource(AnyIterator([arguments].makeIterator())), deadline: nil,
                      deliver: deliver, finished: {})
        host.supervisor.perform { [supervisor = host.supervisor] in
            // The semaphore is captured itself: `self?.finished.signal()` would hold
            // this process through the signal, so the joiner's last reference could
            // go first and the deinit (which releases `shared:` objects) run here, late.
            supervisor.startProcess(core, job: job, whenDone: { [weak self, finished] in
                self?.set { $0.done = true }
                finished.signal()
            })
        }
    }

    /// Starts the process in a spare worker the host keeps forked ahead (where
    /// exits come through pidfds, `SpareWorker`), from this thread: its
    /// settings, RUN and QUIT go into the spare's pipe at once, and the
    /// supervisor adopts it with the item in flight. False when there is none
    /// for it (a sandboxed process never takes one).
    private func startInSpare(deliver: @escaping (Int, TaskResult) -> Void) -> Bool {
        let supervisor = host.supervisor, core = self.core, finished = self.finished
        guard core.config.sandbox == nil, let spare = supervisor.spareShelf.take() else { return false }
        let frame = FrameBuilder()
        frame.putSettings(of: core.config)
        let item = ItemRun(index: 0, arguments: Arguments(arguments), attempts: 1)
        frame.beginChunk(TH_MSG_RUN, of: task, count: 1)
        frame.put(item.arguments)
        frame.end()
        frame.begin(TH_MSG_QUIT)
        frame.end()
        guard !frame.failed else {
            supervisor.spareShelf.putBack(spare)
            return false
        }
        let sentAt = monotonicNanoseconds()
        guard th__write_all(spare.requestFD, frame.bytes.baseAddress, frame.bytes.count) == 0 else {
            spare.close()  // it died just now; the kernel has reaped it
            return false
        }
        let job = Job(task: task, chunksize: 1, source: nil, deadline: nil, deliver: deliver, finished: {})
        job.outstanding = 1
        let chunk = Chunk(job: job, items: [item], sentAt: sentAt)
        supervisor.perform {
            supervisor.adoptStarted(core, job: job, chunk: chunk, spare: spare, whenDone: { [weak self, finished] in
                self?.set { $0.done = true }
                finished.signal()
            })
        }
        return true
    }

    private func set(_ change: (WorkerProcess) -> Void) {
        lock.lock()
        change(self)
        lock.unlock()
    }

    /// Waits until the process ends, or `timeout` seconds pass (nil or
    /// infinity: no limit; NaN or negative: no wait). True if it ended.
    @discardableResult
    public func join(timeout: Double? = nil) -> Bool {
        lock.lock()
        let isDone = done, isStarted = started
        lock.unlock()
        if isDone { return true }
        guard isStarted else { return false }
        let ended: Bool
        if let timeout, !timeout.isInfinite || timeout < 0 {
            // NaN and negatives wait not at all; a wait past the clock's range waits forever.
            let seconds = timeout.isNaN ? 0 : min(max(0, timeout), 1e9)
            ended = finished.wait(timeout: .now() + seconds) == .success
        } else {
            finished.wait()
            ended = true
        }
        if ended { finished.signal() } // let later joins return at once
        return ended
    }

    /// The worker's process id, once started.
    public var pid: pid_t? { lock.lock(); defer { lock.unlock() }; return _pid }

    /// True between start and the end of the process.
    public var isAlive: Bool { lock.lock(); defer { lock.unlock() }; return started && !done }

    /// As Python: nil while running, 0 or the exit code, or minus the signal number.
    public var exitCode: Int32? {
        lock.lock()
        defer { lock.unlock() }
        guard done, let status = _status else { return nil }
        if th__wait_signaled(status) != 0 { return -th__wait_signal(status) }
        return th__wait_exit_code(status)
    }

    /// The task's result (a value or the error), once it has one.
    public var result: TaskResult? { lock.lock(); defer { lock.unlock() }; return _result }

    /// Kills the process; its task fails with `cancelled` if it had not finished.
    public func terminate() {
        let core = self.core
        host.supervisor.perform { [supervisor = host.supervisor] in supervisor.terminate(core) }
    }
}
