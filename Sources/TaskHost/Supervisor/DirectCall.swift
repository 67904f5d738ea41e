#if canImport(Glibc)
import Glibc
#endif
import CTaskHost
import Foundation

/// A quick call made on the caller's own thread with a borrowed worker
/// (see `Lending`): write the request, wait briefly for the answer, give the
/// worker back. Whatever is not a plain answer within `patience` — a crash,
/// a slow task, a malformed frame — is handed to the supervisor with the
/// item in flight, and the call waits for it like any other.
struct DirectCall {
    let pool: PoolCore
    let supervisor: Supervisor
    let task: TaskInfo
    let item: ItemRun

    /// How long the caller waits itself before handing over to the supervisor.
    static let patience: UInt64 = 20_000_000
    /// How long the caller watches the pipe before sleeping in poll(): a
    /// quick task answers within it, and no wake-up (tens of microseconds
    /// on virtual machines) is paid.
    static let spin: UInt64 = 50_000
    /// The first read buffer; a big answer is read in pieces up to `largestRead`.
    static let firstRead = 4096
    static let largestRead = 1 << 20

    /// The call's result, or nil when no worker is idle (use the supervisor).
    func run() -> TaskResult? {
        guard let worker = pool.lending.borrow() else { return nil }
        let frame = FrameBuilder()
        frame.beginChunk(TH_MSG_RUN, of: task, count: 1)
        frame.put(item.arguments)
        frame.end()
        guard !frame.failed else {
            supervisor.perform { [supervisor] in supervisor.takeBack(worker) }
            return .failure(TaskHostError(.systemError, "out of memory encoding \(describe(task, item))"))
        }

        let sentAt = monotonicNanoseconds()
        worker.beginItems(1, at: sentAt)
        worker.link.send(frame.bytes)

        if !worker.link.hasPendingOutput, let result = awaitAnswer(worker, until: sentAt + waitLimit) {
            // Back to the idle ones, unless the supervisor must retire it or wants it.
            if worker.reachedTaskLimit || !pool.lending.giveBack(worker) {
                supervisor.perform { [supervisor] in supervisor.takeBack(worker) }
            }
            return result
        }
        return handOver(worker, sentAt: sentAt)
    }

    /// The caller's own wait: `patience`, or less under a shorter task timeout.
    private var waitLimit: UInt64 {
        min(Self.patience, pool.config.taskTimeout.map { $0 * 1e9 < Double(Self.patience) ? UInt64($0 * 1e9) : Self.patience } ?? .max)
    }

    /// Reads until one whole, well-formed answer has arrived and takes it;
    /// nil on anything else (end of file, time up, more or other bytes than
    /// one answer), leaving what was read in the worker's link.
    private func awaitAnswer(_ worker: Worker, until deadline: UInt64) -> TaskResult? {
        let link = worker.link
        var scratch = [UInt8](repeating: 0, count: Self.firstRead)
        let spinUntil = monotonicNanoseconds() + Self.spin
        while true {
            switch link.read(using: &scratch, at: monotonicNanoseconds()) {
            case .end:
                return nil
            case .data:
                switch link.peekFrame() {
                case .malformed:
                    return nil
                case .incomplete(let total):
                    if let total, total - link.input.count > scratch.count && scratch.count < Self.largestRead {
                        // A big answer (bytes, a long string): read it in bigger pieces.
                        scratch = [UInt8](repeating: 0, count: min(total - link.input.count, Self.largestRead))
                    }
                    continue
                case .frame(let type, let body):
                    guard Int(type) == TH_MSG_RESULTS, body.upperBound == link.input.count else { return nil }
                    let result = link.withFrameBody(body) { bytes -> TaskResult? in
                        var reader = FrameReader(bytes)
                        var malformed: String?
                        var header = th__msg_results()
                        guard th__msg_results_get(&reader.raw, &header) == 0, header.count == 1,
                              let result = decodeItemResult(&reader, describeItem: { describe(task, item) }, malformed: &malformed),
                              reader.remaining == 0 else { return nil }
                        return result
                    }
                    if result != nil { link.consume(body) }
                    return result
                }
            case .wouldBlock:
                let now = monotonicNanoseconds()
                guard now < deadline else { return nil }
                if now < spinUntil { continue }
                var fd = [pollfd(fd: link.resultFD, events: Int16(POLLIN), revents: 0)]
                _ = SystemCall.poll(&fd, timeout: Int32((deadline - now + 999_999) / 1_000_000))
            }
        }
    }

    /// Gives the worker and the item in flight to the supervisor and waits for the result.
    private func handOver(_ worker: Worker, sentAt: UInt64) -> TaskResult {
        let answer = ResultCollector(count: 1)
        let done = DispatchSemaphore(value: 0)
        let job = Job(task: task, chunksize: 1, source: nil, deadline: nil,
                      deliver: { answer.results[$0] = $1 }, finished: { done.signal() })
        job.outstanding = 1
        let chunk = Chunk(job: job, items: [item], sentAt: sentAt)
        supervisor.perform { [supervisor] in supervisor.adopt(worker, chunk: chunk) }
        done.wait()
        return answer.results[0] ?? .failure(TaskHostError(.cancelled, "not run"))
    }
}
