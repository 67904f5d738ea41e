#if MPI
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

/// One rank's share of a pool, as rank 0 sees it.
struct ClusterNode {
    let rank: Int
    let hostName: String
    /// Its worker processes (0: its pool could not start).
    let processes: Int
    /// Chunks sent and not answered.
    var outstanding = 0
    /// When it was last sent a chunk (ties go to the one that waited longest).
    var lastSent: UInt64 = 0
    /// When it was last heard from (any message counts).
    var lastHeard: UInt64 = DispatchTime.now().uptimeNanoseconds
    /// Why it can't be used any more.
    var lost: TaskHostError?
}

/// Rank 0's side of a `ClusterPool`: the one thread that talks MPI on rank
/// 0. It pulls items from the jobs' inputs, hands chunks out on demand — at
/// most two waiting per rank, so a slow rank gets fewer —, runs rank 0's own
/// share on its local pool, and delivers the results. It sleeps while
/// nothing happens: woken at once by local events, polling MPI with a
/// backoff of up to 1 ms otherwise.
final class Coordinator: @unchecked Sendable { // cross-thread state under `condition`; the rest is the loop thread's
    private let world: MPIWorld
    private let mailbox: MPIMailbox
    private var nodes: [ClusterNode]
    private var runner: ChunkRunner!
    private static let chunksPerNode = 2

    private let sleep = PollingSleep()
    private var condition: NSCondition { sleep.condition }
    private var arrivingJobs: [ClusterJob] = []
    private var cancelRequests: [UInt64] = []
    private var localResponses: [ChunkResponse] = []
    private var closing = false
    private var ended = false

    private var jobs: [ClusterJob] = []
    private var chunkJobs: [UInt64: ClusterJob] = [:]
    private var nextChunk: UInt64 = 1

    init(world: MPIWorld, mailbox: MPIMailbox, localPool: Pool, nodes: [ClusterNode]) {
        self.world = world
        self.mailbox = mailbox
        self.nodes = nodes
        runner = ChunkRunner(pool: localPool, hostName: world.hostName, rank: 0) { [unowned self] response in
            sleep.wake { localResponses.append(response) }
        }
        let thread = Thread { [self] in loop() }
        thread.name = "taskhost-mpi-coordinator"
        thread.start()
    }

    // MARK: Called from any thread

    /// Starts a job.
    func submit(_ job: ClusterJob) {
        sleep.wake { arrivingJobs.append(job) }
    }

    /// Cancels a job: no new items start; running ones are killed.
    func cancel(_ job: UInt64) {
        sleep.wake { cancelRequests.append(job) }
    }

    /// Something changed (a consumer made room, a channel has items): look again now.
    func wake() {
        sleep.wake()
    }

    /// After the jobs under way: every rank closes its part of the pool.
    func close() {
        sleep.wake { closing = true }
    }

    /// Waits until the pool is closed on every rank.
    func waitUntilEnded() {
        condition.lock()
        while !ended { condition.wait() }
        condition.unlock()
    }

    // MARK: The loop

