#if canImport(Glibc)
import Glibc
#endif

/// An `errno` value from a failed system call.
struct Errno: Error, Equatable, CustomStringConvertible {
    let rawValue: Int32

    /// The calling thread's `errno` now.
    static var current: Errno { Errno(rawValue: errno) }

    /// The call would have blocked on a non-blocking descriptor.
    var wouldBlock: Bool { rawValue == EAGAIN || rawValue == EWOULDBLOCK }

    /// The system's text for it: "Broken pipe".
    var description: String { String(cString: strerror(rawValue)) }
}

/// The system calls the host makes on descriptors, each wrapped once: a call
/// interrupted by a signal (`EINTR`) is made again, and a failure comes back
/// as its `Errno` (the shape of swift-system's `FileDescriptor` methods).
enum SystemCall {
    /// Runs `call` until it is not interrupted; -1 becomes the errno it set.
    @inline(__always)
    static func retryingInterrupts<Result: FixedWidthInteger>(_ call: () -> Result) -> Swift.Result<Result, Errno> {
        while true {
            let value = call()
            if value != -1 { return .success(value) }
            let error = Errno.current
            if error.rawValue != EINTR { return .failure(error) }
        }
    }

    /// `read(2)` into `buffer`: the bytes read, 0 at end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Swift.Result<Int, Errno> {
        retryingInterrupts { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// `write(2)` from `bytes`: the bytes the descriptor took.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Swift.Result<Int, Errno> {
        retryingInterrupts { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// `poll(2)`: the number of ready entries (0 when `timeout` ms passed; -1 waits forever).
    static func poll(_ fds: inout [pollfd], timeout: Int32) -> Swift.Result<Int32, Errno> {
        retryingInterrupts { Glibc.poll(&fds, nfds_t(fds.count), timeout) }
    }

    /// `waitpid(2)` for one process: its wait status.
    static func wait(for pid: pid_t, options: Int32 = 0) -> Swift.Result<Int32, Errno> {
        var status: Int32 = 0
        return retryingInterrupts { Glibc.waitpid(pid, &status, options) }.map { _ in status }
    }
}
