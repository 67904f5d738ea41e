import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// The host's end of the fork server: a single-threaded process started by
/// exec that loads the plugins and forks workers on request (see
/// `ARCHITECTURE.md`). This client owns the protocol's host side: every
/// message is built and read by its one C schema (`th__msg_*`,
/// th_protocol.h), and frames of any size travel in pieces
/// (`th__send_frame`, `th__frame_receive`). It owns the socket, the load
/// output pipe and the server process: `deinit` closes them and reaps it.
final class ForkServer {
    let socket: Int32
    let pid: pid_t
    /// The read end of the pipe plugins print into while they load; -1 once loading is over.
    private(set) var loadOutput: Int32
    private let receiver: UnsafeMutablePointer<th__frame_receiver>
    /// Set once the process has been reaped, so deinit doesn't wait again.
    private var reapedStatus: Int32?
    /// Frames waiting for room in the socket (see `send`).
    private var outbox: [[UInt8]] = []
    /// Set by `setNonBlocking()`.
    private var nonBlocking = false

    /// Starts the server executable and connects to it. `exitsByWaitpid`:
    /// the server reaps workers and reports their exits even where the
    /// kernel could hand the host their statuses through pidfds (the path of
    /// kernels before 6.15, chosen for tests of that path).
    init(executable: String, exitsByWaitpid: Bool = false) throws {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw TaskHostError(.systemError, "cannot create the fork server's socket: \(Errno.current)")
        }
        var output: [Int32] = [-1, -1]
        guard th__pipe(&output) == 0 else {
            let error = Errno.current
            close(pair[0]); close(pair[1])
            throw TaskHostError(.systemError, "cannot create the fork server's output pipe: \(error)")
        }
        let child = th__spawn_server(executable, pair[1], output[1], exitsByWaitpid ? 1 : 0)
        let spawnError = Errno.current
        close(pair[1])
        close(output[1])
        guard child > 0 else {
            close(pair[0]); close(output[0])
            throw TaskHostError(.systemError, "cannot start the fork server '\(executable)': \(spawnError)")
        }
        socket = pair[0]
        pid = child
        loadOutput = output[0]
        _ = fcntl(loadOutput, F_SETFL, fcntl(loadOutput, F_GETFL) | O_NONBLOCK)
        receiver = .allocate(capacity: 1)
        guard th__frame_receiver_init(receiver) == 0 else {
            receiver.deallocate()
            close(socket); close(loadOutput); Glibc.kill(child, SIGKILL)
            _ = SystemCall.wait(for: child)
            throw TaskHostError(.systemError, "out of memory for the fork server's messages")
        }
    }

    deinit {
        close(socket)
        if loadOutput >= 0 { close(loadOutput) }
        // The server exits as soon as it sees the socket close; reap it.
        if reapedStatus == nil { _ = SystemCall.wait(for: pid) }
        th__frame_receiver_free(receiver)
        receiver.deallocate()
    }

    // MARK: Loading

    /// Loading is over: what plugins print now goes straight where task output goes.
    func endLoading() {
        if loadOutput >= 0 { close(loadOutput) }
        loadOutput = -1
    }

    /// Ends the server while it loads and reaps it; returns its wait status.
    /// Gives it `grace` seconds to end by itself (it may be exiting already),
    /// then SIGTERM, on which a loading server kills everything below it and
    /// exits (th_loader.h), then SIGKILL.
    func stop(grace: Double) -> Int32 {
        if let reapedStatus { return reapedStatus }
        if let status = waitForExit(within: grace) { return status }
        Glibc.kill(pid, SIGTERM)
        if let status = waitForExit(within: 1) { return status }
        Glibc.kill(pid, SIGKILL)
        let status = (try? SystemCall.wait(for: pid).get()) ?? 0
        reapedStatus = status
        return status
    }

    private func waitForExit(within seconds: Double) -> Int32? {
        var waited = 0.0
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { reapedStatus = status; return status }
            if r < 0 && errno != EINTR { return nil }
            if waited >= seconds { return nil }
            usleep(1000)
            waited += 0.001
        }
    }

    // MARK: Requests

    /// Asks for a worker, in `sandbox` if not nil. `firstRequests` (a single
    /// process's RUN and QUIT) are written into its request pipe by the
    /// server, after the settings. A `bare` worker gets no settings: the
    /// host writes them (its spare, `SpareWorker.swift`).
    func spawn(request: UInt32, memoryLimit: UInt64?, taskOutput: TaskOutput, sandbox: Sandbox?,
               firstRequests: UnsafeRawBufferPointer?, bare: Bool = false) throws {
        let frame = FrameBuilder()
        var message = th__msg_spawn(request: request, memory_limit: memoryLimit ?? 0,
                                    task_output: taskOutput.wireCode,
                                    bare: bare ? 1 : 0)
        var start = 0
        frame.withBuffer { start = th__msg_spawn_begin($0, &message) }
        frame.put(sandbox)  // the sandbox's own section (Sandbox.swift)
        frame.withBuffer { buffer in
            th__msg_spawn_put_first(buffer, firstRequests?.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                    UInt32(firstRequests?.count ?? 0))
            th__frame_end(buffer, start)
        }
        try send(frame)
    }

    /// Asks the server to SIGKILL a worker's process group. A server that is
    /// gone reports itself through `nextEvent`.
    func kill(_ worker: pid_t) {
        let frame = FrameBuilder()
        var message = th__msg_kill(pid: worker)
        frame.withBuffer { th__msg_kill_put($0, &message) }
        try? send(frame)
    }

    /// Sends one frame, in pieces when it is big (the plugin loader's LOAD
    /// goes this way too). On the supervisor's non-blocking socket, a frame
    /// the socket cannot take now (hundreds of SPAWN or KILL requests at
    /// once) waits in `outbox`, in order, until `flush()`.
    func send(_ frame: FrameBuilder) throws {
        guard !frame.failed else { throw TaskHostError(.systemError, "out of memory for a message to the fork server") }
        let bytes = frame.bytes
        guard nonBlocking && bytes.count <= Int(TH_PIECE_MAX) else {
            // While loading the socket is blocking and the server reads: send whole, in pieces if big.
            guard outbox.isEmpty, th__send_frame(socket, bytes.baseAddress, bytes.count, nil, 0) == 0 else {
                throw Self.gone(Errno.current)
            }
            return
        }
        if outbox.isEmpty {
            if th__try_send_frame(socket, bytes.baseAddress, bytes.count) == 0 { return }
            let error = Errno.current
            guard error.wouldBlock else { throw Self.gone(error) }
        }
        outbox.append(Array(bytes))
    }

    /// Whether frames wait for room in the socket.
    var hasPendingOutput: Bool { !outbox.isEmpty }

    /// Sends what waits, until the socket is full again.
    func flush() throws {
        while let first = outbox.first {
            let rc = first.withUnsafeBytes { th__try_send_frame(socket, $0.baseAddress, $0.count) }
            if rc != 0 {
                let error = Errno.current
                if error.wouldBlock { return }
                throw Self.gone(error)
            }
            outbox.removeFirst()
        }
    }

    private static func gone(_ error: Errno) -> TaskHostError {
        TaskHostError(.systemError, "the fork server is gone: \(error)")
    }

    /// After the server was found gone: reaps it (killing it if it still
    /// runs) and says how it ended, as "the fork server was killed by
    /// SIGKILL (killed)", "… exited with code 3", or "… died (why)".
    func reapAfterDeath(_ why: String) -> String {
        let status = stop(grace: 1)
        if th__wait_signaled(status) != 0 {
            let signal = th__wait_signal(status)
            return "the fork server was killed by \(signalName(signal)) (\(signalDescription(signal)))"
        }
        let code = th__wait_exit_code(status)
        return code == 0 ? "the fork server died (\(why))" : "the fork server exited with code \(code)"
    }

    // MARK: Events

    /// What the server reports.
    enum Event {
        /// A spawn request's answer: the worker's pid (0 on failure, with
        /// `error`), and its request pipe, result pipe and page memfd, and
        /// its pidfd where the server reports exits that way (th_pidfd.h).
        case spawned(request: UInt32, pid: pid_t, error: String, descriptors: [Int32])
        /// A worker without a pidfd exited, with its wait status.
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
                var spawned = th__msg_spawned()
                guard th__msg_spawned_get(&reader.raw, &spawned) == 0 else {
                    for fd in message.fds { close(fd) }
                    throw TaskHostError(.systemError, "the fork server sent a malformed spawned message")
                }
                return .spawned(request: spawned.request, pid: spawned.pid,
                                error: String(cBytes: spawned.error, count: spawned.error_length), descriptors: message.fds)
            case TH_MSG_EXITED:
                for fd in message.fds { close(fd) }
                var exited = th__msg_exited()
                guard th__msg_exited_get(&reader.raw, &exited) == 0 else {
                    throw TaskHostError(.systemError, "the fork server sent a malformed exited message")
                }
                return .exited(pid: exited.pid, status: exited.status)
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

    /// Receives one whole frame (reassembling pieces); nil when none is ready
    /// on a non-blocking socket. Throws at the end of the stream and on a
    /// malformed message. The body is valid until the next call.
    func receive() throws -> Message? {
        while true {
            let rc = th__frame_receive(receiver, socket)
            if rc == 0 { continue }
            if rc == -2 { throw TaskHostError(.systemError, "the fork server exited") }
            if rc < 0 {
                let error = Errno.current
                if error.rawValue == EINTR { continue }
                if error.wouldBlock { return nil }
                if error.rawValue == EBADMSG { throw TaskHostError(.systemError, "the fork server sent a malformed message") }
                throw TaskHostError(.systemError, "the fork server's socket failed: \(error)")
            }
            let r = receiver.pointee
            var type: UInt8 = 0
            var bodyLength: UInt32 = 0
            _ = th__frame_header(r.frame, r.frame_length, &bodyLength, &type)
            let body = UnsafeRawBufferPointer(start: r.frame + Int(TH_FRAME_HEADER_SIZE), count: Int(bodyLength))
            let fds = withUnsafeBytes(of: r.fds) { Array($0.bindMemory(to: Int32.self).prefix(Int(r.fd_count))) }
            return Message(type: type, body: body, fds: fds)
        }
    }

    /// The supervisor's mode: the socket never blocks, and frames it cannot take wait in `outbox`.
    func setNonBlocking() {
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
        nonBlocking = true
    }
}

extension TaskOutput {
    /// How spawn and settings messages name it (TH_OUTPUT_*).
    var wireCode: UInt8 { UInt8(self == .stdout ? TH_OUTPUT_STDOUT : TH_OUTPUT_STDERR) }
}
