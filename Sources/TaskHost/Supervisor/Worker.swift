import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// The counters page a worker shares with the host (`th__worker_page`),
/// mapped read-only. Worker-written: every value is untrusted, and read
/// atomically. Owned by its `Worker`, unmapped by `release()`.
struct WorkerPage {
    private let page: UnsafePointer<th__worker_page>

    /// Maps the page from its memfd; nil when the mapping fails. The descriptor stays the caller's.
    init?(memfd: Int32) {
        let mapped = mmap(nil, Int(TH_WORKER_PAGE_SIZE), PROT_READ, MAP_SHARED, memfd, 0)
        guard let mapped, mapped != MAP_FAILED else { return nil }
        page = UnsafePointer(mapped.assumingMemoryBound(to: th__worker_page.self))
    }

    /// Items the worker has started since it began.
    var started: UInt64 { th__page_load_started(page) }
    /// Items the worker has finished since it began.
    var finished: UInt64 { th__page_load_finished(page) }
    /// Whether the worker died near its memory limit.
    var memoryExhausted: Bool { th__page_load_memory_exhausted(page) != 0 }
    /// The system call a sandboxed worker was stopped at, as it wrote it
    /// (untrusted; read once the worker is dead, see `Sandbox.callName`).
    var forbiddenCall: [UInt8] { withUnsafeBytes(of: page.pointee.forbidden_call) { Array($0) } }

    func release() {
        munmap(UnsafeMutableRawPointer(mutating: page), Int(TH_WORKER_PAGE_SIZE))
    }
}

/// Why the host killed a worker, which decides how its item fails.
enum KillReason: Equatable {
    case timeout(item: Int)
    case malformed(String)
    case deadline
    case terminated
    case cancelled
    /// Not killed by the host: it went down with its fork server (`cause`
    /// says how the server ended).
    case forkServerDied(cause: String)

    /// Whether results it sent before dying still count.
    var keepsResults: Bool {
        if case .forkServerDied = self { return true }
        return false
    }
}

/// A worker process as the host sees it: its pipes, its shared page, its chunk.
///
/// `@unchecked Sendable`: confined to the supervisor thread, except while it
/// is lent (`Lending`), when its borrower alone touches it; the loan's lock
/// hands it from one to the other.
final class Worker: @unchecked Sendable {
    let pid: pid_t
    let link: WorkerLink
    let page: WorkerPage
    /// Its pidfd, where the fork server reports exits that way: readable once
    /// it has ended, then it gives the wait status (`ExitWatch`). -1: its exit
    /// comes from the fork server (TH_MSG_EXITED).
    let exitDescriptor: Int32
    /// Its pidfd turned readable but the kernel had not filled in the status yet.
    var exitPending = false
    /// Its wait status was read from the pidfd (it may wait for its borrower to hand it over).
    var exitTaken = false
    unowned let pool: PoolCore
    var chunk: Chunk?
    /// The page's `started` count when the current chunk was sent.
    var chunkBase: UInt64 = 0
    /// Items sent to this worker so far, the initializer's run included
    /// (it moves the page's counters too).
    var itemsSent: UInt64 = 0
    /// Items of jobs sent to this worker: what maxTasksPerChild counts.
    var tasksSent: UInt64 = 0
    /// When the running item was first seen running (timeouts).
    var observedStarted: UInt64 = 0
    var observedAt: UInt64 = 0
    var killReason: KillReason?
    var killRequested = false
    /// Sent QUIT: retiring after maxTasksPerChild or at the pool's end.
    var retiring = false
    /// When it was told to quit with nothing left to run: from then its
    /// plugins' fini hooks have `SupervisorLimits.finiGrace` to end.
    var quitAt: UInt64?
    var initializerFailure: String?
    var initializing = false
    /// Offered to `pool.lending`: a caller may be using it, so the supervisor
    /// neither dispatches to it nor reads its pipes until it reclaims it.
    var lent = false

    init(pid: pid_t, link: WorkerLink, page: WorkerPage, exitDescriptor: Int32 = -1, pool: PoolCore) {
        self.pid = pid
        self.link = link
        self.page = page
        self.exitDescriptor = exitDescriptor
        self.pool = pool
    }

    var isIdle: Bool { chunk == nil && !initializing && !retiring && killReason == nil && !link.resultEOF }

    /// Whether it has run the items `maxTasksPerChild` allows.
    var reachedTaskLimit: Bool { pool.config.maxTasksPerChild.map { tasksSent >= UInt64($0) } ?? false }

    /// The bookkeeping of sending `count` items of a job (a chunk, or a
    /// direct call's one item), shared by the supervisor and direct calls:
    /// where the chunk starts on the page's counters, the counts, and the
    /// timeout clock's start.
    func beginItems(_ count: Int, at now: UInt64) {
        chunkBase = itemsSent
        itemsSent += UInt64(count)
        tasksSent += UInt64(count)
        observedStarted = page.started
        observedAt = now
    }

    /// Unmaps the page and closes the pipes (and the pidfd): the worker is buried.
    func release() {
        page.release()
        link.close()
        if exitDescriptor >= 0 { Glibc.close(exitDescriptor) }
    }
}
