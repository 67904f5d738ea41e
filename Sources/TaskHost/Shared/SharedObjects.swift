#if canImport(Glibc)
import Glibc
#endif
import CTaskHost
import CTaskHostShared
import Foundation

/// A host's shared objects: creates them, hands each to the fork server
/// (its memfd over the Unix socket; the server maps it, so workers forked
/// later inherit it) and takes it back when it goes. Every object is also in
/// this process's registry, which the supervisor repairs when a worker dies
/// (`th__shared_repair_all`). Messages to the server go from the supervisor's
/// thread, which sends everything else there (a frame may travel in pieces).
/// Each live object's memfd stays open here, so that a fork server started
/// after one died gets every object again before it forks a worker.
final class SharedObjects: @unchecked Sendable { // `names` is guarded by `lock`; `memfds` is confined to the supervisor thread
    private let supervisor: Supervisor
    private let lock = NSLock()
    private var names: Set<String> = []
    /// The memfd of every live object, by id.
    private var memfds: [UInt32: Int32] = [:]
    nonisolated(unsafe) private static var nextID: UInt32 = 0
    private static let idLock = NSLock()

    init(supervisor: Supervisor) {
        self.supervisor = supervisor
        supervisor.perform { [weak self, supervisor] in
            supervisor.newServerReady = { server in self?.shareAll(with: server) }
        }
    }

    /// Creates an object from its spec (`queue:1024`, `lock`, …).
    func create<T: SharedObject>(_ type: T.Type, host: PluginHost, name: String, spec text: String) throws -> T {
        var spec = th_shared_spec()
        var error = [CChar](repeating: 0, count: 512)
        guard th__shared_parse_spec(text, &spec, &error, 512) == 0 else {
            throw TaskHostError(.invalidArgument, cString(error))
        }
        if let expected = kindOf(type), expected.rawValue != spec.kind.rawValue {
            throw TaskHostError(.invalidArgument, "shared object '\(name)': '\(text)' is not a \(expected)")
        }
        lock.lock()
        let fresh = names.insert(name).inserted
        lock.unlock()
        guard fresh else { throw TaskHostError(.invalidArgument, "a shared object named '\(name)' already exists") }
        var fd: Int32 = -1
        guard let handle = th__shared_create(name, &spec, &fd, &error, 512) else {
            forget(name)
            throw TaskHostError(.invalidArgument, cString(error))
        }
        var canonical = [CChar](repeating: 0, count: 128)
        th__shared_format_spec(&spec, &canonical, 128)
        let id = Self.newID()
        guard th__shared_register(id, handle) == 0 else {
            th__shared_close(handle)
            close(fd)
            forget(name)
            throw TaskHostError(.systemError, "cannot register shared object '\(name)': out of memory")
        }
        share(id, memfd: fd)
        let objectType: SharedObject.Type = type == SharedObject.self ? Self.classFor(spec.kind) : type
        return objectType.init(host: host, id: id, name: name, spec: cString(canonical), handle: handle) as! T
    }

    /// Repairs what a dead worker held in every shared object of this
    /// process (semaphore units, a barrier it waited at, a queue slot in its
    /// hands); the supervisor calls it for every death, before it reports
    /// the death to anyone.
    static func repair(afterDeathOf pid: pid_t) {
        _ = th__shared_repair_all(pid)
    }

    /// Repairs for workers that went with their fork server (no one reports
    /// their deaths): they die of SIGKILL as their parent does; once they
    /// are gone or zombies (or after a second at most), as `repair`.
    static func repair(afterLossOf pids: [pid_t]) {
        var waited = 0
        while waited < 1000, pids.contains(where: isRunning) {
            usleep(1000)
            waited += 1
        }
        for pid in pids { _ = th__shared_repair_all(pid) }
    }

