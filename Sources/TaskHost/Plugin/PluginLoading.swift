#if canImport(Glibc)
import Glibc
#endif
import CTaskHost

/// What became of one candidate file.
enum LoadVerdict {
    /// Loaded; its descriptor as the server read it.
    case loaded(PluginInfo)
    /// Not a plugin, or a broken one; the reason, as the server put it.
    case refused(String)
    /// It misbehaved while loading (exited, crashed, hung, left a process or
    /// thread behind): the reason, always worth telling the user.
    case misbehaved(String)
}

/// Loads plugin files in a fork server so that no file can break the host
/// (see `th_loader.h`): the server reports a checkpoint before each file; if
/// it dies or a file takes longer than the load timeout, that file is
/// refused and a new server loads the rest. What plugins print while loading
/// goes to stderr once per file, however many servers loaded it.
struct PluginLoading {
    let executable: String
    let candidates: [PluginCandidate]
    /// The longest one file may take to load, in seconds.
    let timeout: Double
    /// Servers reap and report exits themselves (see `ForkServer.init`).
    var exitsByWaitpid = false

    /// Starts servers until one has every file's verdict; returns it, ready to fork workers.
    func run() throws -> (ForkServer, [LoadVerdict]) {
        var misbehaved: [Int: String] = [:]  // candidate index -> what it did
        var printed = Set<Int>()              // candidates whose load output was passed on
        // Each failed attempt refuses one more file, so this ends.
        while true {
            let active = candidates.indices.filter { misbehaved[$0] == nil }
            let server = try ForkServer(executable: executable, exitsByWaitpid: exitsByWaitpid)
            var attempt = Attempt(server: server, active: active, timeout: timeout, printed: printed)
            let outcome = try attempt.load(paths: active.map { candidates[$0].path })
            printed = attempt.printed
            switch outcome {
            case .done(let byActive):
                server.endLoading()
                var verdicts = candidates.indices.map { index in misbehaved[index].map(LoadVerdict.misbehaved) }
                for (position, verdict) in byActive { verdicts[active[position]] = verdict }
                return (server, verdicts.map { $0 ?? .refused("the fork server gave no verdict") })
            case .culprit(let position, let reason):
                misbehaved[active[position]] = reason
            }
        }
    }
}

/// One fork server's try at loading the files.
private struct Attempt {
    enum Outcome {
        /// Every file's verdict, by position in this attempt's list.
        case done([Int: LoadVerdict])
        /// The file at this position broke the server; what it did.
        case culprit(Int, String)
    }

    let server: ForkServer
    let active: [Int]
    let timeout: Double
    var printed: Set<Int>
    private var output: [UInt8] = []
    private var paths: [String] = []

    init(server: ForkServer, active: [Int], timeout: Double, printed: Set<Int>) {
        self.server = server
        self.active = active
        self.timeout = timeout
        self.printed = printed
    }

