#if canImport(Glibc)
import Glibc
#endif

/// The descriptors one turn of the supervisor's loop waits on: the wake-up
/// eventfd, the fork server's socket, and per worker its result pipe (until
/// its end), its request pipe (while requests wait for room) and its pidfd
/// (until its end is seen), each entry with the worker it belongs to.
struct PollSet {
    /// What of a worker is ready.
    enum Readiness {
        case results, requests, exit
    }

    private var entries: [pollfd]
    private var owners: [(worker: Worker, readiness: Readiness)?]

    /// `serverOutput`: frames wait for room in the server's socket.
    init(wake: Int32, server: Int32, serverOutput: Bool) {
        entries = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: server, events: Int16(POLLIN | (serverOutput ? POLLOUT : 0)), revents: 0)]
        owners = [nil, nil]
    }

    /// Adds what `worker` waits for: results to read, requests to write.
    mutating func watch(_ worker: Worker) {
        if !worker.link.resultEOF {
            entries.append(pollfd(fd: worker.link.resultFD, events: Int16(POLLIN), revents: 0))
            owners.append((worker, .results))
        }
        if worker.link.hasPendingOutput {
            entries.append(pollfd(fd: worker.link.requestFD, events: Int16(POLLOUT), revents: 0))
            owners.append((worker, .requests))
        }
    }

    /// Adds `worker`'s pidfd, readable once it has ended (lent or not: the
    /// borrower has its pipes, never its end).
    mutating func watchExit(_ worker: Worker) {
        entries.append(pollfd(fd: worker.exitDescriptor, events: Int16(POLLIN), revents: 0))
        owners.append((worker, .exit))
    }

    /// Waits up to `timeout` ms (-1: no limit); whether anything is ready.
    mutating func wait(timeout: Int32) -> Bool {
        switch SystemCall.poll(&entries, timeout: timeout) {
        case .success(let ready): return ready > 0
        case .failure: return false
        }
    }

    var wakeReady: Bool { entries[0].revents != 0 }
    var serverReady: Bool { entries[1].revents != 0 }

    /// The workers whose descriptors are ready, and which of them.
    func readyWorkers() -> [(worker: Worker, readiness: Readiness)] {
        entries.indices.compactMap { entries[$0].revents != 0 ? owners[$0] : nil }
    }
}
