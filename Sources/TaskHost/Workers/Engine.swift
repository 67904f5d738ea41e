#if canImport(Glibc)
import Glibc
#endif
import CTaskHost
import Foundation

/// The supervisor: one thread per host running a poll() loop over the fork
/// server's socket and every worker's pipes. It dispatches chunks, collects
/// results, enforces timeouts and deadlines, attributes deaths to items and
/// starts replacements. All state below the lock is touched only on that
/// thread; other threads talk to it through `perform`.
final class Engine: @unchecked Sendable {
    private let server: ForkServer
    private let wakeFD: Int32
    private let lock = NSLock()
    private var inbox: [() -> Void] = []
    private var stopping = false
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)

    // Engine-thread state.
    private var workers: [pid_t: Worker] = [:]
    private var spawns: [UInt32: PoolCore] = [:]
    private var nextSpawnRequest: UInt32 = 1
    private var pools: [PoolCore] = []
    /// The most a spawn request carries as the worker's first requests.
    private static let firstRequestLimit = 256 * 1024
    /// The work sent along with spawn requests, by request.
    private var firstChunks: [UInt32: (chunk: Chunk, quits: Bool)] = [:]
    private var broken: TaskHostError?
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 18)
    private let requestBuilder = FrameBuilder()

    init(server: ForkServer) {
        self.server = server
        wakeFD = th__eventfd()
        server.setNonBlocking()
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "taskhost-supervisor"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Runs `work` on the engine thread.
    func perform(_ work: @escaping () -> Void) {
        lock.lock()
        inbox.append(work)
        lock.unlock()
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Kills every worker, stops the thread and waits for it.
    func shutdown() {
        lock.lock()
        stopping = true
        lock.unlock()
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
        stopped.wait()
        Glibc.close(wakeFD)
    }

    // MARK: Pools and jobs (engine thread)

    func addPool(_ pool: PoolCore) {
        pools.append(pool)
        fillPool(pool)
    }

    /// Starts a single process (a WorkerProcess) with its one job: the job
    /// travels with the spawn request, and the pool is closed from the start.
    func startProcess(_ pool: PoolCore, job: Job, whenDone: @escaping () -> Void) {
        pools.append(pool)
        pool.closed = true
        pool.joinWaiters.append(whenDone)
        submit(job, to: pool)
        checkJoined(pool)
    }

    func submit(_ job: Job, to pool: PoolCore) {
        if let error = broken ?? (pool.terminated ? TaskHostError(.cancelled, "the pool was terminated") : nil) {
            cancelAll(job, error)
            return
        }
        pool.jobs.append(job)
        job.finishIfDone()
        fillPool(pool)
    }

    /// No more jobs: workers quit once the queued jobs are done.
    func close(_ pool: PoolCore, whenDone: @escaping () -> Void) {
        pool.closed = true
        pool.joinWaiters.append(whenDone)
        retireIdleWorkersIfClosed(pool)
        checkJoined(pool)
    }

    /// Cancels every job and kills every worker of the pool.
    func terminate(_ pool: PoolCore) {
        pool.terminated = true
        pool.closed = true
        let error = TaskHostError(.cancelled, "the pool was terminated before this item finished")
        for job in pool.jobs { cancelAll(job, error) }
        for worker in pool.workers { kill(worker, .terminated) }
        pool.jobs.removeAll()
        checkJoined(pool)
    }

    /// Stops one job: nothing more of it starts; workers running it are killed.
    func cancel(_ job: Job) {
        guard !job.isDone else { return }
        cancelAll(job, TaskHostError(.cancelled, "cancelled before it ran"))
        for pool in pools {
            for worker in pool.workers where worker.chunk?.job === job { kill(worker, .cancelled) }
        }
    }

    // MARK: The loop

    private func run() {
        while true {
            lock.lock()
            let work = inbox
            inbox.removeAll()
            let stop = stopping
            lock.unlock()
            for w in work { w() }
            if stop { break }
            for pool in pools { dispatch(pool) }
            pollOnce()
            checkClocks()
        }
        for pool in pools { terminate(pool) }
        for worker in workers.values { requestKill(worker) }
        stopped.signal()
    }

    private func pollOnce() {
        var fds: [pollfd] = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
                             pollfd(fd: server.socket, events: Int16(POLLIN), revents: 0)]
        var owners: [Worker?] = [nil, nil]
        for worker in workers.values where !worker.lent {
            var events: Int16 = 0
            if !worker.resultEOF { events |= Int16(POLLIN) }
            if worker.pendingOffset < worker.pendingOutput.count { events |= Int16(POLLOUT) }
            guard events != 0 else { continue }
            // One entry per descriptor: results to read, requests to write.
            if events & Int16(POLLIN) != 0 {
                fds.append(pollfd(fd: worker.resultFD, events: Int16(POLLIN), revents: 0))
                owners.append(worker)
            }
            if events & Int16(POLLOUT) != 0 {
                fds.append(pollfd(fd: worker.requestFD, events: Int16(POLLOUT), revents: 0))
                owners.append(worker)
            }
        }
        let ready = poll(&fds, nfds_t(fds.count), pollTimeout())
        guard ready > 0 else { return }
        if fds[0].revents != 0 {
            var count: UInt64 = 0
            _ = read(wakeFD, &count, 8)
        }
        for i in 2..<fds.count where fds[i].revents != 0 {
            guard let worker = owners[i], workers[worker.pid] === worker else { continue }
            if fds[i].fd == worker.resultFD { readResults(worker) } else { flushRequests(worker) }
        }
        if fds[1].revents != 0 { readServer() }
    }

    /// How long poll may sleep: until the nearest timeout, deadline or EOF grace.
    private func pollTimeout() -> Int32 {
        var timeout: Int32 = -1
        func consider(_ ms: Int32) { timeout = timeout < 0 ? ms : min(timeout, ms) }
        let now = monotonicNanoseconds()
        for pool in pools {
            if let t = pool.config.taskTimeout, pool.workers.contains(where: { $0.chunk != nil }) {
                consider(Int32(max(5, min(100, t * 100))))
            }
            for job in pool.jobs {
                if let d = job.deadline { consider(d > now ? Int32(min(1000, (d - now) / 1_000_000 + 1)) : 0) }
            }
        }
        if workers.values.contains(where: { ($0.resultEOF && !$0.killRequested) || (!$0.input.isEmpty && $0.chunk != nil) }) {
            consider(100)
        }
        return timeout
    }

    // MARK: Dispatch

    private func dispatch(_ pool: PoolCore) {
        guard !pool.terminated else { return }
        let workWaiting = pool.jobs.contains { $0.hasWorkToSend }
        for worker in pool.workers where worker.isIdle {
            if worker.lent {
                guard workWaiting, reclaim(worker) else { continue }
            }
            guard let (job, plan) = nextItems(pool, tasksSent: worker.tasksSent) else { break }
            send(plan, of: job, to: worker)
        }
        pool.jobs.removeAll { $0.isDone }
        retireIdleWorkersIfClosed(pool)
        checkJoined(pool)
        // What is still idle with nothing to do may serve a caller's apply directly.
        if pool.config.respawn && !pool.closed && !pool.jobs.contains(where: { $0.hasWorkToSend }) {
            for worker in pool.workers where worker.isIdle && !worker.lent && worker.initializerFailure == nil {
                worker.lent = true
                pool.lending.offer(worker)
            }
        }
    }

    /// Takes a lent worker back from `pool.lending`; false while a caller has it.
    private func reclaim(_ worker: Worker, exitStatus: Int32? = nil) -> Bool {
        guard worker.lent else { return true }
        guard worker.pool.lending.reclaim(worker, exitStatus: exitStatus) else { return false }
        worker.lent = false
        return true
    }

    // MARK: Direct calls (see Lending)

    /// A borrower hands over its worker with the item it sent still in
    /// flight: from here on it is finished as if this thread had sent it.
    /// `received` holds what the borrower already read from the result
    /// pipe, `unsent` what the request pipe did not take yet.
    func adopt(_ worker: Worker, chunk: Chunk, received: [UInt8], unsent: [UInt8]) {
        let exitStatus = worker.pool.lending.endLoan(worker)
        worker.lent = false
        let pool = worker.pool
        pool.jobs.append(chunk.job)
        worker.chunk = chunk
        worker.input.append(contentsOf: received)
        worker.lastReadAt = monotonicNanoseconds()
        if !unsent.isEmpty {
            worker.pendingOutput = unsent
            worker.pendingOffset = 0
            flushRequests(worker)
        }
        if let exitStatus {
            workerDied(worker, status: exitStatus)
        } else if pool.terminated || broken != nil {
            kill(worker, .terminated)
        } else if !received.isEmpty {
            _ = parseFrames(worker)
        }
    }

    /// A borrower gives back a worker the supervisor asked for (or that
    /// died, or that reached maxTasksPerChild), with no item in flight.
    func takeBack(_ worker: Worker) {
        let exitStatus = worker.pool.lending.endLoan(worker)
        worker.lent = false
        if let exitStatus {
            workerDied(worker, status: exitStatus)
        } else if let limit = worker.pool.config.maxTasksPerChild, worker.tasksSent >= UInt64(limit) {
            retire(worker)
        }
    }

    private func nextItems(_ pool: PoolCore, tasksSent: UInt64) -> (Job, ChunkPlan)? {
        var allowance = Int.max
        if let limit = pool.config.maxTasksPerChild { allowance = max(1, limit - Int(tasksSent)) }
        for job in pool.jobs where !job.isDone {
            if !job.requeued.isEmpty {
                // Retried and lost items go one at a time, so a second crash is pinned exactly.
                return (job, .items([job.requeued.removeFirst()]))
            }
            let limit = min(job.chunksize, allowance)
            if let rows = job.takePacked(limit) { return (job, .packed(rows)) }
            var items: [ItemRun] = []
            while items.count < limit, let item = job.pull() { items.append(item) }
            if !items.isEmpty { return (job, .items(items)) }
        }
        return nil
    }

    private func send(_ plan: ChunkPlan, of job: Job, to worker: Worker) {
        if let failure = worker.initializerFailure {
            let error = TaskHostError(.taskError, failure)
            switch plan {
            case .items(let items): for item in items { job.resolve(item.index, .failure(error)) }
            case .packed(let rows): for index in rows { job.resolve(index, .failure(error)) }
            }
            return
        }
        guard let chunk = encode(plan, of: job) else { return }
        attach(chunk, to: worker)
        queue(requestBuilder, to: worker)
    }

    /// Encodes a chunk's request into `requestBuilder` (one builder for every
    /// request: its buffer keeps its capacity, so big chunks don't allocate
    /// and fault in fresh memory each time). Nil, with the items failed, when
    /// memory runs out.
    private func encode(_ plan: ChunkPlan, of job: Job) -> Chunk? {
        let frame = requestBuilder
        frame.clear()
        let chunk: Chunk
        switch plan {
        case .items(let items):
            frame.beginChunk(TH_MSG_RUN, of: job.task, count: items.count)
            for item in items { frame.put(item.arguments) }
            var sent = items
            for i in sent.indices { sent[i].attempts += 1 }
            chunk = Chunk(job: job, items: sent, sentAt: monotonicNanoseconds())
        case .packed(let rows):
            guard let packed = job.packed else { return nil }
            // Each column's bytes as they are.
            frame.beginChunk(TH_MSG_RUN_PACKED, of: job.task, count: rows.count)
            for column in packed.columns.indices { frame.putBytes(packed.bytes(of: column, rows: rows)) }
            chunk = Chunk(job: job, packed: rows, sentAt: monotonicNanoseconds())
        }
        frame.end()
        guard !frame.failed else {
            for position in 0..<chunk.count {
                job.resolve(chunk.index(at: position), .failure(TaskHostError(.systemError, "out of memory encoding item \(chunk.index(at: position))")))
            }
            return nil
        }
        return chunk
    }

    /// Makes `chunk`, whose request is on its way, the worker's current one.
    private func attach(_ chunk: Chunk, to worker: Worker) {
        worker.chunk = chunk
        worker.chunkBase = worker.itemsSent
        worker.itemsSent += UInt64(chunk.count)
        worker.tasksSent += UInt64(chunk.count)
        worker.observedStarted = worker.page.pointee.started
        worker.observedAt = monotonicNanoseconds()
    }

    private func queue(_ frame: FrameBuilder, to worker: Worker) {
        var bytes = frame.bytes
        if worker.pendingOffset == worker.pendingOutput.count {
            worker.pendingOutput.removeAll(keepingCapacity: true)
            worker.pendingOffset = 0
            // Nothing waiting: write straight from the frame, keep only what the pipe refused.
            while !bytes.isEmpty {
                let n = write(worker.requestFD, bytes.baseAddress!, bytes.count)
                if n > 0 { bytes = UnsafeRawBufferPointer(rebasing: bytes[n...]); continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
                return // EPIPE: the worker is gone; its exit report will follow.
            }
        }
        worker.pendingOutput.append(contentsOf: bytes)
        flushRequests(worker)
    }

    private func flushRequests(_ worker: Worker) {
        while worker.pendingOffset < worker.pendingOutput.count {
            let n = worker.pendingOutput.withUnsafeBytes { bytes in
                write(worker.requestFD, bytes.baseAddress! + worker.pendingOffset, bytes.count - worker.pendingOffset)
            }
            if n > 0 { worker.pendingOffset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            // EPIPE: the worker is gone; its exit report will follow.
            worker.pendingOffset = worker.pendingOutput.count
            return
        }
    }

    // MARK: Results

    private func readResults(_ worker: Worker) {
        while true {
            let n = readBuffer.withUnsafeMutableBytes { read(worker.resultFD, $0.baseAddress, $0.count) }
            if n > 0 {
                worker.input.append(contentsOf: readBuffer[0..<n])
                worker.lastReadAt = monotonicNanoseconds()
                if !parseFrames(worker) { return }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 {
                worker.resultEOF = true
                worker.eofAt = monotonicNanoseconds()
            }
            return
        }
    }

    /// Parses complete frames; false once the worker has been found misbehaving.
    private func parseFrames(_ worker: Worker) -> Bool {
        while worker.killReason == nil {
            let available = worker.input.count - worker.inputOffset
            var bodyLength: UInt32 = 0
            var type: UInt8 = 0
            let header = worker.input.withUnsafeBufferPointer {
                th__frame_header($0.baseAddress! + worker.inputOffset, available, &bodyLength, &type)
            }
            if header == 0 { break }
            if header < 0 {
                kill(worker, .malformed("sent malformed output (not a frame header)"))
                return false
            }
            let total = Int(TH_FRAME_HEADER_SIZE) + Int(bodyLength)
            if available < total { break }
            let ok = worker.input.withUnsafeBytes { bytes in
                handleFrame(worker, type: type,
                            body: UnsafeRawBufferPointer(rebasing: bytes[(worker.inputOffset + Int(TH_FRAME_HEADER_SIZE))..<(worker.inputOffset + total)]))
            }
            worker.inputOffset += total
            if !ok { return false }
        }
        if worker.inputOffset > 0 && worker.inputOffset == worker.input.count {
            worker.input.removeAll(keepingCapacity: worker.input.capacity <= 1 << 20)
            worker.inputOffset = 0
        } else if worker.inputOffset > 1 << 20 {
            worker.input.removeFirst(worker.inputOffset)
            worker.inputOffset = 0
        }
        return true
    }

    private func handleFrame(_ worker: Worker, type: UInt8, body: UnsafeRawBufferPointer) -> Bool {
        if Int(type) == TH_MSG_PACKED_RESULTS { return handlePackedResults(worker, body: body) }
        guard Int(type) == TH_MSG_RESULTS else {
            kill(worker, .malformed("sent a frame of unknown type \(type)"))
            return false
        }
        var reader = FrameReader(body)
        let count = Int(reader.u32())
        if worker.initializing {
            worker.initializing = false
            if count != 1 {
                kill(worker, .malformed("answered its initializer with \(count) results"))
                return false
            }
            if reader.u8() != UInt8(TH_ITEM_OK) {
                let message = reader.string()
                let name = worker.pool.config.initializer?.task.qualifiedName ?? "initializer"
                worker.initializerFailure = "the initializer \(name) failed in worker \(worker.pid): \(message)"
            }
            return true
        }
        guard let chunk = worker.chunk, chunk.packedRange == nil, count <= chunk.count - chunk.received else {
            kill(worker, .malformed("sent \(count) results it was not asked for"))
            return false
        }
        var batch: [IndexedResult] = []
        batch.reserveCapacity(count)
        var malformed: String?
        for _ in 0..<count {
            let position = chunk.received
            guard let result = decodeItemResult(&reader, describeItem: { describe(chunk.job.task, chunk.item(at: position)) },
                                                malformed: &malformed) else { break }
            batch.append(IndexedResult(index: chunk.index(at: position), result: result))
            chunk.received += 1
        }
        chunk.job.resolveBatch(batch)
        if let malformed {
            kill(worker, .malformed(malformed))
            return false
        }
        finishChunkIfComplete(worker, chunk)
        return true
    }

    /// A packed results frame: payloads copied straight to the job's output.
    private func handlePackedResults(_ worker: Worker, body: UnsafeRawBufferPointer) -> Bool {
        var reader = FrameReader(body)
        let count = Int(reader.u32())
        let errorCount = Int(reader.u32())
        guard let chunk = worker.chunk, let rows = chunk.packedRange, let packed = chunk.job.packed,
              count <= chunk.count - chunk.received, errorCount <= count else {
            kill(worker, .malformed("sent \(count) results it was not asked for"))
            return false
        }
        let payloadBytes = count * packed.resultWidth
        guard reader.remaining >= payloadBytes else {
            kill(worker, .malformed("sent a truncated result"))
            return false
        }
        let payloads = UnsafeRawBufferPointer(rebasing: body[(body.count - reader.remaining)...].prefix(payloadBytes))
        reader.skip(payloadBytes)
        var failures: [IndexedResult] = []
        var lastPosition = -1
        for _ in 0..<errorCount {
            let position = Int(reader.u32())
            let message = reader.string()
            guard !reader.failed, position > lastPosition, position < count else {
                kill(worker, .malformed("sent a malformed result"))
                return false
            }
            lastPosition = position
            let item = chunk.item(at: chunk.received + position)
            failures.append(IndexedResult(index: item.index, result: .failure(TaskHostError(.taskError, "\(describe(chunk.job.task, item)): \(message)"))))
        }
        guard reader.remaining == 0 else {
            kill(worker, .malformed("sent a malformed result"))
            return false
        }
        let start = rows.lowerBound + chunk.received
        chunk.received += count
        chunk.job.resolvePacked(from: start, payloads: payloads, count: count, failures: failures)
        finishChunkIfComplete(worker, chunk)
        return true
    }

    private func finishChunkIfComplete(_ worker: Worker, _ chunk: Chunk) {
        guard chunk.received == chunk.count else { return }
        worker.chunk = nil
        chunk.job.chunkFinished(items: chunk.count, nanoseconds: monotonicNanoseconds() - chunk.sentAt)
        worker.pool.unexplainedDeaths = 0
        if let limit = worker.pool.config.maxTasksPerChild, worker.tasksSent >= UInt64(limit) { retire(worker) }
    }

    // MARK: The fork server's messages

    private func readServer() {
        while true {
            var wouldBlock = false
            let message: ForkServer.Message?
            do {
                message = try server.receive(wouldBlock: &wouldBlock)
            } catch {
                serverDied(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)"))
                return
            }
            guard let m = message else {
                if !wouldBlock { serverDied(TaskHostError(.systemError, "the fork server exited")) }
                return
            }
            var reader = FrameReader(m.body)
            switch Int(m.type) {
            case TH_MSG_SPAWNED:
                let request = reader.u32()
                let pid = pid_t(bitPattern: reader.u32())
                let error = reader.string()
                spawned(request: request, pid: pid, error: error, fds: m.fds)
            case TH_MSG_EXITED:
                let pid = pid_t(bitPattern: reader.u32())
                let status = Int32(bitPattern: reader.u32())
                if let worker = workers[pid] { workerDied(worker, status: status) }
            default:
                for fd in m.fds { Glibc.close(fd) }
            }
        }
    }

    private func serverDied(_ error: TaskHostError) {
        guard broken == nil else { return }
        broken = error
        for worker in Array(workers.values) { workerDied(worker, status: Int32(SIGKILL)) }
        // Work that went with spawn requests no one will answer now: failed with the rest below.
        for first in firstChunks.values { requeueUnstarted(first.chunk) }
        firstChunks.removeAll()
        spawns.removeAll()
        for pool in pools {
            for job in pool.jobs { cancelAll(job, error) }
            pool.jobs.removeAll()
            pool.starting = 0
            checkJoined(pool)
        }
    }

    // MARK: Starting and retiring workers

    private func fillPool(_ pool: PoolCore) {
        guard broken == nil, !pool.terminated, !(pool.closed && pool.jobs.allSatisfy(\.isDone)) else { return }
        // A single process (respawn off) gets exactly one worker in its life;
        // once it is gone, whatever is left can never run.
        if !pool.config.respawn && pool.spawnRequests > 0 {
            if pool.workers.isEmpty && pool.starting == 0 {
                for job in pool.jobs { cancelAll(job, TaskHostError(.cancelled, "its process had already ended")) }
            }
            return
        }
        while pool.activeWorkerCount < pool.config.processes {
            let request = nextSpawnRequest
            nextSpawnRequest &+= 1
            // A single process gets its work with the spawn request: it starts
            // on it at once, and quits after it when nothing else can come.
            var first: (chunk: Chunk, quits: Bool)?
            spawnFirst: if !pool.config.respawn, pool.config.initializer == nil,
               let (job, plan) = nextItems(pool, tasksSent: 0), let chunk = encode(plan, of: job) {
                // The fork server writes these into the new worker's request pipe before
                // the host holds its result pipe: they must fit the pipe (1 MiB) with room.
                guard requestBuilder.bytes.count <= Self.firstRequestLimit else {
                    requeueUnstarted(chunk)
                    break spawnFirst
                }
                let quits = pool.closed && !pool.jobs.contains { $0.hasWorkToSend }
                if quits {
                    requestBuilder.begin(TH_MSG_QUIT)
                    requestBuilder.end()
                }
                first = (chunk, quits)
            }
            let frame = FrameBuilder()
            frame.begin(TH_MSG_SPAWN)
            frame.putU32(request)
            frame.putU64(pool.config.memoryLimit ?? 0)
            frame.putU8(pool.config.taskOutput == .stdout ? UInt8(TH_OUTPUT_STDOUT) : UInt8(TH_OUTPUT_STDERR))
            frame.putU32(first == nil ? 0 : UInt32(requestBuilder.bytes.count))
            if first != nil { frame.putBytes(requestBuilder.bytes) }
            frame.end()
            if let first { firstChunks[request] = first }
            do { try server.send(frame) } catch {
                serverDied(error as? TaskHostError ?? TaskHostError(.systemError, "\(error)"))
                return
            }
            spawns[request] = pool
            pool.starting += 1
            pool.spawnRequests += 1
            if !pool.config.respawn { break }
        }
    }

    private func spawned(request: UInt32, pid: pid_t, error: String, fds: [Int32]) {
        guard let pool = spawns.removeValue(forKey: request) else {
            for fd in fds { Glibc.close(fd) }
            return
        }
        pool.starting -= 1
        let first = firstChunks.removeValue(forKey: request)
        guard pid > 0, fds.count == 3 else {
            for fd in fds { Glibc.close(fd) }
            if let first { requeueUnstarted(first.chunk) }
            pool.spawnFailures += 1
            pool.lastSpawnError = error.isEmpty ? "the fork server could not start a worker" : error
            if pool.spawnFailures >= 3 && pool.workers.isEmpty {
                let failure = TaskHostError(.systemError, pool.lastSpawnError)
                for job in pool.jobs { cancelAll(job, failure) }
                pool.jobs.removeAll()
                checkJoined(pool)
            } else {
                fillPool(pool)
            }
            return
        }
        pool.spawnFailures = 0
        let mapped = mmap(nil, Int(TH_WORKER_PAGE_SIZE), PROT_READ, MAP_SHARED, fds[2], 0)
        Glibc.close(fds[2])
        guard let page = mapped, page != MAP_FAILED else {
            Glibc.close(fds[0]); Glibc.close(fds[1])
            sendKill(pid)
            if let first { requeueUnstarted(first.chunk) }
            return
        }
        for fd in [fds[0], fds[1]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let worker = Worker(pid: pid, requestFD: fds[0], resultFD: fds[1],
                            page: UnsafePointer(page.assumingMemoryBound(to: th__worker_page.self)), pool: pool)
        workers[pid] = worker
        pool.workers.append(worker)
        if let first {
            attach(first.chunk, to: worker)
            worker.retiring = first.quits
        }
        pool.onWorkerStart?(pid)
        if pool.terminated || broken != nil {
            kill(worker, .terminated)
            return
        }
        if let initializer = pool.config.initializer {
            let frame = FrameBuilder()
            frame.beginChunk(TH_MSG_RUN, of: initializer.task, count: 1)
            frame.put(.many(initializer.arguments))
            frame.end()
            worker.initializing = true
            worker.itemsSent += 1
            queue(frame, to: worker)
        }
        if pool.closed && pool.jobs.isEmpty { retire(worker) }
    }

    /// Puts back the items of a chunk that never reached a worker.
    private func requeueUnstarted(_ chunk: Chunk) {
        for position in 0..<chunk.count {
            var item = chunk.item(at: position)
            item.attempts -= 1
            chunk.job.requeued.append(item)
        }
    }

    private func retire(_ worker: Worker) {
        guard !worker.retiring, reclaim(worker) else { return }
        worker.retiring = true
        let frame = FrameBuilder()
        frame.begin(TH_MSG_QUIT)
        frame.end()
        queue(frame, to: worker)
        fillPool(worker.pool)
    }

    private func retireIdleWorkersIfClosed(_ pool: PoolCore) {
        guard pool.closed, pool.jobs.allSatisfy(\.isDone) else { return }
        for worker in pool.workers where worker.isIdle { retire(worker) }
    }

    private func checkJoined(_ pool: PoolCore) {
        guard pool.closed, pool.workers.isEmpty, pool.starting == 0 || broken != nil,
              pool.jobs.allSatisfy(\.isDone) else { return }
        let waiters = pool.joinWaiters
        pool.joinWaiters.removeAll()
        pools.removeAll { $0 === pool }
        for waiter in waiters { waiter() }
    }

    // MARK: Killing and deaths

    private func kill(_ worker: Worker, _ reason: KillReason) {
        // A borrowed worker's borrower sees it die and hands it over then.
        _ = reclaim(worker)
        if worker.killReason == nil { worker.killReason = reason }
        requestKill(worker)
        fillPool(worker.pool)
    }

    private func requestKill(_ worker: Worker) {
        guard !worker.killRequested else { return }
        worker.killRequested = true
        sendKill(worker.pid)
    }

    private func sendKill(_ pid: pid_t) {
        let frame = FrameBuilder()
        frame.begin(TH_MSG_KILL)
        frame.putU32(UInt32(bitPattern: pid))
        frame.end()
        try? server.send(frame)
    }

    /// A worker is gone: read what it left, fail the item it was running,
    /// requeue the rest of its chunk, and start a replacement.
    private func workerDied(_ worker: Worker, status: Int32) {
        // A borrowed worker is buried once its borrower hands it over.
        guard reclaim(worker, exitStatus: status) else { return }
        if !worker.resultEOF && worker.killReason == nil { readResults(worker) }
        workers.removeValue(forKey: worker.pid)
        let pool = worker.pool
        pool.workers.removeAll { $0 === worker }
        let started = worker.page.pointee.started
        let finished = worker.page.pointee.finished
        let memoryExhausted = worker.page.pointee.memory_exhausted != 0

        if let chunk = worker.chunk {
            settle(chunk, of: worker, status: status, started: started, finished: finished,
                   memoryExhausted: memoryExhausted)
        } else if worker.initializing {
            pool.unexplainedDeaths += 1
            let death = describeDeath(worker, status: status, memoryExhausted: memoryExhausted)
            worker.initializerFailure = "worker \(worker.pid) \(death.message) while running the initializer"
            if pool.unexplainedDeaths >= 3 {
                let error = TaskHostError(death.kind, "the initializer keeps killing workers: \(worker.initializerFailure!)",
                                          signal: death.signal, code: death.code)
                for job in pool.jobs { cancelAll(job, error) }
            }
        }
        pool.onWorkerExit?(worker.pid, status)
        fillPool(pool)
        checkJoined(pool)
        // Released last: whoever waits for this death need not wait for the unmapping too.
        munmap(UnsafeMutableRawPointer(mutating: worker.page), Int(TH_WORKER_PAGE_SIZE))
        Glibc.close(worker.requestFD)
        Glibc.close(worker.resultFD)
    }

    private func settle(_ chunk: Chunk, of worker: Worker, status: Int32, started: UInt64, finished: UInt64,
                        memoryExhausted: Bool) {
        let job = chunk.job
        let n = chunk.count
        // The page is worker-written: clamp everything to the chunk.
        func inChunk(_ count: UInt64) -> Int {
            count <= worker.chunkBase ? 0 : Int(min(UInt64(n), count - worker.chunkBase))
        }
        let startedInChunk = inChunk(started), finishedInChunk = inChunk(finished)
        var blamed: Int?
        if case .timeout(let item)? = worker.killReason { blamed = item }
        else if startedInChunk > finishedInChunk { blamed = startedInChunk - 1 }
        if let b = blamed, b < chunk.received { blamed = nil }

        if blamed == nil {
            worker.pool.unexplainedDeaths += 1
            // A worker that keeps dying with no item running (a crash in a
            // plugin's init hook, say) would otherwise loop forever.
            if worker.pool.unexplainedDeaths >= 3 { blamed = chunk.received }
        }
        let death = describeDeath(worker, status: status, memoryExhausted: memoryExhausted)
        for position in chunk.received..<n {
            let item = chunk.item(at: position)
            if case .terminated? = worker.killReason {
                job.resolve(item.index, .failure(TaskHostError(.cancelled, "\(describe(job.task, item)) was cancelled: the pool was terminated")))
            } else if case .cancelled? = worker.killReason {
                job.resolve(item.index, .failure(TaskHostError(.cancelled, "\(describe(job.task, item)) was cancelled while running")))
            } else if case .deadline? = worker.killReason {
                job.resolve(item.index, .failure(TaskHostError(.cancelled, "\(describe(job.task, item)) did not finish before the deadline")))
            } else if position == blamed || (position < finishedInChunk && item.resultLost) {
                // The item it was running; or one whose result died with its worker a second time.
                let retries = worker.pool.config.retries
                let retriable = death.kind == .crashed || death.kind == .timedOut || death.kind == .exited || death.kind == .memoryLimit
                if retriable && item.attempts <= retries {
                    job.requeued.append(item)
                } else {
                    var error = TaskHostError(death.kind, "worker \(worker.pid) \(death.message) while running \(describe(job.task, item))",
                                              signal: death.signal, code: death.code)
                    if retries > 0 {
                        error.attempts = item.attempts
                        error.message += " (attempt \(item.attempts) of \(retries + 1))"
                    }
                    job.resolve(item.index, .failure(error))
                }
            } else if position >= startedInChunk {
                // Not started: it used no attempt; run it on another worker.
                var fresh = item
                fresh.attempts -= 1
                job.requeued.append(fresh)
            } else {
                // Finished with its result lost: run it again, once, on another worker.
                var again = item
                again.resultLost = true
                job.requeued.append(again)
            }
        }
        job.finishIfDone()
    }

    private func describeDeath(_ worker: Worker, status: Int32, memoryExhausted: Bool)
        -> (kind: TaskHostError.Kind, message: String, signal: String?, code: Int?)
    {
        switch worker.killReason {
        case .timeout?:
            let seconds = worker.pool.config.taskTimeout ?? 0
            return (.timedOut, "was killed after \(formatSeconds(seconds)) s (the task timeout)", nil, nil)
        case .malformed(let why)?:
            return (.crashed, "\(why) and was killed", "SIGKILL", nil)
        default: break
        }
        if memoryExhausted {
            let limit = worker.pool.config.memoryLimit ?? 0
            return (.memoryLimit, "went past its memory limit of \(formatBytes(limit))", nil, nil)
        }
        if th__wait_signaled(status) != 0 {
            let signal = th__wait_signal(status)
            let name = signalName(signal)
            if signal == SIGKILL, let limit = worker.pool.config.memoryLimit, limit > 0 {
                return (.crashed, "was killed by SIGKILL (killed; perhaps by the kernel's out-of-memory killer)", name, nil)
            }
            return (.crashed, "was killed by \(name) (\(signalDescription(signal)))", name, nil)
        }
        let code = Int(th__wait_exit_code(status))
        return (.exited, "exited with code \(code)", nil, code)
    }

    private func cancelAll(_ job: Job, _ error: TaskHostError) {
        func fail(_ item: ItemRun) {
            job.resolve(item.index, .failure(TaskHostError(error.kind, "\(describe(job.task, item)): \(error.message)")))
        }
        while let item = job.requeued.first {
            job.requeued.removeFirst()
            fail(item)
        }
        while job.source != nil {
            guard let item = job.pull(ignoringWindow: true) else {
                // A stream with nothing more yet: stop reading it.
                job.source = nil
                break
            }
            fail(item)
        }
        if let packed = job.packed, let rows = job.takePacked(packed.remaining) {
            for index in rows { fail(ItemRun(index: index, arguments: packed.arguments(at: index))) }
        }
        job.finishIfDone()
    }

    // MARK: Clocks: timeouts, deadlines, stalled or silent workers

    private func checkClocks() {
        let now = monotonicNanoseconds()
        for worker in Array(workers.values) {
            if worker.resultEOF && !worker.killRequested && now - worker.eofAt > 1_000_000_000 {
                // It closed its result pipe but didn't exit: finish it.
                kill(worker, .malformed("closed its result pipe"))
                continue
            }
            guard let chunk = worker.chunk, worker.killReason == nil else { continue }
            let started = worker.page.pointee.started
            let finished = worker.page.pointee.finished
            if started != worker.observedStarted {
                worker.observedStarted = started
                worker.observedAt = now
            }
            if let timeout = worker.pool.config.taskTimeout, started > finished,
               Double(now - worker.observedAt) / 1e9 > timeout {
                let position = Int(min(UInt64(chunk.count), max(started, worker.chunkBase + 1) - worker.chunkBase)) - 1
                kill(worker, .timeout(item: max(0, position)))
                continue
            }
            if worker.inputOffset < worker.input.count, now - worker.lastReadAt > 2_000_000_000 {
                // Workers write each frame in one go, so a frame that stays incomplete
                // with nothing more arriving is a lying length prefix.
                kill(worker, .malformed("sent an incomplete frame (a length prefix it never filled)"))
            }
        }
        for pool in pools {
            for job in pool.jobs where !job.isDone {
                guard let deadline = job.deadline, now >= deadline else { continue }
                cancelAll(job, TaskHostError(.cancelled, "not run before the deadline"))
                for worker in pool.workers where worker.chunk?.job === job { kill(worker, .deadline) }
            }
        }
    }
}

/// One item's result from a results frame: its value, or its task error
/// named after the item; nil, with the reason in `malformed`, when the bytes
/// make no sense.
func decodeItemResult(_ reader: inout FrameReader, describeItem: () -> String, malformed: inout String?) -> TaskResult?
{
    let status = reader.u8()
    let result: TaskResult
    if status == UInt8(TH_ITEM_OK), let value = reader.value() {
        result = .success(value)
    } else if status == UInt8(TH_ITEM_ERROR) {
        let message = reader.string()
        result = .failure(TaskHostError(.taskError, "\(describeItem()): \(message)"))
    } else {
        malformed = "sent a malformed result"
        return nil
    }
    if reader.failed {
        malformed = "sent a truncated result"
        return nil
    }
    return result
}

/// `square.square(3)`: the task and the item's arguments, for messages.
func describe(_ task: TaskInfo, _ item: ItemRun) -> String {
    let arguments = item.arguments.values.map { value -> String in
        switch value {
        case .string(let s): return s.count > 60 ? "\"\(s.prefix(57))...\"" : "\"\(s)\""
        default: return value.description
        }
    }
    return "\(task.qualifiedName)(\(arguments.joined(separator: ", ")))"
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(s)
}

func formatBytes(_ bytes: UInt64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) bytes"
}
