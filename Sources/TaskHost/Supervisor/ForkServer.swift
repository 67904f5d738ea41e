import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// The host's end of the fork server: a single-threaded process started by
/// exec that loads the plugins and forks workers on request (see
/// `ARCHITECTURE.md`). This client owns the protocol's host side: it builds
/// SPAWN and KILL, and reads SPAWNED and EXITED into `Event`s. It owns the
/// socket and the server process: `deinit` closes one and reaps the other.
final class ForkServer {
    let socket: Int32
    let pid: pid_t
    private var receiveBuffer: UnsafeMutableRawBufferPointer

    /// Starts the server executable and connects to it.
    init(executable: String) throws {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw TaskHostError(.systemError, "cannot create the fork server's socket: \(Errno.current)")
        }
        let child = th__spawn_server(executable, pair[1])
        close(pair[1])
        guard child > 0 else {
            let error = Errno.current
            close(pair[0])
            throw TaskHostError(.systemError, "cannot start the fork server '\(executable)': \(error)")
        }
        socket = pair[0]
        pid = child
        receiveBuffer = .allocate(byteCount: Int(TH_SERVER_MESSAGE_MAX), alignment: 8)
    }

    deinit {
        close(socket)
        // The server exits as soon as it sees the socket close; reap it.
        _ = SystemCall.wait(for: pid)
        receiveBuffer.deallocate()
    }

    // MARK: Requests

    /// Asks for a worker, in `sandbox` if not nil. `firstRequests` (a single
    /// process's RUN and QUIT) are written into its request pipe by the
    /// server, after the settings.
    func spawn(request: UInt32, memoryLimit: UInt64?, taskOutput: TaskOutput, sandbox: Sandbox?,
               firstRequests: UnsafeRawBufferPointer?) throws {
        let frame = FrameBuilder()
        frame.begin(TH_MSG_SPAWN)
        frame.putU32(request)
        frame.putU64(memoryLimit ?? 0)
        frame.putU8(taskOutput == .stdout ? UInt8(TH_OUTPUT_STDOUT) : UInt8(TH_OUTPUT_STDERR))
        frame.put(sandbox)
        frame.putU32(UInt32(firstRequests?.count ?? 0))
        if let firstRequests { frame.putBytes(firstRequests) }
        frame.end()
        try send(frame)
    }

    /// Asks the server to SIGKILL a worker's process group. A server that is
    /// gone reports itself through `nextEvent`.
    func kill(_ worker: pid_t) {
        let frame = FrameBuilder()
        frame.begin(TH_MSG_KILL)
        frame.putU32(UInt32(bitPattern: worker))
        frame.end()
        try? send(frame)
    }

    /// Sends one frame (the plugin catalog's LOAD goes this way too).
    func send(_ frame: FrameBuilder) throws {
        let bytes = frame.bytes
        guard !frame.failed, th__send_message(socket, bytes.baseAddress, bytes.count, nil, 0) == 0 else {
            throw TaskHostError(.systemError, "the fork server is gone: \(Errno.current)")
        }
    }

    // MARK: Events

    /// What the server reports.
    enum Event {
        /// A spawn request's answer: the worker's pid (0 on failure, with
        /// `error`), and its request pipe, result pipe and page memfd.
        case spawned(request: UInt32, pid: pid_t, error: String, descriptors: [Int32])
        /// A worker exited, with its wait status.
        case exited(pid: pid_t, status: Int32)
    }

    /// The next event; nil when none is ready (the socket is non-blocking).
    /// Throws when the server has gone or sent garbage.
    func nextEvent() throws -> Event? {
        while true {
            guard let message = try receive() else { return nil }
            var reader = FrameReader(message.body)
            switch Int(message.type) {
            case TH_MSG_SPAWNED:
                let request = reader.u32()
                let pid = pid_t(bitPattern: reader.u32())
                let error = reader.string()
                return .spawned(request: request, pid: pid, error: error, descriptors: message.fds)
            case TH_MSG_EXITED:
                let pid = pid_t(bitPattern: reader.u32())
                let status = Int32(bitPattern: reader.u32())
                for fd in message.fds { close(fd) }
                return .exited(pid: pid, status: status)
            default:
                for fd in message.fds { close(fd) }
            }
        }
    }

    /// One received message: its type, body and descriptors.
    struct Message {
        var type: UInt8
        var body: UnsafeRawBufferPointer
        var fds: [Int32]
    }

    /// Receives one message; nil when none is ready on a non-blocking socket.
    /// Throws at the end of the stream and on a malformed message.
    private func receive() throws -> Message? {
        var fds: [Int32] = [-1, -1, -1, -1]
        var count: Int32 = 0
        let n = th__receive_message(socket, receiveBuffer.baseAddress, receiveBuffer.count, &fds, &count, 4)
        if n < 0 {
            let error = Errno.current
            if error.wouldBlock { return nil }
            throw TaskHostError(.systemError, "the fork server's socket failed: \(error)")
        }
        if n == 0 { throw TaskHostError(.systemError, "the fork server exited") }
        var bodyLength: UInt32 = 0
        var type: UInt8 = 0
        let base = receiveBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard th__frame_header(base, n, &bodyLength, &type) == 1, Int(bodyLength) == n - Int(TH_FRAME_HEADER_SIZE) else {
            for fd in fds.prefix(Int(count)) { close(fd) }
            throw TaskHostError(.systemError, "the fork server sent a malformed message")
        }
        let body = UnsafeRawBufferPointer(start: receiveBuffer.baseAddress! + Int(TH_FRAME_HEADER_SIZE), count: Int(bodyLength))
        return Message(type: type, body: body, fds: Array(fds.prefix(Int(count))))
    }

    /// Receives one message, waiting for it (the catalog's PLUGINS answer).
    func receiveBlocking() throws -> Message {
        while true {
            if let m = try receive() { return m }
            var fd = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            _ = SystemCall.poll(&fd, timeout: -1)
        }
    }

    func setNonBlocking() {
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
    }
}