    private func loop() {
        while true {
            condition.lock()
            let newJobs = arrivingJobs, cancels = cancelRequests, responses = localResponses
            arrivingJobs.removeAll(); cancelRequests.removeAll(); localResponses.removeAll()
            let close = closing
            condition.unlock()

            var progressed = !newJobs.isEmpty || !cancels.isEmpty || !responses.isEmpty
            jobs.append(contentsOf: newJobs)
            for id in cancels { cancelJob(id) }
            for response in responses { handle(response, from: 0) }
            progressed = pollMPI() || progressed
            checkSilentNodes()
            progressed = dispatch() || progressed
            finishDoneJobs()
            if close && jobs.isEmpty { break }
            sleep.roundEnded(progressed: progressed)
        }
        runner.stop()
        condition.lock()
        let late = localResponses
        localResponses.removeAll()
        condition.unlock()
        for response in late { handle(response, from: 0) }
        releaseRanks(world: world, mailbox: mailbox, alive: nodes.filter { $0.rank != 0 && $0.lost == nil }.map(\.rank))
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    /// Receives whatever has arrived. True if anything did.
    private func pollMPI() -> Bool {
        var any = false
        do {
            try mailbox.progress()
            while let message = try mailbox.receive() {
                any = true
                if let index = nodes.firstIndex(where: { $0.rank == message.source }) {
                    nodes[index].lastHeard = DispatchTime.now().uptimeNanoseconds
                }
                switch message.tag {
                case .results:
                    handle(try ChunkResponse(decoding: message.bytes), from: message.source)
                case .output:
                    writeAll(1, message.bytes)
                default:
                    break // a late hello or closed: nothing to do
                }
            }
        } catch let error as TaskHostError {
            // MPI itself failed: no rank can be trusted to answer any more.
            for index in nodes.indices where nodes[index].rank != 0 { loseNode(index, error) }
        } catch {}
        return any
    }

    private func handle(_ response: ChunkResponse, from rank: Int) {
        guard let job = chunkJobs.removeValue(forKey: response.chunk),
              let out = job.outstanding.removeValue(forKey: response.chunk) else { return }
        if let index = nodes.firstIndex(where: { $0.rank == rank }) { nodes[index].outstanding -= 1 }
        job.receive(response, first: out.first, count: out.count)
    }

    /// Hands chunks to nodes with room, job by job in arrival order. True if any went out.
    private func dispatch() -> Bool {
        var sent = false
        let now = DispatchTime.now().uptimeNanoseconds
        for job in jobs {
            if let deadline = job.deadline, now >= deadline {
                job.stop(TaskHostError(.cancelled, "not run before the deadline"))
                continue
            }
            while job.hasRoom, let index = freeNode() {
                guard let request = job.makeChunk(id: nextChunk, now: now) else { break }
                nextChunk += 1
                job.outstanding[request.chunk] = (index, request.first, request.count)
                chunkJobs[request.chunk] = job
                nodes[index].outstanding += 1
                nodes[index].lastSent = now
                sent = true
                if nodes[index].rank == 0 {
                    runner.submit(request)
                } else {
                    do {
                        try mailbox.send(request.encoded(), to: nodes[index].rank, tag: .chunk)
                    } catch let error as TaskHostError {
                        loseNode(index, error)
                    } catch {}
                }
            }
        }
        return sent
    }

    /// The usable node with the fewest chunks waiting (and room for one more).
    private func freeNode() -> Int? {
        var best: Int?
        for index in nodes.indices where nodes[index].lost == nil && nodes[index].processes > 0
            && nodes[index].outstanding < Self.chunksPerNode {
            if let b = best, (nodes[b].outstanding, nodes[b].lastSent) <= (nodes[index].outstanding, nodes[index].lastSent) {
                continue
            }
            best = index
        }
        return best
    }

    /// A rank that holds chunks and has said nothing for `Heartbeat.lostAfter`
    /// has died or hangs. (Open MPI 4.1 aborts the whole job when a rank dies,
    /// unless mpirun runs with --enable-recovery: then this is how rank 0 learns.)
    private func checkSilentNodes() {
        let now = DispatchTime.now().uptimeNanoseconds
        for index in nodes.indices where nodes[index].rank != 0 && nodes[index].lost == nil && nodes[index].outstanding > 0 {
            let silence = now - min(now, nodes[index].lastHeard)
            if silence > Heartbeat.lostAfter {
                loseNode(index, TaskHostError(.systemError,
                    "it sent nothing for \(silence / 1_000_000_000) s (its process died or hangs)"))
            }
        }
    }

    /// A rank can't be reached: the items it holds fail, naming it, and it gets no more.
    private func loseNode(_ index: Int, _ cause: TaskHostError) {
        guard nodes[index].lost == nil else { return }
        let node = nodes[index]
        let error = TaskHostError(.systemError, "MPI rank \(node.rank) on host \(node.hostName) was lost: \(cause.message)")
        nodes[index].lost = error
        for job in jobs {
            for (chunk, out) in job.outstanding where out.node == index {
                job.outstanding[chunk] = nil
                chunkJobs[chunk] = nil
                job.fail(first: out.first, count: out.count, error)
            }
        }
        nodes[index].outstanding = 0
        if !nodes.contains(where: { $0.lost == nil && $0.processes > 0 }) {
            for job in jobs { job.stop(error) }
        }
    }

    private func cancelJob(_ id: UInt64) {
        guard let job = jobs.first(where: { $0.id == id }) else { return }
        job.stop(TaskHostError(.cancelled, "cancelled before it ran"))
        runner.cancel(job: id)
        var cancel = WireWriter()
        cancel.u64(id)
        for node in Set(job.outstanding.values.map(\.node)) where nodes[node].rank != 0 {
            try? mailbox.send(cancel.bytes, to: nodes[node].rank, tag: .cancel)
        }
    }

    private func finishDoneJobs() {
        jobs.removeAll { job in
            guard job.isDone else { return false }
            job.finish()
            return true
        }
    }
}

/// Tells every other rank that the pool is closed and waits until each in
/// `alive` has finished its part (printing what their tasks wrote to stdout) —
/// or has said nothing for `Heartbeat.lostAfter`.
func releaseRanks(world: MPIWorld, mailbox: MPIMailbox, alive: [Int]) {
    for rank in 1..<max(1, world.size) { try? mailbox.send([], to: rank, tag: .close) }
    var waiting = Set(alive)
    var lastWord = DispatchTime.now().uptimeNanoseconds
    var pause: UInt32 = 20
    while !waiting.isEmpty && DispatchTime.now().uptimeNanoseconds - lastWord < Heartbeat.lostAfter {
        let arrived: IncomingMessage?
        do {
            try mailbox.progress()
            arrived = try mailbox.receive()
        } catch {
            break
        }
        guard let message = arrived else {
            usleep(pause)
            pause = min(1000, pause * 2)
            continue
        }
        pause = 20
        lastWord = DispatchTime.now().uptimeNanoseconds
        switch message.tag {
        case .output: writeAll(1, message.bytes)
        case .closed: waiting.remove(message.source)
        default: break
        }
    }
    mailbox.drain(within: Heartbeat.lostAfter)
}

/// Writes all of `bytes` to `fd`.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}
#endif
