#if canImport(Glibc)
import Glibc
#endif
import CTaskHost

/// The host's end of the fork server: a single-threaded process started by
/// exec that loads the plugins and forks workers on request (DESIGN.md).
final class ForkServer {
    let socket: Int32
    let pid: pid_t
    private var receiveBuffer: UnsafeMutableRawBufferPointer

    /// Starts the server executable and connects to it.
    init(executable: String) throws {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw TaskHostError(.systemError, "cannot create the fork server's socket: \(String(cString: strerror(errno)))")
        }
        let child = th__spawn_server(executable, pair[1])
        close(pair[1])
        guard child > 0 else {
            close(pair[0])
            throw TaskHostError(.systemError, "cannot start the fork server '\(executable)': \(String(cString: strerror(errno)))")
        }
        socket = pair[0]
        pid = child
        receiveBuffer = .allocate(byteCount: Int(TH_SERVER_MESSAGE_MAX), alignment: 8)
    }

    deinit {
        close(socket)
        var status: Int32 = 0
        // The server exits as soon as it sees the socket close; reap it.
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        receiveBuffer.deallocate()
    }

    /// Sends one frame (and descriptors).
    func send(_ frame: FrameBuilder) throws {
        let bytes = frame.bytes
        guard !frame.failed, th__send_message(socket, bytes.baseAddress, bytes.count, nil, 0) == 0 else {
            throw TaskHostError(.systemError, "the fork server is gone: \(String(cString: strerror(errno)))")
        }
    }

    /// One received message: its type, body and descriptors.
    struct Message {
        var type: UInt8
        var body: UnsafeRawBufferPointer
        var fds: [Int32]
    }

    /// Receives one message. nil on end of stream; throws on a malformed one.
    /// With `blocking: false`, returns nil with `wouldBlock` set when none is ready.
    func receive(wouldBlock: inout Bool) throws -> Message? {
        var fds: [Int32] = [-1, -1, -1, -1]
        var count: Int32 = 0
        wouldBlock = false
        let n = th__receive_message(socket, receiveBuffer.baseAddress, receiveBuffer.count, &fds, &count, 4)
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { wouldBlock = true; return nil }
            throw TaskHostError(.systemError, "the fork server's socket failed: \(String(cString: strerror(errno)))")
        }
        if n == 0 { return nil }
        var bodyLength: UInt32 = 0
        var type: UInt8 = 0
        let base = receiveBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard th__frame_header(base, n, &bodyLength, &type) == 1, Int(bodyLength) == n - Int(TH_FRAME_HEADER_SIZE) else {
            throw TaskHostError(.systemError, "the fork server sent a malformed message")
        }
        let body = UnsafeRawBufferPointer(start: receiveBuffer.baseAddress! + Int(TH_FRAME_HEADER_SIZE), count: Int(bodyLength))
        return Message(type: type, body: body, fds: Array(fds.prefix(Int(count))))
    }

    /// Receives one message, waiting for it.
    func receiveBlocking() throws -> Message {
        var wouldBlock = false
        while true {
            if let m = try receive(wouldBlock: &wouldBlock) { return m }
            if !wouldBlock { throw TaskHostError(.systemError, "the fork server exited") }
            var fd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, -1)
        }
    }

    func setNonBlocking() {
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
    }
}
