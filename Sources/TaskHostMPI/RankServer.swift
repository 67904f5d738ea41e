#if MPI
import Foundation
import TaskHost

/// A worker rank's side of a `ClusterPool`: says hello to rank 0, runs the
/// chunks it is sent on its own pool, sends their results back (after what
/// its tasks printed), and returns when rank 0 closes the pool. MPI is called
/// on this thread only.
final class RankServer: @unchecked Sendable { // `finished` under `sleep.condition`; the rest is the serving thread's
    private let world: MPIWorld
    private let mailbox = MPIMailbox()
    private let relay: OutputRelay?
    private let sleep = PollingSleep()
    private var finished: [ChunkResponse] = []

    init(world: MPIWorld, relay: OutputRelay?) {
        self.world = world
        self.relay = relay
    }

    /// Serves until rank 0 closes the pool. With no `pool` (it could not
    /// start: `failure` says why), this rank takes no chunks.
    func serve(pool: Pool?, failure: TaskHostError?) {
        var hello = WireWriter()
        hello.int(pool?.processes ?? 0)
        hello.string(world.hostName)
        hello.string(failure?.message ?? "")
        try? mailbox.send(hello.bytes, to: 0, tag: .hello)

        let runner = pool.map { pool in
            ChunkRunner(pool: pool, hostName: world.hostName, rank: world.rank) { [unowned self] response in
                sleep.wake { finished.append(response) }
            }
        }
        var lastWord = DispatchTime.now().uptimeNanoseconds
        serving: while true {
            var progressed = false
            do {
                try mailbox.progress()
                while let message = try mailbox.receive() {
                    progressed = true
                    switch message.tag {
                    case .chunk:
                        let request = try ChunkRequest(decoding: message.bytes)
                        if let runner {
                            runner.submit(request)
                        } else {
                            sendResults([refused(request, failure)])
                        }
                    case .cancel:
                        var reader = WireReader(message.bytes)
                        runner?.cancel(job: try reader.u64())
                    case .close:
                        break serving
                    default:
                        break
                    }
                }
            } catch {
                // MPI failed under us: rank 0 can't be reached; stop serving.
                break serving
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if sendFinished() {
                progressed = true
                lastWord = now
            } else if now - lastWord >= Heartbeat.interval {
                try? mailbox.send([], to: 0, tag: .alive)
                lastWord = now
            }
            sleep.roundEnded(progressed: progressed)
        }
        runner?.stop()
        _ = sendFinished()
        try? mailbox.send([], to: 0, tag: .closed)
        mailbox.drain()
    }

    /// Sends the results of finished chunks, each after what the tasks printed. True if anything went.
    private func sendFinished() -> Bool {
        sleep.condition.lock()
        let responses = finished
        finished.removeAll()
        sleep.condition.unlock()
        return sendResults(responses)
    }

    @discardableResult
    private func sendResults(_ responses: [ChunkResponse]) -> Bool {
        var sent = false
        if let relay {
            let printed = relay.take()
            if !printed.isEmpty {
                try? mailbox.send(printed, to: 0, tag: .output)
                sent = true
            }
        }
        for response in responses {
            try? mailbox.send(response.encoded(), to: 0, tag: .results)
            sent = true
        }
        return sent
    }

    /// A chunk this rank can't run: every item fails with why.
    private func refused(_ request: ChunkRequest, _ failure: TaskHostError?) -> ChunkResponse {
        let error = TaskHostError(.systemError, "MPI rank \(world.rank) on host \(world.hostName) has no pool: \(failure?.message ?? "")")
        switch request.payload {
        case .values(let items):
            return ChunkResponse(job: request.job, chunk: request.chunk, elapsed: 0,
                                 payload: .values(items.map { _ in .failure(error) }))
        case .packed(_, let result, let count, _):
            let width = result.open(ByteWidth()) ?? 0
            return ChunkResponse(job: request.job, chunk: request.chunk, elapsed: 0,
                                 payload: .packed(bytes: [UInt8](repeating: 0, count: count * width),
                                                  failures: (0..<count).map { ($0, error) }))
        }
    }
}
#endif
