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
    let engine: Engine
    let task: TaskInfo
    let item: ItemRun

    /// How long the caller waits itself before handing over to the supervisor.
    static let patience: UInt64 = 20_000_000
    /// How long the caller watches the pipe before sleeping in poll(): a
    /// quick task answers within it, and no wake-up (tens of microseconds
    /// on virtual machines) is paid.
    static let spin: UInt64 = 50_000

    /// The call's result, or nil when no worker is idle (use the supervisor).
    func run() -> TaskResult? {
        guard let worker = pool.lending.borrow() else { return nil }
        let frame = FrameBuilder()
        frame.beginChunk(TH_MSG_RUN, of: task, count: 1)
        frame.put(item.arguments)
        frame.end()
        guard !frame.failed else {
            engine.perform { [engine] in engine.takeBack(worker) }
            return .failure(TaskHostError(.systemError, "out of memory encoding \(describe(task, item))"))
        }

        let sentAt = monotonicNanoseconds()
        worker.chunkBase = worker.itemsSent
        worker.itemsSent += 1
        worker.tasksSent += 1
        worker.observedStarted = worker.page.pointee.started
        worker.observedAt = sentAt
        let unsent = Self.write(frame.bytes, to: worker.requestFD)

        var received: [UInt8] = []
        if unsent.isEmpty, let result = awaitAnswer(worker, into: &received, until: sentAt + waitLimit) {
            // Back to the idle ones, unless the supervisor must retire it or wants it.
            let retires = pool.config.maxTasksPerChild.map { worker.tasksSent >= UInt64($0) } ?? false
            if retires || !pool.lending.giveBack(worker) {
                engine.perform { [engine] in engine.takeBack(worker) }
            }
            return result
        }
        return handOver(worker, sentAt: sentAt, received: received, unsent: unsent)
    }

    /// The caller's own wait: `patience`, or less under a shorter task timeout.
    private var waitLimit: UInt64 {
        min(Self.patience, pool.config.taskTimeout.map { UInt64($0 * 1e9) } ?? .max)
    }

    /// Reads until one whole, well-formed answer has arrived; nil on
    /// anything else (end of file, time up, more or other bytes than one answer).
    private func awaitAnswer(_ worker: Worker, into received: inout [UInt8], until deadline: UInt64) -> TaskResult? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let spinUntil = monotonicNanoseconds() + Self.spin
        while true {
            let n = chunk.withUnsafeMutableBytes { read(worker.resultFD, $0.baseAddress, $0.count) }
            if n > 0 {
                received.append(contentsOf: chunk[0..<n])
                var bodyLength: UInt32 = 0
                var type: UInt8 = 0
                let header = received.withUnsafeBufferPointer { th__frame_header($0.baseAddress!, $0.count, &bodyLength, &type) }
                if header < 0 || (header == 1 && Int(type) != TH_MSG_RESULTS) { return nil }
                let total = Int(TH_FRAME_HEADER_SIZE) + Int(bodyLength)
                if header == 1 && total - received.count > chunk.count && chunk.count < 1 << 20 {
                    // A big answer (bytes, a long string): read it in bigger pieces.
                    chunk = [UInt8](repeating: 0, count: min(total - received.count, 1 << 20))
                }
                if header == 0 || received.count < total { continue }
                guard received.count == total else { return nil }
                return received.withUnsafeBytes { bytes in
                    var reader = FrameReader(UnsafeRawBufferPointer(rebasing: bytes[Int(TH_FRAME_HEADER_SIZE)...]))
                    var malformed: String?
                    guard reader.u32() == 1,
                          let result = decodeItemResult(&reader, describeItem: { describe(task, item) }, malformed: &malformed),
                          reader.remaining == 0 else { return nil }
                    return result
                }
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return nil }
            let now = monotonicNanoseconds()
            guard now < deadline else { return nil }
            if now < spinUntil { continue }
            var fd = pollfd(fd: worker.resultFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, Int32((deadline - now + 999_999) / 1_000_000))
        }
    }

    /// Gives the worker and the item in flight to the supervisor and waits for the result.
    private func handOver(_ worker: Worker, sentAt: UInt64, received: [UInt8], unsent: [UInt8]) -> TaskResult {
        let answer = ResultCollector(count: 1)
        let done = DispatchSemaphore(value: 0)
        let job = Job(task: task, chunksize: 1, source: nil, deadline: nil,
                      deliver: { answer.results[$0] = $1 }, finished: { done.signal() })
        job.outstanding = 1
        let chunk = Chunk(job: job, items: [item], sentAt: sentAt)
        engine.perform { [engine] in engine.adopt(worker, chunk: chunk, received: received, unsent: unsent) }
        done.wait()
        return answer.results[0] ?? .failure(TaskHostError(.cancelled, "not run"))
    }

    /// Writes what the pipe takes now; returns the rest.
    private static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> [UInt8] {
        var rest = bytes
        while !rest.isEmpty {
            let n = Glibc.write(fd, rest.baseAddress!, rest.count)
            if n > 0 { rest = UnsafeRawBufferPointer(rebasing: rest[n...]); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            return [] // EPIPE: the worker is gone; the answer's end of file tells the rest.
        }
        return Array(rest)
    }
}
