#if MPI
#if canImport(Glibc)
import Glibc
#endif
import TaskHost

/// On a worker rank, what its tasks write to stdout goes through a pipe to
/// rank 0, which prints it: the other ranks print nothing on stdout, and a
/// task's line reaches rank 0 before that task's result does.
final class OutputRelay {
    private let readEnd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// Starts a fork server for `host`'s plugins whose stdout — and so its
    /// workers' — is a pipe this relay reads. Returns the relay and that host.
    static func start(like host: PluginHost) throws -> (OutputRelay, PluginHost) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw TaskHostError(.systemError, "cannot create the output relay's pipe: \(String(cString: strerror(errno)))")
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        // The fork server inherits fd 1 when it is spawned: make it the pipe for that moment.
        let saved = dup(1)
        dup2(ends[1], 1)
        defer {
            dup2(saved, 1)
            close(saved)
            close(ends[1])
        }
        do {
            let relayed = try PluginHost(pluginFiles: host.plugins.map(\.path), pluginPath: "", includeBuiltin: false)
            return (OutputRelay(readEnd: ends[0]), relayed)
        } catch {
            close(ends[0])
            throw error
        }
    }

    private init(readEnd: Int32) { self.readEnd = readEnd }

    deinit { close(readEnd) }

    /// Whatever the tasks have written so far (empty if nothing).
    func take() -> [UInt8] {
        var taken: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            taken.append(contentsOf: buffer[0..<n])
        }
        return taken
    }
}
#endif
