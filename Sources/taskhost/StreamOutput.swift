import ArgumentParser
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

/// Output options of the streaming subcommands.
struct StreamOptions: ParsableArguments {
    @Flag(help: "Print one JSON line per item as it completes: {\"index\": 0, \"result\": 1} or {\"index\": 2, \"error\": {…}}.")
    var jsonl = false

    @Flag(help: "Let results come in the order they finish (with --jsonl).")
    var unordered = false
}

/// done/total, rate and ETA on stderr, only when stderr is a terminal.
final class ProgressBar {
    private let total: Int?
    private let enabled = isatty(2) != 0
    private let start = Date()
    private var last = Date.distantPast
    private var drawn = false

    init(total: Int?) { self.total = total }

    func update(_ done: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.1 else { return }
        last = now
        let elapsed = max(0.001, now.timeIntervalSince(start))
        let rate = Double(done) / elapsed
        var line = "\r\u{1B}[K"
        if let total, total > 0 {
            let fraction = Double(done) / Double(total)
            let width = 30, filled = Int(fraction * Double(width))
            let eta = rate > 0 ? Double(total - done) / rate : 0
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += "\(done)/\(total)  \(formatRate(rate))  ETA \(formatDuration(eta))"
        } else {
            line += "\(done) done  \(formatRate(rate))"
        }
        printRaw(line)
        drawn = true
    }

    func finish() { if drawn { printRaw("\r\u{1B}[K") } }

    private func printRaw(_ s: String) { var s = s; s.withUTF8 { _ = write(2, $0.baseAddress, $0.count) } }
    private func formatRate(_ r: Double) -> String { r >= 1000 ? String(format: "%.1fk/s", r / 1000) : String(format: "%.1f/s", r) }
    private func formatDuration(_ s: Double) -> String { s >= 60 ? String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) : String(format: "%.0fs", s) }
}

/// Cancels the stream on SIGINT or SIGTERM, so the partial results are still
/// reported (items never run as `cancelled`). Remembers which signal came.
final class InterruptHandler: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var _received: Int32 = 0
    var received: Int32 { lock.lock(); defer { lock.unlock() }; return _received }

    init(onSignal: @escaping @Sendable () -> Void) {
        for signo in [SIGINT, SIGTERM] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { [weak self] in
                self?.lock.lock()
                if self?._received == 0 { self?._received = signo }
                self?.lock.unlock()
                onSignal()
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit { for s in sources { s.cancel() } }
}

/// Runs a stream of items through the pool and prints the results as they
/// come: a JSON array in input order, or JSON lines. Memory stays flat.
func printStream(_ stream: ResultStream, total: Int?, jsonl: Bool) throws {
    let interrupts = InterruptHandler { stream.cancel() }
    let progress = ProgressBar(total: total)
    var out = OutputWriter()
    var failures = FailureSummary()
    var done = 0
    if !jsonl { out.append("[") }

    func emit(_ item: IndexedResult) {
        if jsonl {
            switch item.result {
            case .success(let value):
                out.append("{\"index\": \(item.index), \"result\": ")
                out.appendJSON(value)
                out.append("}\n")
            case .failure(let error): out.append("{\"index\": \(item.index), \"error\": \(JSON.encode(error))}\n")
            }
        } else {
            if done > 0 { out.append(", ") }
            out.appendJSON(item.result)
        }
        if case .failure(let error) = item.result { failures.add(error, at: item.index) }
        done += 1
    }

    while true {
        // Whatever is ready comes in one batch; flush after it, so lines appear as items complete.
        let batch = stream.nextBatch()
        if batch.isEmpty { break }
        for item in batch {
            emit(item)
            if out.pending >= 1 << 16 { out.flush() }
        }
        out.flush()
        progress.update(done)
    }
    if !jsonl { out.append("]\n") }
    out.flush()
    progress.finish()
    withExtendedLifetime(interrupts) {}

    do {
        try failures.report(total: done)
    } catch CLIError.itemsFailed where interrupts.received != 0 {}
    switch interrupts.received {
    case SIGINT: throw ExitCode(130)
    case SIGTERM: throw ExitCode(143)
    default: break
    }
}

/// Reads `fd` (stdin by default) on its own thread, one item per line, into
/// `channel`. Every line is an item, a blank one too (indices never shift);
/// a final line without a newline counts, an empty one after the last newline doesn't.
func readLines(from fd: Int32 = 0, into channel: ChannelSource,
               parse: @escaping @Sendable (String, Int) -> Result<[Value], TaskHostError>) {
    let thread = Thread {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var lineNumber = 0
        func handle(_ bytes: ArraySlice<UInt8>) -> Bool {
            var line = bytes
            if line.last == 13 { line = line.dropLast() }
            lineNumber += 1
            let text = String(decoding: line, as: UTF8.self)
            return channel.push(parse(text, lineNumber))
        }
        reading: while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            var start = 0
            while let newline = pending[start...].firstIndex(of: 10) {
                if !handle(pending[start..<newline]) { break reading }
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { _ = handle(pending[...]) }
        if fd != 0 { close(fd) }
        channel.close()
    }
    thread.start()
}
