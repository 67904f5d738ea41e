import Foundation
import Synchronization
import CTaskHost
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's one thread and its inbox. Other threads hand it work
/// with `perform`; the thread runs that work between two turns of its loop.
/// Everything the supervisor owns is touched on this thread only, and every
/// supervisor-thread method says so with `assertConfined()` (checked in
/// debug builds, as swift-nio's `assertInEventLoop`).
final class SupervisorThread: Sendable {
    private struct Inbox {
        var work: [@Sendable () -> Void] = []
        var stopping = false
    }

    private let inbox = Mutex(Inbox())
    /// An eventfd in the supervisor's poll set: a write wakes the loop.
    /// Owned here, closed once the thread has stopped.
    let wakeDescriptor: Int32
    /// The running thread's `pthread_self()` (0 before it starts).
    private let threadID = Atomic<UInt>(0)
    private let stopped = DispatchSemaphore(value: 0)

    init() {
        wakeDescriptor = th__eventfd()
    }

    /// Starts the thread running `loop`, which returns when told to stop.
    func start(name: String, loop: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            threadID.store(UInt(pthread_self()), ordering: .releasing)
            loop()
            stopped.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `work` on the supervisor thread, soon.
    func perform(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.work.append(work) }
        wake()
    }

    /// Asks the loop to stop and waits until it has; then closes the wake descriptor.
    func stopAndWait() {
        inbox.withLock { $0.stopping = true }
        wake()
        stopped.wait()
        Glibc.close(wakeDescriptor)
    }

    /// On the supervisor thread: the work handed in since the last call, and
    /// whether the loop should stop.
    func takeWork() -> (work: [@Sendable () -> Void], stopping: Bool) {
        assertConfined()
        return inbox.withLock { inbox in
            defer { inbox.work.removeAll() }
            return (inbox.work, inbox.stopping)
        }
    }

    /// Clears the wake-up once poll() has seen it.
    func acknowledgeWake() {
        var count: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &count) { SystemCall.read(wakeDescriptor, into: $0) }
    }

    /// Checks (in debug builds) that the caller runs on the supervisor thread.
    @inline(__always)
    func assertConfined(file: StaticString = #fileID, line: UInt = #line) {
        assert(pthread_equal(pthread_self(), pthread_t(threadID.load(ordering: .acquiring))) != 0,
               "supervisor state touched off the supervisor thread", file: file, line: line)
    }

    private func wake() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { SystemCall.write(wakeDescriptor, $0) }
    }
}
