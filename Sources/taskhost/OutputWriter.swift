#if canImport(Glibc)
import Glibc
#endif
import TaskHost

/// Buffered writes to stdout; a closed stdout ends the process (SIGPIPE, or
/// exit status 141 where SIGPIPE is ignored), and with it, through the fork
/// server, every worker.
///
/// A bytes result is written as its `"hex:…"` JSON string straight from the
/// value's bytes, a slice at a time: a result of hundreds of MB never becomes
/// a String (twice its size, then again as UTF-8) on its way out.
struct OutputWriter {
    private var bytes: [UInt8] = []
    /// Bytes of a bytes value encoded per write: 64 KiB in, 128 KiB of hex out.
    static let hexSlice = 1 << 16

    init() { bytes.reserveCapacity(1 << 17) }

    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    var pending: Int { bytes.count }

    /// A result as JSON: its value, or `{"error": {…}}`.
    mutating func appendJSON(_ result: TaskResult) {
        switch result {
        case .success(let value): appendJSON(value)
        case .failure(let error): append("{\"error\": \(JSON.encode(error))}")
        }
    }

    /// A value as JSON; bytes stream out as hex.
    mutating func appendJSON(_ value: Value) {
        guard case .bytes(let data) = value else { return append(JSON.encode(value)) }
        append("\"hex:")
        data.withUnsafeBufferPointer { input in
            var offset = 0
            while offset < input.count {
                let n = min(Self.hexSlice, input.count - offset)
                let start = bytes.count
                bytes.append(contentsOf: repeatElement(0, count: 2 * n))
                bytes.withUnsafeMutableBufferPointer { output in
                    JSON.writeHex(UnsafeBufferPointer(rebasing: input[offset..<offset + n]),
                                  into: UnsafeMutableBufferPointer(rebasing: output[start...]))
                }
                offset += n
                if bytes.count >= 1 << 17 { flush() }
            }
        }
        append("\"")
    }

    mutating func flush() {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            // Nobody reads our output any more (SIGPIPE is ignored here): end
            // as that signal would have, taking the workers with us.
            if n < 0 && errno == EPIPE { exit(141) }
            if n <= 0 { break }
            offset += n
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
