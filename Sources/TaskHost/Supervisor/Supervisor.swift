#if canImport(Glibc)
import Glibc
#endif
import CTaskHost
import Synchronization

/// The supervisor: one thread per host (`SupervisorThread`) running a
/// poll() loop over the fork server's socket and every worker's pipes. It
/// dispatches chunks, collects results, enforces timeouts and deadlines,
/// attributes deaths to items and starts replacements. Its parts, each in
/// its own file: pool and job commands (`PoolCommands`), the poll set
/// (`PollSet`), dispatch (`Dispatch`), results (`Results`), the fork
/// server's events (`ServerEvents`), starting and ending workers
/// (`WorkerStart`, `WorkerEnd`) with `DeathAttribution`, and the clocks
/// (`Clocks`).
///
/// `@unchecked Sendable`: every stored property below `thread` is confined
/// to the supervisor thread (each method that touches them begins with
/// `thread.assertConfined()`); other threads only call `perform` and
/// `shutdown`, which go through the thread's locked inbox.
final class Supervisor: @unchecked Sendable {
    let thread = SupervisorThread()
    /// The current fork server (replaced when one dies).
    var server: ForkServer
    /// Starts a new fork server with the host's plugins loaded as before.
    let startServer: @Sendable () throws -> ForkServer
    /// The current fork server's pid, readable from any thread.
    let serverPID: Atomic<Int32>
    /// Between a server's death and its replacement: nothing is spawned.
    var serverDown = false
    /// Fork servers that died with no chunk finished since (see `serverDied`).
    var serverDeathsWithoutProgress = 0
    /// Called with each fork server that replaces a dead one, before any
    /// worker is forked from it: the host's shared objects go to it again.
    var newServerReady: ((ForkServer) -> Void)?

    var workers: [pid_t: Worker] = [:]
    /// Spawn requests not answered yet: the pool each is for.
    var spawns: [UInt32: PoolCore] = [:]
    var nextSpawnRequest: UInt32 = 1
    var pools: [PoolCore] = []
    /// The work sent along with spawn requests, by request.
    var firstChunks: [UInt32: (chunk: Chunk, quits: Bool)] = [:]
    /// Set when dispatch left an idle worker with work waiting: the next
    /// poll must not sleep.
    var dispatchAgain = false
    /// Set when the fork server is gone: nothing can run any more.
    var broken: TaskHostError?
    /// The spare workers kept for the next single processes (`SpareWorker`),
    /// the spawn requests bringing more (true: stale, let it go when it
    /// comes), the processes waiting for one of those, and until when
    /// spares are wanted (monotonic ns).
    let spareShelf = SpareShelf()
    var spareRequests: [UInt32: Bool] = [:]
    var spareWaiters: [PoolCore] = []
    var spareWantedUntil: UInt64 = 0
    /// Set once a worker came with a pidfd: exits come through pidfds here,
    /// so the host may keep a spare (`SpareWorker`).
    var exitsByPidfd = false
    /// Where result pipes are read into.
    var readBuffer = [UInt8](repeating: 0, count: 1 << 18)
    /// Every chunk request is encoded here: its buffer keeps its capacity,
    /// so big chunks don't allocate and fault in fresh memory each time.
    let requestBuilder = FrameBuilder()

    init(server: ForkServer, startServer: @escaping @Sendable () throws -> ForkServer) {
        self.server = server
        self.startServer = startServer
        serverPID = Atomic(server.pid)
        server.setNonBlocking()
        thread.start(name: "taskhost-supervisor") { [unowned self] in self.run() }
    }

    /// Runs `work` on the supervisor thread.
    func perform(_ work: @escaping @Sendable () -> Void) {
        thread.perform(work)
    }

    /// Kills every worker, stops the thread and waits for it.
    func shutdown() {
        thread.stopAndWait()
    }

    // MARK: The loop

    private func run() {
        thread.assertConfined()
        while true {
            let (work, stopping) = thread.takeWork()
            for w in work { w() }
            if stopping { break }
            dispatchAgain = false
            for pool in pools { dispatch(pool) }
            pollOnce()
            checkClocks()
        }
        for pool in pools { terminate(pool) }
        discardSpare()
        // The host is going: kill every worker and let go of its pipes and
        // page now (no exit report will be read for it; the fork server
        // reaps it once its socket closes).
        for worker in workers.values {
            requestKill(worker)
            worker.release()
        }
        workers.removeAll()
    }

    /// Waits for the next thing to do (or the nearest clock) and does it.
    private func pollOnce() {
        thread.assertConfined()
        var set = PollSet(wake: thread.wakeDescriptor, server: server.socket, serverOutput: server.hasPendingOutput)
        for worker in workers.values {
            if !worker.lent { set.watch(worker) }
            if worker.exitDescriptor >= 0 && !worker.exitPending && !worker.exitTaken { set.watchExit(worker) }
        }
        guard set.wait(timeout: pollTimeout()) else {
            checkPendingExits()
            return
        }
        if set.wakeReady { thread.acknowledgeWake() }
        for (worker, readiness) in set.readyWorkers() where workers[worker.pid] === worker {
            switch readiness {
            case .results: readResults(worker)
            case .requests: worker.link.flush()
            case .exit: exitSeen(worker)
            }
        }
        checkPendingExits()
        if set.serverReady {
            do { try server.flush() } catch { serverDied(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)")) }
            readServer()
        }
    }
}