    /// Whether process `pid` exists and is not a zombie (its state in
    /// /proc/PID/stat, the letter after the command's closing parenthesis).
    private static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[close...].dropFirst(2).first
        return state != "Z" && state != "X"
    }

    /// Called when an object goes: the fork server unmaps it (workers keep
    /// theirs until they exit), and so does this process.
    func release(_ object: SharedObject) {
        let id = object.id
        supervisor.perform { [self, supervisor] in
            if let fd = memfds.removeValue(forKey: id) { close(fd) }
            _ = Self.send(TH_MSG_UNSHARE, id, fd: nil, to: supervisor.server)
            supervisor.discardSpare()  // forked before: it still has the object
        }
        th__shared_close(object.handle)
        forget(object.name)
    }

    /// Hands a new object to the fork server, and returns once that is done
    /// (a pool made next forks its workers after it). A send that fails
    /// means the server died: its replacement gets the object (`shareAll`).
    private func share(_ id: UInt32, memfd: Int32) {
        let done = DispatchSemaphore(value: 0)
        supervisor.perform { [self, supervisor] in
            memfds[id] = memfd
            _ = Self.send(TH_MSG_SHARE, id, fd: memfd, to: supervisor.server)
            supervisor.discardSpare()  // forked before: it lacks the object
            done.signal()
        }
        done.wait()
    }

    /// Hands every live object, oldest first, to a fork server that replaced
    /// a dead one, before it forks anything (on the supervisor thread).
    private func shareAll(with server: ForkServer) {
        for (id, fd) in memfds.sorted(by: { $0.key < $1.key }) { _ = Self.send(TH_MSG_SHARE, id, fd: fd, to: server) }
    }

    private func forget(_ name: String) {
        lock.lock()
        names.remove(name)
        lock.unlock()
    }

    /// Sends SHARE (with the object's memfd) or UNSHARE to `server`, on the
    /// supervisor's thread (where a dead server is replaced); whether it went.
    private static func send(_ type: Int, _ id: UInt32, fd: Int32?, to server: ForkServer) -> Bool {
        var message = th__msg_share(id: id)
        let frame = FrameBuilder()
        frame.withBuffer { th__msg_share_put($0, Int32(type), &message) }
        let bytes = frame.bytes
        var fds = fd.map { [$0] } ?? []
        return th__send_frame(server.socket, bytes.baseAddress, bytes.count, &fds, Int32(fds.count)) == 0
    }

    private static func newID() -> UInt32 {
        idLock.lock()
        defer { idLock.unlock() }
        nextID &+= 1
        return nextID
    }

    private func kindOf(_ type: SharedObject.Type) -> th_shared_kind? {
        switch type {
        case is SharedQueue.Type: TH_SHARED_QUEUE
        case is SharedPipe.Type: TH_SHARED_PIPE
        case is SharedEvent.Type: TH_SHARED_EVENT
        case is SharedCondition.Type: TH_SHARED_CONDITION
        case is SharedBarrier.Type: TH_SHARED_BARRIER
        case is SharedValue.Type: TH_SHARED_VALUE
        case is SharedArray.Type: TH_SHARED_ARRAY
        case is SharedBuffer.Type: TH_SHARED_BUFFER
        default: nil // a lock, an rlock or a semaphore of either kind: checked by the factory
        }
    }

    static func classFor(_ kind: th_shared_kind) -> SharedObject.Type {
        switch kind {
        case TH_SHARED_LOCK, TH_SHARED_RLOCK: SharedLock.self
        case TH_SHARED_SEMAPHORE, TH_SHARED_BOUNDED_SEMAPHORE: SharedSemaphore.self
        case TH_SHARED_EVENT: SharedEvent.self
        case TH_SHARED_CONDITION: SharedCondition.self
        case TH_SHARED_BARRIER: SharedBarrier.self
        case TH_SHARED_QUEUE: SharedQueue.self
        case TH_SHARED_PIPE: SharedPipe.self
        case TH_SHARED_VALUE: SharedValue.self
        case TH_SHARED_ARRAY: SharedArray.self
        default: SharedBuffer.self
        }
    }
}

/// The text of a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
