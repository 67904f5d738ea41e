import CTaskHost

/// Results: what workers send back, read from their links, checked and
/// delivered to their jobs. A worker that sends anything else is killed.
extension Supervisor {
    func readResults(_ worker: Worker) {
        thread.assertConfined()
        while case .data = worker.link.read(using: &readBuffer, at: monotonicNanoseconds()) {
            if !parseFrames(worker) { return }
        }
    }

    /// Takes every complete frame; false once the worker has been found misbehaving.
    func parseFrames(_ worker: Worker) -> Bool {
        thread.assertConfined()
        while worker.killReason?.keepsResults ?? true {
            switch worker.link.peekFrame() {
            case .incomplete:
                return true
            case .malformed(let why):
                kill(worker, .malformed(why))
                return false
            case .frame(let type, let body):
                let ok = worker.link.withFrameBody(body) { handleFrame(worker, type: type, body: $0) }
                worker.link.consume(body)
                if !ok { return false }
            }
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
        var header = th__msg_results()
        guard th__msg_results_get(&reader.raw, &header) == 0 else {
            kill(worker, .malformed("sent a truncated result"))
            return false
        }
        let count = Int(header.count)
        if worker.initializing {
            worker.initializing = false
            if count != 1 {
                kill(worker, .malformed("answered its initializer with \(count) results"))
                return false
            }
            var item = th__msg_result()
            if th__msg_result_get(&reader.raw, &item) != 0 || item.ok == 0 {
                let message = String(cBytes: item.error, count: item.error_length)
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
        guard let chunk = worker.chunk, let rows = chunk.packedRange, let packed = chunk.job.packed else {
            kill(worker, .malformed("sent results it was not asked for"))
            return false
        }
        var header = th__msg_packed_results()
        guard th__msg_packed_results_get(&reader.raw, UInt32(packed.resultWidth), &header) == 0 else {
            kill(worker, .malformed("sent a truncated result"))
            return false
        }
        let count = Int(header.count)
        guard count <= chunk.count - chunk.received else {
            kill(worker, .malformed("sent \(count) results it was not asked for"))
            return false
        }
        let payloads = UnsafeRawBufferPointer(start: header.payloads, count: count * packed.resultWidth)
        var failures: [IndexedResult] = []
        var lastPosition = -1
        for _ in 0..<header.error_count {
            var error = th__msg_packed_error()
            let position = th__msg_packed_error_get(&reader.raw, &error) == 0 ? Int(error.position) : -1
            guard position > lastPosition, position < count else {
                kill(worker, .malformed("sent a malformed result"))
                return false
            }
            lastPosition = position
            let item = chunk.item(at: chunk.received + position)
            let message = String(cBytes: error.message, count: error.message_length)
            failures.append(IndexedResult(index: item.index, result: .failure(TaskHostError(.taskError, "\(describe(chunk.job.task, item)): \(message)", detail: message))))
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
        if worker.retiring && worker.quitAt == nil { worker.quitAt = monotonicNanoseconds() }
        chunk.job.chunkFinished(items: chunk.count, nanoseconds: monotonicNanoseconds() - chunk.sentAt)
        worker.pool.unexplainedDeaths = 0
        serverDeathsWithoutProgress = 0
        if worker.reachedTaskLimit { retire(worker) }
    }
}

/// One item's result from a results frame: its value, or its task error
/// named after the item; nil, with the reason in `malformed`, when the bytes
/// make no sense.
func decodeItemResult(_ reader: inout FrameReader, describeItem: () -> String, malformed: inout String?) -> TaskResult?
{
    var item = th__msg_result()
    guard th__msg_result_get(&reader.raw, &item) == 0 else {
        malformed = reader.failed ? "sent a truncated result" : "sent a malformed result"
        return nil
    }
    if item.ok == 1 {
        guard let value = Value(wire: item.value) else {
            malformed = "sent a malformed result"
            return nil
        }
        return .success(value)
    }
    let message = String(cBytes: item.error, count: item.error_length)
    return .failure(TaskHostError(.taskError, "\(describeItem()): \(message)", detail: message))
}
