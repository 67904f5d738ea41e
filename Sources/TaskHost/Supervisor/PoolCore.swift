#if canImport(Glibc)
import Glibc
#endif

/// How a pool runs its workers.
struct PoolConfig: Sendable {
    var processes: Int
    var taskTimeout: Double?
    var memoryLimit: UInt64?
    var maxTasksPerChild: Int?
    var retries: Int
    var initializer: (task: TaskInfo, arguments: [Value])?
    var taskOutput: TaskOutput
    /// The sandbox every worker enters before its first task (paths absolute), or nil.
    var sandbox: Sandbox? = nil
    /// Replace workers that die or retire (pools do; a single process doesn't).
    var respawn: Bool
}

/// The supervisor's side of a pool (a `Pool` or a `WorkerProcess`): its
/// workers, its queue of jobs, its state. Confined to the supervisor thread,
/// except `lending` (which has its own lock) and `config` (immutable).
final class PoolCore: @unchecked Sendable {
    let config: PoolConfig
    var workers: [Worker] = []
    var starting = 0
    var jobs: [Job] = []
    var closed = false
    var terminated = false
    /// Worker deaths in a row that no running item explains (see `DeathAttribution`).
    var unexplainedDeaths = 0
    var spawnFailures = 0
    var spawnRequests = 0
    var lastSpawnError = ""
    /// Called once every job is done and every worker is gone after close().
    var joinWaiters: [@Sendable () -> Void] = []
    /// Told of each worker's start and exit status (WorkerProcess uses them).
    var onWorkerStart: (@Sendable (pid_t) -> Void)?
    var onWorkerExit: (@Sendable (pid_t, Int32) -> Void)?
    /// Idle workers callers may borrow for a quick apply.
    let lending = Lending()

    init(config: PoolConfig) { self.config = config }

    var activeWorkerCount: Int { workers.filter { !$0.retiring && $0.killReason == nil }.count + starting }
}
