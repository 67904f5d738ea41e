import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// A worker's two pipes as the host drives them: requests written without
/// blocking (what the pipe does not take now waits in `pendingOutput`),
/// results read into `input` and cut into frames. The supervisor and a
/// direct call on a borrowed worker use the same link, so a worker handed
/// over in the middle of a call carries its bytes with it.
///
/// Owns both descriptors (non-blocking); `close()` closes them.
final class WorkerLink {
    /// The request pipe's write end.
    let requestFD: Int32
    /// The result pipe's read end.
    let resultFD: Int32
    /// Bytes waiting to be written to the request pipe, from `pendingOffset`.
    private var pendingOutput: [UInt8] = []
    private var pendingOffset = 0
    /// Bytes read from the result pipe, not yet taken as frames, from `inputOffset`.
    private(set) var input: [UInt8] = []
    private var inputOffset = 0
    /// When bytes last arrived (the stalled-frame clock).
    var lastReadAt: UInt64 = 0
    /// The result pipe reached its end, at `eofAt`.
    private(set) var resultEOF = false
    private(set) var eofAt: UInt64 = 0

    /// Takes both descriptors, and makes them non-blocking.
    init(requestFD: Int32, resultFD: Int32) {
        self.requestFD = requestFD
        self.resultFD = resultFD
        for fd in [requestFD, resultFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    func close() {
        Glibc.close(requestFD)
        Glibc.close(resultFD)
    }

    // MARK: Requests

    /// Whether request bytes wait for the pipe.
    var hasPendingOutput: Bool { pendingOffset < pendingOutput.count }

    /// Sends a request: written straight from `bytes` as far as the pipe
    /// takes it, the rest kept until `flush()`.
    func send(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        if !hasPendingOutput {
            pendingOutput.removeAll(keepingCapacity: true)
            pendingOffset = 0
            rest = UnsafeRawBufferPointer(rebasing: bytes[writeNow(bytes)...])
        }
        pendingOutput.append(contentsOf: rest)
    }

    /// Writes what waits, until the pipe is full.
    func flush() {
        guard hasPendingOutput else { return }
        let written = pendingOutput.withUnsafeBytes { writeNow(UnsafeRawBufferPointer(rebasing: $0[pendingOffset...])) }
        pendingOffset += written
    }

    /// Writes until done or the pipe is full; the bytes taken. A broken pipe
    /// counts as all taken: the worker is gone, and its exit report follows.
    private func writeNow(_ bytes: UnsafeRawBufferPointer) -> Int {
        var done = 0
        while done < bytes.count {
            switch SystemCall.write(requestFD, UnsafeRawBufferPointer(rebasing: bytes[done...])) {
            case .success(let n): done += n
            case .failure(let error) where error.wouldBlock: return done
            case .failure: return bytes.count
            }
        }
        return done
    }

    // MARK: Results

    /// What one read of the result pipe gave.
    enum ReadOutcome {
        /// Bytes arrived (appended to `input`).
        case data
        /// Nothing more for now.
        case wouldBlock
        /// The pipe is at its end (or failed): `resultEOF` is set.
        case end
    }

    /// Reads once into `scratch` and keeps what came.
    func read(using scratch: inout [UInt8], at now: UInt64) -> ReadOutcome {
        switch scratch.withUnsafeMutableBytes({ SystemCall.read(resultFD, into: $0) }) {
        case .success(let n) where n > 0:
            input.append(contentsOf: scratch[0..<n])
            lastReadAt = now
            return .data
        case .failure(let error) where error.wouldBlock:
            return .wouldBlock
        case .success, .failure:
            resultEOF = true
            eofAt = now
            return .end
        }
    }

    /// Whether bytes wait that are not a whole frame yet.
    var hasUnparsedInput: Bool { inputOffset < input.count }

    /// The next frame in `input`.
    enum FrameStep {
        /// A whole frame: its type and where its body lies in `input`.
        case frame(type: UInt8, body: Range<Int>)
        /// Not all of it has arrived; `total` is its whole length when the header has.
        case incomplete(total: Int?)
        /// The bytes are not a frame; why, for the message.
        case malformed(String)
    }

    /// Looks at the next frame without taking it (see `consume`).
    func peekFrame() -> FrameStep {
        let available = input.count - inputOffset
        var bodyLength: UInt32 = 0
        var type: UInt8 = 0
        let header = input.withUnsafeBufferPointer {
            th__frame_header($0.baseAddress! + inputOffset, available, &bodyLength, &type)
        }
        if header == 0 { return .incomplete(total: nil) }
        if header < 0 { return .malformed(describeBadHeader()) }
        let total = Int(TH_FRAME_HEADER_SIZE) + Int(bodyLength)
        if available < total { return .incomplete(total: total) }
        let bodyStart = inputOffset + Int(TH_FRAME_HEADER_SIZE)
        return .frame(type: type, body: bodyStart..<(inputOffset + total))
    }

    /// Why the header at `inputOffset` is refused: a well-formed header whose
    /// length is over the frame cap is a result too large; anything else is garbage.
    private func describeBadHeader() -> String {
        let header = input[inputOffset..<(inputOffset + Int(TH_FRAME_HEADER_SIZE))].map { $0 }
        let length = header[0..<4].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        if header[5] == UInt8(TH_PROTOCOL_VERSION), header[6] == 0, header[7] == 0, length > UInt64(th__frame_max_body()) {
            return "sent a result too large (\(length) bytes; a frame holds at most \(formatBytes(UInt64(th__frame_max_body()))))"
        }
        return "sent malformed output (not a frame header)"
    }

    /// Calls `body` with the bytes of a frame `peekFrame` found.
    func withFrameBody<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        input.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Takes the frame whose body is `range`, and lets go of the bytes read
    /// (keeping a modest buffer's capacity).
    func consume(_ range: Range<Int>) {
        inputOffset = range.upperBound
        if inputOffset == input.count {
            input.removeAll(keepingCapacity: input.capacity <= Self.keptInputCapacity)
            inputOffset = 0
        } else if inputOffset > Self.keptInputCapacity {
            input.removeFirst(inputOffset)
            inputOffset = 0
        }
    }

    /// The input buffer's capacity kept between frames; bytes taken beyond it are dropped at once.
    static let keptInputCapacity = 1 << 20
}
