#if canImport(Glibc)
import Glibc
#endif
import CTaskHost

/// Nanoseconds on the monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Where the tasks' own stdout goes.
public enum TaskOutput: Sendable {
    /// To the host's stderr (map, starmap, apply: stdout stays the caller's).
    case stderr
    /// To the host's stdout (run, filter: the seed's programs print).
    case stdout
}

/// How a pool runs its workers.
struct PoolConfig: Sendable {
    var processes: Int
    var taskTimeout: Double?
    var memoryLimit: UInt64?
    var maxTasksPerChild: Int?
    var retries: Int
    var initializer: (task: TaskInfo, arguments: [Value])?
    var taskOutput: TaskOutput
    /// Replace workers that die or retire (pools do; a single process doesn't).
    var respawn: Bool
}

/// An item's arguments: one value (a map, with no array to allocate) or a list.
enum Arguments {
    case one(Value)
    case many([Value])

    /// One value as `.one`, any other number as `.many`.
    init(_ values: [Value]) {
        self = values.count == 1 ? .one(values[0]) : .many(values)
    }

    var values: [Value] {
        switch self {
        case .one(let v): return [v]
        case .many(let list): return list
        }
    }
}

/// One item on its way through the pool.
struct ItemRun {
    let index: Int
    let arguments: Arguments
    var attempts: Int = 0
    /// It finished once but its result died with its worker; it runs again only once.
    var resultLost = false
}

/// What a worker is sent: items one by one, or a range of a packed job's rows.
enum ChunkPlan {
    case items([ItemRun])
    case packed(Range<Int>)
}

/// A chunk of one job's items sent to one worker.
final class Chunk {
    let job: Job
    /// The items of a chunk of values; empty for a packed chunk.
    let items: [ItemRun]
    /// A packed chunk's rows (its items' indices) in `job.packed`.
    let packedRange: Range<Int>?
    let count: Int
    /// Items whose results have arrived (always a prefix: workers answer in order).
    var received = 0
    let sentAt: UInt64

    init(job: Job, items: [ItemRun], sentAt: UInt64) {
        self.job = job
        self.items = items
        packedRange = nil
        count = items.count
        self.sentAt = sentAt
    }

    init(job: Job, packed rows: Range<Int>, sentAt: UInt64) {
        self.job = job
        items = []
        packedRange = rows
        count = rows.count
        self.sentAt = sentAt
    }

    /// The item at `position` in the chunk (made on demand for packed rows: sent once).
    func item(at position: Int) -> ItemRun {
        guard let rows = packedRange, let packed = job.packed else { return items[position] }
        let index = rows.lowerBound + position
        return ItemRun(index: index, arguments: packed.arguments(at: index), attempts: 1)
    }

    /// The input index of the item at `position`.
    func index(at position: Int) -> Int {
        packedRange.map { $0.lowerBound + position } ?? items[position].index
    }
}

/// Why the host killed a worker, which decides how its item fails.
enum KillReason {
    case timeout(item: Int)
    case malformed(String)
    case deadline
    case terminated
    case cancelled
}

/// A worker process as the host sees it: its pipes, its shared page, its chunk.
final class Worker {
    let pid: pid_t
    let requestFD: Int32
    let resultFD: Int32
    let page: UnsafePointer<th__worker_page>
    unowned let pool: PoolCore
    /// Bytes waiting to be written to the request pipe.
    var pendingOutput: [UInt8] = []
    var pendingOffset = 0
    /// Bytes read from the result pipe, not yet parsed.
    var input: [UInt8] = []
    var inputOffset = 0
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
    var lastReadAt: UInt64 = 0
    var killReason: KillReason?
    var killRequested = false
    var resultEOF = false
    var eofAt: UInt64 = 0
    /// Sent QUIT: retiring after maxTasksPerChild or at the pool's end.
    var retiring = false
    var initializerFailure: String?
    var initializing = false
    /// Offered to `pool.lending`: a caller may be using it, so the supervisor
    /// neither dispatches to it nor reads its pipes until it reclaims it.
    var lent = false

    init(pid: pid_t, requestFD: Int32, resultFD: Int32, page: UnsafePointer<th__worker_page>, pool: PoolCore) {
        self.pid = pid
        self.requestFD = requestFD
        self.resultFD = resultFD
        self.page = page
        self.pool = pool
    }

    var isIdle: Bool { chunk == nil && !initializing && !retiring && killReason == nil && !resultEOF }
}

/// The engine's side of a pool: its workers, its queue of jobs, its state.
final class PoolCore {
    let config: PoolConfig
    var workers: [Worker] = []
    var starting = 0
    var jobs: [Job] = []
    var closed = false
    var terminated = false
    /// Worker deaths in a row that no running item explains; see Engine.workerDied.
    var unexplainedDeaths = 0
    var spawnFailures = 0
    var spawnRequests = 0
    var lastSpawnError = ""
    /// Called once every job is done and every worker is gone after close().
    var joinWaiters: [() -> Void] = []
    /// Told of each worker's start and exit status (WorkerProcess uses them).
    var onWorkerStart: ((pid_t) -> Void)?
    var onWorkerExit: ((pid_t, Int32) -> Void)?
    /// Idle workers callers may borrow for a quick apply.
    let lending = Lending()

    init(config: PoolConfig) { self.config = config }

    var activeWorkerCount: Int { workers.filter { !$0.retiring && $0.killReason == nil }.count + starting }
}