    mutating func load(paths: [String]) throws -> Outcome {
        let frame = FrameBuilder()
        frame.putLoad(paths)
        self.paths = paths
        do { try server.send(frame) } catch { return try died(at: nil) }

        var verdicts: [Int: LoadVerdict] = [:]
        var current: Int?
        var deadline = Clock.now + timeout
        while true {
            var fds = [pollfd(fd: server.socket, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: server.loadOutput, events: Int16(POLLIN), revents: 0)]
            let left = deadline - Clock.now
            if left <= 0 {
                guard let current else { throw TaskHostError(.systemError, "the fork server did not answer within \(Clock.format(timeout)) s") }
                _ = server.stop(grace: 0)
                drainOutput()
                passOutput(to: current)
                return .culprit(current, "it did not finish loading within \(Clock.format(timeout)) s")
            }
            let ready = poll(&fds, 2, Int32(min(left * 1000, 60_000).rounded(.up)))
            if ready < 0 && errno != EINTR { throw TaskHostError(.systemError, "cannot wait for the fork server: \(String(cString: strerror(errno)))") }
            if fds[1].revents != 0 { drainOutput() }
            guard fds[0].revents != 0 else { continue }
            let message: ForkServer.Message?
            do {
                message = try server.receive()
            } catch {
                // A server that ends right after refusing a file had to: the
                // file left a process or a thread behind (th_loader.h).
                if let current, case .refused(let reason)? = verdicts[current] {
                    _ = server.stop(grace: 1)
                    return .culprit(current, reason)
                }
                return try died(at: current)
            }
            guard let m = message else { continue }
            for fd in m.fds { close(fd) }
            var reader = FrameReader(m.body)
            switch Int(m.type) {
            case TH_MSG_LOADING:
                var loading = th__msg_loading()
                guard th__msg_loading_get(&reader.raw, &loading) == 0, Int(loading.index) < active.count else {
                    throw TaskHostError(.systemError, "the fork server sent a malformed checkpoint")
                }
                current = Int(loading.index)
                deadline = Clock.now + timeout
            case TH_MSG_PLUGIN:
                var plugin = th__msg_plugin()
                guard th__msg_plugin_get(&reader.raw, &plugin) == 0, Int(plugin.index) < active.count else {
                    throw TaskHostError(.systemError, "the fork server sent a malformed plugin")
                }
                let position = Int(plugin.index)
                drainOutput()
                passOutput(to: position)
                if plugin.loaded == 1 {
                    guard let info = PluginInfo.read(&reader, path: paths[position], index: UInt32(position)) else {
                        throw TaskHostError(.systemError, "the fork server sent a malformed plugin descriptor")
                    }
                    verdicts[position] = .loaded(info)
                } else {
                    verdicts[position] = .refused(String(cBytes: plugin.error, count: plugin.error_length))
                }
            case TH_MSG_PLUGINS:
                var end = th__msg_plugins()
                guard th__msg_plugins_get(&reader.raw, &end) == 0, Int(end.count) == active.count, verdicts.count == active.count else {
                    throw TaskHostError(.systemError, "the fork server lost plugin files")
                }
                drainOutput()
                if !output.isEmpty { write(output) }
                return .done(verdicts)
            default:
                throw TaskHostError(.systemError, "the fork server answered the plugin list with a \(String(cString: th__message_name(m.type))) message")
            }
        }
    }

    /// The server ended while `current` was loading: that file did it.
    private mutating func died(at current: Int?) throws -> Outcome {
        let status = server.stop(grace: 1)
        drainOutput()
        guard let current else {
            if !output.isEmpty { write(output) }
            throw TaskHostError(.systemError, "the fork server ended before loading any plugin: it \(describe(status))")
        }
        passOutput(to: current)
        return .culprit(current, "it \(describe(status))")
    }

    /// "crashed while loading (Segmentation fault)", "exited with code 3 while loading".
    private func describe(_ status: Int32) -> String {
        if th__wait_signaled(status) != 0 {
            let signal = th__wait_signal(status)
            return "crashed while loading (" + (strsignal(signal).map { String(cString: $0) } ?? "signal \(signal)") + ")"
        }
        return "exited with code \(th__wait_exit_code(status)) while loading"
    }

    /// Reads whatever plugins printed so far.
    private mutating func drainOutput() {
        guard server.loadOutput >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(server.loadOutput, $0.baseAddress, $0.count) }
            if n > 0 { output.append(contentsOf: chunk[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return
        }
    }

    /// What was printed since the last file belongs to the file at `position`:
    /// to stderr, unless an earlier server already printed that file's part.
    private mutating func passOutput(to position: Int) {
        if printed.insert(active[position]).inserted { write(output) }
        output.removeAll(keepingCapacity: true)
    }

    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}

extension FrameBuilder {
    /// A TH_MSG_LOAD frame naming `paths`.
    func putLoad(_ paths: [String]) {
        let copies = paths.map { UnsafePointer<CChar>(strdup($0)) }
        defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
        copies.withUnsafeBufferPointer { list in
            var message = th__msg_load(count: UInt32(list.count), paths: list.baseAddress)
            withBuffer { th__msg_load_put($0, &message) }
        }
    }
}

extension String {
    /// UTF-8 text a C message points at (not NUL-terminated).
    init(cBytes: UnsafePointer<CChar>?, count: UInt32) {
        self = String(decoding: UnsafeRawBufferPointer(start: cBytes, count: cBytes == nil ? 0 : Int(count)), as: UTF8.self)
    }
}

/// Monotonic seconds, for load deadlines.
private enum Clock {
    static var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && seconds < 1e9 ? String(Int(seconds)) : String(seconds)
    }
}
